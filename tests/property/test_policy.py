"""Properties of the site power policies over random snapshots (pure functions, no SimPy).

The policies skip the greedy fill on ticks with room for everything and fill by columns when
the order is the same at each tick; :mod:`sim.model.policy_spec` is the plain fill of
docs/model.md §5.1–5.2 they optimise, the specification: every policy must return its grants,
bit for bit.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.model import policy_spec
from sim.model.policy import (
    POLICIES,
    REVENUE_BLIND,
    PowerSnapshot,
    ai_first,
    profit,
    revenue_per_mwh,
    static,
)

FINITE = {"allow_nan": False, "allow_infinity": False}
EPS = 1e-6


def assert_same_bits(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    assert got.tobytes() == expected.tobytes(), np.argwhere(
        got.view(np.uint8).reshape(*got.shape, -1)
        != expected.view(np.uint8).reshape(*got.shape, -1)
    )[:5]


@st.composite
def snapshots(draw: st.DrawFn) -> PowerSnapshot:
    """Random sites: 1–12 ticks, 1–7 loads (some GPU groups), 0–3 halls (some loads outside)."""
    ticks = draw(st.integers(1, 12))
    loads = draw(st.integers(1, 7))
    halls = draw(st.integers(0, 3))
    serves_tenants = draw(arrays(bool, loads))
    unit_kw = np.where(
        serves_tenants,
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
        serves_tenants=serves_tenants,
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
    short_gpus = snapshot.serves_tenants[None, :] & (grants < snapshot.units_available)
    overhead = np.hstack((snapshot.cooling_kw_per_kw, np.zeros((snapshot.ticks, 1))))
    heat = heat_by_hall(snapshot, grants)
    spare_grid = snapshot.grid_kw - site_power_kw(snapshot, grants)
    for t, g in zip(*np.nonzero(short_gpus), strict=True):
        hall = snapshot.hall[g]
        asics_here = ~snapshot.serves_tenants & (grants[t] > 0)
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
    losing = (snapshot.revenue_usd_per_mwh < cost) & ~snapshot.serves_tenants[None, :]
    assert np.all(grants[losing] == 0)
    # and one that earns more than its cost is held back only by a budget
    earning = (snapshot.revenue_usd_per_mwh >= cost) | snapshot.serves_tenants[None, :]
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


# --- the fast fill returns exactly what the specification (policy_spec) does ----------------

ROOMY = [1.5, 3.0, 10.0]
"""Budgets as a multiple of each tick's demand: room for everything."""
TIGHT = [0.0, 0.3, 0.9, 1 - 1e-9, 1 - 1e-12, 1 - 1e-15, 1.0, 1 + 1e-15, 1 + 1e-12, 1 + 1e-9, 1.1]
"""…and from none to within rounding of the demand, on either side."""


def demand_kw(snapshot: PowerSnapshot) -> tuple[np.ndarray, np.ndarray]:
    """Grid (T,) and per-hall (T, H) power if every available unit runs."""
    heat = heat_by_hall(snapshot, snapshot.units_available)
    return site_power_kw(snapshot, snapshot.units_available), heat[:, :-1]


