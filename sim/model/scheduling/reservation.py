"""The head of the queue's reservation: its shadow time and which nodes it can use then.

When the head of the queue cannot start, running jobs are released in end-time order (ties
together) until it fits; that end time (or now, if later) is its *shadow time*.
:func:`shadow_for` computes it; :class:`Shadow` holds the result with the projected free GPUs
of the nodes at that time, which EASY backfill (``sim.model.scheduling.easy``) consults and
updates as it starts jobs behind the head.
"""

from __future__ import annotations

from sim.model.scheduling.jobs import EndEntry, Job


class Shadow:
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


def shadow_for(
    head: Job,
    now_s: float,
    gpus_per_node: int,
    required: int,
    members: list[set[int]],
    by_end: list[EndEntry],
    free: list[int],
) -> Shadow | None:
    """The head's reservation: release running jobs by end time until it fits.

    Parameters
    ----------
    head : Job
        The head of the queue.
    now_s : float
        Current time (s); the shadow time is never earlier.
    gpus_per_node : int
        GPUs per node.
    required : int
        Nodes the head needs: 1 for a shared-node head, the gang's node count otherwise.
    members : list[set[int]]
        Powered nodes by free GPUs now (``NodePool``'s buckets).
    by_end : list[EndEntry]
        Running jobs sorted by end time (``RunningJobs``' end-time index).
    free : list[int]
        Free GPUs now per node; the reservation reads it, never writes it.

    Returns
    -------
    Shadow | None
        The reservation, or None if the head does not fit even once every running job ended.
    """
    g = gpus_per_node
    need = head.gpus if head.gpus <= g else g
    # nodes good now (idle nodes, for a gang head); the releases add the rest
    good = sum(len(members[level]) for level in range(need, g + 1))
    projected: dict[int, int] = {}
    shadow_s: float | None = now_s if good >= required else None
    for end_s, _, nodes, used in by_end:
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
        return None
    return Shadow(head, shadow_s, need, required, good, projected, free)
