"""A GPU group as a cluster: jobs queue, run, complete, leave, or are preempted.

The :class:`~sim.model.scheduler.Scheduler` decides placements; this module gives it time.
Each job costs a handful of SimPy events, all plain callbacks on timeouts (no process per
job): its completion and, if the customer is impatient, its abandonment. A stale callback
(the job was preempted, or already started) is recognised by a run token and ignored,
since SimPy timeouts cannot be cancelled. The node cap (usable nodes) is an input that
planned maintenance, and later the site policy and outages, drive.

Preemption loses the work since the job's last checkpoint; the job requeues at its
original place in the FIFO order with the remaining work. Customers pay on-demand prices
for the GPUs allocated to them (a gang job holds whole nodes) and only for GPU-hours whose
work was kept.
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import simpy

from sim.model.scheduler import Job, Placement, Preempted, Scheduler
from sim.model.steps import StepSeries, from_changes, spread_over_spans, total
from sim.record.events import EventLog
from sim.scenario.ai import GpuGroupSpec
from sim.scenario.catalog import GpuNodeSpec

RESERVED, ON_DEMAND = 0, 1  # scheduler priorities: reserved-contract work runs first


@dataclass(slots=True)
class JobRecord:
    """Everything known about one job; becomes a row of jobs.csv."""

    job_id: int
    job_class: int
    submit_s: float
    gpus: int
    nodes: int
    duration_s: float
    patience_s: float
    price_usd_per_gpu_hour: float
    checkpoint_interval_s: float | None
    priority: int
    contract: str = ""  # the reserved contract whose GPUs it uses; "" for on-demand work
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
    token: int = 0


@dataclass
class ClusterLog:
    """Passive record of level changes and point events, turned into tables after the run."""

    busy_t: list[float] = field(default_factory=list)
    busy_delta: list[int] = field(default_factory=list)
    queue_t: list[float] = field(default_factory=list)
    queue_delta: list[int] = field(default_factory=list)
    cap_t: list[float] = field(default_factory=list)
    cap_nodes: list[int] = field(default_factory=list)
    # billed spans: the kept part of each run segment, with the GPU-seconds and revenue billed
    seg_start: list[float] = field(default_factory=list)
    seg_end: list[float] = field(default_factory=list)
    seg_billed_gpu_s: list[float] = field(default_factory=list)
    seg_revenue_usd: list[float] = field(default_factory=list)
    preempt_t: list[float] = field(default_factory=list)


class GpuCluster:
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
    """

    def __init__(
        self,
        env: simpy.Environment,
        group: GpuGroupSpec,
        node: GpuNodeSpec,
        backfill_depth: int,
        events: EventLog,
    ) -> None:
        self.env = env
        self._events = events
        self.name = group.label
        self.spec = group
        self.node = node
        self.scheduler = Scheduler(group.nodes, node.gpus_per_node, backfill_depth)
        self.jobs: dict[int, JobRecord] = {}
        # GPUs of queued or running jobs that count against each reserved contract
        self.reserved_gpus: dict[str, int] = {}
        self.log = ClusterLog(cap_t=[0.0], cap_nodes=[group.nodes])

    @property
    def installed_gpus(self) -> int:
        """GPUs installed in the group."""
        return self.spec.nodes * self.node.gpus_per_node

    def submit(self, record: JobRecord) -> None:
        """A job arrives now."""
        now = self.env.now
        record.remaining_s = record.duration_s
        self.jobs[record.job_id] = record
        if record.contract:
            self.reserved_gpus[record.contract] = (
                self.reserved_gpus.get(record.contract, 0) + record.gpus
            )
        # a job that starts at once never joins the queue series (+1 and −1 at one time)
        self._started(self.scheduler.submit(self._job(record), now), arriving=record.job_id)
        if record.status == "queued":
            self._queue_change(now, +1)
        if record.status == "queued" and math.isfinite(record.patience_s):
            # wait for the customer's patience to run out
            self.env.timeout(record.patience_s).callbacks.append(
                partial(self._abandon, record.job_id)
            )

    def _job(self, record: JobRecord) -> Job:
        return Job(record.job_id, record.gpus, record.remaining_s, record.priority, record.submit_s)

    def _queue_change(self, t_s: float, delta: int) -> None:
        self.log.queue_t.append(t_s)
        self.log.queue_delta.append(delta)

    def _started(self, placements: list[Placement], arriving: int = -1) -> None:
        """Start the placed jobs; ``arriving`` is a job placed on arrival, never queued."""
        if not placements:
            return
        now = self.env.now
        jobs, log, timeout, complete = self.jobs, self.log, self.env.timeout, self._complete
        for placement in placements:
            job_id = placement.job_id
            record = jobs[job_id]
            if math.isnan(record.first_start_s):
                record.first_start_s = now
            record.status = "running"
            record.allocated_gpus = gpus = placement.gpus
            record.segment_start_s = now
            record.token = token = record.token + 1
            if job_id != arriving:
                log.queue_t.append(now)  # the queue shrinks by one
                log.queue_delta.append(-1)
            log.busy_t.append(now)
            log.busy_delta.append(gpus)
            # wait for the job to finish its remaining work
            timeout(record.remaining_s).callbacks.append(partial(complete, job_id, token))

    def _close_segment(self, record: JobRecord, end_s: float, kept_s: float) -> None:
        """Book a run segment that ends now, of which ``kept_s`` of work was kept."""
        segment_start_s, allocated = record.segment_start_s, record.allocated_gpus
        elapsed = end_s - segment_start_s
        record.run_s += elapsed
        record.lost_s += elapsed - kept_s
        record.remaining_s -= kept_s
        billed = allocated * kept_s if record.priority == ON_DEMAND else 0.0
        record.billed_gpu_s += billed
        log = self.log
        # the kept work is the segment's first kept_s seconds: bill it over that span
        log.seg_start.append(segment_start_s)
        log.seg_end.append(segment_start_s + kept_s)
        log.seg_billed_gpu_s.append(billed)
        log.seg_revenue_usd.append(billed / 3_600.0 * record.price_usd_per_gpu_hour)
        log.busy_t.append(end_s)
        log.busy_delta.append(-allocated)

    def _complete(self, job_id: int, token: int, _: simpy.Event) -> None:
        record = self.jobs[job_id]
        if record.token != token or record.status != "running":
            return  # stale: the job was preempted after this completion was scheduled
        now = self.env.now
        self._close_segment(record, now, record.remaining_s)
        record.remaining_s = 0.0
        record.status, record.end_s = "completed", now
        self._release_reserved(record)
        self._started(self.scheduler.finish(job_id, now))

    def _abandon(self, job_id: int, _: simpy.Event) -> None:
        record = self.jobs[job_id]
        if record.status != "queued" or not math.isnan(record.first_start_s):
            return  # it started in time (patience applies before the first start only)
        started = self.scheduler.withdraw(job_id, self.env.now)[1]
        record.status, record.end_s = "abandoned", self.env.now
        self._release_reserved(record)
        self._queue_change(self.env.now, -1)
        self._started(started)

    def _release_reserved(self, record: JobRecord) -> None:
        if record.contract:
            self.reserved_gpus[record.contract] -= record.gpus

    def kept_work_s(self, record: JobRecord, now_s: float) -> float:
        """Work of the current segment that survives a preemption now (checkpointed)."""
        done_before = record.duration_s - record.remaining_s
        done_now = done_before + (now_s - record.segment_start_s)
        interval = record.checkpoint_interval_s
        if interval is None:
            return 0.0
        return max(math.floor(done_now / interval) * interval, done_before) - done_before

    def set_node_cap(self, nodes: int) -> None:
        """From now on at most ``nodes`` nodes may run; jobs above the cap are preempted.

        Preempted jobs queue again, with the work they still need, before anything else
        starts, so they keep their FIFO place.
        """
        now = self.env.now
        self.log.cap_t.append(now)
        self.log.cap_nodes.append(nodes)
        preempted, started = self.scheduler.set_node_cap(nodes, now, self._preempt)
        self._events.add(
            now, "node_cap", self.name, nodes, "nodes", f"{len(preempted)} jobs preempted"
        )
        self._started(started)

    def _preempt(self, stopped: Preempted) -> Job:
        """Book a preempted run and return the job as it queues again."""
        now = self.env.now
        record = self.jobs[stopped.job.job_id]
        self._close_segment(record, now, self.kept_work_s(record, now))
        record.status = "queued"
        record.preemptions += 1
        record.token += 1
        self.log.preempt_t.append(now)
        self._queue_change(now, +1)
        return self._job(record)

    def follow_cap_schedule(self, start_unix_s: float) -> Generator[simpy.Event, None, None]:
        """SimPy process: apply the group's planned node-cap changes."""
        for change in self.spec.node_cap_schedule:
            delay = change.from_utc.timestamp() - start_unix_s - self.env.now
            # wait for the planned change
            yield self.env.timeout(max(delay, 0.0))
            self.set_node_cap(change.nodes)

    def usable_gpus(self) -> StepSeries:
        """GPUs within the node cap over the run."""
        nodes = self.nodes_powered()
        return nodes.scaled(self.node.gpus_per_node)

    def nodes_powered(self) -> StepSeries:
        """Nodes within the node cap over the run (the last cap set at a time wins)."""
        times = np.asarray(self.log.cap_t)
        last = np.append(times[1:] != times[:-1], True)
        return StepSeries(times[last], np.asarray(self.log.cap_nodes, dtype=float)[last])

    def busy_gpus(self) -> StepSeries:
        """GPUs allocated to running jobs over the run."""
        return from_changes(np.asarray(self.log.busy_t), np.asarray(self.log.busy_delta))

    def power_kw(self) -> StepSeries:
        """Wall power: powered nodes at idle plus each busy GPU's share of the load (kW)."""
        node = self.node
        per_busy_gpu = (node.peak_power_w - node.idle_power_w) / node.gpus_per_node
        return total(
            self.nodes_powered().scaled(node.idle_power_w / 1_000.0),
            self.busy_gpus().scaled(per_busy_gpu / 1_000.0),
        )

    def on_demand_usd_rate(self) -> StepSeries:
        """On-demand revenue (USD/s), each billed span's revenue spread evenly over it."""
        log = self.log
        return spread_over_spans(log.seg_start, log.seg_end, log.seg_revenue_usd)

    def billed_gpu_rate(self) -> StepSeries:
        """On-demand GPU-seconds billed per second, spread like the revenue."""
        log = self.log
        return spread_over_spans(log.seg_start, log.seg_end, log.seg_billed_gpu_s)

    def close(self, horizon_s: float) -> None:
        """End of run: book the open segments of running jobs as kept up to the horizon."""
        for record in self.jobs.values():
            if record.status == "running":
                self._close_segment(record, horizon_s, horizon_s - record.segment_start_s)
