"""GPU clock speed (thermal throttling): wall time, moved completions, checkpoints and billing.

Work is counted in seconds at full clock; at speed s a job does s work-seconds per second.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import simpy

from sim.economics.ai import billing_rates
from sim.errors import SimulationError
from sim.eventlog import EventLog
from sim.model.cluster import ON_DEMAND, RESERVED, GpuCluster, JobRecord
from sim.model.records import billing_spans
from sim.model.scheduling.jobs import Job
from sim.model.scheduling.scheduler import Scheduler
from sim.scenario.ai import GpuGroupSpec
from sim.scenario.catalog import BUILTIN_GPU_NODES

HOUR = 3_600.0
PRICE = 2.0  # USD per GPU-hour


def make_cluster(nodes: int = 1) -> tuple[simpy.Environment, GpuCluster]:
    env = simpy.Environment()
    group = GpuGroupSpec(node_type="HGX H100 8-GPU", nodes=nodes)
    cluster = GpuCluster(env, group, BUILTIN_GPU_NODES["HGX H100 8-GPU"], 100, EventLog())
    return env, cluster


def record(
    job_id: int,
    work_h: float,
    submit_s: float = 0.0,
    gpus: int = 8,
    checkpoint_h: float | None = None,
    priority: int = ON_DEMAND,
) -> JobRecord:
    return JobRecord(
        job_id=job_id,
        job_class=0,
        submit_s=submit_s,
        gpus=gpus,
        duration_s=work_h * HOUR,
        patience_s=math.inf,
        price_usd_per_gpu_hour=PRICE,
        checkpoint_interval_s=None if checkpoint_h is None else checkpoint_h * HOUR,
        priority=priority,
    )


def at(env: simpy.Environment, t_h: float, action: Callable[[], object]) -> None:
    env.timeout(t_h * HOUR - env.now).callbacks.append(lambda _: action())


# ---- scheduler core -----------------------------------------------------------------------


def test_a_job_started_while_throttled_takes_work_over_speed() -> None:
    s = Scheduler(1, 8)
    assert s.set_speed(0.5, 0.0) == ([], [])
    (p,) = s.submit(Job(1, 8, 10 * HOUR), 0.0)
    assert p.end_s == 20 * HOUR
    assert s.work_left_s(1, 4 * HOUR) == 8 * HOUR
    s.check_invariants()


def test_a_speed_change_moves_running_jobs_and_the_reservation() -> None:
    s = Scheduler(1, 8)
    s.submit(Job(1, 8, 10 * HOUR), 0.0)
    assert s.submit(Job(2, 8, 1 * HOUR), 0.0) == []  # waits for job 1
    assert s.reservation() is not None and s.reservation().shadow_s == 10 * HOUR  # type: ignore[union-attr]
    moved, started = s.set_speed(0.5, 4 * HOUR)  # 6 h of work left, now 12 h of wall time
    assert [p.end_s for p in moved] == [16 * HOUR] and started == []
    assert moved[0].start_s == 0.0
    assert s.reservation().shadow_s == 16 * HOUR  # type: ignore[union-attr]
    moved, _ = s.set_speed(1.0, 10 * HOUR)  # 3 h of work done since 4 h: 3 h left
    assert moved[0].end_s == 13 * HOUR
    s.check_invariants()
    (p,) = s.finish(1, 13 * HOUR)
    assert p.job_id == 2 and p.end_s == 14 * HOUR


def test_backfill_measures_candidates_at_the_current_speed() -> None:
    s = Scheduler(2, 8)
    s.set_speed(0.5, 0.0)
    s.submit(Job(1, 8, 5 * HOUR), 0.0)  # node 0 until 10 h
    s.submit(Job(2, 4, 4 * HOUR), 0.0)  # node 1 until 8 h
    assert s.submit(Job(3, 16, 1 * HOUR), 0.0) == []  # gang head: both nodes, at 10 h
    # 6 h of work would end by 10 h at full speed, but takes 12 h at half speed
    assert s.submit(Job(4, 4, 6 * HOUR), 0.0) == []
    assert [p.end_s for p in s.submit(Job(5, 4, 4 * HOUR), 0.0)] == [8 * HOUR]
    s.check_invariants()


def test_speed_must_be_in_zero_one() -> None:
    s = Scheduler(1, 8)
    for bad in (0.0, -0.5, 1.5, float("nan")):
        with pytest.raises(SimulationError, match="speed"):
            s.set_speed(bad, 0.0)
    _, cluster = make_cluster()
    for bad in (0.0, 1.01, float("nan")):
        with pytest.raises(SimulationError, match="speed"):
            cluster.set_speed(bad)


# ---- cluster: wall time, checkpoints and billing --------------------------------------------


def test_a_10_hour_job_at_half_speed_takes_20_hours_and_bills_10() -> None:
    env, cluster = make_cluster()
    cluster.set_speed(0.5)
    cluster.submit(record(1, 10))
    env.run()
    job = cluster.jobs[1]
    assert job.status == "completed"
    assert job.end_s == 20 * HOUR and job.run_s == 20 * HOUR
    assert job.lost_s == 0.0 and job.remaining_s == 0.0
    # customers pay for work: 8 GPUs × 10 h, spread over the 20 wall hours it took
    assert job.billed_gpu_s == 8 * 10 * HOUR
    revenue = billing_rates(billing_spans(cluster))[0]
    assert revenue.integrate(np.array([0.0, 20 * HOUR]))[0] == pytest.approx(8 * 10 * PRICE)
    assert revenue.at(19 * HOUR) == pytest.approx(8 * 10 * PRICE / (20 * HOUR))
    # the GPUs stay allocated (and powered) the whole 20 hours
    busy = cluster.busy_gpus()
    assert busy.at(np.array([0.0, 19.9 * HOUR, 20 * HOUR])).tolist() == [8.0, 8.0, 0.0]


def test_a_speed_change_mid_run_moves_the_completion() -> None:
    env, cluster = make_cluster()
    cluster.submit(record(1, 10))
    at(env, 4, lambda: cluster.set_speed(0.5))  # 6 h of work left: 12 h more
    at(env, 10, lambda: cluster.set_speed(0.8))  # 3 h done since 4 h, 3 h left: 3.75 h more
    env.run()
    job = cluster.jobs[1]
    assert job.end_s == pytest.approx(13.75 * HOUR, abs=1e-6)
    assert job.billed_gpu_s == pytest.approx(8 * 10 * HOUR)
    assert job.lost_s == 0.0
    speed = cluster.speed()
    assert speed.times_s.tolist() == [0.0, 4 * HOUR, 10 * HOUR]
    assert speed.values.tolist() == [1.0, 0.5, 0.8]
    assert cluster.scheduler.running(1) is None  # the stale completions were ignored


def test_setting_the_same_speed_changes_nothing() -> None:
    env, cluster = make_cluster()
    cluster.submit(record(1, 1))
    cluster.set_speed(1.0)
    env.run()
    assert cluster.speed().values.tolist() == [1.0]
    assert cluster.jobs[1].end_s == HOUR


@pytest.mark.parametrize(
    ("checkpoint_h", "kept_h"), [(1.0, 2.0), (0.75, 2.25), (None, 0.0)], ids=str
)
def test_preemption_at_half_speed_loses_the_work_since_the_last_checkpoint(
    checkpoint_h: float | None, kept_h: float
) -> None:
    env, cluster = make_cluster()
    cluster.set_speed(0.5)
    cluster.submit(record(1, 10, checkpoint_h=checkpoint_h))
    at(env, 5, lambda: cluster.set_node_cap(0))  # 2.5 h of work done in 5 wall hours
    at(env, 6, lambda: cluster.set_node_cap(1))
    env.run()
    job = cluster.jobs[1]
    lost_h = 2.5 - kept_h
    assert job.preemptions == 1 and job.status == "completed"
    assert job.lost_s == pytest.approx(lost_h * HOUR)  # work seconds
    # restarted at 6 h with 10 − kept hours of work, at half speed
    assert job.end_s == pytest.approx((6 + 2 * (10 - kept_h)) * HOUR)
    assert job.run_s == pytest.approx((5 + 2 * (10 - kept_h)) * HOUR)
    # billed: all the work, once (the lost work is not billed)
    assert job.billed_gpu_s == pytest.approx(8 * 10 * HOUR)
    revenue = billing_rates(billing_spans(cluster))[0]
    assert revenue.integrate(np.array([0.0, 50 * HOUR]))[0] == pytest.approx(8 * 10 * PRICE)
    if kept_h:
        # the first segment's kept work was done by 2 × kept_h wall hours
        first = revenue.integrate(np.array([0.0, 5 * HOUR]))[0]
        assert first == pytest.approx(8 * kept_h * PRICE)
        assert revenue.at(2 * kept_h * HOUR) == pytest.approx(0.0)


def test_preemption_after_a_speed_change_counts_work_piecewise() -> None:
    env, cluster = make_cluster()
    cluster.submit(record(1, 10, checkpoint_h=1.0))
    at(env, 2, lambda: cluster.set_speed(0.25))  # 2 h of work by 2 h
    at(env, 8, lambda: cluster.set_node_cap(0))  # + 1.5 h by 8 h: 3.5 h done, 3 h kept
    at(env, 9, lambda: cluster.set_node_cap(1))
    env.run(until=9.5 * HOUR)
    job = cluster.jobs[1]
    assert job.lost_s == pytest.approx(0.5 * HOUR)
    assert job.remaining_s == pytest.approx(7 * HOUR)
    assert job.billed_gpu_s == pytest.approx(8 * 3 * HOUR)
    # kept work: 2 h by 2 h, then 1 h more at a quarter speed, by 6 h
    assert cluster.log.seg_end == [pytest.approx(6 * HOUR)]
    assert cluster.scheduler.running(1).end_s == pytest.approx((9 + 4 * 7) * HOUR)  # type: ignore[union-attr]


def test_reserved_work_is_not_billed_and_close_books_work_at_the_horizon() -> None:
    env, cluster = make_cluster(nodes=2)
    cluster.set_speed(0.5)
    cluster.submit(record(1, 10, priority=RESERVED))
    cluster.submit(record(2, 10))
    env.run(until=6 * HOUR)
    cluster.close(6 * HOUR)
    reserved, on_demand = cluster.jobs[1], cluster.jobs[2]
    assert reserved.billed_gpu_s == 0.0
    assert on_demand.billed_gpu_s == pytest.approx(8 * 3 * HOUR)  # 3 h of work in 6 h
    assert on_demand.remaining_s == pytest.approx(7 * HOUR)
    assert on_demand.run_s == 6 * HOUR and on_demand.lost_s == 0.0


def test_a_queued_job_starts_when_the_retimed_job_ends() -> None:
    env, cluster = make_cluster()
    cluster.submit(record(1, 4))
    cluster.submit(record(2, 1))  # waits
    at(env, 2, lambda: cluster.set_speed(0.5))  # 2 h left: 4 h more
    env.run()
    assert cluster.jobs[1].end_s == 6 * HOUR
    assert cluster.jobs[2].first_start_s == 6 * HOUR
    assert cluster.jobs[2].end_s == 8 * HOUR  # 1 h of work at half speed
    assert cluster.queue_length().at(np.array([1.0, 6 * HOUR])).tolist() == [1.0, 0.0]
