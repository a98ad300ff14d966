"""Simultaneous events: one scheduling pass per GPU group per instant, after every change.

GPU groups (``GpuCluster``) replay small traces with integer times on a coarse grid, so
submissions, completions, node-cap changes and abandonments often fall on the same instant.
The rule under test (docs/model.md, AI hosting): every change at an instant is applied first,
then each group runs one pass. So (a) the order in which SimPy happens to process
simultaneous events, and (b) jobs on another group, never change a group's schedule; and (c)
with whole-node jobs, exact run times, full speed, no checkpoints, no patience, no node-cap
change and a backfill depth beyond the queue's length, the start times are exactly those of
the textbook EASY backfill (Lifka 1995; Mu'alem & Feitelson 2001), re-implemented below
without dcsim's code. In that setting dcsim's node-level rules reduce to the textbook's node
counts: every node is idle or full, a 1-node head needs an idle node at its shadow time, and a
long backfill may take only nodes beyond what the head needs then ("extra" nodes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.eventlog import EventLog
from sim.model.ai_clock import AiClock
from sim.model.cluster import ON_DEMAND, RESERVED, GpuCluster, JobRecord
from sim.scenario.ai import GpuGroupSpec
from sim.scenario.catalog import BUILTIN_GPU_NODES

NODE = "HGX H100 8-GPU"
GPN = BUILTIN_GPU_NODES[NODE].gpus_per_node
DEPTH = 100  # beyond any queue here: the pass examines every waiting job


@dataclass(frozen=True)
class Spec:
    """A job of a trace: submit time, GPUs, work (s), priority and patience (s)."""

    submit_s: int
    gpus: int
    run_s: int
    priority: int = ON_DEMAND
    patience_s: float = math.inf


@dataclass(frozen=True)
class Group:
    """A GPU group's nodes, jobs and node-cap changes ((time s, nodes), in time order)."""

    nodes: int
    jobs: tuple[Spec, ...]
    caps: tuple[tuple[int, int], ...] = ()


@dataclass
class Outcome:
    """Per job: first start, end and status, and the preemptions, in trace order."""

    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    preemptions: list[int] = field(default_factory=list)


def simulate(
    groups: list[Group], feed_rank: list[list[int]] | None = None, caps_late: bool = False
) -> list[Outcome]:
    """Replay the groups in one SimPy environment; what happened to each group's jobs.

    Submissions arrive as AiHosting feeds them: a chain of events on the groups' shared AI
    clock in time order, each arrival setting the next one's before it submits its job
    (``last=True``); simultaneous ones in ``feed_rank`` order (default: trace order). Job ids
    (hence FIFO ties) follow the trace, not the feed. Node-cap changes are SimPy timeouts set
    at time 0 (commands, as the site's control sends them), or, with ``caps_late``, after a
    zero-delay hop.
    """
    env = simpy.Environment()
    clock = AiClock(env)
    clusters = [
        GpuCluster(
            env,
            GpuGroupSpec(node_type=NODE, nodes=g.nodes),
            BUILTIN_GPU_NODES[NODE],
            DEPTH,
            EventLog(),
            clock,
        )
        for g in groups
    ]
    records: list[list[JobRecord]] = []
    feed: list[tuple[int, int, int, JobRecord]] = []
    next_id = 0
    for index, group in enumerate(groups):
        mine = []
        for k, job in enumerate(group.jobs):
            record = JobRecord(
                job_id=next_id,
                job_class=0,
                submit_s=float(job.submit_s),
                gpus=job.gpus,
                duration_s=float(job.run_s),
                patience_s=job.patience_s,
                price_usd_per_gpu_hour=1.0,
                checkpoint_interval_s=None,
                priority=job.priority,
            )
            next_id += 1
            mine.append(record)
            rank = feed_rank[index][k] if feed_rank is not None else next_id
            feed.append((job.submit_s, rank, index, record))
        records.append(mine)
    feed.sort(key=lambda item: item[:2])

    def arrive(position: int) -> None:
        if position + 1 < len(feed):
            wait(position + 1)
        _, _, index, record = feed[position]
        clusters[index].submit(record, last=True)

    def wait(position: int) -> None:
        clock.after(feed[position][0] - clock.now, position, lambda p, _: arrive(p))

    if feed:
        wait(0)
    for cluster, group in zip(clusters, groups, strict=True):
        for t_s, nodes in group.caps:
            set_cap = cluster.set_node_cap
            if caps_late:
                env.timeout(t_s).callbacks.append(
                    lambda _, f=set_cap, n=nodes: env.timeout(0).callbacks.append(lambda _: f(n))
                )
            else:
                env.timeout(t_s).callbacks.append(lambda _, f=set_cap, n=nodes: f(n))
    while env.peek() < math.inf:
        env.step()
        for cluster in clusters:  # the cluster's own count of waiting jobs stays exact
            assert cluster._waiting == cluster.scheduler.queue_length
    outcomes = []
    for cluster, mine in zip(clusters, records, strict=True):
        cluster.scheduler.check_invariants()
        outcome = Outcome()
        for record in mine:
            outcome.starts.append(record.first_start_s)
            outcome.ends.append(record.end_s)
            outcome.statuses.append(record.status)
            outcome.preemptions.append(record.preemptions)
        outcomes.append(outcome)
    return outcomes


