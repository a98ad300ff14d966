"""The scheduler's rules as compiled functions over arrays, for the AI job loop in machine code.

The same rules as ``NodePool``, ``RunningJobs``, ``EasyBackfill`` and ``Scheduler`` (read
those for the why): best fit on one node or whole idle nodes for a gang job, priority-FIFO
heads, EASY backfill behind a blocked head with its reservation kept from pass to pass, node
caps that shed the most preemptable jobs, speed changes. Every function here takes the whole
state (:class:`State`) and is compiled by numba: a call costs ≈0.3 µs where the Python
objects' costs ≈3.5 µs (``benchmarks/bench_kernel.py``). The compiled job loop
(``sim.model.ai_kernel``) calls them; ``sim.model.scheduling.compiled`` wraps them in the
``Scheduler`` interface, and a test replays random calls on both and requires the same
answers, float for float.

Layout. Scalars live in two small arrays (``ints``, ``floats``) indexed by the constants
below, since numba's tuples are immutable. Jobs are rows of per-job arrays indexed by job id.
Powered nodes with ``f`` free GPUs are the set bits of row ``f`` of ``bits`` (64 nodes a
word), so the lowest-id node of a level is a scan of ``node_count / 64`` words, never of the
nodes. A gang job's nodes are a chain: its first node in ``j_node``, each node's next in
``gang_next``, ascending (a node belongs to one gang job at a time). The queue and the
end-time index are sorted arrays (a shift per insert or removal, as the Python lists'
memmove).

Errors. A call the state rules out returns a negative code (``E_*``); the wrapper raises.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

# ---- ints ------------------------------------------------------------------------------
I_NODES = 0  # nodes installed
I_G = 1  # GPUs per node
I_CAP = 2  # nodes powered
I_BUSY = 3  # GPUs allocated
I_QLEN = 4  # jobs queued
I_ELEN = 5  # jobs running (entries of the end-time index)
I_DEPTH = 6  # backfill depth
I_HEAD = 7  # the kept reservation's head job, -1 if none
I_NEED = 8  # its free GPUs needed per node
I_REQUIRED = 9  # its nodes needed
I_GOOD = 10  # nodes good for it at the shadow time
I_PINNED = 11  # nodes pinned in its projection
I_SEQ = 12  # starts so far (start order)
N_INTS = 13
# ---- floats ----------------------------------------------------------------------------
F_NOW = 0  # the last call's time
F_SPEED = 1  # work-seconds per second
F_SHADOW = 2  # the kept reservation's shadow time
N_FLOATS = 3
# ---- job states --------------------------------------------------------------------------
NONE, QUEUED, RUNNING = 0, 1, 2
# ---- errors ------------------------------------------------------------------------------
E_BACKWARDS = -1  # time went backwards
E_TOO_BIG = -2  # needs more nodes than installed
E_KNOWN = -3  # already queued or running
E_FUTURE = -4  # submitted in the future
E_HEAD = -5  # the head cannot fit the powered nodes
E_SHED = -6  # could not shed enough nodes
E_CAP = -7  # node cap out of range
E_NODE = -8  # no such node
E_SPEED = -9  # speed out of (0, 1]
E_NOT_HERE = -10  # finish of a job not running, withdrawal of one not queued

# Compiled without numba's reference counting: these functions neither allocate nor keep an
# array, and counting references to a State's 28 arrays on every call cost ≈200 ns a call
_no_refcount = njit(cache=True, _nrt=False)  # type: ignore[call-overload]

_ONE = np.uint64(1)
_ZERO = np.uint64(0)


class State(NamedTuple):
    """One cluster's scheduler state (see the module docstring for the layout)."""

    ints: np.ndarray  # int64[N_INTS]
    floats: np.ndarray  # float64[N_FLOATS]
    free: np.ndarray  # int64[nodes]: free GPUs (an unpowered node has all free)
    powered: np.ndarray  # int64[nodes]: 1 if powered
    bits: np.ndarray  # uint64[g + 1, words]: powered nodes by free GPUs
    counts: np.ndarray  # int64[g + 1]: powered nodes by free GPUs
    gang_next: np.ndarray  # int64[nodes]: next node of the same gang job, -1 at the end
    proj: np.ndarray  # int64[nodes]: free GPUs at the shadow time, where pinned
    pinned: np.ndarray  # int64[nodes]: 1 if pinned in the projection
    pin_list: np.ndarray  # int64[nodes]: the pinned nodes
    q_prio: np.ndarray  # the queue, sorted by (priority, submit_s, job id)
    q_submit: np.ndarray
    q_id: np.ndarray
    e_end: np.ndarray  # the end-time index, sorted by (end_s, job id)
    e_id: np.ndarray
    j_state: np.ndarray  # per job: NONE, QUEUED or RUNNING
    j_gpus: np.ndarray
    j_work: np.ndarray  # work needed when (re)queued (the Job's duration_s)
    j_prio: np.ndarray
    j_submit: np.ndarray
    j_node: np.ndarray  # its node, or a gang job's first node
    j_k: np.ndarray  # nodes it holds
    j_start: np.ndarray  # start of its current run
    j_end: np.ndarray  # its end at the current speed
    j_anchor: np.ndarray  # its last anchor (start or speed change)
    j_left: np.ndarray  # work left at the anchor
    j_seq: np.ndarray  # its place in start order
    window: np.ndarray  # int64[depth]: the queue positions a pass examines for backfill


