"""GPU cluster scheduler core: a priority-FIFO queue with EASY backfill on shared and whole nodes.

A cluster is ``node_count`` identical nodes of ``gpus_per_node`` GPUs, of which ``node_cap``
are powered (the power/cooling policy and outages set the cap). Jobs up to a node's size share
nodes (best fit); larger jobs are gang jobs on whole idle nodes. Reserved work runs before
on-demand work, FIFO within a class. When the head of the queue cannot start it gets a
reservation at its shadow time, and a later job may jump ahead only if it cannot delay that
start (EASY backfill).

The core is pure and deterministic: it never sleeps or schedules. Every call takes the current
time ``now_s`` and returns what happened (placements started, jobs preempted); a SimPy process
wraps it and turns placements into completion events.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, insort
from collections.abc import Callable
from dataclasses import dataclass

QueueKey = tuple[int, float, int]  # (priority, submit_s, job_id): the queue order


@dataclass(frozen=True, slots=True)
class Job:
    """A job as the scheduler sees it; immutable, so a requeue is a ``dataclasses.replace``.

    Attributes
    ----------
    job_id : int
        Unique among the queued and running jobs.
    gpus : int
        GPUs requested (>= 1). Up to ``gpus_per_node`` the job runs on one node, which it may
        share; more makes it a gang job on ``ceil(gpus / gpus_per_node)`` whole idle nodes.
    duration_s : float
        Run time the job still needs (s, >= 0); backfill treats it as exact.
    priority : int
        0 = reserved-contract work, 1 = on-demand; lower runs first.
    submit_s : float
        Submission time (s); the FIFO order within a priority. A requeued job keeps it.
    """

    job_id: int
    gpus: int
    duration_s: float
    priority: int = 1
    submit_s: float = 0.0

    def __post_init__(self) -> None:
        if self.gpus < 1:
            raise ValueError(f"job {self.job_id}: gpus must be >= 1 (got {self.gpus})")
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0.0):
            raise ValueError(
                f"job {self.job_id}: duration_s must be finite and >= 0 (got {self.duration_s})"
            )
        if not math.isfinite(self.submit_s):
            raise ValueError(f"job {self.job_id}: submit_s must be finite (got {self.submit_s})")

    @property
    def queue_key(self) -> QueueKey:
        """Sort key of the queue: reserved work first, then FIFO, then id."""
        return (self.priority, self.submit_s, self.job_id)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where and when a job runs.

    Attributes
    ----------
    job_id : int
        The job.
    nodes : tuple[int, ...]
        Node ids, ascending; one for a shared-node job, several for a gang job.
    gpus_per_node_used : tuple[int, ...]
        GPUs allocated on each node; a gang job holds whole nodes even if it asked for fewer.
    start_s : float
        Start time (s).
    end_s : float
        ``start_s + duration_s``: when the job finishes if nothing interrupts it (s).
    """

    job_id: int
    nodes: tuple[int, ...]
    gpus_per_node_used: tuple[int, ...]
    start_s: float
    end_s: float

    @property
    def gpus(self) -> int:
        """GPUs allocated in total."""
        return sum(self.gpus_per_node_used)


@dataclass(frozen=True, slots=True)
class Preempted:
    """A running job stopped by a node-cap decrease; the caller decides what to requeue.

    Attributes
    ----------
    job : Job
        The job as it was started (``duration_s`` is the run time it needed then).
    placement : Placement
        The run that was cut short (``start_s`` gives the time already run).
    """

    job: Job
    placement: Placement


@dataclass(frozen=True, slots=True)
class Reservation:
    """The head of the queue's reserved start.

    Attributes
    ----------
    job_id : int
        The head: the first queued job that fits the powered nodes once they are empty.
    shadow_s : float
        Earliest time at which it fits, given the running jobs' end times (s).
    """

    job_id: int
    shadow_s: float


@dataclass(slots=True)
class _Run:
    """A running job: what it is, where it runs, and its start order (for preemption)."""

    job: Job
    placement: Placement
    seq: int