@st.composite
def busy_sites(draw: st.DrawFn) -> PowerSnapshot:
    """Sites like the simulator's: room for everything at most ticks, tight at a few.

    Up to 40 ticks, 24 loads (GPU groups or none), 4 halls (some empty, some loads outside);
    unit powers and revenues often repeat (ties), ASIC revenue follows one price (the same
    order at each tick) while GPU revenue does not. At a tight tick the grid and each hall get
    from nothing to about their demand, often within rounding of it.
    """
    ticks = draw(st.integers(1, 40))
    loads = draw(st.integers(1, 24))
    halls = draw(st.integers(0, 4))
    serves_tenants = draw(arrays(bool, loads)) & draw(st.booleans())
    unit_kw = draw(
        arrays(
            float,
            loads,
            elements=st.sampled_from([0.5, 3.01, 3.068, 3.5, 5.676, 10.2])
            | st.floats(0.1, 12.0, **FINITE),
        )
    )
    installed = draw(arrays(float, loads, elements=st.integers(0, 400).map(float)))
    if draw(st.booleans()):
        available = np.tile(installed, (ticks, 1))
    else:
        available = draw(arrays(float, (ticks, loads), elements=st.integers(0, 40).map(float)))
    efficiency_value = draw(
        arrays(
            float,
            loads,
            elements=st.sampled_from([60.0, 90.0, 120.0]) | st.floats(0, 400, **FINITE),
        )
    )
    hashprice = draw(arrays(float, ticks, elements=st.floats(0.2, 3.0, **FINITE)))
    revenue = np.where(serves_tenants, efficiency_value, hashprice[:, None] * efficiency_value)
    snapshot = PowerSnapshot(
        energy_price_usd_per_mwh=draw(arrays(float, ticks, elements=st.floats(-50, 300, **FINITE))),
        revenue_usd_per_mwh=revenue,
        units_available=available,
        unit_power_kw=unit_kw,
        serves_tenants=serves_tenants,
        hall=draw(arrays(int, loads, elements=st.integers(0, halls))),
        grid_kw=np.zeros(ticks),
        hall_capacity_kw=np.zeros((ticks, halls)),
        cooling_kw_per_kw=draw(
            arrays(
                float,
                (ticks, halls),
                elements=st.sampled_from([0.0, 0.05, 0.3]) | st.floats(0.0, 0.6, **FINITE),
            )
        ),
        curtail_credit_usd_per_mwh=draw(
            arrays(float, ticks, elements=st.sampled_from([0.0, 0.0, 50.0, 500.0]))
        ),
    )
    grid, heat = demand_kw(snapshot)
    tight = draw(arrays(bool, ticks))
    roomy = st.sampled_from(ROOMY)
    grid_share = np.where(
        tight,
        draw(arrays(float, ticks, elements=st.sampled_from(ROOMY + TIGHT))),
        draw(arrays(float, ticks, elements=roomy)),
    )
    hall_share = np.where(
        tight[:, None],
        draw(arrays(float, (ticks, halls), elements=st.sampled_from(ROOMY + TIGHT))),
        draw(arrays(float, (ticks, halls), elements=roomy)),
    )
    return replace(snapshot, grid_kw=grid * grid_share, hall_capacity_kw=heat * hall_share)


SPECIAL = [0.0, -0.0, 2.5, -0.5, -1.0, 1e300, np.inf, -np.inf, np.nan, 5e-324]


@st.composite
def odd_sites(draw: st.DrawFn) -> PowerSnapshot:
    """Busy sites with odd values here and there: −0, fractions, negatives, inf, NaN, tiny."""
    snapshot = draw(busy_sites())

    def spoil(values: np.ndarray) -> np.ndarray:
        where = draw(arrays(bool, values.shape)) & draw(st.booleans())
        odd = draw(arrays(float, values.shape, elements=st.sampled_from(SPECIAL)))
        return np.where(where, odd, values)

    return replace(
        snapshot,
        units_available=spoil(snapshot.units_available),
        unit_power_kw=spoil(snapshot.unit_power_kw),
        grid_kw=spoil(snapshot.grid_kw),
        hall_capacity_kw=spoil(snapshot.hall_capacity_kw),
        cooling_kw_per_kw=spoil(snapshot.cooling_kw_per_kw),
        revenue_usd_per_mwh=spoil(snapshot.revenue_usd_per_mwh),
    )


@settings(max_examples=400, deadline=None)
@given(busy_sites(), st.sampled_from(sorted(POLICIES)))
def test_policies_grant_what_the_plain_fill_granted_bit_for_bit(
    snapshot: PowerSnapshot, name: str
) -> None:
    assert_same_bits(POLICIES[name](snapshot), policy_spec.POLICIES[name](snapshot))


@settings(max_examples=200, deadline=None)
@given(snapshots(), st.sampled_from(sorted(POLICIES)))
def test_policies_match_the_plain_fill_on_any_site(snapshot: PowerSnapshot, name: str) -> None:
    assert_same_bits(POLICIES[name](snapshot), policy_spec.POLICIES[name](snapshot))


@settings(max_examples=300, deadline=None)
@given(odd_sites(), st.sampled_from(sorted(POLICIES)))
def test_policies_match_the_plain_fill_on_odd_values(snapshot: PowerSnapshot, name: str) -> None:
    with np.errstate(all="ignore"):
        assert_same_bits(POLICIES[name](snapshot), policy_spec.POLICIES[name](snapshot))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("gpus", [0, 3])
