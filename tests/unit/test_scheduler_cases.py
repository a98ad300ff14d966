"""GPU scheduler core: hand-written cases for placement, backfill, priorities and the node cap."""

from __future__ import annotations

import pytest

from sim.errors import SimulationError
from sim.model.scheduling.compiled import CompiledScheduler
from sim.model.scheduling.jobs import Job, Placement, Reservation
from sim.model.scheduling.scheduler import Scheduler

Make = type[Scheduler] | type[CompiledScheduler]


@pytest.fixture(params=[Scheduler, CompiledScheduler], ids=["python", "compiled"])
def make(request: pytest.FixtureRequest) -> Make:
    """Each case runs on the Python scheduler and on the compiled one, with the same answers."""
    return request.param


def started_ids(placements: list[Placement]) -> list[int]:
    return [p.job_id for p in placements]


def test_best_fit_packs_the_fullest_node_that_fits(make: Make) -> None:
    s = make(3, 8)
    assert s.submit(Job(1, 6, 100.0), 0.0)[0].nodes == (0,)  # lowest id among idle nodes
    assert s.submit(Job(2, 4, 100.0), 0.0)[0].nodes == (1,)  # node 0 has only 2 free
    assert s.submit(Job(3, 2, 100.0), 0.0)[0].nodes == (0,)  # fills node 0's hole exactly
    assert s.submit(Job(4, 3, 100.0), 0.0)[0].nodes == (1,)  # 4 free beats idle node 2's 8
    assert s.busy_nodes == 2 and s.busy_gpus == 15
    s.check_invariants()


def test_gang_job_waits_for_whole_idle_nodes(make: Make) -> None:
    s = make(2, 8)
    s.submit(Job(1, 1, 10.0), 0.0)
    assert s.submit(Job(2, 12, 50.0), 0.0) == []  # 15 GPUs free, but only one whole node
    assert s.reservation() == Reservation(2, 10.0)
    (gang,) = s.finish(1, 10.0)
    assert gang.nodes == (0, 1) and gang.gpus_per_node_used == (8, 8)
    assert s.busy_gpus == 16  # a gang job holds whole nodes
    s.check_invariants()


def blocked_gang_head(make: Make) -> Scheduler:
    """2 x 8 GPUs: a full node until t=100, a half node until t=50, a 16-GPU head waiting."""
    s = make(2, 8)
    s.submit(Job(1, 8, 100.0), 0.0)
    s.submit(Job(2, 4, 50.0), 0.0)
    assert s.submit(Job(3, 16, 10.0), 0.0) == []
    assert s.reservation() == Reservation(3, 100.0)
    return s


def test_small_short_job_backfills_in_front_of_the_blocked_head(make: Make) -> None:
    s = blocked_gang_head(make)
    (p,) = s.submit(Job(4, 4, 40.0), 1.0)  # ends at 41 <= 100
    assert p.nodes == (1,) and p.end_s == 41.0
    assert s.submit(Job(5, 1, 1.0), 1.0) == []  # no GPU left on either node
    s.check_invariants()


def test_long_job_that_would_delay_the_head_does_not_backfill(make: Make) -> None:
    s = blocked_gang_head(make)
    assert s.submit(Job(4, 4, 200.0), 1.0) == []  # fits now, but would hold node 1 at t=100
    assert started_ids(s.submit(Job(5, 4, 99.0), 1.0)) == [5]  # ends at 100: just in time
    s.finish(2, 50.0)
    assert s.finish(5, 100.0) == []
    assert started_ids(s.finish(1, 100.0)) == [3]  # the head starts at its shadow time
    assert s.running(3).start_s == 100.0  # type: ignore[union-attr]
    s.check_invariants()


