"""A GPU group as a cluster: jobs queue, run, complete, leave, or are preempted.

The :class:`~sim.model.scheduling.scheduler.Scheduler` decides placements; this module gives
it time.
Each job costs a handful of events on the AI side's own clock (:class:`~sim.model.ai_clock.AiClock`,
not SimPy's heap): its completion and, if the customer is impatient, its abandonment. Each
carries the job's record as its value; a stale one (the job was preempted or retimed, or
already started) is recognised and ignored, since events cannot be cancelled. The node cap
(usable nodes) and the clock speed are inputs that planned maintenance, the site policy and
the halls' thermal state drive, as SimPy callbacks.

Simultaneous events: every change at one instant (submissions, completions, abandonments,
node-cap and speed changes) is applied first, then the group runs one scheduling pass, at the
end of the instant (as in Batsim). So the schedule never depends on the order in which
simultaneous events happen to be processed, nor on other groups' events. A node-cap change
waits for the end of the instant too, so that a job ending at that instant completes rather
than being preempted.

Jobs need *work*: seconds of running at full clock. At speed ``s`` (throttled GPUs) a job
does ``s`` work-seconds per wall second. Preemption loses the work since the job's last
checkpoint (checkpoints fall every ``checkpoint_interval_s`` of work); the job requeues at
its original place in the FIFO order with the remaining work. Customers pay on-demand prices
for the GPUs allocated to them (a gang job holds whole nodes) and only for work that was
kept, so a throttled hall earns less per wall hour.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Container
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np
import simpy

from sim.errors import SimulationError
from sim.eventlog import EventLog
from sim.model.ai_clock import AiClock
from sim.model.scheduling.jobs import Job, Placement, Preempted
from sim.model.scheduling.scheduler import Scheduler
from sim.scenario.ai import GpuGroupSpec
from sim.scenario.catalog import GpuNodeSpec
from sim.steps import StepSeries, from_changes, product, total

_tuple_new = tuple.__new__
RESERVED, ON_DEMAND = 0, 1  # scheduler priorities: reserved-contract work runs first
T = TypeVar("T")
@dataclass(slots=True)
class JobRecord:
    """Everything known about one job; becomes a row of jobs.csv.

    Work quantities (``duration_s``, ``remaining_s``, ``lost_s``, ``billed_gpu_s``) are in
    seconds at full clock; ``run_s`` and the times are wall seconds.
    """

    job_id: int
    job_class: int
    submit_s: float
    gpus: int  # its nodes (in jobs.csv) follow from its group's GPUs per node
    duration_s: float
    patience_s: float
    price_usd_per_gpu_hour: float
    checkpoint_interval_s: float | None
    priority: int
    # the reserved contract whose GPUs it uses, "" for on-demand work (a tenant's job names
    # its contract on arrival; GpuCluster._classify makes a burst beyond it on-demand)
    contract: str = ""
    allocated_gpus: int = 0  # a gang job holds whole nodes, so possibly more than gpus
    remaining_s: float = 0.0
    first_start_s: float = math.nan
    end_s: float = math.nan
    run_s: float = 0.0
    lost_s: float = 0.0
    preemptions: int = 0
    status: str = "queued"
    billed_gpu_s: float = 0.0
    segment_start_s: float = math.nan
    completion: int = -1  # the sequence number of the pending completion; any other is stale


@dataclass
class ClusterLog:
    """Passive record of level changes and point events, turned into tables after the run."""

    busy_t: list[float] = field(default_factory=list)
    busy_delta: list[int] = field(default_factory=list)
    queue_t: list[float] = field(default_factory=list)
    queue_delta: list[int] = field(default_factory=list)
    cap_t: list[float] = field(default_factory=list)
    cap_nodes: list[int] = field(default_factory=list)
    speed_t: list[float] = field(default_factory=lambda: [0.0])
    speed: list[float] = field(default_factory=lambda: [1.0])  # work-seconds per second
    # billed spans: the kept part of each run segment, with the GPU-seconds and revenue billed
    seg_start: list[float] = field(default_factory=list)
    seg_end: list[float] = field(default_factory=list)
    seg_billed_gpu_s: list[float] = field(default_factory=list)
    seg_usd_per_gpu_hour: list[float] = field(default_factory=list)  # the job's price
    preempt_t: list[float] = field(default_factory=list)
    preempt_lost_gpu_s: list[float] = field(default_factory=list)  # work lost × GPUs held


class ClusterSeries:
    """A GPU group's series over the run, derived from its log after the run.

    Shared by the Python cluster (:class:`GpuCluster`) and the compiled one
    (``sim.model.compiled_ai``): each keeps ``spec``, ``node``, ``log`` (a :class:`ClusterLog`
    whose columns may be lists or arrays) and ``_series``.
    """

    spec: GpuGroupSpec
    node: GpuNodeSpec
    log: ClusterLog
    _series: dict[str, tuple[tuple[int, ...], Any]]

    @property
    def installed_gpus(self) -> int:
        """GPUs installed in the group."""
        return self.spec.nodes * self.node.gpus_per_node

    def _cached(self, name: str, sizes: tuple[int, ...], make: Callable[[], T]) -> T:
        """What ``make`` derives from logs of these sizes, made once (the logs only grow)."""
        cached = self._series.get(name)
        if cached is None or cached[0] != sizes:
            cached = (sizes, make())
            self._series[name] = cached
        return cast(T, cached[1])

    def usable_gpus(self) -> StepSeries:
        """GPUs within the node cap over the run."""
        nodes = self.nodes_powered()
        return nodes.scaled(self.node.gpus_per_node)

    def nodes_powered(self) -> StepSeries:
        """Nodes within the node cap over the run (the last cap set at a time wins)."""
        return _last_per_time(self.log.cap_t, self.log.cap_nodes)

    def speed(self) -> StepSeries:
        """Work-seconds per wall second of running jobs over the run (1 = full clock)."""
        return _last_per_time(self.log.speed_t, self.log.speed)

    def busy_gpus(self) -> StepSeries:
        """GPUs allocated to running jobs over the run."""
        log = self.log
        return self._cached(
            "busy",
            (len(log.busy_t),),
            lambda: from_changes(floats(log.busy_t), floats(log.busy_delta)),
        )

    def queue_length(self) -> StepSeries:
        """Jobs waiting over the run."""
        log = self.log
        return self._cached(
            "queue",
            (len(log.queue_t),),
            lambda: from_changes(floats(log.queue_t), floats(log.queue_delta)),
        )

    def power_kw(self) -> StepSeries:
        """Wall power: powered nodes at idle plus each busy GPU's share of the load (kW).

        A GPU slowed by heat draws its load share times its clock speed (the power drop is
        what throttling is for); the thermal model takes the same factor.
        """
        log = self.log
        return self._cached(
            "power", (len(log.busy_t), len(log.cap_t), len(log.speed_t)), self._power_kw
        )

    def _power_kw(self) -> StepSeries:
        node = self.node
        per_busy_gpu = (node.peak_power_w - node.idle_power_w) / node.gpus_per_node
        busy = self.busy_gpus()
        if len(self.log.speed_t) > 1:
            busy = product(busy, self.speed())
        return total(
            self.nodes_powered().scaled(node.idle_power_w / 1_000.0),
            busy.scaled(per_busy_gpu / 1_000.0),
        )


class GpuCluster(ClusterSeries):
    """One GPU group: its scheduler, its jobs and what they did.

    Parameters
    ----------
    env
        The SimPy environment.
    group
        The group's scenario entry.
    node
        Its node type.
    backfill_depth
        Queued jobs the scheduler scans for backfill per event.
    events
        Log for node-cap changes.
    clock
        The AI events' clock, shared by the site's GPU groups; a new one if not given.
    """

    def __init__(
        self,
        env: simpy.Environment,
        group: GpuGroupSpec,
        node: GpuNodeSpec,
        backfill_depth: int,
        events: EventLog,
        clock: AiClock | None = None,
    ) -> None:
        self.env = env
        self.clock = clock if clock is not None else AiClock(env)
        self._events = events
        self.name = group.label
        self.spec = group
        self.node = node
        self.scheduler = Scheduler(group.nodes, node.gpus_per_node, backfill_depth)
        self.jobs: dict[int, JobRecord] = {}
        # GPUs of queued or running jobs that count against each reserved contract
        self.reserved_gpus: dict[str, int] = {}
        # GPUs of each reserved contract whose tenant jobs are classified here (AiHosting's)
        self.contracted_gpus: dict[str, int] = {}
        self.log = ClusterLog(cap_t=[0.0], cap_nodes=[group.nodes])
        # series derived from the log, with the log sizes they were derived at
        self._series: dict[str, tuple[tuple[int, ...], Any]] = {}
        self._speed = 1.0  # work-seconds per second of running jobs, as the scheduler's
        self._complete_cb = self._complete  # bound once: a bound method is made per lookup
        # this instant's changes that wait for its end: arrivals and node caps, in call order
        self._arrivals: list[JobRecord] = []
        self._caps: list[int] = []
        self._failed: list[int] = []  # nodes that failed this instant
        self._pass_due = False  # a pass is due at the end of this instant
        # jobs waiting: the queue series' level, the scheduler's queue length after every
        # change, kept so that a completion need not call the scheduler's property
        self._waiting = 0

    def submit(self, record: JobRecord, last: bool = False) -> None:
        """A job arrives now; it joins the queue at the end of the instant.

        A tenant's job (``record.contract`` names a contract of ``contracted_gpus``) is
        classified when it joins: see :meth:`_classify`.

        Parameters
        ----------
        record
            The job.
        last
            True if the calling callback makes no other change to the group after this one
            (AiHosting's arrivals). Then, if nothing else is due at this instant, the job is
            its only change and joins the queue at once: the same schedule, one event fewer.
        """
        self.clock.catch_up()
        self.arrive(record, last)

    def arrive(self, record: JobRecord, last: bool = True) -> None:
        """:meth:`submit` from an event of the clock itself (AiHosting's arrivals).

        Such an event is processed by the clock's loop, which never needs catching up.
        """
        record.remaining_s = record.duration_s
        self.jobs[record.job_id] = record
        if not last or self._pass_due or not self.clock.alone():
            # other changes may come at this instant: the job joins at its end
            self._arrivals.append(record)
            if not self._pass_due:
                self._pass_at_end()
            return
        # the instant's only change: it joins the queue, and the pass runs, at once
        if record.contract:
            self._classify(record)
        now = self.clock.now
        job_id = record.job_id
        # tuple.__new__ skips Job's checks: the arrival's GPUs and run time were checked
        # when drawn (or read from the trace), and submit_s is now
        job = _tuple_new(
            Job, (job_id, record.gpus, record.duration_s, record.priority, record.submit_s)
        )
        started = self.scheduler.submit(job, now)
        if len(started) == 1 and started[0][0] == job_id:  # it starts, nothing else does
            self._run(record, started[0][2], now)
            return
        if started:
            self._started(started, (job_id,))
        if record.status == "queued":
            self._waits(record, now)

    def _classify(self, record: JobRecord) -> None:
        """Count a job that joins now against its contract, or make it on-demand work.

        A tenant's work runs first, unbilled, up to its contract's GPUs (queued and running
        jobs count); a burst beyond them queues as on-demand work, billed at its class's
        price. It is decided as the job joins the queue, after every completion and
        abandonment of the instant, so their processing order cannot change it. A contract
        not in ``contracted_gpus`` is taken as given (the job counts against it).
        """
        name = record.contract
        held = self.reserved_gpus.get(name, 0) + record.gpus
        contracted = self.contracted_gpus.get(name)
        if contracted is not None and held > contracted:
            record.priority, record.contract = ON_DEMAND, ""
        else:
            self.reserved_gpus[name] = held

    def _pass_at_end(self) -> None:
        """Run the pass at the end of this instant, after every other change due now."""
        self._pass_due = True
        self.clock.end_of_instant(self._end_of_instant)

    def _changed(self) -> None:
        """A job ended or left now: pass if another may start (the cluster's own events).

        A completion or an abandonment is the last thing its event does. So if nothing else is
        due at this instant (the clock's next event is later), it is the instant's only change
        and the pass runs at once: the same schedule as at the end of the instant.
        """
        if self._pass_due or not self._waiting:
            return
        if self.clock.alone():
            self._end_of_instant()
        else:
            self._pass_at_end()

    def _end_of_instant(self) -> None:
        """Apply the node caps and arrivals of this instant, then run one pass."""
        self._pass_due = False
        now = self.clock.now
        scheduler = self.scheduler
        for node in self._failed:  # before the caps: the failure frees its node first
            preempted = scheduler.vacate_node(node, now, self._preempt, defer=True)[0]
            log_node_failure(self._events, now, self.name, node, len(preempted))
        self._failed.clear()
        if self._caps:
            for nodes in self._caps:
                preempted = scheduler.set_node_cap(nodes, now, self._preempt, defer=True)[0]
                log_node_cap(self._events, now, self.name, nodes, len(preempted))
            self._caps.clear()
        arrivals = self._arrivals
        if not arrivals:
            started = scheduler.schedule(now)
            if started:
                self._started(started)
            return
        self._arrivals = []
        for record in arrivals:  # in arrival order, after the instant's releases
            if record.contract:
                self._classify(record)
        jobs = [Job(r.job_id, r.gpus, r.duration_s, r.priority, r.submit_s) for r in arrivals]
        for job in jobs[:-1]:
            scheduler.submit(job, now, defer=True)
        started = scheduler.submit(jobs[-1], now)  # the instant's last change, then the pass
        if started:
            # a job that starts on arrival never joins the queue series (+1 and −1 at one time)
            self._started(
                started, (jobs[0].job_id,) if len(jobs) == 1 else {job.job_id for job in jobs}
            )
        for record in arrivals:
            if record.status == "queued":
                self._waits(record, now)

    def _waits(self, record: JobRecord, now: float) -> None:
        """A job that arrived now was not started: it joins the queue series and waits."""
        self._queue_change(now, +1)
        if math.isfinite(record.patience_s):
            # wait for the customer's patience to run out
            self.clock.after(record.patience_s, record, self._abandon)

    def _queue_change(self, t_s: float, delta: int) -> None:
        """``delta`` jobs joined (left, if negative) the queue at ``t_s``."""
        self._waiting += delta
        self.log.queue_t.append(t_s)
        self.log.queue_delta.append(delta)

    def _started(self, placements: list[Placement], arriving: Container[int] = ()) -> None:
        """Start the placed jobs; ``arriving`` are jobs of this instant, never queued."""
        jobs, now = self.jobs, self.clock.now
        for job_id, _, used, _, _ in placements:
            if job_id not in arriving:
                self._queue_change(now, -1)
            self._run(jobs[job_id], used, now)

    def _run(self, record: JobRecord, used: tuple[int, ...], now: float) -> None:
        """Start a run segment of the job now, on ``used`` GPUs per node; wait for its end."""
        if record.first_start_s != record.first_start_s:  # NaN: never started before
            record.first_start_s = now
        record.status = "running"
        record.allocated_gpus = gpus = used[0] if len(used) == 1 else sum(used)
        record.segment_start_s = now
        log = self.log
        log.busy_t.append(now)
        log.busy_delta.append(gpus)
        # wait for the job to finish its remaining work (the scheduler's end_s)
        record.completion = self.clock.after(
            record.remaining_s / self._speed, record, self._complete_cb
        )

    def _close_segment(self, record: JobRecord, end_s: float, done_s: float, kept_s: float) -> None:
        """Book a run segment that ends now: ``done_s`` of work done, ``kept_s`` of it kept."""
        record.lost_s += done_s - kept_s
        record.remaining_s -= kept_s
        self._book_segment(record, end_s, kept_s)

    def _book_segment(self, record: JobRecord, end_s: float, kept_s: float) -> None:
        """Book a segment's run time, its bill for ``kept_s`` of kept work and its GPUs' release.

        The work lost and left are the caller's (:meth:`_close_segment`): a completion keeps
        all it did and has none left.
        """
        segment_start_s, allocated = record.segment_start_s, record.allocated_gpus
        record.run_s += end_s - segment_start_s
        if record.priority == ON_DEMAND:
            billed = allocated * kept_s
            record.billed_gpu_s += billed
        else:
            billed = 0.0  # reserved work is paid by its contract
        log = self.log
        # the kept work is the segment's first kept_s of work: bill it over that span
        log.seg_start.append(segment_start_s)
        if log.speed_t[-1] <= segment_start_s:  # no speed change since: the common case
            log.seg_end.append(segment_start_s + kept_s / log.speed[-1])
        else:
            log.seg_end.append(self._wall_after(segment_start_s, kept_s))
        log.seg_billed_gpu_s.append(billed)
        log.seg_usd_per_gpu_hour.append(record.price_usd_per_gpu_hour)
        log.busy_t.append(end_s)
        log.busy_delta.append(-allocated)

    def _complete(self, record: JobRecord, seq: int) -> None:
        if record.completion != seq:
            return  # stale: the job was preempted or retimed after this was scheduled
        now = self.clock.now
        self._book_segment(record, now, record.remaining_s)  # it did and keeps all that was left
        record.remaining_s = 0.0
        record.completion = -1
        record.status, record.end_s = "completed", now
        if record.contract:
            self._release_reserved(record)
        self.scheduler.finish(record.job_id, now, defer=True)
        self._changed()

    def _abandon(self, record: JobRecord, _: int) -> None:
        if record.status != "queued" or not math.isnan(record.first_start_s):
            return  # it started in time (patience applies before the first start only)
        now = self.clock.now
        self.scheduler.withdraw(record.job_id, now, defer=True)
        record.status, record.end_s = "abandoned", now
        if record.contract:
            self._release_reserved(record)
        self._queue_change(now, -1)
        self._changed()

    def _release_reserved(self, record: JobRecord) -> None:
        """A tenant's job ended or left: its GPUs no longer count against its contract."""
        self.reserved_gpus[record.contract] -= record.gpus

    def _work_s(self, since_s: float, until_s: float) -> float:
        """Work a job running from ``since_s`` to ``until_s`` (now or later) does (s)."""
        times, speeds = self.log.speed_t, self.log.speed
        if times[-1] <= since_s:  # no speed change since: the common case
            return (until_s - since_s) * speeds[-1]
        i = bisect_right(times, since_s)
        work = (times[i] - since_s) * speeds[i - 1]
        for j in range(i + 1, len(times)):
            work += (times[j] - times[j - 1]) * speeds[j - 1]
        return work + (until_s - times[-1]) * speeds[-1]

    def _wall_after(self, since_s: float, work_s: float) -> float:
        """When a job running since ``since_s`` has done ``work_s`` of work (s)."""
        times, speeds = self.log.speed_t, self.log.speed
        if times[-1] <= since_s:
            return since_s + work_s / speeds[-1]
        t_s = since_s
        for j in range(bisect_right(times, since_s), len(times)):
            piece = (times[j] - t_s) * speeds[j - 1]
            if work_s <= piece:
                return t_s + work_s / speeds[j - 1]
            work_s -= piece
            t_s = times[j]
        return t_s + work_s / speeds[-1]

    def kept_work_s(self, record: JobRecord, now_s: float) -> float:
        """Work of the current segment that survives a preemption now (checkpointed)."""
        done_before = record.duration_s - record.remaining_s
        done_now = done_before + self._work_s(record.segment_start_s, now_s)
        interval = record.checkpoint_interval_s
        if interval is None:
            return 0.0
        return max(math.floor(done_now / interval) * interval, done_before) - done_before

    def set_node_cap(self, nodes: int) -> None:
        """From now on at most ``nodes`` nodes may run; jobs above the cap are preempted.

        The cap applies at the end of the instant, after the completions due now (those jobs
        are done, not preempted). Preempted jobs queue again, with the work they still need,
        before anything else starts, so they keep their FIFO place.
        """
        self.clock.catch_up()
        now = self.clock.now
        self.log.cap_t.append(now)
        self.log.cap_nodes.append(nodes)
        self._caps.append(nodes)
        if not self._pass_due:
            self._pass_at_end()

    def fail_node(self, node: int) -> None:
        """Node ``node`` fails now: the jobs on it are preempted at the end of the instant.

        What the cluster may still power is its node cap, which the site lowers at the same
        instant; this only says which jobs the failure hits (those on the failed node).
        """
        self.clock.catch_up()
        self._failed.append(node)
        if not self._pass_due:
            self._pass_at_end()

    def set_speed(self, factor: float) -> None:
        """From now on running jobs progress at ``factor`` work-seconds per wall second.

        GPU clock throttling: every running job keeps the work it has done and its
        completion moves to ``now + work left / factor``; jobs started later run at this
        speed too. Allocated GPUs do not change (their load power scales with the speed, see
        :meth:`power_kw`); billing and checkpoints count
        work, so a throttled hall earns less per wall hour. A tripped hall is not a speed of
        0 but a node cap of 0 (:meth:`set_node_cap`). Costs O(running jobs).

        Parameters
        ----------
        factor : float
            Work-seconds per wall second, ``0 < factor <= 1`` (1 = full clock).

        Raises
        ------
        SimulationError
            If ``factor`` is not in (0, 1] (say, a NaN from the thermal model).
        """
        check_speed(self.name, self.env.now, factor)
        if factor == self._speed:
            return
        clock = self.clock
        clock.catch_up()  # jobs due to end now end first
        self._speed = factor
        now = clock.now
        log = self.log
        log.speed_t.append(now)
        log.speed.append(factor)
        scheduler = self.scheduler
        moved = scheduler.set_speed(factor, now, defer=True)[0]
        after, jobs, complete = clock.after, self.jobs, self._complete_cb
        work_left_s = scheduler.work_left_s
        for placement in moved:
            record = jobs[placement.job_id]
            # wait for the job to finish at the new speed (the scheduler's new end_s)
            delay = work_left_s(placement.job_id, now) / factor
            record.completion = after(delay, record, complete)
        if scheduler.queue_length and not self._pass_due:
            self._pass_at_end()  # the reservation moved: a pass may backfill more

    def _preempt(self, stopped: Preempted) -> Job:
        """Book a preempted run and return the job as it queues again."""
        now = self.clock.now
        record = self.jobs[stopped.job.job_id]
        done = self._work_s(record.segment_start_s, now)
        kept = self.kept_work_s(record, now)
        self._close_segment(record, now, done, kept)
        record.status = "queued"
        record.preemptions += 1
        record.completion = -1
        self.log.preempt_t.append(now)
        self.log.preempt_lost_gpu_s.append((done - kept) * record.allocated_gpus)
        self._queue_change(now, +1)
        return Job(record.job_id, record.gpus, record.remaining_s, record.priority, record.submit_s)

    def close(self, horizon_s: float) -> None:
        """End of run: book the open segments of running jobs as kept up to the horizon."""
        for record in self.jobs.values():
            if record.status == "running":
                done = self._work_s(record.segment_start_s, horizon_s)
                self._close_segment(record, horizon_s, done, done)


def log_node_failure(events: EventLog, now_s: float, group: str, node: int, stopped: int) -> None:
    """Log a node failure that stopped jobs (one that stopped none is not an event here)."""
    if stopped:
        events.add(now_s, "node_failure", group, node, "node", f"{stopped} jobs preempted")


def log_node_cap(events: EventLog, now_s: float, group: str, nodes: int, stopped: int) -> None:
    """Log a node cap applied to a group, with the jobs it stopped."""
    events.add(now_s, "node_cap", group, nodes, "nodes", f"{stopped} jobs preempted")


def check_speed(group: str, now_s: float, factor: float) -> None:
    """Raise SimulationError unless a GPU clock speed is in (0, 1] (say, a NaN from heat)."""
    if not 0.0 < factor <= 1.0:  # also rejects NaN
        raise SimulationError(
            "cluster",
            now_s,
            f"GPU group '{group}': speed factor must be in (0, 1] (got {factor})",
        )


def floats(values: list[float] | list[int] | np.ndarray) -> np.ndarray:
    """A logged list (or array) as a float array (``np.fromiter`` is ≈2× ``np.array``'s speed)."""
    if isinstance(values, np.ndarray):
        return values.astype(float, copy=False)
    return np.fromiter(values, dtype=float, count=len(values))


def _last_per_time(
    times_s: list[float] | np.ndarray, values: list[float] | list[int] | np.ndarray
) -> StepSeries:
    """A step series from logged settings; of several at one time the last wins."""
    times = np.asarray(times_s, dtype=float)
    last = np.append(times[1:] != times[:-1], True)
    return StepSeries(times[last], np.asarray(values, dtype=float)[last])
