"""Properties of the site power policies over random snapshots (pure functions, no SimPy)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.model.policy import POLICIES, PowerSnapshot, ai_first, profit, revenue_per_mwh, static

FINITE = {"allow_nan": False, "allow_infinity": False}
EPS = 1e-6


@st.composite
def snapshots(draw: st.DrawFn) -> PowerSnapshot:
    """Random sites: 1–12 ticks, 1–7 loads (some GPU groups), 0–3 halls (some loads outside)."""
    ticks = draw(st.integers(1, 12))
    loads = draw(st.integers(1, 7))
    halls = draw(st.integers(0, 3))
    is_gpu = draw(arrays(bool, loads))
    unit_kw = np.where(
        is_gpu,
        draw(arrays(float, loads, elements=st.floats(5.0, 12.0, **FINITE))),
        draw(arrays(float, loads, elements=st.floats(0.5, 6.0, **FINITE))),
    )
    return PowerSnapshot(
        energy_price_usd_per_mwh=draw(
            arrays(float, ticks, elements=st.floats(-50, 5_000, **FINITE))
        ),
        revenue_usd_per_mwh=draw(
            arrays(float, (ticks, loads), elements=st.floats(0, 2_000, **FINITE))
        ),
        units_available=draw(
            arrays(float, (ticks, loads), elements=st.integers(0, 3_000).map(float))
        ),
        unit_power_kw=unit_kw,
        is_gpu=is_gpu,
        hall=draw(arrays(int, loads, elements=st.integers(0, halls))),
        grid_kw=draw(arrays(float, ticks, elements=st.floats(0, 30_000, **FINITE))),
        hall_capacity_kw=draw(
            arrays(float, (ticks, halls), elements=st.floats(0, 15_000, **FINITE))
        ),
        cooling_kw_per_kw=draw(
            arrays(float, (ticks, halls), elements=st.floats(0.0, 0.6, **FINITE))
        ),
        curtail_credit_usd_per_mwh=draw(
            arrays(float, ticks, elements=st.sampled_from([0.0, 50.0, 500.0]))
        ),
    )


def heat_by_hall(snapshot: PowerSnapshot, grants: np.ndarray) -> np.ndarray:
    """IT power per hall (T, H + 1); the last column is the loads outside halls."""
    halls = snapshot.hall_capacity_kw.shape[1]
    heat = np.zeros((snapshot.ticks, halls + 1))
    for load, hall in enumerate(snapshot.hall):
        heat[:, hall] += grants[:, load] * snapshot.unit_power_kw[load]
    return heat


def site_power_kw(snapshot: PowerSnapshot, grants: np.ndarray) -> np.ndarray:
    """IT power plus each hall's cooling power (T,)."""
    heat = heat_by_hall(snapshot, grants)
    overhead = np.hstack((snapshot.cooling_kw_per_kw, np.zeros((snapshot.ticks, 1))))
    return (heat * (1.0 + overhead)).sum(axis=1)


def check_budgets(snapshot: PowerSnapshot, grants: np.ndarray) -> None:
    """Whole units, within what is available, the grid and every hall's cooling."""
    assert grants.shape == snapshot.units_available.shape
    assert np.all(grants >= 0)
    assert np.all(grants <= snapshot.units_available)
    assert np.all(grants == np.floor(grants))
    assert np.all(site_power_kw(snapshot, grants) <= snapshot.grid_kw * (1 + 1e-9) + EPS)
    heat = heat_by_hall(snapshot, grants)[:, :-1]
    assert np.all(heat <= snapshot.hall_capacity_kw * (1 + 1e-9) + EPS)


@settings(max_examples=300, deadline=None)
@given(snapshots(), st.sampled_from(sorted(POLICIES)))
def test_grants_never_exceed_the_grid_or_a_halls_cooling(
    snapshot: PowerSnapshot, name: str
) -> None:
    check_budgets(snapshot, POLICIES[name](snapshot))


