"""The site's ASIC fleet: groups of identical units, with vectorised per-group state.

A group is a model × count; the fleet keeps, per group, the units running as a step series
(all installed units from t = 0 for now; the site policy will change it). Cost does not
depend on how many units a group has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.steps import StepSeries
from sim.scenario.checks import known_asics
from sim.scenario.schema import Scenario
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

    def __init__(self, scenario: Scenario) -> None:
        specs = known_asics(dict(scenario))
        self.groups = [
            AsicGroup(g.label, g.model, g.count, *specs[g.model]) for g in scenario.mining.groups
        ]
        self.unit_hashrate_ths = np.array([g.hashrate_ths for g in self.groups])
        self.unit_power_w = np.array([g.power_w for g in self.groups])
        counts = np.array([g.count for g in self.groups], dtype=float)
        # running units per group: one row per change time
        self._change_times_s = [0.0]
        self._running = [counts]

    def running_units(self) -> tuple[np.ndarray, np.ndarray]:
        """(change times, units running per group at each change: shape times × groups)."""
        return np.array(self._change_times_s), np.vstack(self._running).reshape(
            len(self._change_times_s), len(self.groups)
        )

    def _total(self, per_unit: np.ndarray) -> StepSeries:
        times, running = self.running_units()
        return StepSeries(times, running @ per_unit if len(self.groups) else np.zeros(times.size))

    def hashrate_hs(self) -> StepSeries:
        """Site hashrate of the running units (H/s)."""
        return self._total(self.unit_hashrate_ths * HASHES_PER_THS)

    def power_kw(self) -> StepSeries:
        """Wall power of the running units (kW)."""
        return self._total(self.unit_power_w / 1_000.0)

    def units(self) -> StepSeries:
        """Number of units running."""
        return self._total(np.ones(len(self.groups)))
