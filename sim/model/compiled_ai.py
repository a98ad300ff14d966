"""AI hosting with the job loop in machine code (:mod:`sim.model.ai_kernel`), driven from SimPy.

:class:`CompiledHosting` is :class:`~sim.model.hosting.AiHosting` with the same inputs,
outputs and rules, bit for bit; only where the job loop runs differs. Every day's arrivals
are drawn at the start (each class draws from its own streams, so the numbers are those of
the day-by-day draws), then the kernel holds the clock's heap, the jobs and the logs as
arrays. SimPy stays the master clock, as with ``AiClock``: one SimPy event at a time (the
driver) runs every AI event before SimPy's next event in one call, and a site command
(a node cap, a node failure, a clock speed) first catches the AI side up to its instant.
The SimPy events the loop asks for (a driver's wake-up, a cluster's pass at the end of an
instant) are made in the order it asked for them, so SimPy orders them as it would have.

Runs use it unless ``DCSIM_AI_LOOP=python`` is set, which selects the Python loop: the
readable reference, which the tests compare it with.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, cast

import numpy as np
import simpy

from sim.economics.inputs import JobColumns
from sim.errors import SimulationError
from sim.eventlog import EventLog
from sim.model import ai_kernel as ak
from sim.model.ai_clock import EndOfInstant
from sim.model.cluster import (
    ClusterLog,
    ClusterSeries,
    check_speed,
    log_node_cap,
    log_node_failure,
)
from sim.model.demand import Arrivals
from sim.model.hosting import AiHosting
from sim.model.scheduling import kernel as sk
from sim.rng import RandomStreams
from sim.scenario.ai import GpuGroupSpec
from sim.scenario.catalog import GpuNodeSpec
from sim.scenario.schema import Scenario

STATUS = np.array(["queued", "running", "completed", "abandoned"], dtype=object)


class CompiledCluster(ClusterSeries):
    """One GPU group whose jobs run in the kernel; the commands of ``GpuCluster``."""

    def __init__(
        self,
        hosting: CompiledHosting,
        index: int,
        group: GpuGroupSpec,
        node: GpuNodeSpec,
        events: EventLog,
    ) -> None:
        self.name = group.label
        self.spec = group
        self.node = node
        self.env = hosting.env
        self.log = ClusterLog(cap_t=[0.0], cap_nodes=[group.nodes])
        self._series: dict[str, tuple[tuple[int, ...], Any]] = {}
        self._hosting = hosting
        self._c = index
        self._events = events
        self._speed = 1.0
        # this instant's changes that wait for its end, in call order
        self._caps: list[int] = []
        self._failed: list[int] = []

    def set_node_cap(self, nodes: int) -> None:
        """From now on at most ``nodes`` nodes may run (``GpuCluster.set_node_cap``)."""
        hosting = self._hosting
        hosting.catch_up()
        now = hosting.now
        self.log.cap_t.append(now)
        self.log.cap_nodes.append(nodes)
        self._caps.append(nodes)
        hosting.pass_at_end(self._c)

    def fail_node(self, node: int) -> None:
        """Node ``node`` fails now (``GpuCluster.fail_node``)."""
        hosting = self._hosting
        hosting.catch_up()
        self._failed.append(node)
        hosting.pass_at_end(self._c)

    def set_speed(self, factor: float) -> None:
        """From now on running jobs progress at ``factor`` (``GpuCluster.set_speed``).

        Raises
        ------
        SimulationError
            If ``factor`` is not in (0, 1].
        """
        check_speed(self.name, self.env.now, factor)
        if factor == self._speed:
            return
        hosting = self._hosting
        hosting.catch_up()  # jobs due to end now end first
        self._speed = factor
        now = hosting.now
        self.log.speed_t.append(now)
        self.log.speed.append(factor)
        hosting.log_speed(self._c, now, factor)
        hosting.call(ak.set_speed, hosting.scheds, self._c, factor)

    def end_of_instant(self) -> None:
        """Apply the node failures, caps and arrivals of this instant, then run one pass."""
        hosting = self._hosting
        failed = np.array(self._failed, dtype=np.int64)
        caps = np.array(self._caps, dtype=np.int64)
        stopped = np.zeros(len(failed) + len(caps), dtype=np.int64)
        self._failed.clear()
        self._caps.clear()
        hosting.call(ak.command_pass, hosting.scheds, self._c, failed, caps, stopped)
        now = hosting.now
        for node, n in zip(failed.tolist(), stopped[: len(failed)].tolist(), strict=True):
            log_node_failure(self._events, now, self.name, node, n)
        for nodes, n in zip(caps.tolist(), stopped[len(failed) :].tolist(), strict=True):
            log_node_cap(self._events, now, self.name, nodes, n)


class CompiledHosting(AiHosting):
    """Every GPU group of the site and its customers, the job loop compiled."""

    clusters: list[CompiledCluster]

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        streams: RandomStreams,
        events: EventLog,
    ) -> None:
        super().__init__(env, scenario, streams, events)
        self._build()

    def _make_clusters(
        self, groups: list[tuple[GpuGroupSpec, GpuNodeSpec]], depth: int, events: EventLog
    ) -> list[Any]:
        self._depth = depth
        self._driver: simpy.Event | None = None
        return [
            CompiledCluster(self, index, group, node, events)
            for index, (group, node) in enumerate(groups)
        ]

    @property
    def events_processed(self) -> int:
        """AI events processed so far (the manifest adds them to SimPy's)."""
        return int(self.loop.ci[ak.C_PROCESSED])

    @property
    def jobs_submitted(self) -> int:
        """Jobs submitted so far, all GPU groups."""
        return int(self.loop.ci[ak.C_NEXT_ID])

    @property
    def now(self) -> float:
        """The AI side's now: the last event processed, or the command's instant."""
        return float(self.loop.cf[ak.F_NOW])

    # ---- the run ---------------------------------------------------------------------------

    def start(self) -> None:
        """Wait for the first arrival (every day's arrivals were drawn with the hosting)."""
        if self.classes or self._trace is not None:
            self.call(ak.start)

    def _build(self) -> None:
        """Draw every day's arrivals and make the loop's arrays and the schedulers' states."""
        days = self._bins.days_s
        drawing = self.classes or self._trace is not None
        batches = [self._window(day) for day in range(len(days) - 1)] if drawing else []
        drawn = Arrivals.concatenate(batches)
        # day d's arrivals are first[d] to first[d + 1] (a run without any: one empty day)
        first = np.cumsum([0] + [len(b.submit_s) for b in batches] + [0] * (not batches))
        jobs = len(drawn.submit_s)
        clusters = len(self.clusters)
        installed = sum(c.installed_gpus for c in self.clusters)
        same_instant = _most_at_one_time(drawn.submit_s)
        margin = clusters * same_instant + 16  # and the jobs queued and running (ai_kernel)
        cap = 4 * margin + 1024
        terms = self._terms
        # declared contracts, then any other a class names (counted against, never burst)
        names = [c.name for c in self.contracts]
        names += sorted({t[4] for t in terms if t[4] and t[4] not in names})
        contract_ids = {name: i for i, name in enumerate(names)}
        gpus = {c.name: c.gpus for c in self.contracts}
        contracted = np.array([gpus.get(name, -1) for name in names] + [-1], dtype=np.int64)
        self._contract_names = np.array(names + [""], dtype=object)  # -1 (none) reads ""
        ci = np.zeros(ak.N_CI, dtype=np.int64)
        ci[ak.C_MARGIN] = margin
        cf = np.zeros(ak.N_CF)
        cf[ak.F_NOW], cf[ak.F_DRIVER], cf[ak.F_HORIZON] = self.env.now, math.inf, self.horizon_s
        cl = np.zeros((clusters, ak.N_CL), dtype=np.int64)
        cl[:, ak.L_FIRST_ARRIVAL] = cl[:, ak.L_LAST_ARRIVAL] = -1
        cl[:, ak.L_SPEEDS] = 1
        self.loop = ak.Loop(
            ci=ci,
            cf=cf,
            h_t=np.zeros(cap),
            h_seq=np.zeros(cap, dtype=np.int64),
            h_kind=np.zeros(cap, dtype=np.int64),
            h_val=np.zeros(cap, dtype=np.int64),
            deferred=np.zeros(clusters, dtype=np.int64),
            r_kind=np.zeros(cap, dtype=np.int64),
            r_t=np.zeros(cap),
            r_c=np.zeros(cap, dtype=np.int64),
            days_s=np.asarray(days, dtype=float),
            first_arrival=first.astype(np.int64),
            a_t=drawn.submit_s.astype(float),
            a_class=drawn.job_class.astype(np.int64),
            a_gpus=drawn.gpus.astype(np.int64),
            a_work=drawn.duration_s.astype(float),
            a_patience=drawn.patience_s.astype(float),
            t_cluster=np.array([self.clusters.index(t[0]) for t in terms], dtype=np.int64),
            t_price=np.array([t[1] for t in terms], dtype=float),
            t_checkpoint=np.array([np.nan if t[2] is None else t[2] for t in terms], dtype=float),
            t_prio=np.array([t[3] for t in terms], dtype=np.int64),
            t_contract=np.array(
                [contract_ids[t[4]] if t[4] else -1 for t in terms], dtype=np.int64
            ),
            contracted=contracted,
            reserved=np.zeros((clusters, len(names) + 1), dtype=np.int64),
            cl=cl,
            speed=np.ones(clusters),
            speed_t=np.zeros((clusters, 64)),
            speed_v=np.ones((clusters, 64)),
            ji=np.zeros((ak.N_JI, jobs), dtype=np.int64),
            jf=np.zeros((ak.N_JF, jobs)),
            **_log(cap, "b_t", "b_d", "b_c"),
            **_log(cap, "q_t", "q_d", "q_c"),
            **_log(cap, "s_start", "s_end", "s_billed", "s_price", "s_c"),
            **_log(cap, "p_t", "p_lost", "p_c"),
            out=np.zeros(installed + same_instant + 1, dtype=np.int64),
        )
        self.scheds = tuple(
            sk.new_state(c.spec.nodes, c.node.gpus_per_node, self._depth, max(jobs, 1))
            for c in self.clusters
        )

    def call(self, function: Any, *args: Any) -> None:
        """Call a kernel entry point on the loop, then make the SimPy events it asked for.

        An entry point that finds an array too small for what it may add returns ``ROOM``
        before changing anything: the arrays grow and it is called again.
        """
        while function(self.loop, *args) == ak.ROOM:
            self._grow()
        code = int(self.loop.ci[ak.C_ERROR])
        if code:
            raise SimulationError("scheduler", self.now, f"scheduler error {code}")
        self._requests()

    def pass_at_end(self, c: int) -> None:
        """A command changed cluster ``c`` now: its pass at the end of the instant, if not due.

        Outside the loop (as every command is), as ``GpuCluster._pass_at_end``: a SimPy event.
        """
        cl = self.loop.cl
        if not cl[c, ak.L_PASS_DUE]:
            cl[c, ak.L_PASS_DUE] = 1
            EndOfInstant(self.env, partial(self._command, self.clusters[c]))

    def _grow(self) -> None:
        """Double the arrays that the next event or command could overflow."""
        lp = self.loop
        ci = lp.ci
        margin = int(ak.margin(lp, self.scheds))
        grown: dict[str, np.ndarray] = {}
        for used, names, need in (
            (ak.C_HEAP, ("h_t", "h_seq", "h_kind", "h_val"), 2 * margin),
            (ak.C_REQUESTS, ("r_kind", "r_t", "r_c"), 2 * margin),
            (ak.C_BUSY, ("b_t", "b_d", "b_c"), 2 * margin),
            (ak.C_QUEUE, ("q_t", "q_d", "q_c"), 2 * margin),
            (ak.C_SEGS, ("s_start", "s_end", "s_billed", "s_price", "s_c"), margin),
            (ak.C_PREEMPTS, ("p_t", "p_lost", "p_c"), margin),
        ):
            size = len(getattr(lp, names[0]))
            if ci[used] + need > size // 2:  # grown to twice what the next call may need
                for name in names:
                    grown[name] = _grow(getattr(lp, name), 2 * (int(ci[used]) + need))
        self.loop = lp._replace(**grown)

    def log_speed(self, c: int, now: float, factor: float) -> None:
        """Append to cluster ``c``'s speed log in the kernel (which its work sums read)."""
        lp = self.loop
        m = int(lp.cl[c, ak.L_SPEEDS])
        if m == lp.speed_t.shape[1]:
            self.loop = lp = lp._replace(
                speed_t=_grow(lp.speed_t, 2 * m, axis=1), speed_v=_grow(lp.speed_v, 2 * m, axis=1)
            )
        lp.speed_t[c, m], lp.speed_v[c, m] = now, factor
        lp.cl[c, ak.L_SPEEDS] = m + 1

    def catch_up(self) -> None:
        """Bring the AI events up to SimPy's now, from a site command (``AiClock.catch_up``)."""
        lp = self.loop
        now = self.env.now
        if lp.ci[ak.C_HEAP] and lp.h_t[0] < now:
            self.call(ak.run_before, self.scheds, now)
        lp = self.loop
        lp.cf[ak.F_NOW] = now
        if lp.ci[ak.C_HEAP] and lp.h_t[0] <= now:  # events due now: simultaneous with it
            self.call(ak.catch_up_now, self.scheds, now)

    def _drive(self, event: simpy.Event) -> None:
        if event is not self._driver:
            return  # stale: an earlier AI event made a new driver
        self._driver = None
        self.loop.cf[ak.F_DRIVER] = math.inf
        env = self.env
        limit = env.peek()
        if limit > env.now:
            self.call(ak.run_before, self.scheds, limit)
        else:  # other events are due now after this one: ours are simultaneous with them
            self.catch_up()
        lp = self.loop
        if lp.ci[ak.C_HEAP]:
            self._wake(float(lp.h_t[0]))

    def _wake(self, t_s: float) -> None:
        self.loop.cf[ak.F_DRIVER] = t_s
        self._driver = EndOfInstant(self.env, self._drive, max(t_s - self.env.now, 0.0))

    def _command(self, cluster: CompiledCluster, _: simpy.Event) -> None:
        self.catch_up()
        cluster.end_of_instant()

    def _requests(self) -> None:
        """Make the SimPy events the last kernel call asked for, in its order."""
        lp = self.loop
        n = int(lp.ci[ak.C_REQUESTS])
        if not n:
            return
        lp.ci[ak.C_REQUESTS] = 0
        for kind, t_s, c in zip(
            lp.r_kind[:n].tolist(), lp.r_t[:n].tolist(), lp.r_c[:n].tolist(), strict=True
        ):
            if kind == ak.WAKE:
                self._driver = EndOfInstant(self.env, self._drive, max(t_s - self.env.now, 0.0))
            else:
                EndOfInstant(self.env, partial(self._command, self.clusters[c]))

    # ---- after the run ---------------------------------------------------------------------

    def _close_clusters(self) -> None:
        lp = self.loop
        lp.ci[ak.C_HEAP] = 0  # the events after the horizon are dropped
        self._driver = None
        for c in range(len(self.clusters)):
            while ak.close(self.loop, c, self.horizon_s) == ak.ROOM:
                self._grow()
        self._split_logs()

    def _split_logs(self) -> None:
        """Each cluster's log from the kernel's tagged columns."""
        lp = self.loop
        ci = lp.ci
        busy, queue = int(ci[ak.C_BUSY]), int(ci[ak.C_QUEUE])
        segs, preempts = int(ci[ak.C_SEGS]), int(ci[ak.C_PREEMPTS])
        for c, cluster in enumerate(self.clusters):
            log = cluster.log
            b = lp.b_c[:busy] == c
            q = lp.q_c[:queue] == c
            s = lp.s_c[:segs] == c
            p = lp.p_c[:preempts] == c
            log.busy_t = cast(Any, lp.b_t[:busy][b])
            log.busy_delta = cast(Any, lp.b_d[:busy][b])
            log.queue_t = cast(Any, lp.q_t[:queue][q])
            log.queue_delta = cast(Any, lp.q_d[:queue][q])
            log.seg_start = cast(Any, lp.s_start[:segs][s])
            log.seg_end = cast(Any, lp.s_end[:segs][s])
            log.seg_billed_gpu_s = cast(Any, lp.s_billed[:segs][s])
            log.seg_usd_per_gpu_hour = cast(Any, lp.s_price[:segs][s])
            log.preempt_t = cast(Any, lp.p_t[:preempts][p])
            log.preempt_lost_gpu_s = cast(Any, lp.p_lost[:preempts][p])

    def job_columns(self) -> JobColumns:
        """Every job submitted, in job_id order."""
        lp = self.loop
        n = int(lp.ci[ak.C_NEXT_ID])
        ji, jf = lp.ji[:, :n], lp.jf[:, :n]
        clusters = ji[ak.J_CLUSTER]
        return self._columns(
            np.arange(n, dtype=np.int64),
            ji[ak.J_CLASS],
            np.array([c.name for c in self.clusters], dtype=object)[clusters],
            np.array([c.node.gpus_per_node for c in self.clusters], dtype=np.int64)[clusters],
            self._contract_names[ji[ak.J_CONTRACT]],
            STATUS[ji[ak.J_STATUS]],
            jf[[ak.J_SUBMIT, ak.J_FIRST, ak.J_END, ak.J_RUN, ak.J_LOST, ak.J_BILLED, ak.J_PRICE]],
            ji[[ak.J_GPUS, ak.J_ALLOC, ak.J_PREEMPTS]],
        )

    def drop_jobs(self) -> None:
        """Nothing to drop: the jobs are arrays, freed with the loop."""


def _log(size: int, *names: str) -> dict[str, np.ndarray]:
    """A tagged log's columns: float ones, then the cluster's (an integer, the last)."""
    columns = {name: np.zeros(size) for name in names[:-1]}
    columns[names[-1]] = np.zeros(size, dtype=np.int64)
    return columns


def _grow(values: np.ndarray, size: int, axis: int = 0) -> np.ndarray:
    """``values`` in a larger array (the new part zero)."""
    shape = list(values.shape)
    shape[axis] = size
    out = np.zeros(shape, dtype=values.dtype)
    out[tuple(slice(0, n) for n in values.shape)] = values
    return out


def _most_at_one_time(times_s: np.ndarray) -> int:
    """The most arrivals drawn for one instant."""
    if not len(times_s):
        return 0
    _, counts = np.unique(times_s, return_counts=True)
    return int(counts.max())