def start_times(group: Group, *others: Group) -> list[float]:
    return simulate([group, *others])[0].starts


# ---- the textbook EASY backfill -----------------------------------------------------------


def easy_oracle(nodes: int, jobs: list[tuple[int, int, int]]) -> list[float]:
    """Start times of whole-node jobs ``(submit s, nodes, run s)`` under EASY backfill.

    At each instant: apply every completion and submission; start jobs in FIFO order (submit
    time, then trace order) while the first fits; then give the first waiting job (the head)
    its shadow time, when enough nodes will be free for it, and its "extra" nodes, those free
    then beyond its need; then start each later job, in FIFO order, that fits now and either
    ends by the shadow time or needs no more than the extra nodes (which it then uses up).
    """
    starts = [math.nan] * len(jobs)
    pending = sorted(range(len(jobs)), key=lambda i: (jobs[i][0], i))
    running: list[tuple[int, int]] = []  # (end s, nodes)
    queue: list[int] = []  # FIFO: pending is in that order already
    while pending or queue:
        now = min([end for end, _ in running] + [jobs[i][0] for i in pending[:1]])
        running = [(end, n) for end, n in running if end > now]
        while pending and jobs[pending[0]][0] == now:
            queue.append(pending.pop(0))
        free = nodes - sum(n for _, n in running)
        started = []
        while len(started) < len(queue) and jobs[queue[len(started)]][1] <= free:
            started.append(queue[len(started)])
            free -= jobs[started[-1]][1]
        waiting = queue[len(started) :]
        if waiting:
            need = jobs[waiting[0]][1]
            ends = sorted({end for end, _ in running} | {now + jobs[i][2] for i in started})
            later = [(now + jobs[i][2], jobs[i][1]) for i in started] + running
            free_at = {t: free + sum(n for end, n in later if end <= t) for t in ends}
            shadow = next(t for t in ends if free_at[t] >= need)
            extra = free_at[shadow] - need
            for i in waiting[1:]:
                n, run = jobs[i][1], jobs[i][2]
                if n > free:
                    continue
                if now + run <= shadow:
                    started.append(i)
                    free -= n
                elif n <= extra:
                    started.append(i)
                    free -= n
                    extra -= n
        for i in started:
            starts[i] = now
            running.append((now + jobs[i][2], jobs[i][1]))
            queue.remove(i)
    return starts


def test_the_oracle_on_the_issues_reproduction() -> None:
    assert easy_oracle(4, REPRODUCTION) == [0, 40, 50, 50, 60]


# ---- exact cases ----------------------------------------------------------------------------

