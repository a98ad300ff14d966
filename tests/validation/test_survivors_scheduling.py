"""Exact validation tests that kill scheduling mutants the rest of the suite let survive:
patience after a start, the SLA capacity of a group's later contracts, and checkpoints
across two preemptions.

Every case is small and deterministic (trace jobs, constant patience, planned node caps), so
the expected values are worked out by hand from docs/model.md §4 and checked exactly. Each
test names the mutation it kills (file:line at commit b2c2644, before → after).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from helpers import make_scenario

from sim import run_one
from sim.scenario.schema import Scenario

HOUR = 3_600.0
NODE = "HGX H100 8-GPU"  # 8 GPUs a node


def at(hours: float) -> str:
    """UTC time ``hours`` after the 2024-01-01 start (quarter hours)."""
    minutes = round(hours * 60)
    return f"2024-01-01T{minutes // 60:02d}:{minutes % 60:02d}:00Z"


def ai_day(nodes: int, caps: list[tuple[float, int]], **ai: object) -> Scenario:
    """One day, no ASICs, one GPU group of ``nodes`` whose cap is ``caps`` [(hour, nodes)].

    ``ramp_s`` is 0, so a node is usable the moment the cap lifts.
    """
    group = {
        "node_type": NODE,
        "nodes": nodes,
        "node_cap_schedule": [{"from_utc": at(h), "nodes": n} for h, n in caps],
    }
    return make_scenario(
        end_utc="2024-01-02T00:00:00Z",
        site={"policy": {"ramp_s": 0}},
        mining={"groups": []},
        ai={"groups": [group], **ai},
    )


def trace_jobs(tmp_path: Path, rows: list[tuple[float, int, float]], job_class: dict) -> dict:
    """The ai section entries replaying ``rows`` (submit s, GPUs, run s) as ``job_class``."""
    trace = tmp_path / "trace.csv"
    body = "".join(f"{t:g},{g},{d:g}\n" for t, g, d in rows)
    trace.write_text("submit_time_s,gpus,duration_s\n" + body)
    return {
        "trace": {"csv_path": str(trace), "job_class": job_class["name"]},
        "job_classes": [{"arrivals_per_hour": 0, "price_usd_per_gpu_hour": 2.0, **job_class}],
    }


def test_a_preempted_job_waits_past_its_patience_without_abandoning(tmp_path: Path) -> None:
    """Patience applies before the first start only (docs/model.md §4.2).

    One node; constant patience 2 h; three 8-GPU jobs submitted at 0 in this order:
    ``blocker`` (1 h) runs 0–1 h; ``started`` (5 h) waits 1 h < 2 h and starts at 1 h; the
    cap is 0 from 1.5 h to 5 h, so ``started`` is preempted (no checkpoints: its 0.5 h is
    lost) and waits in the queue from 1.5 h to 5 h, past both its patience deadline (2 h
    after submission) and 2 h after the cut; it restarts at 5 h and ends at 10 h.
    ``never`` (1 h) is queued from 0 and never started: it abandons at exactly 2 h, which
    shows the patience is live.

    Kills: sim/model/cluster.py:221 GpuCluster._abandon, ``if record.status != "queued" or not
    math.isnan(record.first_start_s):`` → ``if record.status != "queued":`` (and, with it,
    re-arming the patience timer in ``_preempt`` when the job requeues).
    """
    patience = {"distribution": "constant", "mean_s": 2 * HOUR}
    jobs_ai = trace_jobs(
        tmp_path,
        [(0, 8, 1 * HOUR), (0, 8, 5 * HOUR), (0, 8, 1 * HOUR)],
        {"name": "impatient", "patience": patience},
    )
    result = run_one(ai_day(1, [(1.5, 0), (5.0, 1)], **jobs_ai))
    jobs = result.jobs.set_index("job_id")
    blocker, started, never = jobs.loc[0], jobs.loc[1], jobs.loc[2]
    assert blocker["status"] == "completed" and blocker["end_time_s"] == 1 * HOUR
    assert started["status"] == "completed"
    assert started["start_time_s"] == 1 * HOUR
    assert started["wait_s"] == 1 * HOUR  # submit → first start, within the patience
    assert started["preemptions"] == 1
    assert started["lost_work_s"] == pytest.approx(0.5 * HOUR)
    assert started["end_time_s"] == pytest.approx(10 * HOUR)  # restarted at 5 h with 5 h left
    assert started["run_s"] == pytest.approx(5.5 * HOUR)
    assert never["status"] == "abandoned"
    assert never["end_time_s"] == pytest.approx(2 * HOUR)
    assert math.isnan(never["start_time_s"])
    summary = result.summary.iloc[0]
    assert summary["jobs_abandoned"] == 1
    assert summary["jobs_completed"] == 2
    assert summary["abandonment_rate"] == pytest.approx(1 / 3)  # abandoned/(started + abandoned)
    assert result.timeseries["jobs_abandoned"].sum() == 1


def test_later_contracts_get_the_gpus_left_by_earlier_ones() -> None:
    """SLA with three contracts in one 16-GPU group, served in listing order (§4.5).

    delivered_c = clip(usable − Σ earlier gpus, 0, gpus_c). Contracts A = 4, B = 4, C = 8
    GPUs; the cap is 1 node (8 GPUs) for 2 h and 0 for 1 h of a one-day SLA period:

    - A: 8 usable ≥ 4, then 0: short 4 × 1 = 4 GPU-h of 96; 95.83 % < 99 % → 4 × $5 = $20.
    - B: 8 − 4 = 4 ≥ 4, then 0: short 4 GPU-h; 95.83 % ≥ its 95 % target → no penalty.
    - C: 8 − 8 = 0 for 2 h, then 0 for 1 h: short 8 × 3 = 24 GPU-h of 192; 87.5 % < 99 %
      → 24 × $10 = $240.

    Total $260. Without the subtraction C would be short only in the hour at 0 (8 GPU-h,
    $80); subtracting only the previous contract would give 16 GPU-h ($160).

    Kills: sim/model/contracts.py:70 contract_rooms, ``usable_gpus.values - taken`` →
    ``usable_gpus.values`` (the earlier contracts' GPUs left in a later contract's room).
    """

    def contract(name: str, gpus: int, penalty: float, target: float = 0.99) -> dict:
        return {
            "name": name,
            "gpus": gpus,
            "price_usd_per_gpu_hour": 1.5,
            "sla_availability": target,
            "penalty_usd_per_gpu_hour": penalty,
        }

    reserved = [contract("A", 4, 5.0), contract("B", 4, 7.0, 0.95), contract("C", 8, 10.0)]
    scenario = ai_day(2, [(2, 1), (4, 0), (5, 2)], reserved=reserved, sla_period_days=1)
    result = run_one(scenario)
    summary = result.summary.iloc[0]
    assert summary["sla_penalty_usd"] == pytest.approx(20.0 + 240.0, rel=1e-12)
    assert summary["ai_reserved_revenue_usd"] == pytest.approx(16 * 24 * 1.5, rel=1e-12)
    penalties = result.events[result.events["event"] == "sla_penalty"]
    assert penalties["entity"].tolist() == ["A", "C"]  # B met its target
    assert penalties["value"].tolist() == pytest.approx([20.0, 240.0], rel=1e-12)
    assert penalties["time_s"].tolist() == [24 * HOUR] * 2  # booked at the period's end
    assert "availability 95.8333%, 4.0 GPU-hours short" in penalties["detail"].iloc[0]
    assert "availability 87.5000%, 24.0 GPU-hours short" in penalties["detail"].iloc[1]


@pytest.mark.parametrize(
    ("second_cut_h", "lost_second_h", "end_h"),
    [
        # restarted at 4 h with 8 h left: the cut at 7.25 h finds 2 + 3.25 = 5.25 h done,
        # checkpointed at 5 h, so 3 h of the segment are kept and 0.25 h lost; 5 h left
        # when the node returns at 8 h → ends at 13 h
        (7.25, 0.25, 13.0),
        # the cut at 4.5 h finds 2.5 h done; the last checkpoint (2 h) is the one kept from
        # the first cut, so the whole 0.5 h segment is lost; 8 h left at 8 h → ends at 16 h
        (4.5, 0.5, 16.0),
    ],
    ids=["past-a-checkpoint", "before-the-next-checkpoint"],
)
def test_checkpoints_across_two_preemptions(
    tmp_path: Path, second_cut_h: float, lost_second_h: float, end_h: float
) -> None:
    """kept = max(⌊(w₀ + e)/I⌋·I, w₀) − w₀ at every cut (docs/model.md §4.4), I = 1 h.

    One 10 h, 8-GPU job from 0 on one node, cut at 2.5 h (back at 4 h) and again at
    ``second_cut_h`` (back at 8 h). The first cut finds w₀ = 0, e = 2.5 h: 2 h kept, 0.5 h
    lost. The second starts from w₀ = 2 h. run_s = 10 h of work + all lost work; only kept
    work is billed (8 GPUs × 10 h × $2 = $160).

    Kills: sim/model/cluster.py:266 GpuCluster.kept_work_s, ``max(math.floor(done_now /
    interval) * interval, done_before) - done_before`` → ``max(math.floor(done_now /
    interval) * interval, done_before)`` (identical at the first cut, where w₀ = 0).
    """
    jobs_ai = trace_jobs(
        tmp_path,
        [(0, 8, 10 * HOUR)],
        {"name": "train", "checkpoint_interval_s": HOUR},
    )
    caps = [(2.5, 0), (4.0, 1), (second_cut_h, 0), (8.0, 1)]
    result = run_one(ai_day(1, caps, **jobs_ai))
    job = result.jobs.iloc[0]
    lost_h = 0.5 + lost_second_h
    assert job["status"] == "completed"
    assert job["preemptions"] == 2
    assert job["start_time_s"] == 0.0
    assert job["lost_work_s"] == pytest.approx(lost_h * HOUR, rel=1e-12)
    assert job["run_s"] == pytest.approx((10 + lost_h) * HOUR, rel=1e-12)
    assert job["end_time_s"] == pytest.approx(end_h * HOUR, rel=1e-12)
    assert job["revenue_usd"] == pytest.approx(8 * 10 * 2.0, rel=1e-12)
    assert result.timeseries["jobs_preempted"].sum() == 2
