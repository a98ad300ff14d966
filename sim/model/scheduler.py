"""GPU cluster scheduler core: a priority-FIFO queue with EASY backfill on shared and whole nodes.

A cluster is ``node_count`` identical nodes of ``gpus_per_node`` GPUs, of which ``node_cap``
are powered (the power/cooling policy and outages set the cap). Jobs up to a node's size share
nodes (best fit); larger jobs are gang jobs on whole idle nodes. Reserved work runs before
on-demand work, FIFO within a class. When the head of the queue cannot start it gets a
reservation at its shadow time, and a later job may jump ahead only if it cannot delay that
start (EASY backfill). Running jobs progress at the cluster's speed (1 = full clock; less when
the GPUs are throttled), so a job's wall run time is its remaining work divided by the speed.

The core is pure and deterministic: it never sleeps or schedules. Every call takes the current
time ``now_s`` and returns what happened (placements started, jobs preempted); a SimPy process
wraps it and turns placements into completion events. A call applies its change and then runs
one scheduling pass, or with ``defer=True`` only applies it: the caller then runs
:meth:`Scheduler.schedule` once every change of the instant is in, so that simultaneous events
give one schedule whatever order they arrive in (see ``GpuCluster``).
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, insort
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from sim.errors import SimulationError

QueueKey = tuple[int, float, int]  # (priority, submit_s, job_id): the queue order

_heappop, _heappush = heapq.heappop, heapq.heappush
_tuple_new = tuple.__new__


class _JobFields(NamedTuple):
    job_id: int
    gpus: int
    duration_s: float
    priority: int = 1
    submit_s: float = 0.0


class Job(_JobFields):
    """A job as the scheduler sees it; an immutable named tuple, checked when it is made.

    A requeue with less work left is ``job._replace(duration_s=...)``.

    Attributes
    ----------
    job_id : int
        Unique among the queued and running jobs.
    gpus : int
        GPUs requested (>= 1). Up to ``gpus_per_node`` the job runs on one node, which it may
        share; more makes it a gang job on ``ceil(gpus / gpus_per_node)`` whole idle nodes.
    duration_s : float
        Work the job still needs (s at full speed, >= 0); backfill treats it as exact. Its wall
        run time is ``duration_s / speed``.
    priority : int
        0 = reserved-contract work, 1 = on-demand; lower runs first.
    submit_s : float
        Submission time (s); the FIFO order within a priority. A requeued job keeps it.
    """

    __slots__ = ()

    def __new__(
        cls,
        job_id: int,
        gpus: int,
        duration_s: float,
        priority: int = 1,
        submit_s: float = 0.0,
    ) -> Job:
        """Make a job; raise ValueError if its GPUs, work or submit time are invalid."""
        if gpus < 1:
            raise ValueError(f"job {job_id}: gpus must be >= 1 (got {gpus})")
        if not 0.0 <= duration_s < math.inf:  # also rejects NaN
            raise ValueError(f"job {job_id}: duration_s must be finite and >= 0 (got {duration_s})")
        if not -math.inf < submit_s < math.inf:
            raise ValueError(f"job {job_id}: submit_s must be finite (got {submit_s})")
        return tuple.__new__(cls, (job_id, gpus, duration_s, priority, submit_s))

    @property
    def queue_key(self) -> QueueKey:
        """Sort key of the queue: reserved work first, then FIFO, then id."""
        return (self.priority, self.submit_s, self.job_id)


class Placement(NamedTuple):
    """Where and when a job runs (an immutable named tuple).

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
        When the job finishes if nothing interrupts it and the speed stays as it is (s):
        ``start_s + duration_s / speed`` at the start, moved by every speed change.
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
        The job as it was started (``duration_s`` is the work it needed then).
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


class _Run(NamedTuple):
    """A running job.

    Its work left at ``anchor_s`` (its start, or the last speed change) is ``left_s``, so it
    ends at ``anchor_s + left_s / speed``.
    """

    job: Job
    placement: Placement
    anchor_s: float
    left_s: float