def test_long_backfill_on_extra_nodes_only_is_allowed(make: Make) -> None:
    s = make(4, 8)
    s.submit(Job(1, 8, 100.0), 0.0)
    s.submit(Job(2, 8, 100.0), 0.0)
    assert s.submit(Job(3, 24, 10.0), 0.0) == []  # needs 3 of the 4 nodes idle at t=100
    (long_job,) = s.submit(Job(4, 8, 1_000.0), 0.0)  # one node is extra at t=100
    assert long_job.nodes == (2,)
    assert s.submit(Job(5, 8, 1_000.0), 0.0) == []  # the last idle node is needed
    assert s.submit(Job(6, 1, 1_000.0), 0.0) == []  # even one GPU of it
    assert started_ids(s.submit(Job(7, 8, 50.0), 0.0)) == [7]  # short: fine
    s.finish(7, 50.0)
    s.finish(1, 100.0)
    started = s.finish(2, 100.0)
    assert started_ids(started)[0] == 3 and started[0].nodes == (0, 1, 3)
    s.check_invariants()


def test_long_backfill_keeps_one_node_for_a_shared_node_head(make: Make) -> None:
    s = make(2, 8)
    s.submit(Job(1, 6, 100.0), 0.0)
    s.submit(Job(2, 6, 100.0), 0.0)
    assert s.submit(Job(3, 8, 10.0), 0.0) == []  # a whole node, free at t=100
    assert started_ids(s.submit(Job(4, 2, 500.0), 0.0)) == [4]  # the other node stays free
    assert s.submit(Job(5, 2, 500.0), 0.0) == []  # would spoil the last candidate node
    assert started_ids(s.submit(Job(6, 2, 100.0), 0.0)) == [6]  # ends by the shadow time
    s.finish(1, 100.0)
    s.finish(2, 100.0)
    assert s.running(3) is None
    assert started_ids(s.finish(6, 100.0)) == [3]
    s.check_invariants()


def reproduction_until_t50(make: Make) -> Scheduler:
    """The simultaneous-events issue's case on 4 whole nodes, up to t = 50.

    Job 0 (4 nodes) runs 0-40, then job 1 (3 nodes) 40-50; jobs 2 (2 nodes, 50 s, from 20)
    and 3 (2 nodes, 10 s, from 30) wait. At t = 50 job 1 ends and job 4 (1 node, 30 s) arrives.
    """
    s = make(4, 8)
    s.submit(Job(0, 32, 40.0), 0.0)
    s.submit(Job(1, 24, 10.0), 0.0)
    s.submit(Job(2, 16, 50.0, submit_s=20.0), 20.0)
    s.submit(Job(3, 16, 10.0, submit_s=30.0), 30.0)
    assert started_ids(s.finish(0, 40.0)) == [1]
    return s


def test_deferred_changes_of_an_instant_get_one_pass(make: Make) -> None:
    s = reproduction_until_t50(make)
    assert s.submit(Job(4, 8, 30.0, submit_s=50.0), 50.0, defer=True) == []
    assert s.finish(1, 50.0, defer=True) == []
    assert started_ids(s.schedule(50.0)) == [2, 3]  # FIFO; job 4 waits for job 3's end
    assert s.reservation() == Reservation(4, 60.0)
    s.check_invariants()


def test_a_pass_per_call_depends_on_the_order_of_simultaneous_calls(make: Make) -> None:
    # Why GpuCluster defers: a pass after the arrival alone lets job 4 backfill on the node
    # that is "extra" at job 2's shadow time (50), and job 3 loses its place until 80.
    s = reproduction_until_t50(make)
    assert started_ids(s.submit(Job(4, 8, 30.0, submit_s=50.0), 50.0)) == [4]
    assert started_ids(s.finish(1, 50.0)) == [2]
    assert s.reservation() == Reservation(3, 80.0)


def test_two_completions_at_one_instant_then_one_pass_protect_the_new_head(make: Make) -> None:
    s = make(4, 8)
    s.submit(Job(0, 16, 10.0), 0.0)
    s.submit(Job(1, 16, 10.0), 0.0)
    s.submit(Job(2, 8, 100.0, submit_s=1.0), 1.0)
    s.submit(Job(3, 16, 100.0, submit_s=2.0), 2.0)
    s.submit(Job(4, 32, 10.0, submit_s=3.0), 3.0)
    s.submit(Job(5, 8, 1_000.0, submit_s=4.0), 4.0)  # long: must not delay job 4
    s.finish(0, 10.0, defer=True)
    s.finish(1, 10.0, defer=True)
    assert started_ids(s.schedule(10.0)) == [2, 3]
    # job 4 is the head now, reserved for 110 on all 4 nodes: job 5 cannot backfill (a
    # pass after job 0's end alone would have let it onto the node then "extra" to job 3)
    assert s.reservation() == Reservation(4, 110.0)
    assert [j.job_id for j in s.queued()] == [4, 5]
    s.check_invariants()