class _FreeLevels:
    """Powered nodes bucketed by free GPUs (0..gpus_per_node).

    Each bucket is a set (membership and size in O(1)) plus a min-heap of node ids with lazy
    deletion, so the lowest-id node of a bucket costs O(log n) amortised, never a scan.
    """

    def __init__(self, gpus_per_node: int) -> None:
        self.members: list[set[int]] = [set() for _ in range(gpus_per_node + 1)]
        self._heaps: list[list[int]] = [[] for _ in range(gpus_per_node + 1)]

    def fill(self, level: int, nodes: range) -> None:
        """Put ``nodes`` (ascending) into an empty bucket."""
        self.members[level] = set(nodes)
        self._heaps[level] = list(nodes)  # ascending, hence a heap

    def count(self, level: int) -> int:
        """Number of powered nodes with ``level`` free GPUs."""
        return len(self.members[level])

    def add(self, node: int, level: int) -> None:
        """Put a node into a bucket."""
        members, heap = self.members[level], self._heaps[level]
        members.add(node)
        heapq.heappush(heap, node)
        if len(heap) > 2 * len(members) + 32:
            heap[:] = sorted(members)  # drop stale entries; a sorted list is a heap

    def remove(self, node: int, level: int) -> None:
        """Take a node out of a bucket (its heap entry goes stale)."""
        self.members[level].remove(node)

    def move(self, node: int, old: int, new: int) -> None:
        """Move a node between buckets (``remove`` then ``add``, inlined: it is the hot path)."""
        members = self.members
        members[old].remove(node)
        new_members, heap = members[new], self._heaps[new]
        new_members.add(node)
        heapq.heappush(heap, node)
        if len(heap) > 2 * len(new_members) + 32:
            heap[:] = sorted(new_members)  # drop stale entries; a sorted list is a heap

    def lowest(
        self, level: int, count: int = 1, reject: Callable[[int], bool] | None = None
    ) -> list[int]:
        """Up to ``count`` lowest-id nodes of a bucket, ascending, skipping rejected ones.

        The nodes stay in the bucket. Cost is O((count + rejected + stale) log n).
        """
        heap, members = self._heaps[level], self.members[level]
        if count == 1 and reject is None:
            while heap:
                if heap[0] in members:
                    return [heap[0]]
                heapq.heappop(heap)
            return []
        found: list[int] = []
        held: list[int] = []
        seen: set[int] = set()
        while heap and len(found) < count:
            node = heapq.heappop(heap)
            if node not in members or node in seen:
                continue  # stale or duplicate entry: drop it
            seen.add(node)
            (held if reject is not None and reject(node) else found).append(node)
        for node in found + held:
            heapq.heappush(heap, node)
        return found

    def heap_nodes(self, level: int) -> set[int]:
        """Node ids in a bucket's heap, stale ones included (for invariant checks)."""
        return set(self._heaps[level])


class _Shadow:
    """The head's reservation during one scheduling pass.

    A node is *good* if the head could use it at the shadow time: its projected free GPUs at
    that time are at least ``need`` (the head's GPUs for a shared-node head, a whole node for
    a gang head). The head keeps its start as long as ``good >= required`` (1 node, or the
    gang's node count). ``projected`` holds the nodes whose projection differs from, or may
    later differ from, their free GPUs now; any other node's projection is its free GPUs now.
    """

    __slots__ = ("job_id", "shadow_s", "need", "required", "good", "projected", "_free")

    def __init__(
        self,
        job_id: int,
        shadow_s: float,
        need: int,
        required: int,
        good: int,
        projected: dict[int, int],
        free: list[int],
    ) -> None:
        self.job_id = job_id
        self.shadow_s = shadow_s
        self.need = need
        self.required = required
        self.good = good
        self.projected = projected
        self._free = free

    @property
    def tight(self) -> bool:
        """True if losing one good node would delay the head."""
        return self.good <= self.required

    def breaks(self, node: int, gpus: int) -> bool:
        """True if ``gpus`` held on ``node`` past the shadow time would make it not good."""
        projected = self.projected.get(node, self._free[node])
        return projected >= self.need > projected - gpus

    def commit(self, nodes: tuple[int, ...], used: tuple[int, ...], past_shadow: bool) -> None:
        """Account for a job about to start (call before the free GPUs change)."""
        for node, gpus in zip(nodes, used, strict=True):
            projected = self.projected.get(node, self._free[node])
            if past_shadow:
                if projected >= self.need > projected - gpus:
                    self.good -= 1
                projected -= gpus
            self.projected[node] = projected  # pin it: the free GPUs now are about to change


