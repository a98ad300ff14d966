"""AI/HPC hosting at the site: GPU clusters, the job stream that feeds them, and contracts."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np
import simpy

from sim.economics.inputs import JobColumns
from sim.eventlog import EventLog
from sim.model.ai_clock import AiClock
from sim.model.cluster import ON_DEMAND, RESERVED, GpuCluster, JobRecord
from sim.model.contracts import SlaPeriod, contract_rooms, sla_periods
from sim.model.demand import Arrivals, HourBins, JobClassDemand, trace_arrivals
from sim.rng import RandomStreams
from sim.scenario.ai import GpuGroupSpec
from sim.scenario.catalog import GpuNodeSpec, known_gpu_nodes
from sim.scenario.schema import Scenario, input_files
from sim.units import SECONDS_PER_DAY, unix_seconds

# JobRecord fields, read in one pass per type (much faster than one per field)
_FLOAT_FIELDS = attrgetter(
    "submit_s", "first_start_s", "end_s", "run_s", "lost_s", "billed_gpu_s",
    "price_usd_per_gpu_hour",
)  # fmt: skip
_INT_FIELDS = attrgetter("job_class", "gpus", "allocated_gpus", "preemptions")


class AiHosting:
    """Every GPU group of the site and the customers who submit jobs to them."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        streams: RandomStreams,
        events: EventLog,
    ) -> None:
        ai = scenario.ai
        self.env = env
        self.horizon_s = scenario.horizon_s
        self.start_unix_s = unix_seconds(scenario.start_utc)
        nodes = known_gpu_nodes(scenario.gpu_node_types)
        self.clusters: list[Any] = self._make_clusters(
            [(group, nodes[group.node_type]) for group in ai.groups], ai.backfill_depth, events
        )
        names = [cluster.name for cluster in self.clusters]
        self.classes = ai.job_classes
        self.contracts = ai.reserved
        self._class_cluster = [names.index(c.group) if c.group else 0 for c in self.classes]
        self.contract_cluster = [names.index(c.group) if c.group else 0 for c in self.contracts]
        contracted_gpus = {c.name: c.gpus for c in self.contracts}
        for cluster in self.clusters:
            cluster.contracted_gpus = contracted_gpus
        self._bins = HourBins.of(self.start_unix_s, self.horizon_s)  # the same for every class
        self._demand = [
            JobClassDemand(i, spec, streams, self._bins)
            for i, spec in enumerate(self.classes)
        ]
        self._trace = (
            trace_arrivals(
                input_files(scenario).trace("ai.trace.csv_path", ai.trace.csv_path),
                self.classes,
                ai.trace.job_class,
                self.horizon_s,
                streams,
            )
            if ai.trace is not None
            else None
        )
        # per class: cluster, price, checkpoint interval, priority and contract
        self._terms = [
            (
                cluster,
                spec.price_usd_per_gpu_hour,
                spec.checkpoint_interval_s,
                RESERVED if spec.contract else ON_DEMAND,
                spec.contract or "",
            )
            for spec, index in zip(self.classes, self._class_cluster, strict=True)
            for cluster in [self.clusters[index]]
        ]
        self._pending: Iterator[tuple[float, int, int, float, float]] = iter(())
        self._day = 0  # the day whose arrivals are being submitted
        self._next_id = 0
        self._arrival_cb = self._arrival  # bound once: a bound method is made per lookup
        self.sla_period_s = ai.sla_period_days * SECONDS_PER_DAY
        self.sla: list[SlaPeriod] = []

    def _make_clusters(
        self, groups: list[tuple[GpuGroupSpec, GpuNodeSpec]], depth: int, events: EventLog
    ) -> list[Any]:
        """The GPU groups' clusters, sharing the jobs' clock."""
        self.clock = AiClock(self.env)  # the jobs' events, shared by the groups
        return [
            GpuCluster(self.env, group, node, depth, events, self.clock) for group, node in groups
        ]

    @property
    def events_processed(self) -> int:
        """AI events processed so far (the manifest adds them to SimPy's)."""
        return self.clock.processed

    @property
    def jobs_submitted(self) -> int:
        """Jobs submitted so far, all GPU groups."""
        return sum(len(cluster.jobs) for cluster in self.clusters)

    @property
    def peak_power_kw(self) -> float:
        """Power of every GPU node at full load (kW)."""
        return sum(c.spec.nodes * c.node.peak_power_w for c in self.clusters) / 1_000.0

    def _window(self, day: int) -> Arrivals:
        batches = [demand.arrivals(day) for demand in self._demand]
        if self._trace is not None:
            start_s, end_s = self._bins.days_s[day], self._bins.days_s[day + 1]
            t = self._trace.submit_s
            keep = (t >= start_s) & (t < end_s)
            batches.append(
                Arrivals(
                    t[keep],
                    self._trace.job_class[keep],
                    self._trace.gpus[keep],
                    self._trace.duration_s[keep],
                    self._trace.patience_s[keep],
                )
            )
        return Arrivals.merge(batches)

    def _open_window(self, day: int) -> None:
        """Draw the arrivals of day ``day`` of the run and wait for the first."""
        batch = self._window(day)
        self._day = day
        self._pending = zip(
            batch.submit_s.tolist(),
            batch.job_class.tolist(),
            batch.gpus.tolist(),
            batch.duration_s.tolist(),
            batch.patience_s.tolist(),
            strict=True,
        )
        self._wait_for_next(self.clock.now)

    def _wait_for_next(self, now: float) -> None:
        """Wait for the day's next arrival, or for the day's end after the last one."""
        arrival = next(self._pending, None)
        if arrival is None:
            # wait for the end of the day before drawing the next one
            end_s = self._bins.days_s[self._day + 1]
            self.clock.after(max(end_s - now, 0.0), None, self._window_ends)
        else:
            # wait for the next job's submission (the event carries the job)
            self.clock.after(arrival[0] - now, arrival, self._arrival_cb)

    def _arrival(self, arrival: tuple[float, int, int, float, float], _seq: int) -> None:
        """A job arrives: wait for the next one, then submit this one."""
        _, job_class, gpus, duration_s, patience_s = arrival
        now = self.clock.now  # not the drawn time: the sum of the delays may round differently
        # wait for the next arrival first: the submission must be this callback's last change
        # (GpuCluster.arrive's ``last``), and a next one due now must be seen as due
        self._wait_for_next(now)
        cluster, price, checkpoint_s, priority, name = self._terms[job_class]
        # a tenant's job asks for its contract; the cluster decides, at the end of the
        # instant, whether it runs as reserved work or bursts beyond it as on-demand work
        record = JobRecord(
            self._next_id,
            job_class,
            now,
            gpus,
            duration_s,
            patience_s,
            price,
            checkpoint_s,
            priority,
            name,
        )
        self._next_id += 1
        cluster.arrive(record)

    def _window_ends(self, _: Any, __: int) -> None:
        if self._bins.days_s[self._day + 1] < self.horizon_s:
            self._open_window(self._day + 1)

    def start(self) -> None:
        """Draw the first day of arrivals and wait for the first; the clock does the rest.

        Each arrival is an event of the clock whose callback submits the job and waits for
        the next one; after a day's last arrival an event waits for the end of the day and
        draws the next day. Node caps, planned ones included, come from the site's control
        loop.
        """
        if self.classes or self._trace is not None:
            self._open_window(0)

    def drop_jobs(self) -> None:
        """Forget the job records, once the run's records hold them as columns.

        A long run has hundreds of thousands, and the site is a graph of components that
        refer to each other, which only the cycle collector frees, traversing every record
        first (≈1 s of a 2-year hybrid run); dropped here, they are freed at once.
        """
        for cluster in self.clusters:
            cluster.jobs.clear()

    def _close_clusters(self) -> None:
        """Drop the events after the horizon; book the segments running at it."""
        self.clock.close()
        for cluster in self.clusters:
            cluster.close(self.horizon_s)

    def job_columns(self) -> JobColumns:
        """Every job submitted, in job_id order."""
        records: list[JobRecord] = []
        job_ids: list[int] = []
        groups: list[str] = []
        per_node: list[int] = []  # GPUs per node of each job's group
        for cluster in self.clusters:
            records += cluster.jobs.values()
            job_ids += cluster.jobs  # keyed by job_id
            groups += [cluster.name] * len(cluster.jobs)
            per_node += [cluster.node.gpus_per_node] * len(cluster.jobs)
        n = len(records)
        floats = np.fromiter(chain.from_iterable(map(_FLOAT_FIELDS, records)), float, n * 7)
        submit, first_start, end, run, lost, billed_gpu_s, price = floats.reshape(n, 7).T
        ints = np.fromiter(chain.from_iterable(map(_INT_FIELDS, records)), np.int64, n * 4)
        job_class, gpus, allocated, preemptions = ints.reshape(n, 4).T
        ids = np.fromiter(job_ids, dtype=np.int64, count=n)
        # each cluster's jobs are in job_id order already
        order: np.ndarray | slice = (
            np.argsort(ids, kind="stable") if len(self.clusters) > 1 else slice(None)
        )
        return self._columns(
            ids[order],
            job_class[order],
            np.array(groups, dtype=object)[order],
            np.fromiter(per_node, np.int64, count=n)[order],
            np.array([r.contract for r in records], dtype=object)[order],
            np.array([r.status for r in records], dtype=object)[order],
            np.stack([submit, first_start, end, run, lost, billed_gpu_s, price])[:, order],
            np.stack([gpus, allocated, preemptions])[:, order],
        )

    def _columns(
        self,
        ids: np.ndarray,
        job_class: np.ndarray,
        group: np.ndarray,
        per_node: np.ndarray,
        contract: np.ndarray,
        status: np.ndarray,
        floats: np.ndarray,
        ints: np.ndarray,
    ) -> JobColumns:
        """The jobs table's columns from per-job arrays, in job_id order.

        ``floats`` holds submit, first start, end, run, lost work, billed GPU-s and price;
        ``ints`` holds GPUs, allocated GPUs and preemptions.
        """
        submit, first_start, end, run, lost, billed_gpu_s, price = floats
        gpus, allocated, preemptions = ints
        names = np.array([c.name for c in self.classes] or [""], dtype=object)
        return JobColumns(
            job_id=ids,
            job_class=names[job_class],
            group=group,
            contract=contract,
            submit_s=submit,
            first_start_s=first_start,
            end_s=end,
            gpus=gpus,
            allocated_gpus=allocated,
            # one node up to a node's GPUs, else a gang job on as many whole nodes as it needs
            nodes=-(-gpus // per_node),
            run_s=run,
            lost_work_s=lost,
            preemptions=preemptions,
            status=status,
            billed_gpu_s=billed_gpu_s,
            price_usd_per_gpu_hour=price,
        )

    def close(self, events: EventLog) -> None:
        """Book what is still running at the horizon, and the contracts' SLA periods."""
        self._close_clusters()
        self.sla = []
        for index, cluster in enumerate(self.clusters):
            mine = [
                c
                for c, where in zip(self.contracts, self.contract_cluster, strict=True)
                if where == index
            ]
            if mine:
                rooms = contract_rooms(mine, cluster.usable_gpus())
                self.sla += sla_periods(rooms, self.sla_period_s, self.horizon_s)
        for period in self.sla:
            if period.penalty_usd > 0:
                events.add(
                    period.end_s,
                    "sla_penalty",
                    period.contract,
                    period.penalty_usd,
                    "usd",
                    f"availability {period.availability:.4%}, "
                    f"{period.shortfall_gpu_h:,.1f} GPU-hours short",
                )