def test_policies_match_the_plain_fill_on_a_large_site(seed: int, gpus: int) -> None:
    # 600 ticks, 150 groups in 10 halls; halls run short at ≈3 % of ticks, the grid at ≈1 %
    rng = np.random.default_rng(seed)
    ticks, loads, halls = 600, 150, 10
    serves_tenants = np.arange(loads) >= loads - gpus
    unit_kw = rng.choice([3.068, 3.5, 5.676, 10.2], loads)
    snapshot = PowerSnapshot(
        energy_price_usd_per_mwh=rng.uniform(-20, 120, ticks),
        revenue_usd_per_mwh=np.where(
            serves_tenants, 300.0, rng.uniform(0.5, 2, (ticks, 1)) * rng.choice([40.0, 70.0], loads)
        ),
        units_available=np.tile(rng.integers(20, 41, loads).astype(float), (ticks, 1)),
        unit_power_kw=unit_kw,
        serves_tenants=serves_tenants,
        hall=np.sort(rng.integers(0, halls + 1, loads)),
        grid_kw=np.zeros(ticks),
        hall_capacity_kw=np.zeros((ticks, halls)),
        cooling_kw_per_kw=rng.uniform(0.05, 0.4, (ticks, halls)),
        curtail_credit_usd_per_mwh=np.where(rng.random(ticks) < 0.1, 500.0, 0.0),
    )
    grid, heat = demand_kw(snapshot)
    snapshot = replace(
        snapshot,
        grid_kw=grid * np.where(rng.random(ticks) < 0.01, rng.uniform(0.5, 1.0, ticks), 1.3),
        hall_capacity_kw=heat
        * np.where(rng.random((ticks, halls)) < 0.003, rng.uniform(0.3, 1.0, (ticks, halls)), 1.05),
    )
    for name, policy in POLICIES.items():
        assert_same_bits(policy(snapshot), policy_spec.POLICIES[name](snapshot))


def test_revenue_per_mwh_of_an_s21_at_a_50_dollar_hashprice() -> None:
    # 17.5 J/TH: one PH/s for a day burns 0.42 MWh, so $50/PH/day earns ≈$119/MWh
    assert revenue_per_mwh(np.array([50.0]), np.array([17.5]))[0, 0] == 50.0 / 0.42


@settings(max_examples=200, deadline=None)
@given(snapshots(), st.sampled_from(sorted(REVENUE_BLIND)))
def test_revenue_blind_policies_grant_the_same_without_revenue(
    snapshot: PowerSnapshot, name: str
) -> None:
    """Control gives them NaN revenue (it does not price the chain for them)."""
    blind = replace(
        snapshot,
        revenue_usd_per_mwh=np.broadcast_to(np.nan, snapshot.revenue_usd_per_mwh.shape),
    )
    assert_same_bits(POLICIES[name](blind), POLICIES[name](snapshot))


# what a policy sees at each tick, (T,) or (T, ·); the rest of a snapshot is the site's
PER_TICK = (
    "energy_price_usd_per_mwh",
    "revenue_usd_per_mwh",
    "units_available",
    "grid_kw",
    "hall_capacity_kw",
    "cooling_kw_per_kw",
    "curtail_credit_usd_per_mwh",
)


@settings(max_examples=200, deadline=None)
@given(snapshots(), st.integers(1, 30), st.sampled_from(sorted(POLICIES)))
def test_a_tick_repeated_is_granted_as_the_tick_alone(
    snapshot: PowerSnapshot, ticks: int, name: str
) -> None:
    """Control grants a batch whose inputs hold still at every tick as one tick alone."""
    alone = replace(snapshot, **{f: getattr(snapshot, f)[:1] for f in PER_TICK})
    repeated = replace(
        snapshot,
        **{f: np.repeat(getattr(snapshot, f)[:1], ticks, axis=0) for f in PER_TICK},
    )
    expected = np.repeat(POLICIES[name](alone), ticks, axis=0)
    assert_same_bits(POLICIES[name](repeated), expected)