@settings(max_examples=200, deadline=None)
@given(snapshots())
def test_static_runs_everything_whatever_the_price_when_there_is_room(
    snapshot: PowerSnapshot,
) -> None:
    roomy = replace(
        snapshot,
        energy_price_usd_per_mwh=snapshot.energy_price_usd_per_mwh * 100,
        grid_kw=np.full(snapshot.ticks, 1e12),
        hall_capacity_kw=np.full_like(snapshot.hall_capacity_kw, 1e12),
    )
    assert np.array_equal(static(roomy), snapshot.units_available)


@settings(max_examples=300, deadline=None)
@given(snapshots())
def test_ai_first_never_sheds_a_gpu_while_an_asic_in_the_limiting_budget_runs(
    snapshot: PowerSnapshot,
) -> None:
    grants = ai_first(snapshot)
    check_budgets(snapshot, grants)
    short_gpus = snapshot.is_gpu[None, :] & (grants < snapshot.units_available)
    overhead = np.hstack((snapshot.cooling_kw_per_kw, np.zeros((snapshot.ticks, 1))))
    heat = heat_by_hall(snapshot, grants)
    spare_grid = snapshot.grid_kw - site_power_kw(snapshot, grants)
    for t, g in zip(*np.nonzero(short_gpus), strict=True):
        hall = snapshot.hall[g]
        asics_here = ~snapshot.is_gpu & (grants[t] > 0)
        capacity = np.append(snapshot.hall_capacity_kw[t], np.inf)[hall]
        hall_full = capacity - heat[t, hall] < snapshot.unit_power_kw[g] * (1 - 1e-9)
        grid_full = spare_grid[t] < snapshot.unit_power_kw[g] * (1 + overhead[t, hall]) * (1 - 1e-9)
        if hall_full and hall < snapshot.hall_capacity_kw.shape[1]:
            # the hall's cooling was what the node lacked: no ASIC in that hall runs
            assert not np.any(asics_here & (snapshot.hall == hall))
        if grid_full and not hall_full:
            # the grid was what it lacked: no ASIC runs anywhere
            assert not np.any(asics_here)


@settings(max_examples=300, deadline=None)
@given(snapshots())
def test_profit_never_runs_an_asic_group_earning_less_than_a_mwh_costs(
    snapshot: PowerSnapshot,
) -> None:
    grants = profit(snapshot)
    check_budgets(snapshot, grants)
    # a MWh of IT costs its price plus the demand-response credit forgone, on the meter: with
    # its hall's cooling
    overhead = np.hstack((snapshot.cooling_kw_per_kw, np.zeros((snapshot.ticks, 1))))
    meter = snapshot.energy_price_usd_per_mwh + snapshot.curtail_credit_usd_per_mwh
    cost = meter[:, None] * (1 + overhead[:, snapshot.hall])
    losing = (snapshot.revenue_usd_per_mwh < cost) & ~snapshot.is_gpu[None, :]
    assert np.all(grants[losing] == 0)
    # and one that earns more than its cost is held back only by a budget
    earning = (snapshot.revenue_usd_per_mwh >= cost) | snapshot.is_gpu[None, :]
    short = earning & (grants < snapshot.units_available)
    spare_grid = snapshot.grid_kw - site_power_kw(snapshot, grants)
    heat = heat_by_hall(snapshot, grants)
    capacity = np.hstack((snapshot.hall_capacity_kw, np.full((snapshot.ticks, 1), np.inf)))
    for t, g in zip(*np.nonzero(short), strict=True):
        hall = snapshot.hall[g]
        unit = snapshot.unit_power_kw[g]
        no_grid = spare_grid[t] < unit * (1 + overhead[t, hall]) * (1 + 1e-9) + EPS
        no_cooling = capacity[t, hall] - heat[t, hall] < unit * (1 + 1e-9) + EPS
        assert no_grid or no_cooling


def test_revenue_per_mwh_of_an_s21_at_a_50_dollar_hashprice() -> None:
    # 17.5 J/TH: one PH/s for a day burns 0.42 MWh, so $50/PH/day earns ≈$119/MWh
    assert revenue_per_mwh(np.array([50.0]), np.array([17.5]))[0, 0] == 50.0 / 0.42