class _FreeLevels:
    """Powered nodes bucketed by free GPUs (0..gpus_per_node).

    Each bucket is a set (membership and size in O(1)) plus a min-heap of node ids with lazy
    deletion, so the lowest-id node of a bucket costs O(log n) amortised, never a scan. Bucket
    0 (full nodes) keeps no heap: nothing asks for its lowest id. The scheduler's hot path
    moves nodes between buckets itself (``Scheduler._move``).
    """

    def __init__(self, gpus_per_node: int) -> None:
        self.members: list[set[int]] = [set() for _ in range(gpus_per_node + 1)]
        self.heaps: list[list[int]] = [[] for _ in range(gpus_per_node + 1)]

    def fill(self, level: int, nodes: range) -> None:
        """Put ``nodes`` (ascending) into an empty bucket."""
        self.members[level] = set(nodes)
        self.heaps[level] = list(nodes)  # ascending, hence a heap

    def count(self, level: int) -> int:
        """Number of powered nodes with ``level`` free GPUs."""
        return len(self.members[level])

    def add(self, node: int, level: int) -> None:
        """Put a node into a bucket."""
        members, heap = self.members[level], self.heaps[level]
        members.add(node)
        _heappush(heap, node)
        if len(heap) > 2 * len(members) + 32:
            heap[:] = sorted(members)  # drop stale entries; a sorted list is a heap

    def remove(self, node: int, level: int) -> None:
        """Take a node out of a bucket (its heap entry goes stale)."""
        self.members[level].remove(node)

    def lowest(
        self, level: int, count: int = 1, reject: Callable[[int], bool] | None = None
    ) -> list[int]:
        """Up to ``count`` lowest-id nodes of a bucket, ascending, skipping rejected ones.

        The nodes stay in the bucket. Cost is O((count + rejected + stale) log n).
        """
        heap, members = self.heaps[level], self.members[level]
        if count == 1 and reject is None:
            while heap:
                if heap[0] in members:
                    return [heap[0]]
                _heappop(heap)
            return []
        if count == 1:
            held_back: list[int] = []
            lowest: list[int] = []
            while heap:
                node = heap[0]
                if node not in members:
                    _heappop(heap)  # stale entry: drop it
                elif reject is not None and reject(node):
                    held_back.append(_heappop(heap))
                else:
                    lowest.append(node)
                    break
            for node in held_back:
                _heappush(heap, node)
            return lowest
        found: list[int] = []
        held: list[int] = []
        seen: set[int] = set()
        while heap and len(found) < count:
            node = _heappop(heap)
            if node not in members or node in seen:
                continue  # stale or duplicate entry: drop it
            seen.add(node)
            (held if reject is not None and reject(node) else found).append(node)
        for node in found + held:
            _heappush(heap, node)
        return found

    def heap_nodes(self, level: int) -> set[int]:
        """Node ids in a bucket's heap, stale ones included (for invariant checks)."""
        return set(self.heaps[level])


