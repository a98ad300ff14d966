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

from dataclasses import dataclass

import numpy as np

from sim.model.steps import StepSeries
from sim.model.thermal import ExpSeries, HallLimits, HallThermal
from sim.scenario.facility import HallSpec


@dataclass(frozen=True)
class ThrottleEvent:
    """From ``t_s`` on, load ``load`` runs at ``factor`` of full speed (0 when tripped)."""

    t_s: float
    load: int
    factor: float
    tripped: bool


class Facility:
    """The site's halls and the load groups (ASIC groups, then GPU groups) placed in them."""

    def __init__(
        self,
        halls: list[HallSpec],
        ambient_c: StepSeries,
        load_halls: list[str | None],
        load_is_gpu: np.ndarray,
    ) -> None:
        self.halls = halls
        self.ambient_c = ambient_c
        names = [hall.name for hall in halls]
        # loads without a hall point one past the last hall
        self.load_hall = np.array(
            [names.index(h) if h is not None else len(halls) for h in load_halls], dtype=int
        )
        self.members = [np.flatnonzero(self.load_hall == h) for h in range(len(halls))]

        def column(field: str) -> np.ndarray:
            return np.array([getattr(hall, field) for hall in halls], dtype=float)

        self._design_kw = column("heat_rejection_kw")
        self._design_c = column("design_ambient_c")
        self._derate = column("derate_per_c")
        self._free_c = column("free_cooling_max_c")
        self._k_free = column("cooling_kw_per_kw")
        self._k_slope = column("cooling_kw_per_kw_per_c")
        self._setpoint = column("setpoint_c")
        self._approach = np.where(
            [hall.chilled for hall in halls], -np.inf, column("ambient_approach_c")
        )
        self.thermal = []
        start_supply = self._supply(ambient_c.at(0.0))
        for h, hall in enumerate(halls):
            gpu = load_is_gpu[self.members[h]]
            limits = HallLimits(
                tau_s=hall.time_constant_s,
                load_rise_c=hall.load_rise_c,
                throttle_c=np.where(gpu, hall.gpu_throttle_temp_c, hall.asic_throttle_temp_c),
                shutdown_c=np.where(gpu, hall.gpu_shutdown_temp_c, hall.asic_shutdown_temp_c),
            )
            self.thermal.append(HallThermal(limits, float(start_supply[h])))
        self._reported = [0] * len(halls)

    def _supply(self, ambient_c: np.ndarray) -> np.ndarray:
        """Supply temperature per hall (…, H) at ambient ``ambient_c`` (…, 1)."""
        return np.maximum(self._setpoint, np.asarray(ambient_c)[..., None] + self._approach)

    def capacity_kw(self, ambient_c: np.ndarray) -> np.ndarray:
        """Heat each hall can reject (T, H) at ambient temperatures (T,)."""
        excess = np.maximum(ambient_c[:, None] - self._design_c, 0.0)
        return self._design_kw * np.clip(1.0 - self._derate * excess, 0.0, 1.0)

    def cooling_kw_per_kw(self, ambient_c: np.ndarray) -> np.ndarray:
        """Cooling power per kW of heat in each hall (T, H) at ambient temperatures (T,)."""
        return self._k_free + self._k_slope * np.maximum(ambient_c[:, None] - self._free_c, 0.0)

    def advance(
        self, ticks_s: np.ndarray, end_s: float, ambient_c: np.ndarray, heat_kw: np.ndarray
    ) -> list[ThrottleEvent]:
        """Advance every hall over the ticks; ``heat_kw`` (T, L) is each load's full heat.

        Returns the throttle factor changes and trips, in time order.
        """
        capacity = self.capacity_kw(ambient_c)
        supply = self._supply(ambient_c)
        events = []
        for h, thermal in enumerate(self.thermal):
            members = self.members[h]
            thermal.advance(ticks_s, end_s, supply[:, h], capacity[:, h], heat_kw[:, members])
            events += [
                ThrottleEvent(c.t_s, int(members[c.group]), c.factor, c.tripped)
                for c in thermal.changes[self._reported[h] :]
            ]
            self._reported[h] = len(thermal.changes)
        events.sort(key=lambda e: e.t_s)
        return events

    def inlet_c(self, hall: int) -> ExpSeries:
        """A hall's inlet temperature over the run."""
        return self.thermal[hall].series()

    def capacity_series_kw(self, hall: int) -> StepSeries:
        """A hall's heat-rejection capacity over the run (it moves with the ambient)."""
        amb = self.ambient_c
        return StepSeries(amb.times_s, self.capacity_kw(amb.values)[:, hall])

    def cooling_factor(self, hall: int) -> StepSeries:
        """A hall's cooling power per kW of heat over the run."""
        amb = self.ambient_c
        return StepSeries(amb.times_s, self.cooling_kw_per_kw(amb.values)[:, hall])

    def throttled_any(self) -> StepSeries:
        """1 while hardware in some hall runs below full speed (throttled or tripped), else 0."""
        changes = sorted(
            (c.t_s, h, c.group, c.factor)
            for h, thermal in enumerate(self.thermal)
            for c in thermal.changes
        )
        slow: set[tuple[int, int]] = set()
        times, values = [0.0], [0.0]
        for t_s, hall, group, factor in changes:
            if factor < 1.0:
                slow.add((hall, group))
            else:
                slow.discard((hall, group))
            if times[-1] == t_s:
                values[-1] = float(bool(slow))
            else:
                times.append(t_s)
                values.append(float(bool(slow)))
        return StepSeries(np.array(times), np.array(values))
