"""``CompiledScheduler``: the ``Scheduler`` interface over the compiled rules of ``kernel``.

It takes and returns the same values as :class:`~sim.model.scheduling.scheduler.Scheduler`
(jobs, placements, preemptions, reservations) and raises the same errors, so the tests that
drive one drive the other, and a replay of the same calls on both must give the same answers.
It serves the tests and ``benchmarks/bench_kernel.py``: each call crosses into machine code
once, which costs more than the Python scheduler's work for one job, so runs call the
kernel from the compiled job loop (``sim.model.ai_kernel``) instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from sim.errors import SimulationError
from sim.model.scheduling import kernel as k
from sim.model.scheduling.jobs import Job, Placement, Preempted, Reservation
from sim.model.scheduling.nodes import require


class CompiledScheduler:
    """Priority-FIFO GPU scheduler with EASY backfill, a node cap and a speed, compiled.

    Parameters and rules as :class:`~sim.model.scheduling.scheduler.Scheduler`.
    """

    def __init__(self, node_count: int, gpus_per_node: int, backfill_depth: int = 100) -> None:
        if node_count < 1 or gpus_per_node < 1:
            raise ValueError(
                f"node_count and gpus_per_node must be >= 1 (got {node_count}, {gpus_per_node})"
            )
        if backfill_depth < 0:
            raise ValueError(f"backfill_depth must be >= 0 (got {backfill_depth})")
        self._s = k.new_state(node_count, gpus_per_node, backfill_depth, 64)
        # room for every job that can start in one pass, or stop in one cap change
        self._out = np.zeros(node_count * gpus_per_node + 1, dtype=np.int64)

    # ---- queries -------------------------------------------------------------------------

    @property
    def node_count(self) -> int:
        """Nodes installed."""
        return int(self._s.ints[k.I_NODES])

    @property
    def gpus_per_node(self) -> int:
        """GPUs per node."""
        return int(self._s.ints[k.I_G])

    @property
    def installed_gpus(self) -> int:
        """GPUs installed."""
        return self.node_count * self.gpus_per_node

    @property
    def node_cap(self) -> int:
        """Nodes powered (and allowed to be)."""
        return int(self._s.ints[k.I_CAP])

    @property
    def busy_gpus(self) -> int:
        """GPUs allocated to running jobs."""
        return int(self._s.ints[k.I_BUSY])

    @property
    def busy_nodes(self) -> int:
        """Nodes running at least one job."""
        return self.node_cap - int(self._s.counts[self.gpus_per_node])

    @property
    def speed(self) -> float:
        """Work-seconds per second of the running jobs (1 = full clock)."""
        return float(self._s.floats[k.F_SPEED])

    @property
    def queue_length(self) -> int:
        """Jobs waiting."""
        return int(self._s.ints[k.I_QLEN])

    @property
    def next_end_s(self) -> float | None:
        """Earliest end time among running jobs (s), or None if nothing runs."""
        return float(self._s.e_end[0]) if self._s.ints[k.I_ELEN] else None

    def is_powered(self, node: int) -> bool:
        """True if the node is powered (within the cap)."""
        if not 0 <= node < self.node_count:
            raise IndexError(f"no node {node}")
        return bool(self._s.powered[node])

    def running(self, job_id: int) -> Placement | None:
        """The placement of a running job, or None."""
        s = self._s
        if job_id >= len(s.j_state) or s.j_state[job_id] != k.RUNNING:
            return None
        return self._placement(job_id)

    def placements(self) -> list[Placement]:
        """Placements of all running jobs, in start order."""
        return [self._placement(int(j)) for j in k.running_jobs(self._s)]

    def queued(self) -> list[Job]:
        """Waiting jobs in queue order."""
        return [self._job(int(j)) for j in self._s.q_id[: self.queue_length]]

    def work_left_s(self, job_id: int, now_s: float) -> float:
        """Work a running job still needs at ``now_s`` (s at full speed)."""
        if self.running(job_id) is None:
            raise KeyError(job_id)
        s = self._s
        return float(s.j_left[job_id] - (now_s - s.j_anchor[job_id]) * s.floats[k.F_SPEED])

    def reservation(self) -> Reservation | None:
        """The head's reservation as of the last call, or None if no queued job can fit."""
        head = next((job for job in self.queued() if self._eligible(job)), None)
        if head is None:
            return None
        shadow_s = self._fresh_shadow(head.job_id)
        if math.isnan(shadow_s):
            raise self._error(self._now, f"head job {head.job_id} cannot fit the powered nodes")
        return Reservation(head.job_id, shadow_s)

    # ---- calls ---------------------------------------------------------------------------

    def submit(self, job: Job, now_s: float, defer: bool = False) -> list[Placement]:
        """Queue a new job and start what can start (``Scheduler.submit``)."""
        self._check_time(now_s)
        self._room(job.job_id)
        g = self.gpus_per_node
        if job.gpus > g and -(-job.gpus // g) > self.node_count:
            self._raise_for(k.E_TOO_BIG, now_s, job)
        if self._s.j_state[job.job_id] != k.NONE:
            raise self._error(now_s, f"job {job.job_id} is already queued or running")
        self._write(job)
        return self._placed(k.submit(self._s, job.job_id, now_s, defer, self._out), now_s, job)

    def requeue(self, job: Job, now_s: float) -> list[Placement]:
        """Queue a preempted job again (``Scheduler.requeue``)."""
        return self.submit(job, now_s)

    def finish(self, job_id: int, now_s: float, defer: bool = False) -> list[Placement]:
        """A running job ends: free its GPUs (``Scheduler.finish``)."""
        self._room(job_id)
        n = k.finish(self._s, job_id, now_s, defer, self._out)
        if n == k.E_NOT_HERE:
            raise KeyError(f"job {job_id} is not running")
        return self._placed(n, now_s)

    def withdraw(
        self, job_id: int, now_s: float, defer: bool = False
    ) -> tuple[Job | None, list[Placement]]:
        """A queued job leaves the queue (``Scheduler.withdraw``)."""
        self._room(job_id)
        job = self._job(job_id) if self._s.j_state[job_id] == k.QUEUED else None
        n = k.withdraw(self._s, job_id, now_s, defer, self._out)
        if n == k.E_NOT_HERE:
            return None, []
        return job, self._placed(n, now_s)

    def set_node_cap(
        self,
        cap: int,
        now_s: float,
        requeue: Callable[[Preempted], Job] | None = None,
        defer: bool = False,
    ) -> tuple[list[Preempted], list[Placement]]:
        """Set how many nodes may be powered (``Scheduler.set_node_cap``)."""
        n = k.set_cap(self._s, cap, now_s, self._out)
        if n == k.E_CAP:
            raise self._error(now_s, f"node cap must be in 0..{self.node_count} (got {cap})")
        return self._after_stops(n, now_s, requeue, defer)

    def vacate_node(
        self,
        node: int,
        now_s: float,
        requeue: Callable[[Preempted], Job] | None = None,
        defer: bool = False,
    ) -> tuple[list[Preempted], list[Placement]]:
        """Stop the jobs on ``node`` (``Scheduler.vacate_node``)."""
        n = k.vacate(self._s, node, now_s, self._out)
        if n == k.E_NODE:
            raise self._error(now_s, f"node must be in 0..{self.node_count - 1} (got {node})")
        return self._after_stops(n, now_s, requeue, defer)

    def set_speed(
        self, speed: float, now_s: float, defer: bool = False
    ) -> tuple[list[Placement], list[Placement]]:
        """From now on running jobs progress at ``speed`` (``Scheduler.set_speed``)."""
        code = k.set_speed(self._s, speed, now_s)
        if code == k.E_SPEED:
            raise self._error(now_s, f"speed must be in (0, 1] (got {speed})")
        self._raise_for(code, now_s)
        moved = self.placements()
        return moved, [] if defer else self.schedule(now_s)

    def schedule(self, now_s: float) -> list[Placement]:
        """Run one scheduling pass (``Scheduler.schedule``)."""
        return self._placed(k.schedule(self._s, now_s, self._out), now_s)

    # ---- checks ----------------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Check the whole state from the job rows, in O(nodes + jobs); for tests.

        Raises
        ------
        AssertionError
            As ``Scheduler.check_invariants``: double-booked GPUs, bucket bits or counts that
            disagree with the free GPUs, an unsorted queue or end-time index, a head that fits
            but waits, or a kept reservation that differs from a fresh one.
        """
        s, g, n = self._s, self.gpus_per_node, self.node_count
        used = [0] * n
        for p in self.placements():
            require(list(p.nodes) == sorted(set(p.nodes)), f"job {p.job_id}: bad nodes")
            for node, gpus in zip(p.nodes, p.gpus_per_node_used, strict=True):
                require(bool(s.powered[node]), f"job {p.job_id} runs on unpowered node {node}")
                used[node] += gpus
        for node in range(n):
            free = int(s.free[node])
            require(free + used[node] == g, f"node {node}: free {free} + used {used[node]}")
            bit = np.uint64(node & 63)
            levels = [lv for lv in range(g + 1) if (s.bits[lv, node >> 6] >> bit) & 1]
            require(levels == ([free] if s.powered[node] else []), f"node {node}: in {levels}")
        require(
            [int(c) for c in s.counts]
            == [int(np.sum((s.powered == 1) & (s.free == lv))) for lv in range(g + 1)],
            "bucket counts disagree",
        )
        require(int(s.powered.sum()) == self.node_cap, "powered nodes != cap")
        require(self.busy_gpus == sum(used), "busy GPUs disagree")
        ends = [(float(s.e_end[i]), int(s.e_id[i])) for i in range(int(s.ints[k.I_ELEN]))]
        require(ends == sorted((p.end_s, p.job_id) for p in self.placements()), "end index")
        keys = [job.queue_key for job in self.queued()]
        require(keys == sorted(keys), "queue index disagrees")
        head = next((job for job in self.queued() if self._eligible(job)), None)
        if head is not None:
            require(not self._fits_now(head), "the head fits but waits")
        kept = int(s.ints[k.I_HEAD])
        if kept >= 0 and s.floats[k.F_SHADOW] >= s.floats[k.F_NOW] and self._eligible(
            self._job(kept)
        ):
            fresh = CompiledScheduler.__new__(CompiledScheduler)
            fresh._s = k.State(*(a.copy() for a in s))
            fresh_s = k.shadow_time(fresh._s, kept, float(s.floats[k.F_NOW]))
            require(
                (float(s.floats[k.F_SHADOW]), int(s.ints[k.I_GOOD]))
                == (fresh_s, int(fresh._s.ints[k.I_GOOD]))
                and all(
                    k.kept_shadow(s, m) == k.kept_shadow(fresh._s, m)
                    for m in range(n)
                    if s.powered[m]
                ),
                f"kept reservation of job {kept} is stale",
            )

    # ---- the rows ----------------------------------------------------------------------------

    @property
    def _now(self) -> float:
        return float(self._s.floats[k.F_NOW])

    def _error(self, now_s: float, message: str) -> SimulationError:
        return SimulationError("scheduler", now_s, message)

    def _check_time(self, now_s: float) -> None:
        if not now_s >= self._now:  # also rejects NaN
            raise self._error(now_s, f"time went backwards: {now_s} after {self._now}")

    def _raise_for(self, code: int, now_s: float, job: Job | None = None) -> None:
        """Raise the error a negative kernel result stands for."""
        if code >= 0:
            return
        if code == k.E_BACKWARDS:
            self._check_time(now_s)
        g, n = self.gpus_per_node, self.node_count
        messages = {
            k.E_TOO_BIG: f"job {job.job_id if job else -1} needs {job.gpus if job else 0} GPUs "
            f"but the cluster has {n} nodes x {g} GPUs",
            k.E_FUTURE: f"job {job.job_id if job else -1} submitted at "
            f"{job.submit_s if job else 0.0} s, in the future",
            k.E_HEAD: "the head job cannot fit the powered nodes",
            k.E_SHED: "could not shed enough nodes",
        }
        raise self._error(now_s, messages.get(code, f"scheduler error {code}"))

    def _placed(self, n: int, now_s: float, job: Job | None = None) -> list[Placement]:
        self._raise_for(n, now_s, job)
        return [self._placement(int(j)) for j in self._out[:n]]

    def _after_stops(
        self,
        n: int,
        now_s: float,
        requeue: Callable[[Preempted], Job] | None,
        defer: bool,
    ) -> tuple[list[Preempted], list[Placement]]:
        self._raise_for(n, now_s)
        preempted = [
            Preempted(self._job(int(j)), self._placement(int(j))) for j in self._out[:n]
        ]
        if requeue is not None:
            for stopped in preempted:
                job = requeue(stopped)
                self._write(job)
                self._raise_for(k.requeue(self._s, job.job_id, now_s), now_s, job)
        return preempted, [] if defer else self.schedule(now_s)

    def _room(self, job_id: int) -> None:
        """Grow the per-job arrays (and the queue, which holds at most every job) to hold id."""
        s = self._s
        size = len(s.j_state)
        if job_id < size:
            return
        grown = max(job_id + 1, 2 * size)

        def grow(a: np.ndarray, fill: float = 0) -> np.ndarray:
            out = np.full(grown, fill, dtype=a.dtype)
            out[:size] = a
            return out

        j_fields = {name: getattr(s, name) for name in s._fields if name.startswith("j_")}
        self._s = s._replace(
            q_prio=grow(s.q_prio),
            q_submit=grow(s.q_submit),
            q_id=grow(s.q_id),
            **{name: grow(a, -1 if name == "j_node" else 0) for name, a in j_fields.items()},
        )

    def _write(self, job: Job) -> None:
        s = self._s
        i = job.job_id
        s.j_gpus[i], s.j_work[i], s.j_prio[i], s.j_submit[i] = (
            job.gpus,
            job.duration_s,
            job.priority,
            job.submit_s,
        )

    def _job(self, job_id: int) -> Job:
        s = self._s
        return tuple.__new__(
            Job,
            (
                job_id,
                int(s.j_gpus[job_id]),
                float(s.j_work[job_id]),
                int(s.j_prio[job_id]),
                float(s.j_submit[job_id]),
            ),
        )

    def _placement(self, job_id: int) -> Placement:
        s = self._s
        g = self.gpus_per_node
        gpus = int(s.j_gpus[job_id])
        nodes = [int(s.j_node[job_id])]
        for _ in range(int(s.j_k[job_id]) - 1):
            nodes.append(int(s.gang_next[nodes[-1]]))
        used = (gpus,) if gpus <= g else (g,) * len(nodes)
        return Placement(
            job_id, tuple(nodes), used, float(s.j_start[job_id]), float(s.j_end[job_id])
        )

    def _eligible(self, job: Job) -> bool:
        g = self.gpus_per_node
        return (1 if job.gpus <= g else -(-job.gpus // g)) <= self.node_cap

    def _fits_now(self, job: Job) -> bool:
        s, g = self._s, self.gpus_per_node
        if job.gpus <= g:
            return any(s.counts[lv] for lv in range(job.gpus, g + 1))
        return int(s.counts[g]) >= -(-job.gpus // g)

    def _fresh_shadow(self, head: int) -> float:
        copy = k.State(*(a.copy() for a in self._s))
        return float(k.shadow_time(copy, head, self._now))
