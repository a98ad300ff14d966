"""Drivers: control decides up to the earliest horizon, and at env.now when a driver acts.

The driver here is a SimPy process that shuts a hall down at an instant of its own, between
control ticks and inside the first difficulty epoch (which control used to decide in one
batch): it knows nothing beyond its next action, so control must stop there, wait for it,
and change the hall's grants exactly then.
"""

from __future__ import annotations

import math
from collections.abc import Generator

import numpy as np
import pytest
import simpy
import yaml

from sim.model.drivers import Driver
from sim.model.loads import Loads
from sim.model.site import Site
from sim.scenario import Scenario, scenario_from_mapping
from tests.helpers import SCENARIOS

INTERVAL_S = 900.0
SHUT_S = 3 * 86_400 + 1_234.5  # between ticks, inside an epoch
BACK_S = 5 * 86_400 + 77.25


class HallShutdown(Driver):
    """Shuts the loads of a hall down at ``at_s`` until ``until_s``; says so only then."""

    def __init__(
        self, env: simpy.Environment, loads: Loads, which: np.ndarray, at_s: float, until_s: float
    ) -> None:
        super().__init__(env, "hall shutdown")
        self.env, self.loads, self.which = env, loads, which
        self.at_s, self.until_s = at_s, until_s
        self.acted = False
        env.process(self._act())

    def _act(self) -> Generator[simpy.Event, None, None]:
        yield self.env.timeout(self.at_s)
        self.loads.limit(self.at_s, self.until_s, self.which, 0.0)
        self.acted = True
        event, self._grown = self._grown, self.env.event()
        event.succeed()

    def horizon_s(self) -> float:
        return math.inf if self.acted else self.at_s

    def announced_until_s(self) -> float:
        return self.horizon_s()

    def change_times(self, start_s: float, end_s: float) -> np.ndarray:
        known = np.array([self.at_s, self.until_s] if self.acted else [])
        return known[(known >= start_s) & (known < end_s)]


def _scenario() -> Scenario:
    """quick.yaml with its ASICs split over two halls and its GPUs in the first."""
    raw = yaml.safe_load((SCENARIOS / "quick.yaml").read_text())
    raw["site"]["halls"] = [
        {"name": "hall-1", "cooling": "air", "heat_rejection_kw": 8_000},
        {"name": "hall-2", "cooling": "air", "heat_rejection_kw": 8_000},
    ]
    raw["mining"]["groups"] = [
        {"name": "one", "model": "Antminer S21", "count": 1500, "hall": "hall-1"},
        {"name": "two", "model": "Antminer S21", "count": 1500, "hall": "hall-2"},
    ]
    raw["ai"]["groups"][0]["hall"] = "hall-1"
    raw["end_utc"] = "2024-03-15T00:00:00Z"
    return scenario_from_mapping(raw, source="<test>")


def _run(shutdown: bool) -> tuple[Site, HallShutdown | None]:
    site = Site.build(_scenario(), 7)
    driver = None
    if shutdown:
        hall_1 = np.flatnonzero(site.loads.hall == 0)
        driver = HallShutdown(site.env, site.loads, hall_1, SHUT_S, BACK_S)
        site.control.add_driver(driver)
    site.run()
    return site, driver


@pytest.fixture(scope="module")
def runs() -> tuple[Site, Site]:
    return _run(False)[0], _run(True)[0]


def test_the_shutdown_falls_between_ticks_inside_the_first_epochs_batch(
    runs: tuple[Site, Site],
) -> None:
    plain, _ = runs
    assert SHUT_S % INTERVAL_S and BACK_S % INTERVAL_S
    # the network draws an epoch at a time, and control decided each in one policy call
    heights = plain.network.blocks.column("heights", int)
    retargets_s = plain.network.blocks.column("times_s")[heights % 2016 == 0]
    assert np.searchsorted(retargets_s, SHUT_S) == np.searchsorted(retargets_s, BACK_S)
    assert retargets_s[0] < SHUT_S < BACK_S < retargets_s[-1]


def test_the_halls_grants_change_at_the_drivers_instant(runs: tuple[Site, Site]) -> None:
    plain, shut = runs
    times, granted = shut.fleet.granted_units()
    at = np.searchsorted(times, [SHUT_S, BACK_S])
    assert times[at].tolist() == [SHUT_S, BACK_S]
    assert granted[at[0]].tolist() == [0.0, 1500.0]  # hall-1's ASICs off, hall-2's run on
    assert granted[at[1]].tolist() == [1500.0, 1500.0]
    cluster = shut.hosting.clusters[0].log
    assert (SHUT_S, 0) in zip(cluster.cap_t, cluster.cap_nodes, strict=True)
    # the nodes come back after the ramp, switching on as ASICs do
    back = [n for t, n in zip(cluster.cap_t, cluster.cap_nodes, strict=True) if t > SHUT_S]
    assert back and back[0] == 16
    ramp_s = shut.scenario.site.policy.ramp_s
    assert cluster.cap_t[cluster.cap_nodes.index(16, 1)] == BACK_S + ramp_s


def test_before_the_driver_acts_the_run_is_unchanged(runs: tuple[Site, Site]) -> None:
    plain, shut = runs
    for site in runs:
        site.control.decide()  # nothing left to decide after the run
    t0, g0 = plain.fleet.granted_units()
    t1, g1 = shut.fleet.granted_units()
    before = t0 < SHUT_S
    assert np.array_equal(t0[before], t1[t1 < SHUT_S])
    assert np.array_equal(g0[before], g1[t1 < SHUT_S])
    running_t, running = shut.fleet.running_units()
    off = (running_t >= SHUT_S) & (running_t < BACK_S)
    assert running[off, 0].max() == 0.0


def test_hall_heat_falls_from_the_instant_it_shuts(runs: tuple[Site, Site]) -> None:
    plain, shut = runs
    inlet = [site.facility.inlet_c(0) for site in runs]
    just_before, later = SHUT_S - 1.0, SHUT_S + 6 * 3600.0
    assert inlet[0].at(just_before) == pytest.approx(inlet[1].at(just_before), abs=1e-9)
    # with no heat the inlet relaxes to the supply temperature: below the loaded hall's
    assert inlet[1].at(later) < inlet[0].at(later) - 1.0
