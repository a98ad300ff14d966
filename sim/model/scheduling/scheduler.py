"""The scheduler's calls: every change to a cluster, each followed by one scheduling pass.

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

The state and the pass live in the base classes: ``NodePool`` (nodes, placement search),
``RunningJobs`` (running jobs, speed, node cap and preemption) and ``EasyBackfill`` (queue,
pass, reservation); see the package docstring of ``sim.model.scheduling``.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable

from sim.model.scheduling.easy import EasyBackfill
from sim.model.scheduling.jobs import Job, Placement, Preempted


class Scheduler(EasyBackfill):
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
    The rules are stated where they are applied: placement in ``NodePool``, speed and the node
    cap's preemption order in ``RunningJobs``, the queue order, the pass and EASY backfill in
    ``EasyBackfill``. After every call a pass runs (a deferred change waits for
    :meth:`schedule`). A submission to an empty queue starts the job (or queues it) without a
    pass.
    """

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
            fit = self._claim(job)
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
        run = self._release(job_id)
        kept = self._shadow_kept
        if kept is not None and run.placement.end_s > kept.shadow_s:
            self._shadow_kept = None  # its GPUs were not counted free at the shadow time
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
        """Set how many nodes may be powered; shed or add nodes (rule in ``RunningJobs``).

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
        self._set_cap(cap, preempted)
        return self._after_stops(preempted, now_s, requeue, defer)

    def vacate_node(
        self,
        node: int,
        now_s: float,
        requeue: Callable[[Preempted], Job] | None = None,
        defer: bool = False,
    ) -> tuple[list[Preempted], list[Placement]]:
        """Stop the jobs on ``node`` (it failed); they queue again like preempted jobs.

        The node stays powered and idle: what the site can still power is the node cap's
        business (a failure lowers it at the same instant). ``requeue`` and ``defer`` as in
        :meth:`set_node_cap`.

        Raises
        ------
        SimulationError
            If ``node`` does not exist, or time went backwards.
        """
        self._tick(now_s)
        if not 0 <= node < self._node_count:
            raise self._error(now_s, f"node must be in 0..{self._node_count - 1} (got {node})")
        self._shadow_kept = None
        preempted: list[Preempted] = []
        self._vacate(node, preempted)
        return self._after_stops(preempted, now_s, requeue, defer)

    def _after_stops(
        self,
        preempted: list[Preempted],
        now_s: float,
        requeue: Callable[[Preempted], Job] | None,
        defer: bool,
    ) -> tuple[list[Preempted], list[Placement]]:
        """Queue the jobs a change stopped again (if asked), then the pass (unless deferred)."""
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
        self._shadow_kept = None
        moved = self._reanchor(speed, now_s)
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
        self._check_running()
        self._check_queue()