class Scheduler:
    """Priority-FIFO GPU scheduler with EASY backfill and a node cap.

    Parameters
    ----------
    node_count : int
        Nodes installed.
    gpus_per_node : int
        GPUs per node.
    backfill_depth : int
        How many queued jobs behind the head a pass examines for backfill (0 = strict
        priority-FIFO). Bounds the cost of a pass on long queues.

    Notes
    -----
    **Placement.** A job with ``gpus <= gpus_per_node`` takes GPUs on one powered node, by best
    fit: the node with the fewest free GPUs that still fits, lowest id among equals, so large
    holes stay open. A gang job (``gpus > gpus_per_node``) takes ``ceil(gpus /
    gpus_per_node)`` whole idle powered nodes (the lowest ids) and all their GPUs.

    **Queue.** Ordered by ``(priority, submit_s, job_id)``. A queued job that cannot fit the
    powered nodes even when they are all empty (a gang larger than the cap) is passed over
    until the cap rises; it keeps its place. The *head* is the first job that can fit.

    **Pass.** After every call: while the head fits now it starts. When it does not, its
    reservation is computed: running jobs are released in end-time order (``start_s +
    duration_s``, ties released together) until the head fits; that end time (or ``now_s``, if
    later) is the shadow time. Then the ``backfill_depth`` queue positions after the head are
    examined in order; each job that fits now starts if it ends by the shadow time, or else if
    it is placed so
    that the head still fits at the shadow time, counting the jobs started before it in the
    pass ("extra" resources: for a gang head, whole nodes idle at the shadow time beyond the
    ones it needs; for a shared-node head, GPUs left over on the nodes where it would fit). A
    long job is steered away from nodes it would spoil, if any other node fits. Only the head
    holds a reservation. With exact durations, no cap decrease and no arrival ahead of it, the
    head starts no later than its shadow time.

    **Node cap.** ``node_cap`` is the number of powered nodes; jobs run only on powered nodes.
    Raising the cap powers on the lowest-id unpowered nodes. Lowering it powers off nodes: idle
    nodes first (no preemption); then busy nodes, the most preemptable first, where a job is
    more preemptable the larger its priority number and, within a priority, the later it
    started (in start order), and a node is as preemptable as the least preemptable job on it
    (its jobs all go: jobs cannot migrate). Every job on a shed node is preempted, most
    preemptable first;
    nodes of a preempted gang job that become idle are powered off first, before any further
    node is shed. Which nodes are powered is thus chosen by the jobs on them, not by node id:
    nodes are identical, and an id-based cut would kill reserved work on high ids while
    on-demand work on low ids runs on.

    **Cost.** Nothing scans the idle nodes. Finding a best-fit node or k idle nodes costs
    O(gpus_per_node + k log n). A pass walks the queue up to the head (past any jobs too big
    for the cap), then at most ``backfill_depth`` positions, O(1) for a job that cannot fit
    and O(gpus_per_node) otherwise; the reservation, computed only if some job fits, costs
    O(running jobs that end before the head fits). Queue and end-time indexes are sorted
    lists (a memmove per insert or removal). Cap changes cost O(nodes switched log n), plus
    O(running jobs log) when busy nodes must be shed.
    """

    def __init__(self, node_count: int, gpus_per_node: int, backfill_depth: int = 100) -> None:
        if node_count < 1 or gpus_per_node < 1:
            raise ValueError(
                f"node_count and gpus_per_node must be >= 1 (got {node_count}, {gpus_per_node})"
            )
        if backfill_depth < 0:
            raise ValueError(f"backfill_depth must be >= 0 (got {backfill_depth})")
        self._node_count = node_count
        self._g = gpus_per_node
        self._depth = backfill_depth
        self._free = [gpus_per_node] * node_count
        self._powered = bytearray(b"\x01") * node_count
        self._cap = node_count
        self._levels = _FreeLevels(gpus_per_node)
        self._levels.fill(gpus_per_node, range(node_count))
        self._unpowered: list[int] = []  # min-heap, exactly the unpowered nodes
        self._jobs_on: dict[int, set[int]] = {}  # busy node -> ids of its jobs
        self._running: dict[int, _Run] = {}
        # (end_s, job_id, nodes, gpus_per_node_used), sorted by (end_s, job_id), which is
        # unique; the placement rides along so the reservation walk needs no lookups
        self._by_end: list[tuple[float, int, tuple[int, ...], tuple[int, ...]]] = []
        self._queue: list[QueueKey] = []  # sorted
        self._queued: dict[int, Job] = {}
        self._busy_gpus = 0
        self._seq = 0
        self._now_s = -math.inf

    # ---- calls -------------------------------------------------------------------------

    def submit(self, job: Job, now_s: float) -> list[Placement]:
        """Queue a new job and start what can start.

        Parameters
        ----------
        job : Job
            The job; ``job.submit_s <= now_s``.
        now_s : float
            Current time (s); never earlier than the previous call's.

        Returns
        -------
        list[Placement]
            Jobs started by this call, in start order (the new job among them if it fits).

        Raises
        ------
        ValueError
            If the job needs more nodes than are installed, its id is already queued or
            running, it was submitted in the future, or time went backwards.
        """
        self._tick(now_s)
        self._enqueue(job, now_s)
        return self._schedule(now_s)

    def requeue(self, job: Job, now_s: float) -> list[Placement]:
        """Queue a preempted job again; it keeps its ``submit_s``, hence its FIFO place.

        The caller sets ``duration_s`` to the run time still needed (work since the last
        checkpoint is lost). Same contract as :meth:`submit`.
        """
        self._tick(now_s)
        self._enqueue(job, now_s)
        return self._schedule(now_s)

    def finish(self, job_id: int, now_s: float) -> list[Placement]:
        """A running job ends (normally at its ``end_s``; earlier is allowed): free its GPUs.

        Returns
        -------
        list[Placement]
            Jobs started by this call.

        Raises
        ------
        KeyError
            If the job is not running.
        """
        self._tick(now_s)
        run = self._running.get(job_id)
        if run is None:
            raise KeyError(f"job {job_id} is not running")
        self._release(run)
        return self._schedule(now_s)

    def withdraw(self, job_id: int, now_s: float) -> tuple[Job | None, list[Placement]]:
        """A queued job leaves the queue (its customer gave up waiting).

        Returns
        -------
        tuple[Job | None, list[Placement]]
            The job (None if it was not queued, e.g. already running) and the jobs started
            because it left (the head's leaving can let the next job start).
        """
        self._tick(now_s)
        job = self._queued.pop(job_id, None)
        if job is None:
            return None, []
        del self._queue[bisect_left(self._queue, job.queue_key)]
        return job, self._schedule(now_s)

    def set_node_cap(
        self,
        cap: int,
        now_s: float,
        requeue: Callable[[Preempted], Job] | None = None,
    ) -> tuple[list[Preempted], list[Placement]]:
        """Set how many nodes may be powered; shed or add nodes (rule in the class notes).

        Parameters
        ----------
        cap : int
            Powered nodes allowed, 0..node_count.
        now_s : float
            Current time (s).
        requeue : callable, optional
            Given a preempted job, returns it as it should queue again (with the run time
            still needed). The preempted jobs are queued before the pass that starts jobs,
            so they keep their FIFO place against jobs already waiting. Without it, the
            caller requeues them itself, after the jobs this call starts.

        Returns
        -------
        tuple[list[Preempted], list[Placement]]
            Jobs preempted, in preemption order, with the runs they lost, and jobs started
            afterwards.
        """
        self._tick(now_s)
        if not 0 <= cap <= self._node_count:
            raise ValueError(f"node cap must be in 0..{self._node_count} (got {cap})")
        preempted: list[Preempted] = []
        if cap > self._cap:
            for _ in range(cap - self._cap):
                self._power_on(heapq.heappop(self._unpowered))
        elif cap < self._cap:
            excess = self._cap - cap
            for node in self._levels.lowest(self._g, min(excess, self._levels.count(self._g))):
                self._power_off(node)
                excess -= 1
            if excess:
                self._shed_busy(excess, preempted)
        self._cap = cap
        if requeue is not None:
            for stopped in preempted:
                self._enqueue(requeue(stopped), now_s)
        return preempted, self._schedule(now_s)

    # ---- queries -----------------------------------------------------------------------

    @property
    def node_count(self) -> int:
        """Nodes installed."""
        return self._node_count

    @property
    def gpus_per_node(self) -> int:
        """GPUs per node."""
        return self._g

    @property
    def installed_gpus(self) -> int:
        """GPUs installed."""
        return self._node_count * self._g

    @property
    def node_cap(self) -> int:
        """Nodes powered (and allowed to be)."""
        return self._cap

    @property
    def busy_gpus(self) -> int:
        """GPUs allocated to running jobs (a gang job holds all GPUs of its nodes)."""
        return self._busy_gpus

    @property
    def busy_nodes(self) -> int:
        """Nodes running at least one job."""
        return len(self._jobs_on)

    @property
    def queue_length(self) -> int:
        """Jobs waiting."""
        return len(self._queue)

    @property
    def next_end_s(self) -> float | None:
        """Earliest end time among running jobs (s), or None if nothing runs."""
        return self._by_end[0][0] if self._by_end else None

    def running(self, job_id: int) -> Placement | None:
        """The placement of a running job, or None."""
        run = self._running.get(job_id)
        return run.placement if run is not None else None

    def placements(self) -> list[Placement]:
        """Placements of all running jobs, in start order."""
        return [run.placement for run in self._running.values()]

    def queued(self) -> list[Job]:
        """Waiting jobs in queue order."""
        return [self._queued[key[2]] for key in self._queue]

    def is_powered(self, node: int) -> bool:
        """True if the node is powered (within the cap)."""
        if not 0 <= node < self._node_count:
            raise IndexError(f"no node {node}")
        return bool(self._powered[node])

    def reservation(self) -> Reservation | None:
        """The head's reservation as of the last call, or None if no queued job can fit."""
        head = next((job for job in self.queued() if self._eligible(job)), None)
        if head is None:
            return None
        shadow = self._shadow(head, self._now_s)
        return Reservation(head.job_id, shadow.shadow_s)

    # ---- internals ---------------------------------------------------------------------

    def _tick(self, now_s: float) -> None:
        if not now_s >= self._now_s:  # also rejects NaN
            raise ValueError(f"time went backwards: {now_s} after {self._now_s}")
        self._now_s = now_s

    def _nodes_needed(self, gpus: int) -> int:
        return 1 if gpus <= self._g else -(-gpus // self._g)

    def _eligible(self, job: Job) -> bool:
        """True if the job fits the powered nodes once they are empty."""
        return self._nodes_needed(job.gpus) <= self._cap

    def _enqueue(self, job: Job, now_s: float) -> None:
        if self._nodes_needed(job.gpus) > self._node_count:
            raise ValueError(
                f"job {job.job_id} needs {job.gpus} GPUs but the cluster has "
                f"{self._node_count} nodes x {self._g} GPUs"
            )
        if job.job_id in self._queued or job.job_id in self._running:
            raise ValueError(f"job {job.job_id} is already queued or running")
        if job.submit_s > now_s:
            raise ValueError(f"job {job.job_id} submitted at {job.submit_s} s, now is {now_s} s")
        insort(self._queue, job.queue_key)
        self._queued[job.job_id] = job

    def _best_fit(self, gpus: int, shadow: _Shadow | None = None) -> int | None:
        """The fullest powered node with ``gpus`` free; with ``shadow``, one it cannot spoil."""
        levels = self._levels
        members = levels.members
        for level in range(gpus, self._g + 1):
            if not members[level]:
                continue
            if shadow is None:
                return levels.lowest(level)[0]
            if level == self._g:
                # Idle nodes are all spoilt, so skip them without a scan: for a gang head
                # every idle node is good and any job makes it not whole; a blocked
                # shared-node head means no node is idle.
                continue
            found = levels.lowest(level, 1, lambda node: shadow.breaks(node, gpus))
            if found:
                return found[0]
        return None

    def _fit_now(self, job: Job) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """Nodes and GPUs per node the job would get now, or None."""
        if job.gpus <= self._g:
            node = self._best_fit(job.gpus)
            return None if node is None else ((node,), (job.gpus,))
        k = self._nodes_needed(job.gpus)
        if self._levels.count(self._g) < k:
            return None
        return tuple(self._levels.lowest(self._g, k)), (self._g,) * k

    def _schedule(self, now_s: float) -> list[Placement]:
        """One pass: start heads while they fit, then backfill behind the blocked head."""
        started: list[Placement] = []
        queue, queued = self._queue, self._queued
        i = 0
        while i < len(queue):
            job = queued[queue[i][2]]
            if not self._eligible(job):
                i += 1
                continue
            fit = self._fit_now(job)
            if fit is None:
                break
            del queue[i]
            started.append(self._start(job, fit[0], fit[1], now_s))
        else:
            return started  # no blocked head
        if self._depth:
            head = self._queued[queue[i][2]]
            self._backfill(head, queue[i + 1 : i + 1 + self._depth], now_s, started)
        return started

    def _max_free(self) -> int:
        members = self._levels.members
        for level in range(self._g, 0, -1):
            if members[level]:
                return level
        return 0

    def _backfill(
        self, head: Job, window: list[QueueKey], now_s: float, started: list[Placement]
    ) -> None:
        g = self._g
        levels = self._levels
        idle = levels.members[g]
        queued = self._queued
        shadow: _Shadow | None = None  # computed only once some candidate fits
        max_free = self._max_free()
        # The pass only ever takes resources, so a long shared-node job refused for lack of a
        # harmless node means every later long one at least as large is refused too.
        refused_long_gpus = g + 1
        for key in window:
            if max_free == 0:
                return  # nothing free: no candidate can fit
            job = queued[key[2]]
            gpus = job.gpus
            if gpus <= g:
                if gpus > max_free:
                    continue
                k = 1
            else:
                k = -(-gpus // g)
                if len(idle) < k:
                    continue
            if shadow is None:
                shadow = self._shadow(head, now_s)
            past_shadow = now_s + job.duration_s > shadow.shadow_s
            nodes: tuple[int, ...]
            used: tuple[int, ...]
            if gpus <= g:
                if past_shadow and gpus >= refused_long_gpus:
                    continue
                node = self._best_fit(gpus, shadow if past_shadow and shadow.tight else None)
                if node is None:
                    refused_long_gpus = gpus  # fitting now, so refused only by the shadow
                    continue
                nodes, used = (node,), (gpus,)
            else:
                # all idle nodes are good (nothing runs on them), so only the count matters
                if past_shadow and shadow.good - k < shadow.required:
                    continue
                nodes, used = tuple(levels.lowest(g, k)), (g,) * k
            shadow.commit(nodes, used, past_shadow)
            del self._queue[bisect_left(self._queue, key)]
            started.append(self._start(job, nodes, used, now_s))
            max_free = self._max_free()

    def _shadow(self, head: Job, now_s: float) -> _Shadow:
        """The head's reservation: release running jobs by end time until it fits."""
        g = self._g
        shared = head.gpus <= g
        need = head.gpus if shared else g
        required = 1 if shared else self._nodes_needed(head.gpus)
        # nodes good now (idle nodes, for a gang head); the releases add the rest
        members = self._levels.members
        good = sum(len(members[level]) for level in range(need, g + 1))
        projected: dict[int, int] = {}
        free = self._free
        shadow_s: float | None = now_s if good >= required else None
        for end_s, _, nodes, used in self._by_end:
            if shadow_s is not None and end_s > shadow_s:
                break
            for node, gpus in zip(nodes, used, strict=True):
                before = projected.get(node, free[node])
                projected[node] = before + gpus
                if before < need <= before + gpus:
                    good += 1
            if shadow_s is None and good >= required:
                shadow_s = max(end_s, now_s)
        if shadow_s is None:
            raise AssertionError(f"head job {head.job_id} cannot fit the powered nodes")
        return _Shadow(head.job_id, shadow_s, need, required, good, projected, free)

    def _start(
        self, job: Job, nodes: tuple[int, ...], used: tuple[int, ...], now_s: float
    ) -> Placement:
        """Allocate; the caller has taken the job out of the queue list."""
        job_id = job.job_id
        del self._queued[job_id]
        free_now, move, jobs_on = self._free, self._levels.move, self._jobs_on
        for node, gpus in zip(nodes, used, strict=True):
            free = free_now[node]
            move(node, free, free - gpus)
            free_now[node] = free - gpus
            holders = jobs_on.get(node)
            if holders is None:
                jobs_on[node] = {job_id}
            else:
                holders.add(job_id)
        placement = Placement(job_id, nodes, used, now_s, now_s + job.duration_s)
        self._seq += 1
        self._running[job_id] = _Run(job, placement, self._seq)
        insort(self._by_end, (placement.end_s, job_id, nodes, used))
        self._busy_gpus += sum(used)
        return placement

    def _release(self, run: _Run) -> None:
        placement = run.placement
        job_id, used = placement.job_id, placement.gpus_per_node_used
        free_now, move, jobs_on = self._free, self._levels.move, self._jobs_on
        for node, gpus in zip(placement.nodes, used, strict=True):
            free = free_now[node]
            move(node, free, free + gpus)
            free_now[node] = free + gpus
            jobs = jobs_on[node]
            jobs.remove(job_id)
            if not jobs:
                del jobs_on[node]
        del self._running[job_id]
        by_end = self._by_end
        # (end_s, job_id) sorts just before its own entry and after every earlier one
        del by_end[bisect_left(by_end, (placement.end_s, job_id))]
        self._busy_gpus -= sum(used)

    def _preempt_rank(self, job_id: int) -> tuple[int, int]:
        """Larger = preempted first: larger priority number, then later start."""
        run = self._running[job_id]
        return (run.job.priority, run.seq)

    def _shed_busy(self, excess: int, preempted: list[Preempted]) -> None:
        """Power off ``excess`` busy nodes, preempting all their jobs (rule in class notes)."""
        ranked = sorted(
            self._jobs_on,
            key=lambda node: (min(map(self._preempt_rank, self._jobs_on[node])), node),
            reverse=True,
        )
        for node in ranked:
            if excess == 0:
                return
            if node not in self._jobs_on:
                continue  # emptied, and powered off, with a gang job shed before
            for job_id in sorted(self._jobs_on[node], key=self._preempt_rank, reverse=True):
                run = self._running[job_id]
                self._release(run)
                preempted.append(Preempted(run.job, run.placement))
                for freed in run.placement.nodes:
                    if excess and self._free[freed] == self._g:
                        self._power_off(freed)
                        excess -= 1
        if excess:
            raise AssertionError("could not shed enough nodes")

    def _power_off(self, node: int) -> None:
        self._levels.remove(node, self._g)
        self._powered[node] = 0
        heapq.heappush(self._unpowered, node)

    def _power_on(self, node: int) -> None:
        self._powered[node] = 1
        self._levels.add(node, self._g)

    # ---- checks ------------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Check the whole state, in O(nodes + jobs); for tests.

        Raises
        ------
        AssertionError
            If any GPU is double-booked, a node's free and used GPUs do not add up to
            ``gpus_per_node``, a job runs on an unpowered node, more nodes are busy or powered
            than the cap, the bookkeeping indexes disagree, or a head that fits is waiting.
        """

        def require(ok: bool, message: str) -> None:
            if not ok:
                raise AssertionError(message)

        g, n = self._g, self._node_count
        used = [0] * n
        holders: dict[int, set[int]] = {}
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
            require(p.end_s == p.start_s + run.job.duration_s, f"job {job_id}: end time")
            for node, gpus in zip(p.nodes, p.gpus_per_node_used, strict=True):
                require(0 <= node < n, f"job {job_id}: node {node} does not exist")
                require(bool(self._powered[node]), f"job {job_id} runs on unpowered node {node}")
                used[node] += gpus
                holders.setdefault(node, set()).add(job_id)
            require(job_id not in self._queued, f"job {job_id} both queued and running")
        for node in range(n):
            free = self._free[node]
            require(used[node] <= g, f"node {node}: {used[node]} GPUs booked of {g}")
            require(free + used[node] == g, f"node {node}: free {free} + used {used[node]} != {g}")
            require(
                self._jobs_on.get(node, set()) == holders.get(node, set()),
                f"node {node}: job index disagrees",
            )
            in_levels = [lv for lv in range(g + 1) if node in self._levels.members[lv]]
            if self._powered[node]:
                require(in_levels == [free], f"node {node}: in buckets {in_levels}, free {free}")
                require(node in self._levels.heap_nodes(free), f"node {node}: not in heap")
            else:
                require(not in_levels and free == g, f"unpowered node {node} is in use")
        require(sum(self._powered) == self._cap, "powered nodes != cap")
        require(
            sorted(self._unpowered) == [i for i in range(n) if not self._powered[i]],
            "unpowered heap disagrees",
        )
        require(len(self._jobs_on) <= self._cap, "more busy nodes than the cap")
        total = sum(used)
        require(self._busy_gpus == total, f"busy_gpus {self._busy_gpus} != {total}")
        require(total <= min(self.installed_gpus, self._cap * g), "more GPUs busy than allowed")
        require(
            self._by_end
            == sorted(
                (p.end_s, i, p.nodes, p.gpus_per_node_used)
                for i, p in ((i, r.placement) for i, r in self._running.items())
            ),
            "end-time index disagrees",
        )
        require(
            self._queue == sorted(job.queue_key for job in self._queued.values()),
            "queue index disagrees",
        )
        head = next((job for job in self.queued() if self._eligible(job)), None)
        require(head is None or self._fit_now(head) is None, "the head fits but waits")
