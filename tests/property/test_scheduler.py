"""GPU scheduler core under random job mixes, time, withdrawals and node-cap changes.

A driver replays random operations (submit; advance time, finishing the jobs that end at one
instant together, deferred, then one pass, as ``GpuCluster`` does; withdraw; cap down or up,
requeueing preempted jobs with the work left; a new speed, which moves every running job's
end) and after every pass checks the scheduler against brute-force references built only from
its public state: invariants, head-fits-starts, the shadow time, that no backfill candidate
was wrongly left waiting, and that every head starts by its shadow time unless a cap or speed
change or an arrival ahead of it intervened.
``check_invariants`` also compares the reservation the scheduler keeps between passes with a
fresh one.

The compiled scheduler (``CompiledScheduler``) goes through the same driver and checks, and
must give the same history as the Python one, placement for placement and float for float.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.scheduling.compiled import CompiledScheduler
from sim.model.scheduling.jobs import Job, Placement, Reservation
from sim.model.scheduling.scheduler import Scheduler

Op = tuple


@dataclass(frozen=True)
class Case:
    nodes: int
    gpus_per_node: int
    depth: int
    ops: list[Op]


durations = st.one_of(
    st.integers(1, 30).map(float),  # integers make ties in end times
    st.floats(0.0, 30.0, allow_nan=False, allow_infinity=False),
    st.just(0.0),
)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    nodes = draw(st.integers(1, 6))
    gpn = draw(st.sampled_from([1, 2, 4, 8]))
    depth = draw(st.sampled_from([0, 1, 3, 100]))
    small = st.integers(1, gpn)
    gpus = st.one_of(small, small, st.integers(1, nodes * gpn))  # shared and gang
    submit = st.tuples(st.just("submit"), gpus, durations, st.integers(0, 2))
    advance = st.tuples(st.just("advance"), st.integers(0, 8).map(float) | durations)
    withdraw = st.tuples(st.just("withdraw"), st.integers(0, 100))
    cap = st.tuples(st.just("cap"), st.integers(0, nodes), st.booleans())
    speed = st.tuples(st.just("speed"), st.sampled_from([0.25, 0.5, 0.8, 1.0]))
    # mostly arrivals, so queues build up and backfill has candidates
    op = st.one_of(*[submit] * 6, advance, advance, advance, withdraw, cap, speed)
    ops = draw(st.lists(op, min_size=20, max_size=80))
    return Case(nodes, gpn, depth, ops)


@st.composite
def dense_cases(draw: st.DrawFn) -> Case:
    """Long runs with busy queues, from a seed (hypothesis shrinks the shape and the seed)."""
    nodes = draw(st.integers(2, 8))
    gpn = draw(st.sampled_from([2, 4, 8]))
    depth = draw(st.sampled_from([1, 3, 100]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    ops: list[Op] = []
    for _ in range(300):
        u = rng.random()
        if u < 0.6:
            gpus = int(
                rng.integers(1, gpn + 1) if rng.random() < 0.8 else rng.integers(1, nodes * gpn + 1)
            )
            ops.append(("submit", gpus, float(rng.integers(1, 40)), int(rng.integers(0, 2))))
        elif u < 0.9:
            ops.append(("advance", float(rng.exponential(2.0))))
        elif u < 0.94:
            ops.append(("withdraw", int(rng.integers(0, 100))))
        elif u < 0.96:
            ops.append(("speed", float(rng.choice([0.5, 0.8, 1.0]))))
        else:
            ops.append(("cap", int(rng.integers(nodes // 2, nodes + 1)), bool(rng.random() < 0.8)))
    return Case(nodes, gpn, depth, ops)


# ---- brute-force references from public state ------------------------------------------


def free_now(s: Scheduler) -> dict[int, int]:
    """Free GPUs per powered node, rebuilt from the placements."""
    free = {n: s.gpus_per_node for n in range(s.node_count) if s.is_powered(n)}
    for p in s.placements():
        for node, gpus in zip(p.nodes, p.gpus_per_node_used, strict=True):
            free[node] -= gpus
    return free


def nodes_needed(job: Job, gpn: int) -> int:
    return 1 if job.gpus <= gpn else -(-job.gpus // gpn)


def fits(job: Job, free: dict[int, int], gpn: int) -> bool:
    if job.gpus <= gpn:
        return any(f >= job.gpus for f in free.values())
    return sum(f == gpn for f in free.values()) >= nodes_needed(job, gpn)


def head_of(s: Scheduler) -> Job | None:
    """First queued job that fits the powered nodes once they are empty."""
    empty = {n: s.gpus_per_node for n in range(s.node_cap)}
    return next((j for j in s.queued() if fits(j, empty, s.gpus_per_node)), None)


def projected_free(s: Scheduler, t_s: float) -> dict[int, int]:
    """Free GPUs per powered node once every job ending by ``t_s`` has ended."""
    free = free_now(s)
    for p in s.placements():
        if p.end_s <= t_s:
            for node, gpus in zip(p.nodes, p.gpus_per_node_used, strict=True):
                free[node] += gpus
    return free


def shadow_ref(s: Scheduler, head: Job, now_s: float) -> float:
    """Earliest running-job end time at which the head fits, by brute force."""
    for end_s in sorted({p.end_s for p in s.placements()}):
        if fits(head, projected_free(s, end_s), s.gpus_per_node):
            return max(end_s, now_s)
    raise AssertionError("the head never fits")


def could_start_without_delaying(s: Scheduler, job: Job, head: Job, shadow_s: float) -> bool:
    """True if some placement of ``job``, held past the shadow time, keeps the head's start."""
    gpn = s.gpus_per_node
    now, at_shadow = free_now(s), projected_free(s, shadow_s)
    if job.gpus <= gpn:
        options = [{n: job.gpus} for n, f in now.items() if f >= job.gpus]
    else:  # idle nodes are all alike (nothing runs on them): one choice stands for all
        idle = [n for n, f in now.items() if f == gpn]
        k = nodes_needed(job, gpn)
        options = [dict.fromkeys(idle[:k], gpn)] if len(idle) >= k else []
    for option in options:
        trial = {n: f - option.get(n, 0) for n, f in at_shadow.items()}
        if fits(head, trial, gpn):
            return True
    return False


