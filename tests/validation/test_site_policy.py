"""The site power policy on the whole model: curtailment on the same random numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import SCENARIOS

from sim import load_scenario, run_one
from sim.scenario.catalog import BUILTIN_ASICS

SHORT = ["end_utc=2024-09-01T00:00:00Z"]


@pytest.fixture(scope="module")
def runs():
    static = load_scenario(SCENARIOS / "spot_prices.yaml", [*SHORT, "site.policy.name=static"])
    profit = load_scenario(SCENARIOS / "spot_prices.yaml", [*SHORT, "site.policy.name=profit"])
    return static, run_one(static), run_one(profit)


def test_curtailing_at_price_spikes_earns_more_than_never_curtailing(runs) -> None:
    _, static, profit = runs
    # same random numbers: the chain, the BTC price and the energy price are identical
    np.testing.assert_array_equal(static.blocks["time_s"], profit.blocks["time_s"])
    np.testing.assert_array_equal(
        static.timeseries["energy_price_usd_per_mwh"], profit.timeseries["energy_price_usd_per_mwh"]
    )
    s, p = static.summary.iloc[0], profit.summary.iloc[0]
    assert s["curtailed_mwh"] == 0.0
    assert p["curtailed_mwh"] > 0.0
    assert p["mining_margin_usd"] > s["mining_margin_usd"]
    assert (profit.events["event"] == "asic_grant").any()
    assert not (static.events["event"] == "asic_grant").any()


def test_profit_policy_runs_groups_only_when_they_earn_the_energy_price(runs) -> None:
    scenario, _, profit = runs
    ts = profit.timeseries
    fee = 1 - scenario.mining.pool_fee_fraction
    efficiency = np.array(
        [BUILTIN_ASICS[g.model].efficiency_j_per_th for g in scenario.mining.groups]
    )
    # revenue per MWh of each group from the row's mean hashprice: 0.024 MWh per PH-day per J/TH
    revenue = ts["hashprice_usd_per_ph_day"].to_numpy()[:, None] * fee / (0.024 * efficiency)
    price = ts["energy_price_usd_per_mwh"].to_numpy()
    # hours in which every group clearly loses (or clearly earns) money, with a 5 % margin for
    # the block and price changes inside an hour
    losing = price > 1.05 * revenue.max(axis=1)
    earning = price < 0.95 * revenue.min(axis=1)
    assert losing.sum() > 0 and earning.sum() > 0
    assert (ts.loc[losing, "asic_power_kw"] == 0).all()
    # an earning hour after a losing one starts with every unit ramping up for ramp_s
    after_loss = earning & np.roll(losing, 1)
    ramp_s = scenario.site.policy.ramp_s
    installed_kw = profit.summary["installed_asic_power_kw"].iloc[0]
    np.testing.assert_allclose(
        ts.loc[after_loss, "curtailed_kw"], installed_kw * ramp_s / 3_600, rtol=1e-9
    )
    assert after_loss.sum() > 0
    settled = earning & np.roll(earning, 1)
    assert (ts.loc[settled, "curtailed_kw"] == 0).all()
    # energy balance: ASIC cost is Σ energy × price, hour by hour (the price is hourly)
    np.testing.assert_allclose(
        ts["asic_energy_cost_usd"], ts["asic_energy_kwh"] * price / 1_000, rtol=1e-9, atol=1e-9
    )


def test_demand_response_credit_is_load_kept_off_times_the_credit() -> None:
    event = "site.demand_response=[{start_utc: 2024-07-15T18:00:00Z, "
    event += "end_utc: 2024-07-15T22:00:00Z, credit_usd_per_mwh: 5000}]"
    overrides = [*SHORT, "site.energy.model=fixed", event]
    static = run_one(load_scenario(SCENARIOS / "spot_prices.yaml", overrides))
    profit = run_one(
        load_scenario(SCENARIOS / "spot_prices.yaml", [*overrides, "site.policy.name=profit"])
    )
    assert static.summary["dr_credit_usd"].iloc[0] == 0.0  # static never responds
    ts = profit.timeseries.set_index("timestamp_utc")
    window = ts.loc["2024-07-15 18:00:00+00:00":"2024-07-15 21:00:00+00:00"]
    assert len(window) == 4
    installed_kw = profit.summary["installed_asic_power_kw"].iloc[0]
    # $5,000/MWh beats any mining revenue: the whole fleet is off for the 4 hours
    assert (window["asic_power_kw"] == 0).all()
    assert window["dr_credit_usd"].sum() == pytest.approx(installed_kw * 4 / 1_000 * 5_000)
    assert profit.summary["dr_credit_usd"].iloc[0] == pytest.approx(ts["dr_credit_usd"].sum())
    dr = profit.events[profit.events["event"] == "demand_response"]
    assert len(dr) == 1 and dr["value"].iloc[0] == 5_000


@pytest.fixture(scope="module")
def hybrid_policies() -> dict[str, pd.DataFrame]:
    """The hybrid site over a hot July week, once per policy, on the same random numbers."""
    week = ["start_utc=2024-07-08T00:00:00Z", "end_utc=2024-07-15T00:00:00Z"]
    return {
        name: run_one(
            load_scenario(SCENARIOS / "hybrid.yaml", [*week, f"site.policy.name={name}"])
        ).timeseries
        for name in ("static", "ai_first", "profit")
    }


def test_the_hybrid_site_runs_with_each_policy_and_they_differ_in_who_gives_way(
    hybrid_policies: dict[str, pd.DataFrame],
) -> None:
    nodes = 512
    for name, ts in hybrid_policies.items():
        # cooling power counts against the 100 MW interconnect under every policy
        assert ts["site_power_kw"].max() <= 100_000 * (1 + 1e-9), name
    static, ai_first = hybrid_policies["static"], hybrid_policies["ai_first"]
    # hot afternoons: static (ASICs listed first) sheds GPU nodes, ai_first never does and
    # curtails ASICs instead
    assert (static["gpu_nodes_powered"] < nodes).any()
    assert (ai_first["gpu_nodes_powered"] == nodes).all()
    assert (hybrid_policies["profit"]["gpu_nodes_powered"] == nodes).all()
    assert ai_first["curtailed_kw"].sum() > static["curtailed_kw"].sum()
