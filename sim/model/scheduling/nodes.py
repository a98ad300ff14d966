"""The nodes of a GPU cluster: which are powered, how many GPUs each has free, where a job fits.

``NodePool`` owns the per-node bookkeeping that every scheduling decision reads: free GPUs per
node, powered nodes bucketed by free GPUs (``FreeLevels``), the unpowered nodes, and the busy
GPU count. It finds placements (best fit on one node; whole idle nodes for a gang job) and
powers idle nodes on and off; it knows nothing of jobs beyond their GPU counts. The running
jobs (``sim.model.scheduling.running``) and the queue (``sim.model.scheduling.easy``) are
layered on it as subclasses, so the hot path calls its methods with no indirection.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable

from sim.model.scheduling.jobs import Job
from sim.model.scheduling.reservation import Shadow

_heappop, _heappush = heapq.heappop, heapq.heappush


def require(ok: bool, message: str) -> None:
    """Raise AssertionError with ``message`` unless ``ok`` (the invariant checks' assert)."""
    if not ok:
        raise AssertionError(message)


class FreeLevels:
    """Powered nodes bucketed by free GPUs (0..gpus_per_node).

    Each bucket is a set (membership and size in O(1)) plus a min-heap of node ids with lazy
    deletion, so the lowest-id node of a bucket costs O(log n) amortised, never a scan. Bucket
    0 (full nodes) keeps no heap: nothing asks for its lowest id. The hot path moves nodes
    between buckets itself (``NodePool._move``).
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

    def take(self, level: int, count: int) -> tuple[int, ...]:
        """Take the ``count`` lowest-id nodes out of a bucket holding at least that many.

        Their heap entries go with them (``lowest`` would push them back, to go stale as soon
        as the nodes leave the bucket). Ascending. Cost is O((count + stale) log n).
        """
        heap, members = self.heaps[level], self.members[level]
        taken: list[int] = []
        while len(taken) < count:
            node = _heappop(heap)
            if node in members:  # else stale; a duplicate entry below it is stale from now on
                members.remove(node)
                taken.append(node)
        return tuple(taken)

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


class NodePool:
    """``node_count`` identical nodes of ``gpus_per_node`` GPUs, ``node_cap`` of them powered.

    Parameters
    ----------
    node_count : int
        Nodes installed.
    gpus_per_node : int
        GPUs per node.

    Notes
    -----
    **Placement.** A job with ``gpus <= gpus_per_node`` takes GPUs on one powered node, by best
    fit: the node with the fewest free GPUs that still fits, lowest id among equals, so large
    holes stay open. A gang job (``gpus > gpus_per_node``) takes ``ceil(gpus /
    gpus_per_node)`` whole idle powered nodes (the lowest ids) and all their GPUs.

    **Power.** Powering on takes the lowest-id unpowered nodes; powering off idle nodes takes
    the lowest-id idle ones. Which busy nodes go when the cap falls below the idle ones is the
    running jobs' rule (``RunningJobs``).

    **Cost.** Nothing scans the idle nodes. Finding a best-fit node or k idle nodes costs
    O(gpus_per_node + k log n); switching a node on or off costs O(log n).
    """

    def __init__(self, node_count: int, gpus_per_node: int) -> None:
        if node_count < 1 or gpus_per_node < 1:
            raise ValueError(
                f"node_count and gpus_per_node must be >= 1 (got {node_count}, {gpus_per_node})"
            )
        self._node_count = node_count
        self._g = gpus_per_node
        self._free = [gpus_per_node] * node_count
        self._powered = bytearray(b"\x01") * node_count
        self._cap = node_count
        self._levels = FreeLevels(gpus_per_node)
        self._levels.fill(gpus_per_node, range(node_count))
        self._unpowered: list[int] = []  # min-heap, exactly the unpowered nodes
        self._busy_gpus = 0

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
        return self._cap - self._levels.count(self._g)

    def is_powered(self, node: int) -> bool:
        """True if the node is powered (within the cap)."""
        if not 0 <= node < self._node_count:
            raise IndexError(f"no node {node}")
        return bool(self._powered[node])

    # ---- placement search --------------------------------------------------------------

    def _nodes_needed(self, gpus: int) -> int:
        return 1 if gpus <= self._g else -(-gpus // self._g)

    def _eligible(self, job: Job) -> bool:
        """True if the job fits the powered nodes once they are empty."""
        return self._nodes_needed(job.gpus) <= self._cap

    def _max_free(self) -> int:
        members = self._levels.members
        for level in range(self._g, 0, -1):
            if members[level]:
                return level
        return 0

    def _best_fit(self, gpus: int, shadow: Shadow | None = None) -> int | None:
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

    def _fits_now(self, job: Job) -> bool:
        """True if the job could start now."""
        g = self._g
        if job.gpus <= g:
            return self._best_fit(job.gpus) is not None
        return len(self._levels.members[g]) >= -(-job.gpus // g)

    def _claim(self, job: Job) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """Nodes and GPUs per node the job gets now, or None; the caller must start it.

        A gang job's nodes are taken out of the idle bucket here (``_start`` expects that).
        """
        g = self._g
        gpus = job.gpus
        if gpus <= g:
            node = self._best_fit(gpus)
            return None if node is None else ((node,), (gpus,))
        k = -(-gpus // g)
        if len(self._levels.members[g]) < k:
            return None
        return self._levels.take(g, k), (g,) * k

    # ---- occupancy and power -----------------------------------------------------------

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
        """Whole nodes become fully busy or idle (from fully busy), as one batch.

        Nodes becoming busy were taken out of the idle bucket already (``FreeLevels.take``).
        """
        g = self._g
        levels = self._levels
        free_now = self._free
        if busy:
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

    def _power_on_lowest(self, count: int) -> None:
        """Power on the ``count`` lowest-id unpowered nodes (the caller sets ``_cap``)."""
        for _ in range(count):
            self._power_on(heapq.heappop(self._unpowered))

    def _power_off_idle(self, excess: int) -> int:
        """Power off up to ``excess`` idle nodes, lowest ids first; return how many are left."""
        for node in self._levels.lowest(self._g, min(excess, self._levels.count(self._g))):
            self._power_off(node)
            excess -= 1
        return excess

    def _power_off(self, node: int) -> None:
        self._levels.remove(node, self._g)
        self._powered[node] = 0
        heapq.heappush(self._unpowered, node)

    def _power_on(self, node: int) -> None:
        self._powered[node] = 1
        self._levels.add(node, self._g)

    # ---- checks ------------------------------------------------------------------------

    def _check_nodes(self, used: list[int]) -> None:
        """Check the node bookkeeping against ``used`` (GPUs booked per node by the jobs)."""
        g, n = self._g, self._node_count
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
