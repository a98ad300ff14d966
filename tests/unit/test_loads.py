"""Loads and the ASIC fleet's ramp: availability by load, and running units between ticks."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.fleet import AsicFleet
from sim.model.loads import ASIC, GPU, Load, Loads
from sim.steps import StepSeries
from tests.helpers import make_scenario


def _loads() -> Loads:
    gpu_plan = StepSeries(np.array([0.0, 3_600.0]), np.array([16.0, 8.0]))
    return Loads(
        [
            Load("gpus", GPU, "b", 10.2, gpu_plan),  # listed first: nothing depends on it
            Load("s21", ASIC, "a", 3.5, StepSeries.constant(100.0)),
            Load("outside", ASIC, None, 3.5, StepSeries.constant(5.0)),
        ],
        ["a", "b"],
    )


def test_loads_are_found_by_kind_and_hall_not_by_place() -> None:
    loads = _loads()
    assert loads.of_kind(ASIC).tolist() == [1, 2]
    assert loads.of_kind(GPU).tolist() == [0]
    assert loads.hall.tolist() == [1, 0, 2]  # no hall: one past the last
    assert loads.serves_tenants.tolist() == [True, False, False]


def test_availability_follows_each_loads_series_and_the_limits_drivers_set() -> None:
    loads = _loads()
    ticks = np.array([0.0, 1_800.0])
    same = loads.available_at(ticks)
    assert not same.flags.writeable  # one row for the whole batch: a view
    assert same.tolist() == [[16.0, 100.0, 5.0]] * 2
    ticks = np.array([0.0, 3_600.0, 7_200.0])
    assert loads.available_at(ticks)[:, 0].tolist() == [16.0, 8.0, 8.0]
    loads.limit(3_000.0, 7_200.0, np.array([0, 1]), 0.0)  # a hall shut for a while
    assert loads.available_at(ticks).tolist() == [
        [16.0, 100.0, 5.0],
        [0.0, 0.0, 5.0],
        [8.0, 100.0, 5.0],
    ]


def test_a_steady_row_holds_only_where_no_series_or_limit_changes() -> None:
    loads = _loads()
    steady = loads.steady_row(0.0, 1_800.0)
    assert steady is not None
    assert loads.steady_row(900.0, 3_000.0) == steady  # the same row: one identifier
    assert loads.steady_row(0.0, 3_600.0) is None  # the GPU plan changes at the last tick
    later = loads.steady_row(3_600.0, 9_000.0)
    assert later not in (None, steady)
    loads.limit(10_000.0, 12_000.0, np.array([1]), 0.0)
    assert loads.steady_row(3_600.0, 9_000.0) == later  # the limit starts after the span
    assert loads.steady_row(9_000.0, 10_000.0) is None  # … and at its last tick
    assert loads.steady_row(12_000.0, 20_000.0) == later  # it ended before


def _plain_running(times: np.ndarray, granted: np.ndarray, ramp_s: float, t: float) -> float:
    """Units granted throughout [t − ramp, t]: the least grant in force in that window."""
    in_force = np.searchsorted(times, [max(t - ramp_s, 0.0), t], side="right") - 1
    return float(granted[in_force[0] : in_force[1] + 1].min())


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.sampled_from([10.0, 120.0, 299.0, 300.0, 450.0, 900.0]), max_size=12),
    units=st.lists(st.integers(0, 5), min_size=13, max_size=13),
)
def test_running_units_need_the_whole_ramp_however_close_the_grants(
    gaps: list[float], units: list[int]
) -> None:
    fleet = AsicFleet(make_scenario())  # ramp 300 s
    times = np.cumsum([900.0, *gaps])
    grants = np.array(units[: times.size], dtype=float)[:, None]
    fleet.set_running(times, grants)
    all_times, all_granted = fleet.granted_units()
    run_t, running = fleet.running_units()
    probes = np.unique(np.concatenate([all_times, all_times + 300.0, all_times + 150.0]))
    for t in probes:
        got = running[np.searchsorted(run_t, t, side="right") - 1, 0]
        assert got == _plain_running(all_times, all_granted[:, 0], 300.0, t)