class _Shadow:
    """The head's reservation, kept from pass to pass while it stays valid.

    A node is *good* if the head could use it at the shadow time: its projected free GPUs at
    that time are at least ``need`` (the head's GPUs for a shared-node head, a whole node for
    a gang head). The head keeps its start as long as ``good >= required`` (1 node, or the
    gang's node count). ``projected`` holds the nodes whose projection differs from, or may
    later differ from, their free GPUs now; any other node's projection is its free GPUs now.
    """

    __slots__ = ("head", "shadow_s", "need", "required", "good", "projected", "_free")

    def __init__(
        self,
        head: Job,
        shadow_s: float,
        need: int,
        required: int,
        good: int,
        projected: dict[int, int],
        free: list[int],
    ) -> None:
        self.head = head
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

    def at_shadow(self, node: int) -> int:
        """Projected free GPUs of a node at the shadow time."""
        return self.projected.get(node, self._free[node])

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
    """Priority-FIFO GPU scheduler with EASY backfill, a node cap and a speed.

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

    **Pass.** After every call (a deferred change waits for :meth:`schedule`): while the head
    fits now it starts. When it does not, its reservation is computed: running jobs are
    released in end-time order (``end_s``, ties released together) until the head fits; that
    end time (or ``now_s``, if later) is the shadow time. Then the ``backfill_depth`` queue
    positions after the head are examined in order; each job that fits now starts if it ends
    by the shadow time, or else if it is placed so that the head still fits at the shadow
    time, counting the jobs started before it in the pass ("extra" resources: for a gang head,
    whole nodes idle at the shadow time beyond the ones it needs; for a shared-node head, GPUs
    left over on the nodes where it would fit). A long job is steered away from nodes it would
    spoil, if any other node fits. Only the head holds a reservation. With exact durations, no
    cap decrease, no speed change and no arrival ahead of it, the head starts no later than its
    shadow time.

    **Speed.** Running jobs progress at ``speed`` work-seconds per second (GPU throttling); a
    job started at ``t`` with ``duration_s`` of work ends at ``t + duration_s / speed``. A
    speed change moves the end of every running job (``set_speed``).

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

    **Cost.** Nothing scans the idle nodes. Finding a best-fit node or k idle nodes costs
    O(gpus_per_node + k log n). A submission to an empty queue starts the job (or queues it)
    without a pass. A pass walks the queue up to the head (past any jobs too big for the cap),
    then at most ``backfill_depth`` positions, O(1) for a job that cannot fit and
    O(gpus_per_node) otherwise. The reservation is computed only once some job behind a
    blocked head fits, in O(running jobs that end before the head fits), and is then kept
    for later passes: starts behind the head update it, a job that ends by the shadow time
    leaves it as it is, and anything else (the head starts or leaves, a job ending after the
    shadow time stops, a cap or speed change) drops it. Queue and end-time indexes are sorted
    lists (a memmove per insert or removal). Cap changes cost O(nodes switched log n), plus
    O(running jobs log) when busy nodes must be shed; a speed change costs O(running jobs log).
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
        self._running: dict[int, _Run] = {}  # in start order
        # (end_s, job_id, nodes, gpus_per_node_used), sorted by (end_s, job_id), which is
        # unique; the placement rides along so the reservation walk needs no lookups
        self._by_end: list[tuple[float, int, tuple[int, ...], tuple[int, ...]]] = []
        self._queue: list[QueueKey] = []  # sorted
        self._queued: dict[int, Job] = {}
        self._busy_gpus = 0
        self._speed = 1.0
        self._shadow_kept: _Shadow | None = None  # a still-valid reservation, see _kept_shadow
        self._now_s = -math.inf

    # ---- calls -------------------------------------------------------------------------

    def submit(self, job: Job, now_s: float, defer: bool = False) -> list[Placement]:
        """Queue a new job and start what can start.

        Parameters
        ----------
        job : Job
            The job; ``job.submit_s <= now_s``.
        now_s : float
            Current time (s); never earlier than the previous call's.
        defer : bool
            Only queue it; :meth:`schedule` runs the pass.

        Returns
        -------
        list[Placement]
            Jobs started by this call, in start order (the new job among them if it fits);
            none if deferred.

        Raises
        ------
        SimulationError
            If the job needs more nodes than are installed, its id is already queued or
            running, it was submitted in the future, or time went backwards.
        """
        if not now_s >= self._now_s:  # also rejects NaN
            raise self._error(now_s, f"time went backwards: {now_s} after {self._now_s}")
        self._now_s = now_s
        job_id, gpus = job.job_id, job.gpus
        g = self._g
        if (
            (gpus > g and -(-gpus // g) > self._node_count)
            or job_id in self._queued
            or job_id in self._running
            or job.submit_s > now_s
        ):
            self._check_new(job, now_s)  # raises, with the reason
        if self._queue or defer:
            insort(self._queue, job.queue_key)
            self._queued[job.job_id] = job
            return [] if defer else self._schedule(now_s)
        # Nothing waits, so the pass would only try the new job: it starts if it fits;
        # otherwise it is the blocked head with nobody behind it to backfill.
        if gpus <= g:
            node = self._best_fit(gpus)
            if node is not None:
                self._shadow_kept = None
                return [self._start(job, (node,), (gpus,), now_s)]
        elif -(-gpus // g) <= self._cap:
            fit = self._fit_now(job)
            if fit is not None:
                self._shadow_kept = None
                return [self._start(job, fit[0], fit[1], now_s)]
        self._queue.append(job.queue_key)
        self._queued[job_id] = job
        return []

    def requeue(self, job: Job, now_s: float) -> list[Placement]:
        """Queue a preempted job again; it keeps its ``submit_s``, hence its FIFO place.

        The caller sets ``duration_s`` to the work still needed (work since the last
        checkpoint is lost). Same contract as :meth:`submit`.
        """
        return self.submit(job, now_s)

    def finish(self, job_id: int, now_s: float, defer: bool = False) -> list[Placement]:
        """A running job ends (normally at its ``end_s``; earlier is allowed): free its GPUs.

        With ``defer``, :meth:`schedule` runs the pass.

        Returns
        -------
        list[Placement]
            Jobs started by this call (none if deferred).

        Raises
        ------
        KeyError
            If the job is not running.
        """
        self._tick(now_s)
        if job_id not in self._running:
            raise KeyError(f"job {job_id} is not running")
        self._release(job_id)
        return self._schedule(now_s) if self._queue and not defer else []

    def withdraw(
        self, job_id: int, now_s: float, defer: bool = False
    ) -> tuple[Job | None, list[Placement]]:
        """A queued job leaves the queue (its customer gave up waiting).

        With ``defer``, :meth:`schedule` runs the pass.

        Returns
        -------
        tuple[Job | None, list[Placement]]
            The job (None if it was not queued, e.g. already running) and the jobs started
            because it left (the head's leaving can let the next job start; none if deferred).
        """
        self._tick(now_s)
        job = self._queued.pop(job_id, None)
        if job is None:
            return None, []
        del self._queue[bisect_left(self._queue, job.queue_key)]
        if self._shadow_kept is not None and self._shadow_kept.head is job:
            self._shadow_kept = None
        return job, [] if defer else self._schedule(now_s)

    def set_node_cap(
        self,
        cap: int,
        now_s: float,
        requeue: Callable[[Preempted], Job] | None = None,
        defer: bool = False,
    ) -> tuple[list[Preempted], list[Placement]]:
        """Set how many nodes may be powered; shed or add nodes (rule in the class notes).

        Parameters
        ----------
        cap : int
            Powered nodes allowed, 0..node_count.
        now_s : float
            Current time (s).
        requeue : callable, optional
            Given a preempted job, returns it as it should queue again (with the work still
            needed). The preempted jobs are queued before the pass that starts jobs, so they
            keep their FIFO place against jobs already waiting. Without it, the caller
            requeues them itself, after the jobs this call starts.
        defer : bool
            Only apply the cap; :meth:`schedule` runs the pass.

        Returns
        -------
        tuple[list[Preempted], list[Placement]]
            Jobs preempted, in preemption order, with the runs they lost, and jobs started
            afterwards (none if deferred).

        Raises
        ------
        SimulationError
            If ``cap`` is not in 0..node_count, or time went backwards.
        """
        self._tick(now_s)
        if not 0 <= cap <= self._node_count:
            raise self._error(now_s, f"node cap must be in 0..{self._node_count} (got {cap})")
        self._shadow_kept = None
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
        return preempted, [] if defer else self._schedule(now_s)

    def set_speed(
        self, speed: float, now_s: float, defer: bool = False
    ) -> tuple[list[Placement], list[Placement]]:
        """From now on running jobs progress at ``speed`` work-seconds per second.

        Every running job keeps the work it has done and ends at ``now_s + work left /
        speed``; jobs started later run at this speed too.

        Parameters
        ----------
        speed : float
            Work-seconds per second, ``0 < speed <= 1`` (1 = full clock).
        now_s : float
            Current time (s).
        defer : bool
            Only apply the speed; :meth:`schedule` runs the pass.

        Returns
        -------
        tuple[list[Placement], list[Placement]]
            The running jobs with their new end times, in start order, and the jobs started
            by the pass that follows (none if deferred).

        Raises
        ------
        SimulationError
            If ``speed`` is not in (0, 1], or time went backwards.
        """
        self._tick(now_s)
        if not 0.0 < speed <= 1.0:  # also rejects NaN
            raise self._error(now_s, f"speed must be in (0, 1] (got {speed})")
        old = self._speed
        self._speed = speed
        self._shadow_kept = None
        moved: list[Placement] = []
        by_end: list[tuple[float, int, tuple[int, ...], tuple[int, ...]]] = []
        running = self._running
        for job_id, run in running.items():
            # a job due to end now, whose completion is not processed yet, has none left
            left_s = max(run.left_s - (now_s - run.anchor_s) * old, 0.0)
            placement = run.placement._replace(end_s=now_s + left_s / speed)
            running[job_id] = _Run(run.job, placement, now_s, left_s)
            by_end.append((placement.end_s, job_id, placement.nodes, placement.gpus_per_node_used))
            moved.append(placement)
        by_end.sort()
        self._by_end = by_end
        return moved, [] if defer else self._schedule(now_s)

    def schedule(self, now_s: float) -> list[Placement]:
        """Run one scheduling pass: the end of an instant whose changes were deferred.

        Returns
        -------
        list[Placement]
            Jobs started, in start order.

        Raises
        ------
        SimulationError
            If time went backwards.
        """
        self._tick(now_s)
        return self._schedule(now_s) if self._queue else []

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
    def speed(self) -> float:
        """Work-seconds per second of the running jobs (1 = full clock)."""
        return self._speed

    @property
    def busy_gpus(self) -> int:
        """GPUs allocated to running jobs (a gang job holds all GPUs of its nodes)."""
        return self._busy_gpus

    @property
    def busy_nodes(self) -> int:
        """Nodes running at least one job."""
        return self._cap - self._levels.count(self._g)

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

    @staticmethod
    def _error(now_s: float, message: str) -> SimulationError:
        """The scheduler cannot go on: a call its state rules out (a bug in the caller)."""
        return SimulationError("scheduler", now_s, message)

    def _tick(self, now_s: float) -> None:
        if not now_s >= self._now_s:  # also rejects NaN
            raise self._error(now_s, f"time went backwards: {now_s} after {self._now_s}")
        self._now_s = now_s

    def _nodes_needed(self, gpus: int) -> int:
        return 1 if gpus <= self._g else -(-gpus // self._g)

    def _eligible(self, job: Job) -> bool:
        """True if the job fits the powered nodes once they are empty."""
        return self._nodes_needed(job.gpus) <= self._cap

    def _check_new(self, job: Job, now_s: float) -> None:
        """Reject a job that can never run, is queued or running already, or is early."""
        if job.gpus > self._g and -(-job.gpus // self._g) > self._node_count:
            raise self._error(
                now_s,
                f"job {job.job_id} needs {job.gpus} GPUs but the cluster has "
                f"{self._node_count} nodes x {self._g} GPUs",
            )
        if job.job_id in self._queued or job.job_id in self._running:
            raise self._error(now_s, f"job {job.job_id} is already queued or running")
        if job.submit_s > now_s:
            raise self._error(
                now_s, f"job {job.job_id} submitted at {job.submit_s} s, in the future"
            )

    def _enqueue(self, job: Job, now_s: float) -> None:
        self._check_new(job, now_s)
        insort(self._queue, job.queue_key)
        self._queued[job.job_id] = job

    def _best_fit(self, gpus: int, shadow: _Shadow | None = None) -> int | None:
        """The fullest powered node with ``gpus`` free; with ``shadow``, one it cannot spoil."""
        levels = self._levels
        members = levels.members
        g = self._g
        for level in range(gpus, g + 1):
            bucket = members[level]
            if not bucket:
                continue
            if shadow is None:
                heap = levels.heaps[level]
                while heap[0] not in bucket:  # every member is in the heap: this stops
                    _heappop(heap)  # a stale entry
                return heap[0]
            if level == g:
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
        g = self._g
        gpus = job.gpus
        if gpus <= g:
            node = self._best_fit(gpus)
            return None if node is None else ((node,), (gpus,))
        k = -(-gpus // g)
        if len(self._levels.members[g]) < k:
            return None
        return tuple(self._levels.lowest(g, k)), (g,) * k

    def _schedule(self, now_s: float) -> list[Placement]:
        """One pass: start heads while they fit, then backfill behind the blocked head."""
        started: list[Placement] = []
        queue, queued = self._queue, self._queued
        g, cap = self._g, self._cap
        i = 0
        while i < len(queue):
            job = queued[queue[i][2]]
            gpus = job.gpus
            if gpus > g and -(-gpus // g) > cap:
                i += 1  # too big for the powered nodes: passed over, keeps its place
                continue
            fit = self._fit_now(job)
            if fit is None:
                break
            del queue[i]
            del queued[job.job_id]
            self._shadow_kept = None  # the head starts
            started.append(self._start(job, fit[0], fit[1], now_s))
        else:
            return started  # no blocked head
        if self._depth and i + 1 < len(queue):
            head = queued[queue[i][2]]
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
        speed = self._speed
        shadow: _Shadow | None = None  # needed only once some candidate fits
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
                shadow = self._kept_shadow(head, now_s)
            past_shadow = now_s + job.duration_s / speed > shadow.shadow_s
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
            del queued[job.job_id]
            started.append(self._start(job, nodes, used, now_s))
            max_free = self._max_free()

    def _kept_shadow(self, head: Job, now_s: float) -> _Shadow:
        """The head's reservation: the one kept from an earlier pass if still valid.

        A kept reservation stays exact while nothing but these happen: jobs start behind the
        head (each ``commit`` to it), and jobs end by its shadow time (their GPUs were already
        counted free at that time, and every node they ran on is pinned in ``projected``).
        Everything else drops it: see ``_release``, ``_schedule``, ``withdraw``,
        ``set_node_cap`` and ``set_speed``. ``check_invariants`` compares it with a fresh one.
        """
        kept = self._shadow_kept
        if kept is not None and kept.head is head and kept.shadow_s >= now_s:
            return kept
        kept = self._shadow_kept = self._shadow(head, now_s)
        return kept

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
            raise self._error(now_s, f"head job {head.job_id} cannot fit the powered nodes")
        return _Shadow(head, shadow_s, need, required, good, projected, free)

    def _start(
        self, job: Job, nodes: tuple[int, ...], used: tuple[int, ...], now_s: float
    ) -> Placement:
        """Allocate; the caller has taken the job out of the queue, if it was queued."""
        job_id = job.job_id
        if len(nodes) == 1:
            self._move(nodes[0], -used[0])
        else:  # a gang job takes whole idle nodes
            self._switch_whole(nodes, busy=True)
        duration_s = job.duration_s
        end_s = now_s + duration_s / self._speed
        # tuple.__new__ skips the named tuples' Python-level __new__: this is the hot path
        placement = _tuple_new(Placement, (job_id, nodes, used, now_s, end_s))
        self._running[job_id] = _tuple_new(_Run, (job, placement, now_s, duration_s))
        insort(self._by_end, (end_s, job_id, nodes, used))
        return placement

    def _release(self, job_id: int) -> _Run:
        """Free a running job's GPUs; drop the kept reservation if they mattered to it."""
        run = self._running.pop(job_id)
        _, nodes, used, _, end_s = run.placement
        if len(nodes) == 1:
            self._move(nodes[0], used[0])
        else:  # a gang job leaves whole idle nodes
            self._switch_whole(nodes, busy=False)
        by_end = self._by_end
        # (end_s, job_id) sorts just before its own entry and after every earlier one
        del by_end[bisect_left(by_end, (end_s, job_id))]
        kept = self._shadow_kept
        if kept is not None and end_s > kept.shadow_s:
            self._shadow_kept = None  # its GPUs were not counted free at the shadow time
        return run

    def _move(self, node: int, gpus: int) -> None:
        """``gpus`` more free GPUs (fewer if negative) on a node: move it between buckets."""
        free = self._free[node]
        after = free + gpus
        levels = self._levels
        levels.members[free].remove(node)
        bucket = levels.members[after]
        bucket.add(node)
        if after:  # bucket 0 keeps no heap
            heap = levels.heaps[after]
            _heappush(heap, node)
            if len(heap) > 2 * len(bucket) + 32:
                heap[:] = sorted(bucket)  # drop stale entries; a sorted list is a heap
        self._free[node] = after
        self._busy_gpus -= gpus

    def _switch_whole(self, nodes: tuple[int, ...], busy: bool) -> None:
        """Whole nodes become fully busy (from idle) or idle (from fully busy), as one batch."""
        g = self._g
        levels = self._levels
        free_now = self._free
        if busy:
            levels.members[g].difference_update(nodes)
            levels.members[0].update(nodes)  # bucket 0 keeps no heap
            for node in nodes:
                free_now[node] = 0
            self._busy_gpus += g * len(nodes)
            return
        levels.members[0].difference_update(nodes)
        bucket, heap = levels.members[g], levels.heaps[g]
        bucket.update(nodes)
        for node in nodes:
            _heappush(heap, node)
            free_now[node] = g
        if len(heap) > 2 * len(bucket) + 32:
            heap[:] = sorted(bucket)  # drop stale entries; a sorted list is a heap
        self._busy_gpus -= g * len(nodes)

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

    def _power_off(self, node: int) -> None:
        self._levels.remove(node, self._g)
        self._powered[node] = 0
        heapq.heappush(self._unpowered, node)

    def _power_on(self, node: int) -> None:
        self._powered[node] = 1
        self._levels.add(node, self._g)

    # ---- checks ------------------------------------------------------------------------

    def check_invariants(self) -> None:
        """Check the whole state after a pass, in O(nodes + jobs); for tests.

        Raises
        ------
        AssertionError
            If any GPU is double-booked, a node's free and used GPUs do not add up to
            ``gpus_per_node``, a job runs on an unpowered node, more nodes are busy or powered
            than the cap, the bookkeeping indexes disagree, a head that fits is waiting, or
            the kept reservation differs from a fresh one.
        """

        def require(ok: bool, message: str) -> None:
            if not ok:
                raise AssertionError(message)

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
            require(job_id not in self._queued, f"job {job_id} both queued and running")
        for node in range(n):
            free = self._free[node]
            require(used[node] <= g, f"node {node}: {used[node]} GPUs booked of {g}")
            require(free + used[node] == g, f"node {node}: free {free} + used {used[node]} != {g}")
            in_levels = [lv for lv in range(g + 1) if node in self._levels.members[lv]]
            if self._powered[node]:
                require(in_levels == [free], f"node {node}: in buckets {in_levels}, free {free}")
                require(
                    free == 0 or node in self._levels.heap_nodes(free), f"node {node}: not in heap"
                )
            else:
                require(not in_levels and free == g, f"unpowered node {node} is in use")
        require(sum(self._powered) == self._cap, "powered nodes != cap")
        require(
            sorted(self._unpowered) == [i for i in range(n) if not self._powered[i]],
            "unpowered heap disagrees",
        )
        require(self.busy_nodes == sum(1 for u in used if u), "busy node count disagrees")
        require(self.busy_nodes <= self._cap, "more busy nodes than the cap")
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
        kept = self._shadow_kept
        if kept is not None and kept.shadow_s >= self._now_s and self._eligible(kept.head):
            fresh = self._shadow(kept.head, self._now_s)
            require(
                (kept.shadow_s, kept.good) == (fresh.shadow_s, fresh.good)
                and all(
                    kept.at_shadow(node) == fresh.at_shadow(node)
                    for node in range(n)
                    if self._powered[node]
                ),
                f"kept reservation of job {kept.head.job_id} is stale",
            )
