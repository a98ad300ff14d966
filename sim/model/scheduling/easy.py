"""The queue and the scheduling pass: priority-FIFO heads, then EASY backfill behind them.

``EasyBackfill`` extends ``RunningJobs`` with the waiting jobs and the pass that starts them:
heads of the queue while they fit, then, behind a blocked head, jobs that cannot delay the
head's reserved start (its shadow time, ``sim.model.scheduling.reservation``). It keeps that
reservation from pass to pass while it stays exact. The calls that change the state and then
run a pass are ``Scheduler``'s (``sim.model.scheduling.scheduler``).
"""

from __future__ import annotations

from bisect import bisect_left, insort

from sim.model.scheduling.jobs import Job, Placement, QueueKey, Reservation
from sim.model.scheduling.nodes import require
from sim.model.scheduling.reservation import Shadow, shadow_for
from sim.model.scheduling.running import RunningJobs


class EasyBackfill(RunningJobs):
    """A priority-FIFO queue with EASY backfill over ``RunningJobs``.

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
    **Queue.** Ordered by ``(priority, submit_s, job_id)``. A queued job that cannot fit the
    powered nodes even when they are all empty (a gang larger than the cap) is passed over
    until the cap rises; it keeps its place. The *head* is the first job that can fit.

    **Pass.** While the head fits now it starts. When it does not, its reservation is
    computed: running jobs are released in end-time order (``end_s``, ties released together)
    until the head fits; that end time (or ``now_s``, if later) is the shadow time. Then the
    ``backfill_depth`` queue positions after the head are examined in order; each job that fits
    now starts if it ends by the shadow time, or else if it is placed so that the head still
    fits at the shadow time, counting the jobs started before it in the pass ("extra"
    resources: for a gang head, whole nodes idle at the shadow time beyond the ones it needs;
    for a shared-node head, GPUs left over on the nodes where it would fit). A long job is
    steered away from nodes it would spoil, if any other node fits. Only the head holds a
    reservation. With exact durations, no cap decrease, no speed change and no arrival ahead
    of it, the head starts no later than its shadow time.

    **Cost.** A pass walks the queue up to the head (past any jobs too big for the cap), then
    at most ``backfill_depth`` positions, O(1) for a job that cannot fit and O(gpus_per_node)
    otherwise. The reservation is computed only once some job behind a blocked head fits, in
    O(running jobs that end before the head fits), and is then kept for later passes: starts
    behind the head update it, a job that ends by the shadow time leaves it as it is, and
    anything else (the head starts or leaves, a job ending after the shadow time stops, a cap
    or speed change) drops it. The queue is a sorted list (a memmove per insert or removal).
    """

    def __init__(self, node_count: int, gpus_per_node: int, backfill_depth: int = 100) -> None:
        super().__init__(node_count, gpus_per_node)
        if backfill_depth < 0:
            raise ValueError(f"backfill_depth must be >= 0 (got {backfill_depth})")
        self._depth = backfill_depth
        self._queue: list[QueueKey] = []  # sorted
        self._queued: dict[int, Job] = {}
        self._shadow_kept: Shadow | None = None  # a still-valid reservation, see _kept_shadow

    # ---- queries -----------------------------------------------------------------------

    @property
    def queue_length(self) -> int:
        """Jobs waiting."""
        return len(self._queue)

    def queued(self) -> list[Job]:
        """Waiting jobs in queue order."""
        return [self._queued[key[2]] for key in self._queue]

    def reservation(self) -> Reservation | None:
        """The head's reservation as of the last call, or None if no queued job can fit."""
        head = next((job for job in self.queued() if self._eligible(job)), None)
        if head is None:
            return None
        shadow = self._shadow(head, self._now_s)
        return Reservation(head.job_id, shadow.shadow_s)

    # ---- the queue ---------------------------------------------------------------------

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

    # ---- the pass ----------------------------------------------------------------------

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
            fit = self._claim(job)
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

    def _backfill(
        self, head: Job, window: list[QueueKey], now_s: float, started: list[Placement]
    ) -> None:
        g = self._g
        levels = self._levels
        idle = levels.members[g]
        queued = self._queued
        speed = self._speed
        shadow: Shadow | None = None  # needed only once some candidate fits
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
                nodes, used = levels.take(g, k), (g,) * k
            shadow.commit(nodes, used, past_shadow)
            del self._queue[bisect_left(self._queue, key)]
            del queued[job.job_id]
            started.append(self._start(job, nodes, used, now_s))
            max_free = self._max_free()

    # ---- the kept reservation ----------------------------------------------------------

    def _kept_shadow(self, head: Job, now_s: float) -> Shadow:
        """The head's reservation: the one kept from an earlier pass if still valid.

        A kept reservation stays exact while nothing but these happen: jobs start behind the
        head (each ``commit`` to it), and jobs end by its shadow time (their GPUs were already
        counted free at that time, and every node they ran on is pinned in ``projected``).
        Everything else drops it: see ``Scheduler.finish``, ``_schedule``, ``withdraw``,
        ``set_node_cap`` and ``set_speed``. ``check_invariants`` compares it with a fresh one.
        """
        kept = self._shadow_kept
        if kept is not None and kept.head is head and kept.shadow_s >= now_s:
            return kept
        kept = self._shadow_kept = self._shadow(head, now_s)
        return kept

    def _shadow(self, head: Job, now_s: float) -> Shadow:
        """The head's reservation, computed afresh; raise if it cannot fit the powered nodes."""
        shadow = shadow_for(
            head,
            now_s,
            self._g,
            self._nodes_needed(head.gpus),
            self._levels.members,
            self._by_end,
            self._free,
        )
        if shadow is None:
            raise self._error(now_s, f"head job {head.job_id} cannot fit the powered nodes")
        return shadow

    # ---- checks ------------------------------------------------------------------------

    def _check_queue(self) -> None:
        """Check the queue index, that no fitting head waits, and the kept reservation."""
        for job_id in self._running:
            require(job_id not in self._queued, f"job {job_id} both queued and running")
        require(
            self._queue == sorted(job.queue_key for job in self._queued.values()),
            "queue index disagrees",
        )
        head = next((job for job in self.queued() if self._eligible(job)), None)
        require(head is None or not self._fits_now(head), "the head fits but waits")
        kept = self._shadow_kept
        if kept is not None and kept.shadow_s >= self._now_s and self._eligible(kept.head):
            fresh = self._shadow(kept.head, self._now_s)
            require(
                (kept.shadow_s, kept.good) == (fresh.shadow_s, fresh.good)
                and all(
                    kept.at_shadow(node) == fresh.at_shadow(node)
                    for node in range(self._node_count)
                    if self._powered[node]
                ),
                f"kept reservation of job {kept.head.job_id} is stale",
            )
