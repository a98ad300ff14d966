"""GPU cluster scheduler core: a priority-FIFO queue with EASY backfill on shared and whole nodes.

The core is pure and deterministic (it never sleeps or schedules); ``sim.model.cluster`` wraps
it in SimPy. It is split by responsibility, each layer a base class of the next:

- ``jobs``: the values that cross the interface (``Job``, ``Placement``, ``Preempted``,
  ``Reservation``) and the record of a running job (``Run``).
- ``nodes``: ``NodePool``, which nodes are powered and how many GPUs each has free, and the
  placement search (best fit on one node, whole idle nodes for a gang job).
- ``running``: ``RunningJobs``, the jobs on the nodes, their end times at the current speed,
  speed changes, and node-cap changes with the preemption rule.
- ``reservation``: the head of the queue's shadow time (``Shadow``, ``shadow_for``).
- ``easy``: ``EasyBackfill``, the queue and the scheduling pass (heads, then EASY backfill
  against the kept reservation).
- ``scheduler``: ``Scheduler``, the calls (submit, finish, withdraw, node cap, speed, deferred
  changes and ``schedule``) and the whole-state invariant check.

Import the names from their modules (``sim.model.scheduling.scheduler.Scheduler``,
``sim.model.scheduling.jobs.Job``); this package re-exports nothing.
"""