# The issue's reproduction, 4 nodes, whole-node jobs (submit s, nodes, run s). At t = 50 job
# 1 ends and job 4 arrives: both apply, then job 2 (the head since 20) and job 3 start, and
# job 4 waits for job 3. A pass between the two events let job 4 take "extra" nodes first.
REPRODUCTION = [(0, 4, 40), (0, 3, 10), (20, 2, 50), (30, 2, 10), (50, 1, 30)]


def whole_nodes(nodes: int, jobs: list[tuple[int, int, int]]) -> Group:
    return Group(nodes, tuple(Spec(t, n * GPN, run) for t, n, run in jobs))


def test_a_submission_at_a_completion_instant_waits_for_the_one_pass() -> None:
    group = whole_nodes(4, REPRODUCTION)
    assert start_times(group) == [0, 40, 50, 50, 60]


def test_a_job_on_another_group_does_not_change_the_order() -> None:
    group = whole_nodes(4, REPRODUCTION)
    other = whole_nodes(1, [(45, 1, 1)])  # its arrival moves job 4's in SimPy's queue
    assert start_times(group, other) == [0, 40, 50, 50, 60]
    assert start_times(other, group) == [45]


# Two completions at t = 10 (A and B, 2 nodes each, on 4 nodes). Applied together, H1, H2
# start and H3 (4 nodes) becomes the head, reserved for 110, so the long C cannot backfill.
# A pass after A alone would start H1 only; H2 (2 nodes) would be the head with a shadow time
# of 10 (B's end) and 1 extra node, which C would take, pushing H3 back to C's end at 1010.
TWO_COMPLETIONS = [(0, 2, 10), (0, 2, 10), (1, 1, 100), (2, 2, 100), (3, 4, 10), (4, 1, 1000)]


def test_two_completions_at_one_instant_give_one_pass() -> None:
    expected = [0, 0, 10, 10, 110, 120]
    assert easy_oracle(4, TWO_COMPLETIONS) == expected
    assert start_times(whole_nodes(4, TWO_COMPLETIONS)) == expected
    # completion order swapped: B is submitted first, so it is the first to end
    swapped = [TWO_COMPLETIONS[1], TWO_COMPLETIONS[0], *TWO_COMPLETIONS[2:]]
    assert start_times(whole_nodes(4, swapped)) == expected


def test_a_job_ending_when_the_cap_drops_completes_either_way() -> None:
    # one node: the job ends at 100 as the cap drops to 0; a waiting job gets it back at 200
    group = Group(1, (Spec(0, GPN, 100), Spec(50, GPN, 10)), caps=((100, 0), (200, 1)))
    for late in (False, True):
        (outcome,) = simulate([group], caps_late=late)
        assert outcome.statuses == ["completed", "completed"]
        assert outcome.preemptions == [0, 0]
        assert outcome.starts == [0, 200] and outcome.ends == [100, 210]


def tenant_jobs_at_a_completion(arrival_first: bool) -> tuple[list[JobRecord], str]:
    """A tenant job of a 1-node contract runs 0–10 s; two more arrive at 10 s, as it ends.

    With ``arrival_first`` their arrival is an event of the AI clock made before the first
    job's completion (as AiHosting's chain makes it), so it is processed first; else they come
    from a SimPy timeout (a command), whose first call to the group processes the completion.
    Returns the three records and the first job's status when the two arrive.
    """
    env = simpy.Environment()
    cluster = GpuCluster(
        env, GpuGroupSpec(node_type=NODE, nodes=2), BUILTIN_GPU_NODES[NODE], DEPTH, EventLog()
    )
    cluster.contracted_gpus = {"lab": GPN}  # as AiHosting sets it
    first, second, third = (
        JobRecord(
            job_id=job_id,
            job_class=0,
            submit_s=submit_s,
            gpus=GPN,
            duration_s=10.0,
            patience_s=math.inf,
            price_usd_per_gpu_hour=1.0,
            checkpoint_interval_s=None,
            priority=RESERVED,  # a tenant's job asks for its contract, as AiHosting makes it
            contract="lab",
        )
        for job_id, submit_s in ((0, 0.0), (1, 10.0), (2, 10.0))
    )
    seen: list[str] = []

    def arrive(*_: object) -> None:
        seen.append(first.status)
        cluster.submit(second)
        cluster.submit(third, last=True)

    if arrival_first:
        cluster.clock.after(10, None, arrive)
        cluster.submit(first, last=True)  # starts at once: its completion is made after
    else:
        cluster.submit(first, last=True)
        env.timeout(10).callbacks.append(arrive)
    env.run()
    cluster.scheduler.check_invariants()
    return [first, second, third], seen[0]


