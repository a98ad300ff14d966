"""What faults cost, estimated within a run, against the fault-free twin and exact sums.

The in-run estimates (docs/model.md §10.8) assume an out-of-service unit would have run
like its group's units in service. Where that is exactly true (every unit in service runs:
energy is cheap, the grid ample, no ramp), the estimate must equal the difference between
the run and the same seed without faults, but for the wait of a repaired unit for the next
control tick: the network does not see the site, so both runs mine against the same blocks
and prices (common random numbers).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.result import RunResult
from sim.runner import run_one
from sim.scenario import scenario_from_mapping
from tests.helpers import SCENARIOS


def _asic_site(faults: bool, **site: Any) -> RunResult:
    """quick.yaml without GPUs, energy nearly free, every granted unit at once (no ramp)."""
    raw = yaml.safe_load((SCENARIOS / "quick.yaml").read_text())
    del raw["ai"]
    raw["site"]["energy"] = {"price_usd_per_mwh": 1.0}
    raw["site"]["grid_capacity_kw"] = 50_000
    raw["site"]["policy"] = {"ramp_s": 0.0}
    if faults:
        raw["site"]["grid_outages"] = {"rate_per_year": 25.0}
        raw["site"]["repair_crew"] = {"technicians": 2}
        raw["mining"]["groups"][0]["annual_failure_rate"] = 1.5
    raw["site"].update(site)
    return run_one(scenario_from_mapping(raw, source="<test>"))


@pytest.fixture(scope="module")
def twins() -> tuple[pd.Series, pd.Series, RunResult]:
    faulty = _asic_site(True)
    plain = _asic_site(False)
    return faulty.summary.iloc[0], plain.summary.iloc[0], faulty


def test_where_every_unit_in_service_runs_the_estimates_equal_the_fault_free_twin(
    twins: tuple[pd.Series, pd.Series, RunResult],
) -> None:
    faulty, plain, result = twins
    assert faulty["grid_outages"] >= 2 and faulty["hardware_failures"] > 50
    energy_lost = plain["asic_energy_mwh"] - faulty["asic_energy_mwh"]
    revenue_lost = plain["mining_revenue_usd"] - faulty["mining_revenue_usd"]
    assert energy_lost > 0 and revenue_lost > 0
    # the estimate leaves out each repaired unit's wait for the next tick: at most one
    # control interval (900 s) of one S21 (3.5 kW) per repair, and never less than nothing
    repairs = int((result.events["event"] == "repair_done").sum())
    waits_mwh = repairs * 900.0 / 3_600.0 * 3.5 / 1_000.0
    missed = energy_lost - faulty["energy_not_served_mwh"]
    assert -1e-9 * energy_lost <= missed <= waits_mwh
    assert missed < 0.01 * energy_lost
    # the same waits, valued: the revenue estimate falls short by the same small share
    missed_usd = revenue_lost - faulty["fault_lost_revenue_usd"]
    assert -1e-9 * revenue_lost <= missed_usd < 0.01 * revenue_lost


def test_each_fault_row_carries_its_share_and_the_shares_add_up(
    twins: tuple[pd.Series, pd.Series, RunResult],
) -> None:
    faulty, _, result = twins
    events = result.events
    rows = events[events["duration_s"].notna()]
    assert set(rows["event"]) == {"grid_outage", "hardware_failure"}
    # N − S = F·(1 − O) + N·O: failures and outages split the loss exactly (no overlaps of
    # outages with each other: they are merged)
    total_kwh = float(rows["energy_not_served_kwh"].sum())
    assert total_kwh == pytest.approx(faulty["energy_not_served_mwh"] * 1_000.0, rel=1e-9)
    # an outage takes the whole fleet as it ran just before: every unit in service
    outages = rows[rows["event"] == "grid_outage"]
    unit_kw = 3.5  # an Antminer S21 (catalog)
    daily = result.daily
    assert (outages["energy_not_served_kwh"] > 0).all()
    assert daily["energy_not_served_kwh"].sum() == pytest.approx(total_kwh, rel=1e-9)
    failures = rows[rows["event"] == "hardware_failure"]
    # a failed unit's share is its unit power over the hours it was down and not dark
    assert failures["energy_not_served_kwh"].max() <= (
        unit_kw * failures["duration_s"].max() / 3_600.0 * (1 + 1e-12)
    )
    ended = failures["end_time_s"].notna()
    np.testing.assert_allclose(
        failures.loc[ended, "end_time_s"] - failures.loc[ended, "time_s"],
        failures.loc[ended, "duration_s"],
    )
    # other events have none of the fault columns
    others = events[~events["event"].isin(["grid_outage", "hardware_failure"])]
    assert others[["end_time_s", "duration_s", "energy_not_served_kwh"]].isna().all().all()
    assert others["jobs_interrupted"].isna().all()


def test_each_preemption_by_a_gpu_fault_is_counted_on_that_fault() -> None:
    raw = yaml.safe_load((SCENARIOS / "quick.yaml").read_text())
    raw["site"]["grid_outages"] = {"rate_per_year": 20.0}
    raw["ai"]["groups"][0]["annual_failure_rate"] = 6.0
    result = run_one(scenario_from_mapping(raw, source="<test>"))
    events, summary = result.events, result.summary.iloc[0]
    rows = events[events["duration_s"].notna()]
    interrupted = rows["jobs_interrupted"].astype(int)
    assert interrupted.sum() == summary["jobs_interrupted_by_faults"] > 0
    lost = rows["lost_gpu_hours"].sum()
    assert lost == pytest.approx(summary["fault_lost_gpu_hours"], rel=1e-9)
    all_lost = result.jobs["lost_work_s"].mul(result.jobs["allocated_gpus"]).sum() / 3_600
    assert 0 < lost <= all_lost * (1 + 1e-12)  # every preemption's, faults' or not
    # a node failure's row counts the jobs its node_failure event stopped
    stopped = events[events["event"] == "node_failure"]
    jobs = stopped["detail"].str.extract(r"(\d+) jobs")[0].astype(int)
    gpu_failures = rows[(rows["event"] == "hardware_failure") & (rows["entity"] == "gpu-hall")]
    by_time = gpu_failures.set_index("time_s")["jobs_interrupted"].astype(int)
    assert by_time[stopped["time_s"].to_numpy()].to_numpy().tolist() == jobs.tolist()


def test_a_job_a_node_failure_interrupts_loses_exactly_its_work_since_the_last_checkpoint() -> None:
    # one 8-GPU node, one 8-GPU job at a time, 30 h jobs checkpointed hourly, the node
    # failing ≈ every 3.7 days: a job stopped once at t_f started its only segment at
    # first_start and loses (t_f − first_start) mod 1 h of work
    raw = yaml.safe_load((SCENARIOS / "quick.yaml").read_text())
    del raw["mining"]
    raw["ai"] = {
        "groups": [
            {"name": "n", "node_type": "HGX H100 8-GPU", "nodes": 1, "annual_failure_rate": 100.0}
        ],
        "job_classes": [
            {
                "name": "train",
                "arrivals_per_hour": 0.05,
                "gpus": {"values": [8]},
                "duration": {"distribution": "constant", "mean_s": 30 * 3_600.0},
                "price_usd_per_gpu_hour": 2.0,
                "checkpoint_interval_s": 3_600.0,
            }
        ],
    }
    result = run_one(scenario_from_mapping(raw, source="<test>"))
    failures = result.events.loc[result.events["event"] == "node_failure", "time_s"].to_numpy()
    jobs = result.jobs[result.jobs["preemptions"] == 1]
    checked = 0
    for _, job in jobs.iterrows():
        hit = failures[(failures > job["start_time_s"]) & (failures < job["end_time_s"])]
        if hit.size != 1:
            continue  # stopped by something else too (a failure while it queued, say)
        ran = hit[0] - job["start_time_s"]
        assert job["lost_work_s"] == pytest.approx(ran % 3_600.0, abs=1e-6)
        # the failure's row: that work times the job's 8 GPUs
        (row,) = result.events[
            (result.events["event"] == "hardware_failure") & (result.events["time_s"] == hit[0])
        ].itertuples()
        assert row.jobs_interrupted == 1
        assert row.lost_gpu_hours == pytest.approx(8 * job["lost_work_s"] / 3_600.0, abs=1e-9)
        checked += 1
    assert checked >= 5


def test_a_curtailment_order_keeps_from_the_site_what_it_drew_just_before(
    twins: tuple[pd.Series, pd.Series, RunResult],
) -> None:
    # a tenth of the 50 MW interconnect for 9 h 10 min: the 10.5 MW fleet drops to ≈5 MW
    order = {"start_utc": "2024-03-10T08:20:00Z", "end_utc": "2024-03-10T17:30:00Z"}
    result = _asic_site(False, curtailment_orders=[{**order, "grid_share": 0.1}])
    _, plain, _ = twins
    summary = result.summary.iloc[0]
    energy_lost = plain["asic_energy_mwh"] - summary["asic_energy_mwh"]
    assert energy_lost > 10.0  # ≈5.5 MW for 9 h
    assert summary["energy_not_served_mwh"] == pytest.approx(energy_lost, rel=1e-9)
    revenue_lost = plain["mining_revenue_usd"] - summary["mining_revenue_usd"]
    assert summary["fault_lost_revenue_usd"] == pytest.approx(revenue_lost, rel=1e-9)
    (row,) = result.events[result.events["event"] == "curtailment_order"].itertuples()
    assert row.duration_s == 9 * 3_600 + 600
    assert row.energy_not_served_kwh == pytest.approx(energy_lost * 1_000.0, rel=1e-9)
