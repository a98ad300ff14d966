"""The facility: halls, their cooling as a function of ambient, and their thermal states.

For each hall and ambient temperature ``T_a`` (docs/model.md §6):

- heat-rejection capacity ``Q_cap = Q_design · clip(1 − derate · (T_a − T_design)⁺, 0, 1)``;
- cooling power per kW of heat ``k = k_free + k_slope · (T_a − T_free)⁺``, so
  ``cooling_kw = k · heat_kw`` and PUE = (IT + cooling) / IT emerges;
- supply temperature ``T_supply = setpoint`` when chilled, else
  ``max(setpoint, T_a + approach)``.

The control loop asks for these at its ticks and advances each hall's thermal state
(:mod:`sim.model.thermal`) under the grants; vectorised over halls and ticks.
"""

from __future__ import annotations

import numpy as np

from sim.model.loads import Loads, as_slice
from sim.model.thermal import (
    ExpSeries,
    HallLimits,
    HallThermal,
    ThrottleChanges,
    TickBatch,
    advance_nominal,
    full_targets,
)
from sim.scenario.facility import HallSpec
from sim.steps import StepSeries


class Facility:
    """The site's halls and the loads placed in them.

    The loads of one kind in one hall (its ASIC groups, or its GPU groups) share limits and
    so throttle and trip together: a *class*. Thermal work is per class, so its cost does
    not grow with the number of loads.
    """

    def __init__(
        self,
        halls: list[HallSpec],
        ambient_c: StepSeries,
        loads: Loads,
        capacity_factor: list[StepSeries] | None = None,
    ) -> None:
        """``capacity_factor[h]``: the share of hall h's cooling working (failures)."""
        self.halls = halls
        self.ambient_c = ambient_c
        factors = capacity_factor or []
        # None unless some hall's cooling ever fails: the usual run multiplies nothing
        self._factor = factors if any(f.times_s.size > 1 for f in factors) else None
        names = [hall.name for hall in halls]
        self.load_hall = loads.hall
        self.members = [np.flatnonzero(self.load_hall == h) for h in range(len(halls))]
        # kinds ranked by first appearance, so a hall's classes follow the scenario's order
        kinds = list(dict.fromkeys(loads.kinds()))
        rank = [kinds.index(kind) for kind in loads.kinds()]
        classes = sorted(
            {(int(h), r) for h, r in zip(self.load_hall, rank, strict=True) if h < len(halls)}
        )
        self.class_hall = np.array([h for h, _ in classes], dtype=int)
        self.class_kind = [kinds[r] for _, r in classes]
        self.class_names = [f"{names[h]} {kinds[r].label}" for h, r in classes]
        # each load's class (−1 outside halls)
        self.load_class = np.array(
            [
                classes.index((int(h), r)) if h < len(halls) else -1
                for h, r in zip(self.load_hall, rank, strict=True)
            ],
            dtype=int,
        )
        # each class's loads, to sum its heat: a slice when listed together, as sites list them
        self._class_loads = [
            as_slice(np.flatnonzero(self.load_class == c)) for c in range(len(classes))
        ]

        def column(field: str) -> np.ndarray:
            return np.array([getattr(hall, field) for hall in halls], dtype=float)

        self._design_kw = column("heat_rejection_kw")
        self._design_c = column("design_ambient_c")
        self._derate = column("derate_per_c")
        self._free_c = column("free_cooling_max_c")
        self._k_free = column("cooling_kw_per_kw")
        self._k_slope = column("cooling_kw_per_kw_per_c")
        self._setpoint = column("setpoint_c")
        self._rise = column("load_rise_c")
        self._approach = np.where(
            [hall.chilled for hall in halls], -np.inf, column("ambient_approach_c")
        )
        self.thermal = []
        self.hall_classes = [np.flatnonzero(self.class_hall == h) for h in range(len(halls))]
        start_supply = self._supply(ambient_c.at(0.0))
        for h, hall in enumerate(halls):
            kind_names = [self.class_kind[c].name for c in self.hall_classes[h]]
            # each kind's limits are the hall's fields named after it (asic_…, gpu_…)
            limits = HallLimits(
                tau_s=hall.time_constant_s,
                load_rise_c=hall.load_rise_c,
                throttle_c=np.array([getattr(hall, f"{k}_throttle_temp_c") for k in kind_names]),
                shutdown_c=np.array([getattr(hall, f"{k}_shutdown_temp_c") for k in kind_names]),
            )
            self.thermal.append(HallThermal(limits, float(start_supply[h])))
        self._reported = [0] * len(halls)
        self._class_in_hall = (self.class_hall[:, None] == np.arange(len(halls))).astype(float)

    def _supply(self, ambient_c: np.ndarray) -> np.ndarray:
        """Supply temperature per hall (…, H) at ambient ``ambient_c`` (…, 1)."""
        return np.maximum(self._setpoint, np.asarray(ambient_c)[..., None] + self._approach)

    def capacity_kw(self, ambient_c: np.ndarray, t_s: np.ndarray) -> np.ndarray:
        """Heat each hall can reject (T, H) at ambient temperatures (T,) at times (T,)."""
        excess = np.maximum(ambient_c[:, None] - self._design_c, 0.0)
        capacity = self._design_kw * np.clip(1.0 - self._derate * excess, 0.0, 1.0)
        if self._factor is not None:  # cooling plants out of order
            capacity = capacity * np.column_stack([f.at(t_s) for f in self._factor])
        return capacity

    def cooling_kw_per_kw(self, ambient_c: np.ndarray) -> np.ndarray:
        """Cooling power per kW of heat in each hall (T, H) at ambient temperatures (T,)."""
        return self._k_free + self._k_slope * np.maximum(ambient_c[:, None] - self._free_c, 0.0)

    def class_heat_kw(self, units: np.ndarray, unit_kw: np.ndarray) -> np.ndarray:
        """Each class's heat (T, C) with ``units`` (T, L) of every load at ``unit_kw`` (L,).

        Summed load by load over the ticks (the policies' grants have each load's ticks
        contiguous), a class's loads at a time, in one pass (``einsum``; a matrix product
        would call threaded BLAS, which spins and stalls on a busy machine).
        """
        per_load = units.T  # (L, T)
        heat = np.empty((len(self._class_loads), units.shape[0]))
        for cls, loads in enumerate(self._class_loads):
            np.einsum("lt,l->t", per_load[loads], unit_kw[loads], out=heat[cls])
        return heat.T

    def advance(
        self,
        ticks_s: np.ndarray,
        end_s: float,
        ambient_c: np.ndarray,
        capacity_kw: np.ndarray,
        heat_kw: np.ndarray,
    ) -> ThrottleChanges:
        """Advance every hall over the ticks.

        ``ambient_c`` (T,) and each hall's ``capacity_kw`` (T, H, as :meth:`capacity_kw` gives
        it) hold at the ticks; ``heat_kw`` (T, C) is each class's full heat under the
        grants (:meth:`class_heat_kw`). Returns the new throttle factor changes and trips of
        every class, in time order.
        """
        supply = self._supply(ambient_c)
        targets = full_targets(supply, capacity_kw, heat_kw @ self._class_in_hall, self._rise)
        batch = TickBatch(ticks_s, end_s)
        targets = np.ascontiguousarray(targets.T)  # (H, T)
        # halls at full speed start together: one vectorised stretch for all of them
        nominal = [h for h, thermal in enumerate(self.thermal) if thermal.nominal]
        stretched_to: list[int | None] = [None] * len(self.halls)
        if nominal:
            stops = advance_nominal([self.thermal[h] for h in nominal], 0, batch, targets[nominal])
            for h, stop in zip(nominal, stops, strict=True):
                stretched_to[h] = stop
        batches = []
        for h, thermal in enumerate(self.thermal):
            own = self.hall_classes[h]
            thermal.advance_batch(
                batch,
                supply[:, h],
                capacity_kw[:, h],
                heat_kw[:, own],
                targets[h],
                stretched_to[h],
            )
            new = thermal.changes(self._reported[h])
            self._reported[h] = thermal.change_count
            batches.append(ThrottleChanges(new.t_s, own[new.cls], new.factor, new.tripped))
        return _merged(batches)

    def inlet_c(self, hall: int) -> ExpSeries:
        """A hall's inlet temperature over the run."""
        return self.thermal[hall].series()

    def capacity_series_kw(self, hall: int) -> StepSeries:
        """A hall's heat-rejection capacity over the run (it moves with the ambient)."""
        amb = self.ambient_c
        if self._factor is None:
            return StepSeries(amb.times_s, self.capacity_kw(amb.values, amb.times_s)[:, hall])
        times = np.union1d(amb.times_s, self._factor[hall].times_s)
        return StepSeries(times, self.capacity_kw(amb.at(times), times)[:, hall])

    def cooling_factor(self, hall: int) -> StepSeries:
        """A hall's cooling power per kW of heat over the run."""
        amb = self.ambient_c
        return StepSeries(amb.times_s, self.cooling_kw_per_kw(amb.values)[:, hall])

    def throttled_any(self) -> StepSeries:
        """1 while some class runs below full speed (throttled or tripped), else 0."""
        changes = _merged(
            [
                ThrottleChanges(c.t_s, self.hall_classes[h][c.cls], c.factor, c.tripped)
                for h, thermal in enumerate(self.thermal)
                for c in [thermal.changes()]
            ]
        )
        slow: set[int] = set()
        times, values = [0.0], [0.0]
        for t_s, cls, factor in zip(
            changes.t_s.tolist(), changes.cls.tolist(), changes.factor.tolist(), strict=True
        ):
            if factor < 1.0:
                slow.add(cls)
            else:
                slow.discard(cls)
            if times[-1] == t_s:
                values[-1] = float(bool(slow))
            else:
                times.append(t_s)
                values.append(float(bool(slow)))
        return StepSeries(np.array(times), np.array(values))


def _merged(batches: list[ThrottleChanges]) -> ThrottleChanges:
    """Changes of several halls in one time order (stable: a hall's own order is kept)."""
    if not batches:
        empty = np.zeros(0)
        return ThrottleChanges(empty, empty.astype(int), empty, empty.astype(bool))
    t = np.concatenate([b.t_s for b in batches])
    order = np.argsort(t, kind="stable")
    return ThrottleChanges(
        t[order],
        np.concatenate([b.cls for b in batches])[order],
        np.concatenate([b.factor for b in batches])[order],
        np.concatenate([b.tripped for b in batches])[order],
    )