def test_reserved_work_jumps_ahead_of_on_demand_fifo_within_a_class(make: Make) -> None:
    s = make(1, 8)
    s.submit(Job(1, 8, 10.0), 0.0)
    s.submit(Job(2, 8, 10.0, priority=1, submit_s=1.0), 1.0)
    s.submit(Job(3, 8, 10.0, priority=1, submit_s=2.0), 2.0)
    s.submit(Job(4, 8, 10.0, priority=0, submit_s=3.0), 3.0)
    assert [j.job_id for j in s.queued()] == [4, 2, 3]
    assert started_ids(s.finish(1, 10.0)) == [4]
    assert started_ids(s.finish(4, 20.0)) == [2]


def test_cap_decrease_powers_off_idle_nodes_before_preempting(make: Make) -> None:
    s = make(4, 8)
    s.submit(Job(1, 8, 100.0), 0.0)
    s.submit(Job(2, 8, 100.0), 0.0)
    preempted, started = s.set_node_cap(2, 1.0)
    assert preempted == [] and started == []
    assert [s.is_powered(n) for n in range(4)] == [True, True, False, False]
    s.check_invariants()


def test_cap_decrease_preempts_lowest_priority_most_recent_first(make: Make) -> None:
    s = make(4, 8)
    s.submit(Job(1, 8, 100.0, priority=1), 0.0)  # node 0
    s.submit(Job(2, 8, 100.0, priority=1), 1.0)  # node 1
    s.submit(Job(3, 8, 100.0, priority=0), 2.0)  # node 2: reserved, started last
    s.submit(Job(4, 4, 100.0, priority=1), 3.0)  # node 3, shared with ...
    s.submit(Job(5, 4, 100.0, priority=0), 4.0)  # ... a reserved job
    preempted, _ = s.set_node_cap(3, 5.0)
    # node 3's most protected job is reserved, so the latest on-demand-only node goes
    assert [p.job.job_id for p in preempted] == [2]
    assert not s.is_powered(1) and s.running(3) is not None
    preempted, _ = s.set_node_cap(2, 6.0)
    assert [p.job.job_id for p in preempted] == [1]  # the other on-demand-only node
    preempted, _ = s.set_node_cap(1, 7.0)
    # node 3 (reserved job started at 4) goes before node 2 (reserved, started at 2);
    # its jobs go most preemptable first
    assert [p.job.job_id for p in preempted] == [4, 5]
    assert s.busy_nodes == 1 and s.running(3).nodes == (2,)  # type: ignore[union-attr]
    for node in range(4):
        if not s.is_powered(node):
            assert all(node not in p.nodes for p in s.placements())
    s.check_invariants()


def test_cap_decrease_shedding_a_gang_frees_its_other_nodes(make: Make) -> None:
    s = make(3, 8)
    s.submit(Job(1, 16, 100.0, priority=1), 0.0)  # nodes 0, 1
    s.submit(Job(2, 8, 100.0, priority=0), 0.0)  # node 2
    s.submit(Job(3, 8, 30.0, priority=1, submit_s=1.0), 1.0)  # waits
    preempted, started = s.set_node_cap(2, 2.0)
    assert [p.job.job_id for p in preempted] == [1]
    assert started_ids(started) == [3]  # the gang's other node stayed powered
    assert s.node_cap == 2 and s.busy_nodes == 2
    s.check_invariants()


def test_requeued_job_keeps_its_fifo_place(make: Make) -> None:
    s = make(1, 8)
    s.submit(Job(1, 8, 100.0, submit_s=0.0), 0.0)
    s.submit(Job(2, 8, 10.0, submit_s=5.0), 5.0)
    (victim,), _ = s.set_node_cap(0, 10.0)
    assert victim.placement.start_s == 0.0
    s.requeue(victim.job._replace(duration_s=60.0), 10.0)
    assert [j.job_id for j in s.queued()] == [1, 2]
    _, started = s.set_node_cap(1, 20.0)  # cap increase starts queued jobs
    assert started_ids(started) == [1] and started[0].end_s == 80.0
    s.check_invariants()