def test_a_tenant_job_arriving_as_another_ends_is_classified_after_the_release() -> None:
    # The first job's GPUs are released at 10 s whichever event SimPy takes first, so the
    # second job fits the contract (reserved, unbilled) and the third bursts beyond it.
    outcomes = []
    for arrival_first in (True, False):
        records, status_at_arrival = tenant_jobs_at_a_completion(arrival_first)
        # on the clock the arrival comes first; a SimPy command's first call to the group
        # processes the completion due now, so it too comes before the arrivals join
        assert status_at_arrival == "running"
        outcomes.append(
            [(r.priority, r.contract, r.status, r.first_start_s, r.end_s) for r in records]
        )
    expected = [
        (RESERVED, "lab", "completed", 0.0, 10.0),
        (RESERVED, "lab", "completed", 10.0, 20.0),
        (ON_DEMAND, "", "completed", 10.0, 20.0),
    ]
    assert outcomes == [expected, expected]


# ---- properties ---------------------------------------------------------------------------

GRID_S = 5  # times on a 5-s grid, few of them: events coincide often


@st.composite
def groups(draw: st.DrawFn, general: bool = True) -> Group:
    """A small group and trace; ``general=False`` keeps to the oracle's setting."""
    nodes = draw(st.integers(1, 6))
    count = draw(st.integers(1, 25))
    jobs = []
    for _ in range(count):
        submit = GRID_S * draw(st.integers(0, 10))
        run = GRID_S * draw(st.integers(1, 4))
        if general:
            gpus = draw(st.one_of(st.integers(1, GPN), st.integers(1, nodes * GPN)))
            priority = draw(st.integers(0, 1))
            patience = draw(st.sampled_from([math.inf, math.inf, 10.0, 25.0]))
            jobs.append(Spec(submit, gpus, run, priority, patience))
        else:
            jobs.append(Spec(submit, GPN * draw(st.integers(1, nodes)), run))
    caps: tuple[tuple[int, int], ...] = ()
    if general:
        times = sorted(draw(st.sets(st.integers(1, 10), max_size=3)))
        caps = tuple((GRID_S * t, draw(st.integers(0, nodes))) for t in times)
    return Group(nodes, tuple(jobs), caps)


@settings(max_examples=150)
@given(groups(), st.randoms(use_true_random=False), st.booleans())
def test_the_order_of_simultaneous_events_does_not_matter(
    group: Group, rng, caps_late: bool
) -> None:
    rank = list(range(len(group.jobs)))
    rng.shuffle(rank)
    fed_in_order = simulate([group])
    shuffled = simulate([group], feed_rank=[rank], caps_late=caps_late)
    assert shuffled == fed_in_order


@settings(max_examples=150)
@given(groups(), groups())
def test_another_group_never_changes_a_groups_schedule(group: Group, other: Group) -> None:
    alone = simulate([group])[0]
    assert simulate([group, other])[0] == alone
    assert simulate([other, group])[1] == alone


@settings(max_examples=200)
@given(groups(general=False))
def test_start_times_are_the_textbook_easy_backfill(group: Group) -> None:
    jobs = [(j.submit_s, j.gpus // GPN, j.run_s) for j in group.jobs]
    assert start_times(group) == easy_oracle(group.nodes, jobs)