def new_state(node_count: int, gpus_per_node: int, depth: int, jobs: int) -> State:
    """An idle cluster with every node powered, room for job ids below ``jobs``."""
    g = gpus_per_node
    words = (node_count + 63) // 64
    ints = np.zeros(N_INTS, dtype=np.int64)
    ints[I_NODES], ints[I_G], ints[I_CAP], ints[I_DEPTH] = node_count, g, node_count, depth
    ints[I_HEAD] = -1
    floats = np.zeros(N_FLOATS, dtype=np.float64)
    floats[F_NOW], floats[F_SPEED] = -np.inf, 1.0
    bits = np.zeros((g + 1, words), dtype=np.uint64)
    bits[g] = np.uint64(0xFFFFFFFFFFFFFFFF)  # every node idle and powered
    if node_count % 64:
        bits[g, -1] = np.uint64((1 << (node_count % 64)) - 1)
    counts = np.zeros(g + 1, dtype=np.int64)
    counts[g] = node_count
    running = node_count * g + 1  # each running job holds a GPU at least
    return State._make(
        [
            ints,
            floats,
            np.full(node_count, g, dtype=np.int64),
            np.ones(node_count, dtype=np.int64),
            bits,
            counts,
            np.full(node_count, -1, dtype=np.int64),
            np.zeros(node_count, dtype=np.int64),
            np.zeros(node_count, dtype=np.int64),
            np.zeros(node_count, dtype=np.int64),
            np.zeros(jobs, dtype=np.int64),
            np.zeros(jobs, dtype=np.float64),
            np.zeros(jobs, dtype=np.int64),
            np.zeros(running, dtype=np.float64),
            np.zeros(running, dtype=np.int64),
            *job_columns(jobs),
            np.zeros(depth, dtype=np.int64),
        ]
    )


def job_columns(jobs: int) -> tuple[np.ndarray, ...]:
    """Empty per-job arrays (``State``'s ``j_*`` fields, in order) for ``jobs`` ids."""
    ints = np.int64
    return (
        np.zeros(jobs, ints),  # j_state
        np.zeros(jobs, ints),  # j_gpus
        np.zeros(jobs),  # j_work
        np.zeros(jobs, ints),  # j_prio
        np.zeros(jobs),  # j_submit
        np.full(jobs, -1, ints),  # j_node
        np.zeros(jobs, ints),  # j_k
        np.zeros(jobs),  # j_start
        np.zeros(jobs),  # j_end
        np.zeros(jobs),  # j_anchor
        np.zeros(jobs),  # j_left
        np.zeros(jobs, ints),  # j_seq
    )


# ---- node bits -------------------------------------------------------------------------


@_no_refcount
def _low_bit(word: np.uint64) -> int:
    """Index of the lowest set bit of a nonzero word (a power of two is exact as a float)."""
    return int(np.log2(np.float64(word & (~word + _ONE))))


