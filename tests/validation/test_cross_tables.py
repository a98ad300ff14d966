"""Every table of a run tells the same story (tests/invariants.py), on every shipped scenario
and on one scenario that switches every term on at once.

The shipped scenarios run shortened (two weeks from their start, fast) with their features
kept on: `spot_curtailment.yaml` is cut to January 2024 with its 4CP month moved to
January, so that the month lies whole in the run (a 4CP month the run only touches is
rejected when the scenario loads), and its DR trigger lowered from $300 to $60/MWh, since
January's spot path of the file's seed peaks at ≈$76/MWh and would call no event.

Mutations this file kills (each planted alone in a private worktree, see the report):

- survivor 9, ``sim/record/ai_tables.py`` ``ai_columns``: ``"ai_margin_usd": revenue -
  penalty - cost`` → ``revenue - cost`` (the SLA penalty left out of timeseries and daily,
  the summary's left as it was): the row identity and Σ daily = summary fail on the
  composed scenario, whose capacity cuts earn SLA penalties (no shipped scenario has any);
- survivor 4 too (free-cooling clamp removed, ``sim/model/facility.py``): hybrid.yaml's
  January rows get negative cooling power;
- and, as checks that the helper is not vacuous: cooling left out of ``energy_cost_usd``
  (``sim/record/tables.py``), reserved revenue left out of groups.csv's GPU rows
  (``sim/record/group_tables.py``), ``site_power_kw`` without cooling
  (``sim/record/facility_tables.py``) and the summary's cooling MWh off by 0.1 %.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers import SCENARIOS
from invariants import check_run

from sim import load_scenario, run_one
from sim.result import RunResult
from sim.scenario import scenario_from_mapping

SHORT_DAYS = 14
OVERRIDES: dict[str, list[str]] = {
    # 4CP needs its month whole inside the run: January, with the file's chain state;
    # January has no $300 hour, so the trigger comes down to call some events
    "spot_curtailment.yaml": [
        "end_utc=2024-02-01T00:00:00Z",
        "site.grid_programs.four_cp.months=[1]",
        "site.grid_programs.price_triggered_dr.trigger_usd_per_mwh=60",
    ],
}


def shortened(path: Path) -> list[str]:
    if path.name in OVERRIDES:
        return OVERRIDES[path.name]
    start = load_scenario(path).start_utc
    return [f"end_utc={(start + timedelta(days=SHORT_DAYS)).isoformat()}"]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_has_consistent_tables(path: Path) -> None:
    result = run_one(load_scenario(path, shortened(path)))
    check_run(result)


def test_spot_curtailment_keeps_its_grid_programs_on_when_shortened() -> None:
    """The shortened run still exercises what the full one does: DR credits and a 4CP charge."""
    path = SCENARIOS / "spot_curtailment.yaml"
    s = run_one(load_scenario(path, shortened(path))).summary.iloc[0]
    assert s["dr_credit_usd"] > 0 and s["four_cp_charge_usd"] > 0 and s["curtailed_mwh"] > 0


# --------------------------------------------------------------------------- every term on

START = "2024-06-01T00:00:00Z"  # June (local CST) whole in the run: a 4CP month
END = "2024-07-01T00:00:00Z"


def everything_on() -> dict[str, Any]:
    """One site with every term of the money and energy columns switched on at once."""
    hot = {"start_utc": "2024-06-10T00:00:00Z", "end_utc": "2024-06-14T00:00:00Z", "extra_c": 8}
    return {
        "name": "everything-on",
        "start_utc": START,
        "end_utc": END,
        "seed": 424242,
        "bitcoin": {
            # a small network (5 EH/s, its difficulty D = H·600/2^32) so that solo blocks
            # come several a day to a 0.35 EH/s site; a BTC price scaled down alike keeps the
            # hashprice at ≈$50/PH/day, so the profit policy weighs credits as usual
            "start_height": 845_700,
            "start_difficulty": 5e18 * 600 / 2**32,
            "epoch_start_utc": "2024-05-25T00:00:00Z",
            "network_hashrate": {"start_ehs": 5.0, "growth_per_year": 0.44},
            "fees": {
                "btc_per_block": 0.1,
                "noise_sigma": 0.8,
                "schedule": [{"from_utc": "2024-06-15T00:00:00Z", "btc_per_block": 0.05}],
            },
            "price": {"start_usd": 600, "volatility_per_year": 0.6},
        },
        "site": {
            "grid_capacity_kw": 9_000,
            "energy": {"model": "spot", "price_usd_per_mwh": 40.0},
            "policy": {"name": "profit"},
            # west Texas June plus a wave: well above the halls' design ambients
            "ambient": {"preset": "west_texas", "heat_waves": [hot]},
            "halls": [
                {
                    "name": "air",
                    "cooling": "air",
                    "heat_rejection_kw": 7_000,
                    "design_ambient_c": 28.0,
                },
                {
                    "name": "gpu",
                    "cooling": "air",
                    "chilled": True,
                    "heat_rejection_kw": 900,
                    "design_ambient_c": 30.0,
                },
            ],
            "demand_response": [
                {
                    "start_utc": "2024-06-05T18:00:00Z",
                    "end_utc": "2024-06-05T21:30:00Z",
                    "credit_usd_per_mwh": 400,
                },
                {
                    "start_utc": "2024-06-20T19:10:00Z",
                    "end_utc": "2024-06-20T20:00:00Z",
                    "credit_usd_per_mwh": 900,
                },
            ],
            "grid_programs": {
                "price_triggered_dr": {
                    "trigger_usd_per_mwh": 75,
                    "credit_usd_per_mwh": 60,
                    "min_duration_s": 3600,
                },
                "four_cp": {"months": [6], "rate_usd_per_kw_year": 100},
            },
        },
        "mining": {
            "payout": "solo",
            "groups": [
                {"name": "s21", "model": "Antminer S21", "count": 1_200, "hall": "air"},
                {"name": "s19xp", "model": "Antminer S19 XP", "count": 550, "hall": "air"},
            ],
        },
        "ai": {
            "sla_period_days": 7,
            "groups": [
                {
                    "name": "h100",
                    "node_type": "HGX H100 8-GPU",
                    "nodes": 64,
                    "hall": "gpu",
                    # capacity cut twice and restored: repeated preemption, SLA shortfalls
                    "node_cap_schedule": [
                        {"from_utc": "2024-06-08T00:00:00Z", "nodes": 20},
                        {"from_utc": "2024-06-09T12:00:00Z", "nodes": 64},
                        {"from_utc": "2024-06-22T00:00:00Z", "nodes": 8},
                        {"from_utc": "2024-06-23T06:00:00Z", "nodes": 64},
                    ],
                }
            ],
            "reserved": [
                {
                    "name": "anchor",
                    "gpus": 160,
                    "price_usd_per_gpu_hour": 1.7,
                    "sla_availability": 0.99,
                    "penalty_usd_per_gpu_hour": 5.0,
                },
                {
                    "name": "second",
                    "gpus": 96,
                    "price_usd_per_gpu_hour": 1.9,
                    "sla_availability": 0.995,
                    "penalty_usd_per_gpu_hour": 7.0,
                },
            ],
            "job_classes": [
                {
                    "name": "anchor-jobs",
                    "contract": "anchor",
                    "arrivals_per_hour": 0.5,
                    "gpus": {"values": [16, 32, 64]},
                    "duration": {"distribution": "lognormal", "mean_s": 36_000, "sigma": 0.6},
                    "checkpoint_interval_s": 3600,
                },
                {
                    "name": "second-jobs",
                    "contract": "second",
                    "arrivals_per_hour": 0.4,
                    "gpus": {"values": [8, 16, 32]},
                    "duration": {"distribution": "exponential", "mean_s": 20_000},
                },
                {
                    "name": "training",
                    "arrivals_per_hour": 0.3,
                    "gpus": {"values": [32, 64]},
                    "duration": {"distribution": "lognormal", "mean_s": 50_000, "sigma": 0.8},
                    "price_usd_per_gpu_hour": 2.0,
                    "checkpoint_interval_s": 7200,
                    "patience": {"distribution": "exponential", "mean_s": 43_200},
                },
                {
                    "name": "inference",
                    "arrivals_per_hour": 6,
                    "gpus": {"values": [1, 2, 4, 8]},
                    "duration": {"distribution": "lognormal", "mean_s": 5_400, "sigma": 1.0},
                    "price_usd_per_gpu_hour": 2.4,
                    "patience": {"distribution": "exponential", "mean_s": 3_600},
                },
            ],
        },
    }


@pytest.fixture(scope="module")
def all_on() -> RunResult:
    return run_one(scenario_from_mapping(everything_on(), source="<everything-on>"))


def test_the_composed_scenario_switches_every_term_on(all_on: RunResult) -> None:
    """Guards the scenario itself: each term the invariants compare is really non-zero."""
    s = all_on.summary.iloc[0]
    ts = all_on.timeseries
    assert s["payout"] == "solo" and s["site_blocks_found"] >= 5 and s["pool_fee_usd"] == 0
    assert ts["network_fees_btc"].sum() > 0
    for column in (
        "dr_credit_usd",
        "four_cp_charge_usd",
        "sla_penalty_usd",
        "heat_lost_revenue_usd",
        "cooling_energy_cost_usd",
        "ai_on_demand_revenue_usd",
        "ai_reserved_revenue_usd",
        "curtailed_mwh",
        "hours_throttled",
    ):
        assert s[column] > 0, column
    assert s["jobs_preempted"] >= 2 and s["jobs_abandoned"] > 0
    penalties = all_on.events[all_on.events["event"] == "sla_penalty"]
    assert set(penalties["entity"]) == {"anchor", "second"}  # both contracts short
    for hall, design in (("air", 28.0), ("gpu", 30.0)):  # capacity derated in the heat
        hot = ts["ambient_temp_c"] > design + 1
        assert hot.any()
        assert (
            ts.loc[hot, f"{hall}_cooling_capacity_kw"] < ts[f"{hall}_cooling_capacity_kw"].max()
        ).all()
    # demand response from both programs, and 4CP alerts
    kinds = all_on.events["event"].value_counts()
    assert kinds.get("four_cp_alert", 0) == 5 and kinds.get("four_cp_peak", 0) == 1
    details = all_on.events.loc[all_on.events["event"] == "demand_response", "detail"]
    assert (details == "price-triggered").any() and (details != "price-triggered").any()


def test_every_table_agrees_with_every_term_on(all_on: RunResult) -> None:
    check_run(all_on)


def test_every_table_agrees_with_faults_on_as_well() -> None:
    raw = everything_on()
    raw["site"]["grid_outages"] = {"rate_per_year": 40.0, "duration": {"mean_s": 3_600.0}}
    raw["site"]["repair_crew"] = {"technicians": 1}
    for group in [*raw["mining"]["groups"], *raw["ai"]["groups"]]:
        group["annual_failure_rate"] = 4.0
    faulty = run_one(scenario_from_mapping(raw, source="<faults-on>"))
    s = faulty.summary.iloc[0]
    assert s["grid_outages"] >= 1 and s["hardware_failures"] >= 10
    assert 0 < s["asic_availability"] < 1 and 0 < s["gpu_node_availability"] < 1
    check_run(faulty)


def test_ai_margin_carries_the_sla_penalty_in_every_table(all_on: RunResult) -> None:
    """ai_margin = ai_revenue − sla_penalty − gpu_energy_cost in each row of both interval
    tables, and their totals are the summary's (penalties > 0 here, so the term counts)."""
    s = all_on.summary.iloc[0]
    assert s["sla_penalty_usd"] > 0
    for table in (all_on.timeseries, all_on.daily):
        expected = table["ai_revenue_usd"] - table["sla_penalty_usd"] - table["gpu_energy_cost_usd"]
        scale = (
            table["ai_revenue_usd"] + table["sla_penalty_usd"] + table["gpu_energy_cost_usd"].abs()
        )
        assert ((table["ai_margin_usd"] - expected).abs() <= 1e-9 * scale + 1e-9).all()
        assert table["ai_margin_usd"].sum() == pytest.approx(s["ai_margin_usd"], rel=1e-9)
