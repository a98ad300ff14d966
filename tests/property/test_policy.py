"""Properties of the site power policies over random snapshots (pure functions, no SimPy)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sim.model.policy import PowerSnapshot, profit, revenue_per_mwh, static


@st.composite
def snapshots(draw: st.DrawFn) -> PowerSnapshot:
    ticks = draw(st.integers(1, 12))
    groups = draw(st.integers(1, 6))
    finite = {"allow_nan": False, "allow_infinity": False}
    return PowerSnapshot(
        energy_price_usd_per_mwh=draw(
            arrays(float, ticks, elements=st.floats(-50, 5_000, **finite))
        ),
        asic_revenue_usd_per_mwh=draw(
            arrays(float, (ticks, groups), elements=st.floats(0, 500, **finite))
        ),
        units_installed=draw(arrays(float, groups, elements=st.integers(0, 5_000).map(float))),
        unit_power_kw=draw(arrays(float, groups, elements=st.floats(0.5, 6.0, **finite))),
        asic_budget_kw=draw(arrays(float, ticks, elements=st.floats(0, 30_000, **finite))),
        curtail_credit_usd_per_mwh=draw(
            arrays(float, ticks, elements=st.sampled_from([0.0, 50.0, 500.0]))
        ),
    )


def check_grants(snapshot: PowerSnapshot, grants: np.ndarray) -> None:
    assert grants.shape == (snapshot.ticks, snapshot.units_installed.size)
    assert np.all(grants >= 0)
    assert np.all(grants <= snapshot.units_installed)
    assert np.all(grants == np.floor(grants))  # whole units
    power = grants @ snapshot.unit_power_kw
    assert np.all(power <= snapshot.asic_budget_kw * (1 + 1e-9) + 1e-9)


@settings(max_examples=300, deadline=None)
@given(snapshots())
def test_static_grants_stay_within_the_budget_and_ignore_prices(snapshot: PowerSnapshot) -> None:
    grants = static(snapshot)
    check_grants(snapshot, grants)
    # with room for everything, static runs everything whatever the price
    roomy = PowerSnapshot(
        snapshot.energy_price_usd_per_mwh * 100,
        snapshot.asic_revenue_usd_per_mwh,
        snapshot.units_installed,
        snapshot.unit_power_kw,
        np.full(snapshot.ticks, float(snapshot.units_installed @ snapshot.unit_power_kw) + 1),
        snapshot.curtail_credit_usd_per_mwh,
    )
    everything = np.broadcast_to(
        snapshot.units_installed, (snapshot.ticks, snapshot.units_installed.size)
    )
    assert np.array_equal(static(roomy), everything)


@settings(max_examples=300, deadline=None)
@given(snapshots())
def test_profit_never_runs_a_group_earning_less_than_the_energy_price_and_credit(
    snapshot: PowerSnapshot,
) -> None:
    grants = profit(snapshot)
    check_grants(snapshot, grants)
    # a MWh burnt costs its price plus the demand-response credit forgone
    cost = snapshot.energy_price_usd_per_mwh + snapshot.curtail_credit_usd_per_mwh
    losing = snapshot.asic_revenue_usd_per_mwh < cost[:, None]
    assert np.all(grants[losing] == 0)
    # a profitable group is held back only by the budget: adding its next unit would not fit
    power = grants @ snapshot.unit_power_kw
    short = (~losing) & (grants < snapshot.units_installed)
    for t, g in zip(*np.nonzero(short), strict=True):
        spare = snapshot.asic_budget_kw[t] - power[t]
        assert spare < snapshot.unit_power_kw[g] * (1 + 1e-9) + 1e-6


def test_revenue_per_mwh_of_an_s21_at_a_50_dollar_hashprice() -> None:
    # 17.5 J/TH: one PH/s for a day burns 0.42 MWh, so $50/PH/day earns ≈$119/MWh
    assert revenue_per_mwh(np.array([50.0]), np.array([17.5]))[0, 0] == 50.0 / 0.42