@_no_refcount
def _bit_on(s: State, level: int, node: int) -> None:
    s.bits[level, node >> 6] |= _ONE << np.uint64(node & 63)
    s.counts[level] += 1


@_no_refcount
def _bit_off(s: State, level: int, node: int) -> None:
    s.bits[level, node >> 6] &= ~(_ONE << np.uint64(node & 63))
    s.counts[level] -= 1


@_no_refcount
def _lowest(s: State, level: int) -> int:
    """The lowest-id powered node with ``level`` free GPUs (the level must have one)."""
    row = s.bits[level]
    for w in range(row.shape[0]):
        word = row[w]
        if word != _ZERO:
            return w * 64 + _low_bit(word)
    return -1


@_no_refcount
def _next_at(s: State, level: int, after: int) -> int:
    """The lowest-id powered node with ``level`` free GPUs above node ``after``, or -1."""
    row = s.bits[level]
    start = after + 1
    w = start >> 6
    if w >= row.shape[0]:
        return -1
    word = row[w] & ~((_ONE << np.uint64(start & 63)) - _ONE)
    while True:
        if word != _ZERO:
            return w * 64 + _low_bit(word)
        w += 1
        if w >= row.shape[0]:
            return -1
        word = row[w]


@_no_refcount
def _move(s: State, node: int, gpus: int) -> None:
    """``gpus`` more free GPUs (fewer if negative) on a powered node."""
    free = s.free[node]
    _bit_off(s, free, node)
    _bit_on(s, free + gpus, node)
    s.free[node] = free + gpus
    s.ints[I_BUSY] -= gpus


@_no_refcount
def _take_idle(s: State, job: int, k: int) -> None:
    """Chain the ``k`` lowest-id idle powered nodes to a gang job and make them busy."""
    g = s.ints[I_G]
    node = _lowest(s, g)
    s.j_node[job] = node
    for i in range(k):
        nxt = _next_at(s, g, node) if i < k - 1 else -1
        _bit_off(s, g, node)
        _bit_on(s, 0, node)
        s.free[node] = 0
        s.gang_next[node] = nxt
        node = nxt
    s.ints[I_BUSY] += g * k


@_no_refcount
def _free_gang(s: State, job: int) -> None:
    """A gang job's nodes become idle."""
    g = s.ints[I_G]
    node = s.j_node[job]
    for _ in range(s.j_k[job]):
        _bit_off(s, 0, node)
        _bit_on(s, g, node)
        s.free[node] = g
        node = s.gang_next[node]  # the chain stays: a stopped job's nodes are read after
    s.ints[I_BUSY] -= g * s.j_k[job]


@_no_refcount
def _best_fit(s: State, gpus: int) -> int:
    """The fullest powered node with ``gpus`` free, lowest id among equals; -1 if none."""
    for level in range(gpus, s.ints[I_G] + 1):
        if s.counts[level]:
            return _lowest(s, level)
    return -1


@_no_refcount
def _max_free(s: State) -> int:
    for level in range(s.ints[I_G], 0, -1):
        if s.counts[level]:
            return level
    return 0


