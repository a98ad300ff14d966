"""What crosses the scheduler's interface: jobs, placements, preemptions, reservations.

All are immutable values. ``Job`` and ``Placement`` are named tuples because the scheduler's
hot path makes and unpacks many of them; ``Run`` is the scheduler's own record of a running
job (its work left as of its last anchor), and ``EndEntry`` an entry of its end-time index.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

QueueKey = tuple[int, float, int]  # (priority, submit_s, job_id): the queue order
EndEntry = tuple[float, int, tuple[int, ...], tuple[int, ...]]  # (end_s, job_id, nodes, used)


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


class Run(NamedTuple):
    """A running job.

    Its work left at ``anchor_s`` (its start, or the last speed change) is ``left_s``, so it
    ends at ``anchor_s + left_s / speed``.
    """

    job: Job
    placement: Placement
    anchor_s: float
    left_s: float