def test_cap_increase_starts_queued_jobs_and_too_big_jobs_wait_for_it(make: Make) -> None:
    s = make(4, 8)
    s.set_node_cap(1, 0.0)
    assert s.submit(Job(1, 16, 10.0), 0.0) == []  # cannot fit 1 node: passed over
    assert s.reservation() is None
    assert started_ids(s.submit(Job(2, 8, 10.0, submit_s=0.0), 0.0)) == [2]
    assert s.submit(Job(3, 8, 10.0), 0.0) == []
    _, started = s.set_node_cap(4, 1.0)
    assert started_ids(started) == [1, 3]
    s.check_invariants()


def test_withdraw_removes_a_queued_job_and_lets_the_next_start(make: Make) -> None:
    s = make(2, 8)
    s.submit(Job(1, 8, 100.0), 0.0)
    s.submit(Job(2, 16, 10.0), 0.0)  # blocked head
    s.submit(Job(3, 8, 200.0), 0.0)  # would delay the head
    assert s.queue_length == 2
    job, started = s.withdraw(2, 5.0)
    assert job is not None and job.job_id == 2
    assert started_ids(started) == [3]
    assert s.withdraw(3, 5.0) == (None, [])  # running, not queued
    assert s.queue_length == 0
    s.check_invariants()


def test_zero_backfill_depth_is_strict_fifo(make: Make) -> None:
    s = make(2, 8, backfill_depth=0)
    s.submit(Job(1, 8, 100.0), 0.0)
    s.submit(Job(2, 16, 10.0), 0.0)
    assert s.submit(Job(3, 1, 1.0), 0.0) == []


def test_impossible_and_inconsistent_requests_are_rejected(make: Make) -> None:
    s = make(2, 8)
    with pytest.raises(SimulationError, match="needs 17 GPUs"):
        s.submit(Job(1, 17, 1.0), 0.0)
    with pytest.raises(ValueError, match="gpus must be >= 1"):
        Job(1, 0, 1.0)
    with pytest.raises(ValueError, match="duration_s"):
        Job(1, 1, float("nan"))
    s.submit(Job(1, 16, 1.0), 0.0)  # the whole cluster is fine
    with pytest.raises(SimulationError, match="already queued or running"):
        s.submit(Job(1, 1, 1.0), 0.0)
    with pytest.raises(SimulationError, match="submitted at"):
        s.submit(Job(2, 1, 1.0, submit_s=5.0), 0.0)
    with pytest.raises(SimulationError, match="backwards"):
        s.submit(Job(2, 1, 1.0), -1.0)
    with pytest.raises(KeyError):
        s.finish(99, 1.0)
    with pytest.raises(SimulationError, match="node cap"):
        s.set_node_cap(3, 1.0)
    with pytest.raises(ValueError):
        make(0, 8)


def test_a_failed_node_stops_exactly_the_jobs_on_it_and_a_gangs_other_nodes_free(
    make: Make,
) -> None:
    s = make(4, 8)
    s.submit(Job(1, 4, 100.0), 0.0)  # node 0
    s.submit(Job(2, 4, 100.0), 1.0)  # node 0, shared
    s.submit(Job(3, 16, 100.0), 2.0)  # nodes 1 and 2
    s.submit(Job(4, 8, 100.0), 3.0)  # node 3
    stopped, started = s.vacate_node(0, 5.0)
    assert sorted(p.job.job_id for p in stopped) == [1, 2] and started == []
    assert s.running(3) is not None and s.running(4) is not None
    stopped, _ = s.vacate_node(2, 6.0)  # one node of the gang stops it all
    assert [p.job.job_id for p in stopped] == [3]
    assert s.busy_nodes == 1 and s.node_cap == 4  # the cap is the site's to lower
    assert s.vacate_node(1, 7.0)[0] == []  # an idle node: nothing to stop
    with pytest.raises(SimulationError, match="node must be in 0..3"):
        s.vacate_node(4, 8.0)
    s.check_invariants()