@_no_refcount
def _needed(s: State, gpus: int) -> int:
    g = s.ints[I_G]
    return 1 if gpus <= g else -(-gpus // g)


# ---- the reservation ---------------------------------------------------------------------


@_no_refcount
def _at_shadow(s: State, node: int) -> int:
    return s.proj[node] if s.pinned[node] else s.free[node]


@_no_refcount
def _pin(s: State, node: int, projected: int) -> None:
    if not s.pinned[node]:
        s.pinned[node] = 1
        s.pin_list[s.ints[I_PINNED]] = node
        s.ints[I_PINNED] += 1
    s.proj[node] = projected


@_no_refcount
def _drop_shadow(s: State) -> None:
    for i in range(s.ints[I_PINNED]):
        s.pinned[s.pin_list[i]] = 0
    s.ints[I_PINNED] = 0
    s.ints[I_HEAD] = -1


@_no_refcount
def _breaks(s: State, node: int, gpus: int) -> bool:
    """True if ``gpus`` held on ``node`` past the shadow time would make it not good."""
    projected = _at_shadow(s, node)
    need = s.ints[I_NEED]
    return projected >= need > projected - gpus


@_no_refcount
def _shadow(s: State, head: int, now_s: float) -> bool:
    """Compute the head's reservation afresh (``shadow_for``); False if it never fits."""
    _drop_shadow(s)
    g = s.ints[I_G]
    gpus = s.j_gpus[head]
    need = gpus if gpus <= g else g
    required = _needed(s, gpus)
    good = 0
    for level in range(need, g + 1):
        good += s.counts[level]
    found = good >= required
    shadow_s = now_s
    for e in range(s.ints[I_ELEN]):
        end_s = s.e_end[e]
        if found and end_s > shadow_s:
            break
        job = s.e_id[e]
        if s.j_k[job] == 1 and s.j_gpus[job] <= g:
            good += _project(s, s.j_node[job], s.j_gpus[job], need)
        else:
            node = s.j_node[job]
            for _ in range(s.j_k[job]):
                good += _project(s, node, g, need)
                node = s.gang_next[node]
        if not found and good >= required:
            found = True
            shadow_s = max(end_s, now_s)
    if not found:
        _drop_shadow(s)
        return False
    s.ints[I_HEAD], s.ints[I_NEED], s.ints[I_REQUIRED], s.ints[I_GOOD] = head, need, required, good
    s.floats[F_SHADOW] = shadow_s
    return True


@_no_refcount
def _project(s: State, node: int, gpus: int, need: int) -> int:
    """Release ``gpus`` on ``node`` in the projection; 1 if that makes the node good."""
    before = _at_shadow(s, node)
    _pin(s, node, before + gpus)
    return 1 if before < need <= before + gpus else 0


@_no_refcount
def _kept_shadow(s: State, head: int, now_s: float) -> bool:
    if s.ints[I_HEAD] == head and s.floats[F_SHADOW] >= now_s:
        return True
    return _shadow(s, head, now_s)


@_no_refcount
def _commit(s: State, node: int, gpus: int, past_shadow: bool) -> None:
    """Account for ``gpus`` about to be taken on ``node`` (``Shadow.commit``, one node)."""
    projected = _at_shadow(s, node)
    if past_shadow:
        need = s.ints[I_NEED]
        if projected >= need > projected - gpus:
            s.ints[I_GOOD] -= 1
        projected -= gpus
    _pin(s, node, projected)


# ---- the queue and the end-time index ------------------------------------------------------


@_no_refcount
def _queue_at(s: State, prio: int, submit_s: float, job: int) -> int:
    """Index of the first queue key not below (prio, submit_s, job) (``bisect_left``)."""
    lo, hi = 0, s.ints[I_QLEN]
    while lo < hi:
        mid = (lo + hi) >> 1
        p, t, i = s.q_prio[mid], s.q_submit[mid], s.q_id[mid]
        if p < prio or (p == prio and (t < submit_s or (t == submit_s and i < job))):
            lo = mid + 1
        else:
            hi = mid
    return lo


@_no_refcount
def _enqueue(s: State, job: int) -> None:
    prio, submit_s = s.j_prio[job], s.j_submit[job]
    at = _queue_at(s, prio, submit_s, job)
    n = s.ints[I_QLEN]
    for i in range(n, at, -1):
        s.q_prio[i], s.q_submit[i], s.q_id[i] = s.q_prio[i - 1], s.q_submit[i - 1], s.q_id[i - 1]
    s.q_prio[at], s.q_submit[at], s.q_id[at] = prio, submit_s, job
    s.ints[I_QLEN] = n + 1
    s.j_state[job] = QUEUED


@_no_refcount
def _dequeue_at(s: State, at: int) -> None:
    n = s.ints[I_QLEN] - 1
    for i in range(at, n):
        s.q_prio[i], s.q_submit[i], s.q_id[i] = s.q_prio[i + 1], s.q_submit[i + 1], s.q_id[i + 1]
    s.ints[I_QLEN] = n


@_no_refcount
def _dequeue(s: State, job: int) -> None:
    _dequeue_at(s, _queue_at(s, s.j_prio[job], s.j_submit[job], job))


@_no_refcount
def _end_at(s: State, end_s: float, job: int) -> int:
    lo, hi = 0, s.ints[I_ELEN]
    while lo < hi:
        mid = (lo + hi) >> 1
        t = s.e_end[mid]
        if t < end_s or (t == end_s and s.e_id[mid] < job):
            lo = mid + 1
        else:
            hi = mid
    return lo


# ---- starts and ends -----------------------------------------------------------------------


@_no_refcount
def _start(s: State, job: int, node: int, now_s: float) -> None:
    """Start a job on ``node`` (shared) or on the idle nodes it needs (gang; ``node`` -1)."""
    gpus = s.j_gpus[job]
    if node >= 0:
        s.j_node[job] = node
        s.j_k[job] = 1
        _move(s, node, -gpus)
    else:
        k = _needed(s, gpus)
        s.j_k[job] = k
        _take_idle(s, job, k)
    work = s.j_work[job]
    end_s = now_s + work / s.floats[F_SPEED]
    s.j_start[job], s.j_end[job], s.j_anchor[job], s.j_left[job] = now_s, end_s, now_s, work
    s.j_seq[job] = s.ints[I_SEQ]
    s.ints[I_SEQ] += 1
    s.j_state[job] = RUNNING
    at = _end_at(s, end_s, job)
    n = s.ints[I_ELEN]
    for i in range(n, at, -1):
        s.e_end[i], s.e_id[i] = s.e_end[i - 1], s.e_id[i - 1]
    s.e_end[at], s.e_id[at] = end_s, job
    s.ints[I_ELEN] = n + 1


@_no_refcount
def _release(s: State, job: int) -> None:
    """Free a running job's GPUs."""
    if s.j_k[job] == 1 and s.j_gpus[job] <= s.ints[I_G]:
        _move(s, s.j_node[job], s.j_gpus[job])
    else:
        _free_gang(s, job)
    at = _end_at(s, s.j_end[job], job)
    n = s.ints[I_ELEN] - 1
    for i in range(at, n):
        s.e_end[i], s.e_id[i] = s.e_end[i + 1], s.e_id[i + 1]
    s.ints[I_ELEN] = n
    s.j_state[job] = NONE


@_no_refcount
def _tick(s: State, now_s: float) -> bool:
    if not now_s >= s.floats[F_NOW]:  # also rejects NaN
        return False
    s.floats[F_NOW] = now_s
    return True


# ---- the pass ------------------------------------------------------------------------------


@_no_refcount
def _claim(s: State, job: int) -> int:
    """Where the job fits now: a node, -1 for a gang job's idle nodes, -2 if it does not fit."""
    g = s.ints[I_G]
    gpus = s.j_gpus[job]
    if gpus <= g:
        node = _best_fit(s, gpus)
        return node if node >= 0 else -2
    return -1 if s.counts[g] >= -(-gpus // g) else -2


@_no_refcount
def schedule_pass(s: State, now_s: float, started: np.ndarray, n_started: int) -> int:
    """One pass (``EasyBackfill._schedule``); appends to ``started``, returns its length."""
    g, cap = s.ints[I_G], s.ints[I_CAP]
    i = 0
    blocked = False
    while i < s.ints[I_QLEN]:
        job = s.q_id[i]
        gpus = s.j_gpus[job]
        if gpus > g and -(-gpus // g) > cap:
            i += 1  # too big for the powered nodes: passed over, keeps its place
            continue
        where = _claim(s, job)
        if where == -2:
            blocked = True
            break
        _dequeue_at(s, i)
        _drop_shadow(s)  # the head starts
        _start(s, job, where, now_s)
        started[n_started] = job
        n_started += 1
    if not blocked:
        return n_started
    depth = s.ints[I_DEPTH]
    if depth and i + 1 < s.ints[I_QLEN]:
        m = min(depth, s.ints[I_QLEN] - i - 1)
        window = s.window[:m]
        for w in range(m):  # a snapshot: backfill takes jobs out of the queue
            window[w] = s.q_id[i + 1 + w]
        n_started = _backfill(s, s.q_id[i], window, now_s, started, n_started)
    return n_started


@_no_refcount
def _backfill(
    s: State, head: int, window: np.ndarray, now_s: float, started: np.ndarray, n_started: int
) -> int:
    g = s.ints[I_G]
    speed = s.floats[F_SPEED]
    have_shadow = False
    max_free = _max_free(s)
    refused_long_gpus = g + 1
    for job in window:
        if max_free == 0:
            return n_started
        gpus = s.j_gpus[job]
        if gpus <= g:
            if gpus > max_free:
                continue
            k = 1
        else:
            k = -(-gpus // g)
            if s.counts[g] < k:
                continue
        if not have_shadow:
            if not _kept_shadow(s, head, now_s):
                return -1  # E_HEAD: the caller's error
            have_shadow = True
        past_shadow = now_s + s.j_work[job] / speed > s.floats[F_SHADOW]
        if gpus <= g:
            if past_shadow and gpus >= refused_long_gpus:
                continue
            tight = s.ints[I_GOOD] <= s.ints[I_REQUIRED]
            node = _fit_keeping(s, gpus) if past_shadow and tight else _best_fit(s, gpus)
            if node < 0:
                refused_long_gpus = gpus
                continue
            _commit(s, node, gpus, past_shadow)
            _dequeue(s, job)
            _start(s, job, node, now_s)
        else:
            if past_shadow and s.ints[I_GOOD] - k < s.ints[I_REQUIRED]:
                continue
            node = _lowest(s, g)
            for _ in range(k):  # the idle nodes it takes, ascending
                _commit(s, node, g, past_shadow)
                node = _next_at(s, g, node)
            _dequeue(s, job)
            _start(s, job, -1, now_s)
        started[n_started] = job
        n_started += 1
        max_free = _max_free(s)
    return n_started


@_no_refcount
def _fit_keeping(s: State, gpus: int) -> int:
    """Best fit on a node the job cannot spoil for the head; idle nodes never (see easy.py)."""
    g = s.ints[I_G]
    for level in range(gpus, g):
        if not s.counts[level]:
            continue
        node = _lowest(s, level)
        while node >= 0:
            if not _breaks(s, node, gpus):
                return node
            node = _next_at(s, level, node)
    return -1


# ---- calls -----------------------------------------------------------------------------------


@_no_refcount
def submit(s: State, job: int, now_s: float, defer: bool, started: np.ndarray) -> int:
    """``Scheduler.submit`` of a job whose row is filled; placements started, or an E_* code."""
    if not _tick(s, now_s):
        return E_BACKWARDS
    g = s.ints[I_G]
    gpus = s.j_gpus[job]
    if gpus > g and -(-gpus // g) > s.ints[I_NODES]:
        return E_TOO_BIG
    if s.j_state[job] != NONE:
        return E_KNOWN
    if s.j_submit[job] > now_s:
        return E_FUTURE
    if s.ints[I_QLEN] or defer:
        _enqueue(s, job)
        return 0 if defer else _pass(s, now_s, started)
    if gpus <= g:
        node = _best_fit(s, gpus)
        if node >= 0:
            _drop_shadow(s)
            _start(s, job, node, now_s)
            started[0] = job
            return 1
    elif -(-gpus // g) <= s.ints[I_CAP] and s.counts[g] >= -(-gpus // g):
        _drop_shadow(s)
        _start(s, job, -1, now_s)
        started[0] = job
        return 1
    _enqueue(s, job)
    return 0


@_no_refcount
def _pass(s: State, now_s: float, started: np.ndarray) -> int:
    n = schedule_pass(s, now_s, started, 0)
    return E_HEAD if n < 0 else n


@_no_refcount
def finish(s: State, job: int, now_s: float, defer: bool, started: np.ndarray) -> int:
    """``Scheduler.finish``."""
    if not _tick(s, now_s):
        return E_BACKWARDS
    if s.j_state[job] != RUNNING:
        return E_NOT_HERE
    end_s = s.j_end[job]
    _release(s, job)
    if s.ints[I_HEAD] >= 0 and end_s > s.floats[F_SHADOW]:
        _drop_shadow(s)  # its GPUs were not counted free at the shadow time
    return _pass(s, now_s, started) if s.ints[I_QLEN] and not defer else 0


@_no_refcount
def withdraw(s: State, job: int, now_s: float, defer: bool, started: np.ndarray) -> int:
    """``Scheduler.withdraw``; E_NOT_HERE if the job is not queued."""
    if not _tick(s, now_s):
        return E_BACKWARDS
    if s.j_state[job] != QUEUED:
        return E_NOT_HERE
    _dequeue(s, job)
    s.j_state[job] = NONE
    if s.ints[I_HEAD] == job:
        _drop_shadow(s)
    return 0 if defer else _pass(s, now_s, started)


@_no_refcount
def schedule(s: State, now_s: float, started: np.ndarray) -> int:
    """``Scheduler.schedule``."""
    if not _tick(s, now_s):
        return E_BACKWARDS
    return _pass(s, now_s, started) if s.ints[I_QLEN] else 0


@_no_refcount
def requeue(s: State, job: int, now_s: float) -> int:
    """Queue a stopped job again (``_enqueue``), its row set to the work it still needs."""
    if s.j_submit[job] > now_s:
        return E_FUTURE
    _enqueue(s, job)
    return 0


@njit(cache=True)
def _running_in_start_order(s: State) -> np.ndarray:
    n = s.ints[I_ELEN]
    jobs = s.e_id[:n].copy()
    seqs = np.empty(n, dtype=np.int64)
    for i in range(n):
        seqs[i] = s.j_seq[jobs[i]]
    return jobs[np.argsort(seqs)]


@njit(cache=True)
def running_jobs(s: State) -> np.ndarray:
    """Running job ids in start order."""
    return _running_in_start_order(s)


@njit(cache=True)
def set_speed(s: State, speed: float, now_s: float) -> int:
    """``RunningJobs._reanchor`` after the checks: move every running job's end."""
    if not _tick(s, now_s):
        return E_BACKWARDS
    if not 0.0 < speed <= 1.0:
        return E_SPEED
    _drop_shadow(s)
    old = s.floats[F_SPEED]
    s.floats[F_SPEED] = speed
    n = s.ints[I_ELEN]
    for i in range(n):
        job = s.e_id[i]
        left_s = max(s.j_left[job] - (now_s - s.j_anchor[job]) * old, 0.0)
        s.j_end[job] = now_s + left_s / speed
        s.j_anchor[job], s.j_left[job] = now_s, left_s
    ends = np.empty(n, dtype=np.float64)
    for i in range(n):
        ends[i] = s.j_end[s.e_id[i]]
    # sort by (end_s, job id): by id, then stably by end
    by_id = np.argsort(s.e_id[:n])
    ids, ends = s.e_id[:n][by_id], ends[by_id]
    order = np.argsort(ends, kind="mergesort")
    for i in range(n):
        s.e_id[i] = ids[order[i]]
        s.e_end[i] = ends[order[i]]
    return 0


@_no_refcount
def _power_off(s: State, node: int) -> None:
    _bit_off(s, s.ints[I_G], node)
    s.powered[node] = 0


@njit(cache=True)
def set_cap(s: State, cap: int, now_s: float, preempted: np.ndarray) -> int:
    """``_set_cap``: power nodes on or off; the jobs preempted go to ``preempted``."""
    if not _tick(s, now_s):
        return E_BACKWARDS
    if not 0 <= cap <= s.ints[I_NODES]:
        return E_CAP
    _drop_shadow(s)
    g = s.ints[I_G]
    n_pre = 0
    current = s.ints[I_CAP]
    if cap > current:
        todo = cap - current
        for node in range(s.ints[I_NODES]):  # the lowest-id unpowered nodes
            if todo == 0:
                break
            if not s.powered[node]:
                s.powered[node] = 1
                _bit_on(s, g, node)
                todo -= 1
    elif cap < current:
        excess = current - cap
        off = min(excess, s.counts[g])
        node = _lowest(s, g) if off else -1
        for _ in range(off):
            nxt = _next_at(s, g, node)
            _power_off(s, node)
            node = nxt
        excess -= off
        if excess:
            n_pre = _shed_busy(s, excess, preempted)
    s.ints[I_CAP] = cap
    return n_pre


@njit(cache=True)
def _nodes_of(s: State, job: int) -> np.ndarray:
    k = s.j_k[job]
    nodes = np.empty(k, dtype=np.int64)
    node = s.j_node[job]
    for i in range(k):
        nodes[i] = node
        node = s.gang_next[node]
    return nodes


@njit(cache=True)
def _shed_busy(s: State, excess: int, preempted: np.ndarray) -> int:
    """Power off ``excess`` busy nodes, preempting their jobs (``RunningJobs._shed_busy``)."""
    g = s.ints[I_G]
    nodes_n = s.ints[I_NODES]
    jobs = _running_in_start_order(s)
    n = jobs.shape[0]
    # a job's rank: larger = preempted first (priority, then start order); here an ordinal
    prio = np.empty(n, dtype=np.int64)
    for i in range(n):
        prio[i] = s.j_prio[jobs[i]]
    rank_order = np.argsort(prio, kind="mergesort")  # stable: start order within a priority
    rank = np.empty(n, dtype=np.int64)
    for r in range(n):
        rank[rank_order[r]] = r
    # holders per node, and each node's least preemptable holder
    holders = np.zeros(nodes_n, dtype=np.int64)
    min_rank = np.full(nodes_n, n, dtype=np.int64)
    for i in range(n):
        job = jobs[i]
        for node in _nodes_of(s, job):
            holders[node] += 1
            if rank[i] < min_rank[node]:
                min_rank[node] = rank[i]
    count = 0
    for node in range(nodes_n):
        if holders[node]:
            count += 1
    busy = np.empty(count, dtype=np.int64)
    keys = np.empty(count, dtype=np.int64)
    c = 0
    for node in range(nodes_n):
        if holders[node]:
            busy[c] = node
            keys[c] = min_rank[node]
            c += 1
    # (min rank, node) descending: busy is ascending, so a stable sort by rank, reversed
    ranked = busy[np.argsort(keys, kind="mergesort")][::-1]
    n_pre = 0
    for node in ranked:
        if excess == 0:
            return n_pre
        if not holders[node]:
            continue  # emptied, and powered off, with a gang job shed before
        on_node = np.empty(holders[node], dtype=np.int64)
        m = 0
        for i in range(n - 1, -1, -1):  # by rank, descending
            job = jobs[rank_order[i]]
            if s.j_state[job] == RUNNING and _holds(s, job, node):
                on_node[m] = job
                m += 1
        for j in range(m):
            job = on_node[j]
            freed = _nodes_of(s, job)
            _release(s, job)
            preempted[n_pre] = job
            n_pre += 1
            for f in freed:
                holders[f] -= 1
                if excess and s.free[f] == g:
                    _power_off(s, f)
                    excess -= 1
    if excess:
        return E_SHED
    return n_pre


@_no_refcount
def _holds(s: State, job: int, node: int) -> bool:
    n = s.j_node[job]
    for _ in range(s.j_k[job]):
        if n == node:
            return True
        n = s.gang_next[n]
    return False


@njit(cache=True)
def vacate(s: State, node: int, now_s: float, preempted: np.ndarray) -> int:
    """``_vacate``: stop every job on ``node``, latest start first."""
    if not _tick(s, now_s):
        return E_BACKWARDS
    if not 0 <= node < s.ints[I_NODES]:
        return E_NODE
    _drop_shadow(s)
    jobs = _running_in_start_order(s)
    n_pre = 0
    for i in range(jobs.shape[0] - 1, -1, -1):
        job = jobs[i]
        if _holds(s, job, node):
            _release(s, job)
            preempted[n_pre] = job
            n_pre += 1
    return n_pre


@_no_refcount
def shadow_time(s: State, head: int, now_s: float) -> float:
    """The head's shadow time computed afresh, NaN if it never fits; drops the kept one."""
    if not _shadow(s, head, now_s):
        return np.nan
    return s.floats[F_SHADOW]


@_no_refcount
def kept_shadow(s: State, node: int) -> int:
    """Free GPUs of ``node`` at the kept reservation's shadow time."""
    return _at_shadow(s, node)
