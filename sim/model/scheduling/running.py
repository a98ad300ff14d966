"""The jobs running on a cluster's nodes: starts, ends, the speed, and cuts of the node cap.

``RunningJobs`` extends ``NodePool`` with the running jobs (in start order), their end-time
index, the speed at which they progress, and the scheduler's clock. It starts and releases
jobs on nodes, re-anchors them when the speed changes, and applies a new node cap, preempting
jobs by the rule below when idle nodes are not enough. What runs next is the queue's business
(``sim.model.scheduling.easy``).
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort

from sim.errors import SimulationError
from sim.model.scheduling.jobs import EndEntry, Job, Placement, Preempted, Run
from sim.model.scheduling.nodes import NodePool, require

_tuple_new = tuple.__new__


class RunningJobs(NodePool):
    """Running jobs on a ``NodePool``, at a speed, under a node cap.

    Parameters
    ----------
    node_count : int
        Nodes installed.
    gpus_per_node : int
        GPUs per node.

    Notes
    -----
    **Speed.** Running jobs progress at ``speed`` work-seconds per second (GPU throttling); a
    job started at ``t`` with ``duration_s`` of work ends at ``t + duration_s / speed``. A
    speed change moves the end of every running job.

    **Node cap.** ``node_cap`` is the number of powered nodes; jobs run only on powered nodes.
    Raising the cap powers on the lowest-id unpowered nodes. Lowering it powers off nodes: idle
    nodes first (no preemption); then busy nodes, the most preemptable first, where a job is
    more preemptable the larger its priority number and, within a priority, the later it
    started (in start order), and a node is as preemptable as the least preemptable job on it
    (its jobs all go: jobs cannot migrate). Every job on a shed node is preempted, most
    preemptable first; nodes of a preempted gang job that become idle are powered off first,
    before any further node is shed. Which nodes are powered is thus chosen by the jobs on
    them, not by node id: nodes are identical, and an id-based cut would kill reserved work on
    high ids while on-demand work on low ids runs on.

    **Cost.** The end-time index is a sorted list (a memmove per insert or removal). Cap
    changes cost O(nodes switched log n), plus O(running jobs log) when busy nodes must be
    shed; a speed change costs O(running jobs log).
    """

    def __init__(self, node_count: int, gpus_per_node: int) -> None:
        super().__init__(node_count, gpus_per_node)
        self._running: dict[int, Run] = {}  # in start order
        # (end_s, job_id, nodes, gpus_per_node_used), sorted by (end_s, job_id), which is
        # unique; the placement rides along so the reservation walk needs no lookups
        self._by_end: list[EndEntry] = []
        self._speed = 1.0
        self._now_s = -math.inf

    # ---- queries -----------------------------------------------------------------------

    @property
    def speed(self) -> float:
        """Work-seconds per second of the running jobs (1 = full clock)."""
        return self._speed

    @property
    def next_end_s(self) -> float | None:
        """Earliest end time among running jobs (s), or None if nothing runs."""
        return self._by_end[0][0] if self._by_end else None

    def running(self, job_id: int) -> Placement | None:
        """The placement of a running job, or None."""
        run = self._running.get(job_id)
        return run.placement if run is not None else None

    def work_left_s(self, job_id: int, now_s: float) -> float:
        """Work a running job still needs at ``now_s`` (s at full speed).

        Raises
        ------
        KeyError
            If the job is not running.
        """
        run = self._running[job_id]
        return run.left_s - (now_s - run.anchor_s) * self._speed

    def placements(self) -> list[Placement]:
        """Placements of all running jobs, in start order."""
        return [run.placement for run in self._running.values()]

    # ---- clock -------------------------------------------------------------------------

    @staticmethod
    def _error(now_s: float, message: str) -> SimulationError:
        """The scheduler cannot go on: a call its state rules out (a bug in the caller)."""
        return SimulationError("scheduler", now_s, message)

    def _tick(self, now_s: float) -> None:
        if not now_s >= self._now_s:  # also rejects NaN
            raise self._error(now_s, f"time went backwards: {now_s} after {self._now_s}")
        self._now_s = now_s

    # ---- starts and ends ---------------------------------------------------------------

    def _start(
        self, job: Job, nodes: tuple[int, ...], used: tuple[int, ...], now_s: float
    ) -> Placement:
        """Allocate; the caller has taken the job out of the queue, if it was queued.

        A gang job's nodes must come from ``_claim`` (or ``FreeLevels.take``), which took
        them out of the idle bucket.
        """
        job_id = job.job_id
        if len(nodes) == 1:
            self._move(nodes[0], -used[0])
        else:  # a gang job takes whole idle nodes
            self._switch_whole(nodes, busy=True)
        duration_s = job.duration_s
        end_s = now_s + duration_s / self._speed
        # tuple.__new__ skips the named tuples' Python-level __new__: this is the hot path
        placement = _tuple_new(Placement, (job_id, nodes, used, now_s, end_s))
        self._running[job_id] = _tuple_new(Run, (job, placement, now_s, duration_s))
        insort(self._by_end, (end_s, job_id, nodes, used))
        return placement

    def _release(self, job_id: int) -> Run:
        """Free a running job's GPUs (it must be running)."""
        run = self._running.pop(job_id)
        _, nodes, used, _, end_s = run.placement
        if len(nodes) == 1:
            self._move(nodes[0], used[0])
        else:  # a gang job leaves whole idle nodes
            self._switch_whole(nodes, busy=False)
        by_end = self._by_end
        # (end_s, job_id) sorts just before its own entry and after every earlier one
        del by_end[bisect_left(by_end, (end_s, job_id))]
        return run

    # ---- speed and cap -----------------------------------------------------------------

    def _reanchor(self, speed: float, now_s: float) -> list[Placement]:
        """Set the speed; move every running job's end. Returns the moved placements."""
        old = self._speed
        self._speed = speed
        moved: list[Placement] = []
        by_end: list[EndEntry] = []
        running = self._running
        for job_id, run in running.items():
            # a job due to end now, whose completion is not processed yet, has none left
            left_s = max(run.left_s - (now_s - run.anchor_s) * old, 0.0)
            placement = run.placement._replace(end_s=now_s + left_s / speed)
            running[job_id] = Run(run.job, placement, now_s, left_s)
            by_end.append((placement.end_s, job_id, placement.nodes, placement.gpus_per_node_used))
            moved.append(placement)
        by_end.sort()
        self._by_end = by_end
        return moved

    def _set_cap(self, cap: int, preempted: list[Preempted]) -> None:
        """Power nodes on or off to ``cap`` (valid), appending the jobs preempted."""
        if cap > self._cap:
            self._power_on_lowest(cap - self._cap)
        elif cap < self._cap:
            excess = self._power_off_idle(self._cap - cap)
            if excess:
                self._shed_busy(excess, preempted)
        self._cap = cap

    def _vacate(self, node: int, preempted: list[Preempted]) -> None:
        """Stop every job with GPUs on ``node`` (it failed), appending them, latest first."""
        on_node = [job_id for job_id, run in self._running.items() if node in run.placement.nodes]
        for job_id in reversed(on_node):
            run = self._release(job_id)
            preempted.append(Preempted(run.job, run.placement))

    def _shed_busy(self, excess: int, preempted: list[Preempted]) -> None:
        """Power off ``excess`` busy nodes, preempting all their jobs (rule in class notes)."""
        # larger = preempted first: larger priority number, then later start
        rank = {
            job_id: (run.job.priority, seq)
            for seq, (job_id, run) in enumerate(self._running.items())
        }
        jobs_on: dict[int, set[int]] = {}
        for job_id, run in self._running.items():
            for node in run.placement.nodes:
                jobs_on.setdefault(node, set()).add(job_id)
        ranked = sorted(
            jobs_on,
            key=lambda node: (min(rank[job_id] for job_id in jobs_on[node]), node),
            reverse=True,
        )
        for node in ranked:
            if excess == 0:
                return
            if node not in jobs_on:
                continue  # emptied, and powered off, with a gang job shed before
            for job_id in sorted(jobs_on[node], key=rank.__getitem__, reverse=True):
                run = self._release(job_id)
                preempted.append(Preempted(run.job, run.placement))
                for freed in run.placement.nodes:
                    holders = jobs_on[freed]
                    holders.discard(job_id)
                    if not holders:
                        del jobs_on[freed]
                    if excess and self._free[freed] == self._g:
                        self._power_off(freed)
                        excess -= 1
        if excess:
            raise self._error(self._now_s, f"could not shed enough nodes ({excess} left)")

    # ---- checks ------------------------------------------------------------------------

    def _check_running(self) -> None:
        """Check the running jobs, the end-time index and the node bookkeeping."""
        g, n = self._g, self._node_count
        used = [0] * n
        for job_id, run in self._running.items():
            p = run.placement
            require(p.job_id == job_id == run.job.job_id, f"job {job_id}: id mismatch")
            require(list(p.nodes) == sorted(set(p.nodes)), f"job {job_id}: bad nodes {p.nodes}")
            require(len(p.nodes) == len(p.gpus_per_node_used), f"job {job_id}: shape")
            if run.job.gpus <= g:
                require(p.gpus_per_node_used == (run.job.gpus,), f"job {job_id}: not one node")
            else:
                k = self._nodes_needed(run.job.gpus)
                require(p.gpus_per_node_used == (g,) * k, f"gang job {job_id}: not whole nodes")
            require(p.end_s == run.anchor_s + run.left_s / self._speed, f"job {job_id}: end")
            require(p.start_s <= run.anchor_s, f"job {job_id}: anchored before its start")
            for node, gpus in zip(p.nodes, p.gpus_per_node_used, strict=True):
                require(0 <= node < n, f"job {job_id}: node {node} does not exist")
                require(bool(self._powered[node]), f"job {job_id} runs on unpowered node {node}")
                used[node] += gpus
        self._check_nodes(used)
        require(
            self._by_end
            == sorted(
                (p.end_s, i, p.nodes, p.gpus_per_node_used)
                for i, p in ((i, r.placement) for i, r in self._running.items())
            ),
            "end-time index disagrees",
        )