# ---- driver ----------------------------------------------------------------------------


@dataclass
class Driver:
    s: Scheduler
    depth: int
    now: float = 0.0
    next_id: int = 0
    promises: dict[int, float] = field(default_factory=dict)  # head -> its shadow time
    placed: dict[int, Placement] = field(default_factory=dict)  # last start of each job
    history: list[tuple] = field(default_factory=list)  # what happened, for determinism
    finished: set[int] = field(default_factory=set)
    gone: set[int] = field(default_factory=set)  # withdrawn, or preempted and dropped

    def run(self, ops: list[Op]) -> None:
        for op in ops:
            getattr(self, op[0])(*op[1:])
        self.advance(0.0)  # the jobs that end now
        self.check_due()
        running = {p.job_id for p in self.s.placements()}
        queued = {j.job_id for j in self.s.queued()}
        parts = [running, queued, self.finished, self.gone]
        assert sum(map(len, parts)) == self.next_id == len(set().union(*parts))

    # operations

    def submit(self, gpus: int, duration_s: float, priority: int) -> None:
        job = Job(self.next_id, gpus, duration_s, priority, submit_s=self.now)
        self.next_id += 1
        self.enqueue(job, self.s.submit)

    def enqueue(self, job: Job, call) -> None:
        # an arrival ahead of a promised head may take its place: void the promise
        keys = {j.job_id: j.queue_key for j in self.s.queued()}
        for job_id in [i for i in self.promises if keys[i] > job.queue_key]:
            del self.promises[job_id]
        self.after(call(job, self.now), ("start", job.job_id))

    def advance(self, dt_s: float) -> None:
        target = self.now + dt_s
        while (end_s := self.s.next_end_s) is not None and end_s <= target:
            self.move_to(end_s)
            # every completion of the instant first, then one pass
            ending = sorted(p.job_id for p in self.s.placements() if p.end_s == end_s)
            for job_id in ending:
                assert self.s.finish(job_id, self.now, defer=True) == []
                self.finished.add(job_id)
            self.after(self.s.schedule(self.now), ("finish", tuple(ending)))
        self.move_to(target)

    def withdraw(self, index: int) -> None:
        queue = self.s.queued()
        if not queue:
            return
        job_id = queue[index % len(queue)].job_id
        self.promises.pop(job_id, None)
        job, started = self.s.withdraw(job_id, self.now)
        assert job is not None and job.job_id == job_id
        assert all(j.job_id != job_id for j in self.s.queued())
        self.gone.add(job_id)
        self.after(started, ("withdraw", job_id))

    def cap(self, cap: int, requeue: bool) -> None:
        self.promises.clear()  # a cap change may move any reservation
        busy_before = self.s.busy_nodes
        preempted, started = self.s.set_node_cap(cap, self.now)
        assert self.s.node_cap == cap
        assert (preempted == []) == (busy_before <= cap)  # idle nodes go first
        for stopped in preempted:
            assert self.s.running(stopped.job.job_id) is None
            assert stopped.placement == self.placed[stopped.job.job_id]
        self.after(started, ("cap", cap, tuple(p.job.job_id for p in preempted)))
        for stopped in preempted:
            job, p = stopped.job, stopped.placement
            if not requeue:
                self.gone.add(job.job_id)
                continue
            # work since the last checkpoint (up to 3 s here) is lost
            left_s = max(p.end_s - self.now, 0.0) + min(self.now - p.start_s, 3.0)
            self.enqueue(job._replace(duration_s=left_s), self.s.requeue)

    def speed(self, factor: float) -> None:
        self.promises.clear()  # running jobs end at other times: every reservation moves
        before = {p.job_id: p for p in self.s.placements()}
        work_left = {i: (p.end_s - self.now) * self.s.speed for i, p in before.items()}
        moved, started = self.s.set_speed(factor, self.now)
        assert self.s.speed == factor
        assert [p.job_id for p in moved] == list(before)  # every running job, in start order
        for p in moved:
            assert p._replace(end_s=0.0) == before[p.job_id]._replace(end_s=0.0)
            expected = self.now + max(work_left[p.job_id], 0.0) / factor
            assert abs(p.end_s - expected) <= 1e-9 * max(1.0, abs(expected))
            self.placed[p.job_id] = p
        self.after(started, ("speed", factor))

    # checks

    def move_to(self, t_s: float) -> None:
        if t_s > self.now:
            self.check_due()  # every event at self.now has been processed
        self.now = t_s

    def check_due(self) -> None:
        late = {i: t for i, t in self.promises.items() if t <= self.now}
        assert not late, f"heads {late} still wait at {self.now}: backfill delayed them"

    def after(self, started: list[Placement], what: tuple) -> None:
        s, gpn = self.s, self.s.gpus_per_node
        self.history.append((what, tuple(started)))
        s.check_invariants()
        assert s.busy_gpus <= s.installed_gpus and s.busy_gpus <= s.node_cap * gpn
        for p in started:
            assert p.start_s == self.now
            promised = self.promises.pop(p.job_id, None)
            assert promised is None or p.start_s <= promised
            self.placed[p.job_id] = p
        head = head_of(s)
        if head is None:
            assert s.reservation() is None
            return
        free = free_now(s)
        assert not fits(head, free, gpn), "the head fits but waits"
        shadow_s = shadow_ref(s, head, self.now)
        assert s.reservation() == Reservation(head.job_id, shadow_s)
        promised = self.promises.get(head.job_id)
        assert promised is None or shadow_s <= promised, "the head's reservation slipped"
        self.promises[head.job_id] = shadow_s
        # backfill candidates the pass examined and left waiting (those that started shift
        # later jobs into the window, which the pass did not examine)
        queue = s.queued()
        at = queue.index(head)
        examined = queue[at + 1 : at + 1 + max(0, self.depth - len(started))]
        for job in examined:
            if not fits(job, free, gpn):
                continue
            ends_s = self.now + job.duration_s / s.speed
            assert ends_s > shadow_s, f"short job {job.job_id} left waiting"
            assert not could_start_without_delaying(s, job, head, shadow_s), (
                f"job {job.job_id} could run on extra resources but waits"
            )


def replay(case: Case, make: type[Scheduler] = Scheduler) -> Driver:
    driver = Driver(make(case.nodes, case.gpus_per_node, case.depth), case.depth)
    driver.run(case.ops)
    return driver


@settings(max_examples=200, deadline=None)
@given(cases())
def test_scheduler_keeps_invariants_and_easy_guarantees(case: Case) -> None:
    replay(case)


@settings(max_examples=40, deadline=None)
@given(dense_cases())
def test_scheduler_keeps_invariants_and_easy_guarantees_on_busy_queues(case: Case) -> None:
    replay(case)


@settings(max_examples=50, deadline=None)
@given(cases())
def test_scheduler_is_deterministic(case: Case) -> None:
    assert replay(case).history == replay(case).history


@settings(max_examples=200, deadline=None)
@given(cases())
def test_compiled_scheduler_gives_the_python_schedulers_answers(case: Case) -> None:
    assert replay(case, CompiledScheduler).history == replay(case).history


@settings(max_examples=40, deadline=None)
@given(dense_cases())
def test_compiled_scheduler_gives_the_python_schedulers_answers_on_busy_queues(
    case: Case,
) -> None:
    assert replay(case, CompiledScheduler).history == replay(case).history
