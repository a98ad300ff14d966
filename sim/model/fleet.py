"""The site's ASIC fleet: groups of identical units, with vectorised per-group state.

A group is a model × count; the fleet keeps, per group, the units running as a step series
that the site's control loop changes. Cost does not depend on how many units a group has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.loads import ASIC, Loads
from sim.scenario.catalog import known_asics
from sim.scenario.schema import Scenario
from sim.steps import StepSeries
from sim.units import HASHES_PER_THS


@dataclass(frozen=True)
class AsicGroup:
    """One group's static description."""

    name: str
    model: str
    count: int
    hashrate_ths: float  # per unit
    power_w: float  # per unit


class AsicFleet:
    """All ASIC groups of the site and the units each one runs over time."""

    def __init__(
        self,
        scenario: Scenario,
        throttle_class: np.ndarray | None = None,
        loads: Loads | None = None,
    ) -> None:
        """The groups of ``scenario``, all running.

        ``throttle_class[g]`` is group g's heat class: the hardware of one kind in one hall,
        which throttles together (−1 outside halls). ``loads`` holds the groups' units
        available over time (all installed units if None); no more of them run, even
        between the control's ticks (a unit that fails stops at once). It is read when the
        fleet's series are asked for, after the drivers have set their limits.
        """
        specs = known_asics(scenario.asic_models)
        self.groups = [
            AsicGroup(g.label, g.model, g.count, *specs[g.model]) for g in scenario.mining.groups
        ]
        self.unit_hashrate_ths = np.array([g.hashrate_ths for g in self.groups])
        self.unit_power_w = np.array([g.power_w for g in self.groups])
        self.units_installed = np.array([g.count for g in self.groups], dtype=float)
        self.ramp_s = float(scenario.site.policy.ramp_s)
        self._loads = loads
        # running units per group: one row per change time (all run until told otherwise)
        self._change_times = [np.zeros(1)]
        self._running = [self.units_installed[None, :]]
        self._latest = self._running[0]
        n = len(self.groups)
        self.throttle_class = np.full(n, -1) if throttle_class is None else throttle_class
        # heat throttling per class: batches of (time, class, factor of full hashrate and power)
        self._throttle: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        # effective_units is asked for by several tables: kept until the fleet changes
        self._effective: (
            tuple[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] | None
        ) = None

    def set_running(
        self, times_s: np.ndarray, units: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Run ``units[i]`` (one count per group) from ``times_s[i]`` on; times increase.

        Returns the changes: their times, the units before and the units after.
        """
        n = units.shape[0]
        if not n:
            return np.zeros(0), units, units
        if units.strides[0] == 0 and not np.any(units[0] != self._latest[0]):
            # the row running, repeated at every tick (control's steady batches): no change
            self._latest = units[-1:]
            return np.zeros(0), units[:0], units[:0]
        rows = np.flatnonzero(_changed(units, self._latest[0]))
        after = units[rows]
        before = units[np.maximum(rows - 1, 0)]
        if rows.size and rows[0] == 0:
            before[0] = self._latest[0]
        self._change_times.append(np.asarray(times_s)[rows])
        self._running.append(after)
        self._latest = units[-1:]
        return np.asarray(times_s)[rows], before, after

    def granted_units(self) -> tuple[np.ndarray, np.ndarray]:
        """(change times, units granted per group from each change on: times × groups)."""
        times = np.concatenate(self._change_times)
        granted = np.vstack(self._running).reshape(times.size, len(self.groups))
        # a change at t = 0 replaces the initial row
        last = np.append(times[1:] != times[:-1], True)
        return times[last], granted[last]

    def running_units(self) -> tuple[np.ndarray, np.ndarray]:
        """(change times, units running per group: times × groups), after the ramp.

        A unit runs at t only if it was granted throughout [t − ramp, t]: switching on takes
        ``ramp_s``, switching off is immediate. The site is running at t = 0: no ramp then.
        """
        times, granted = self.granted_units()
        available = self.available()
        if available is not None:
            times, granted = _in_service(times, granted, available)
        if self.ramp_s <= 0 or times.size < 2:
            return times, granted
        # running can change only at a grant change or a ramp's end; there, it is the least
        # grant of the changes in the window (one, in the usual case of grants at least a
        # ramp apart; a driver's change between ticks can bring them closer)
        grid = np.union1d(times, times[1:] + self.ramp_s)
        last = np.searchsorted(times, grid, side="right") - 1
        first = np.maximum(np.searchsorted(times, grid - self.ramp_s, side="right") - 1, 0)
        running = granted[last]
        for back in range(1, int(np.max(last - first, initial=0)) + 1):
            inside = np.maximum(last - back, first)
            np.minimum(running, granted[inside], out=running)
        keep = np.append(True, np.any(running[1:] != running[:-1], axis=1))
        return grid[keep], running[keep]

    def available(self) -> list[StepSeries] | None:
        """Each group's units available over time; None while all are, all the time."""
        if self._loads is None:
            return None
        mine = self._loads.of_kind(ASIC).tolist()
        if not any(self._loads.varies(i) for i in mine):
            return None
        return [self._loads.available_series(i) for i in mine]

    def set_throttle(self, t_s: np.ndarray, cls: np.ndarray, factor: np.ndarray) -> None:
        """From ``t_s[i]`` on, the groups of class ``cls[i]`` run at ``factor[i]``.

        The factor scales hashrate and power (heat throttling; 0 on a trip); times increase
        per class.
        """
        if t_s.size:
            self._throttle.append((t_s, cls, factor))

    def effective_units(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(change times, units running, units × throttle factor), each times × groups.

        Several tables ask for it, so it is kept until the fleet changes.
        """
        key = (len(self._change_times), len(self._throttle))
        if self._effective is None or self._effective[0] != key:
            self._effective = (key, self._effective_units())
        return self._effective[1]

    def _effective_units(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        times, running = self.running_units()
        if not self._throttle:
            return times, running, running
        t, cls, factor = (np.concatenate(column) for column in zip(*self._throttle, strict=True))
        grid = np.union1d(times, t)
        granted = running[np.searchsorted(times, grid, side="right") - 1]
        effective = granted.copy()
        for c in np.unique(cls):  # each class's factor applies to its groups' columns
            mine = cls == c
            at = np.searchsorted(t[mine], grid, side="right") - 1
            column = np.where(at >= 0, factor[mine][np.maximum(at, 0)], 1.0)
            effective[:, self.throttle_class == c] *= column[:, None]
        return grid, granted, effective

    def _total(self, per_unit: np.ndarray, which: int = 2) -> StepSeries:
        columns = self.effective_units()
        times, units = columns[0], columns[which]
        return StepSeries(times, units @ per_unit if len(self.groups) else np.zeros(times.size))

    def hashrate_hs(self) -> StepSeries:
        """Site hashrate of the running units, after heat throttling (H/s)."""
        return self._total(self.unit_hashrate_ths * HASHES_PER_THS)

    def power_kw(self) -> StepSeries:
        """Wall power of the running units, after heat throttling (kW)."""
        return self._total(self.unit_power_w / 1_000.0)

    def throttled_hashrate_hs(self) -> StepSeries:
        """Hashrate of granted units lost to heat throttling and trips (H/s)."""
        times, granted, effective = self.effective_units()
        lost = (granted - effective) @ (self.unit_hashrate_ths * HASHES_PER_THS)
        return StepSeries(times, lost if len(self.groups) else np.zeros(times.size))

    def curtailed_kw(self) -> StepSeries:
        """Nameplate power of the available units not running: kept off or ramping (kW).

        Units failed, or without grid power in an outage, are not available.
        """
        times, running, _ = self.effective_units()
        available = self.available()
        in_service = self.units_installed[None, :]
        if available is not None:  # on the times of both: either may change alone
            grid = np.union1d(times, np.concatenate([series.times_s for series in available]))
            running = running[np.searchsorted(times, grid, side="right") - 1]
            in_service = np.column_stack([series.at(grid) for series in available])
            times = grid
        idle = (in_service - running) @ (self.unit_power_w / 1_000.0)
        return StepSeries(times, idle if len(self.groups) else np.zeros(times.size))

    def units(self) -> StepSeries:
        """Number of units granted (running, possibly throttled)."""
        return self._total(np.ones(len(self.groups)), which=1)


def _in_service(
    times: np.ndarray, granted: np.ndarray, available: list[StepSeries]
) -> tuple[np.ndarray, np.ndarray]:
    """Grants (times × groups) capped by each group's units in service, on both's times."""
    grid = np.union1d(times, np.concatenate([a.times_s for a in available]))
    capped = granted[np.searchsorted(times, grid, side="right") - 1]
    for g, series in enumerate(available):
        np.minimum(capped[:, g], series.at(grid), out=capped[:, g])
    return grid, capped


def _changed(units: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Which rows of ``units`` (ticks × groups) differ from the row before (``before`` first).

    Compared group by group over the ticks as one flat array (the policies' grants have each
    group's ticks contiguous): a flat comparison is several times faster than one of 2-D
    slices, and the comparisons across the end of a group's ticks are dropped.
    """
    ticks, groups = units.shape
    flat = np.ascontiguousarray(units.T).ravel()
    steps = np.zeros(flat.size, dtype=bool)  # steps[i]: flat[i + 1] != flat[i]
    np.not_equal(flat[1:], flat[:-1], out=steps[:-1])
    changed = np.empty(ticks, dtype=bool)
    changed[0] = np.any(units[0] != before)
    changed[1:] = steps.reshape(groups, ticks)[:, :-1].any(axis=0)
    return changed
