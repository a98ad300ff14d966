"""The AI side's job loop compiled: arrivals, completions, abandonments and passes in machine code.

The rules are those of :class:`~sim.model.ai_clock.AiClock`, :class:`~sim.model.hosting.AiHosting`
and :class:`~sim.model.cluster.GpuCluster` (read those for the why), over arrays: the clock's
heap, every job's record as a row of two tables (``ji`` integers, ``jf`` floats), the logs
as columns tagged with their cluster, and each cluster's scheduler state
(:mod:`sim.model.scheduling.kernel`). ``sim.model.compiled_ai`` drives it from SimPy: one call
runs every AI event before SimPy's next event, another catches the AI side up when a site
command comes. Outputs are the Python loop's, bit for bit (tests compare every table).

What cannot happen in machine code is handed back as *requests*, in the order the Python
loop made them: a SimPy event that wakes the loop at a time, or one that runs a cluster's
pass at the end of the instant. A call also stops, before an event, when an array may
overflow during it (``ROOM``); the caller grows the arrays and calls again.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.model.cluster import ON_DEMAND
from sim.model.scheduling import kernel as sk

# ---- ci: the loop's integers -------------------------------------------------------------
C_HEAP = 0  # events in the heap
C_SEQ = 1  # the next event's sequence number (SimPy's order among simultaneous events)
C_PROCESSED = 2  # events processed
C_LOOPING = 3  # 1 while processing events before SimPy's next one
C_DEFERRED = 4  # passes deferred to the end of this instant
C_REQUESTS = 5  # requests for the caller
C_NEXT_ID = 6  # the next job id
C_DAY = 7  # the day whose arrivals are being submitted
C_CURSOR = 8  # the next arrival to schedule
C_BUSY = 9  # entries of the busy log
C_QUEUE = 10  # entries of the queue log
C_SEGS = 11  # entries of the billed-segment log
C_PREEMPTS = 12  # entries of the preemption log
C_ERROR = 13  # a scheduler error code, 0 if none
C_MARGIN = 14  # per cluster, the most arrivals at one instant, plus a few (see margin)
N_CI = 15
# ---- cf ------------------------------------------------------------------------------------
F_NOW = 0  # the time of the event being processed, or of the command
F_DRIVER = 1  # when the pending driver is meant to fire (inf: none)
F_HORIZON = 2
N_CF = 3
# ---- event kinds, requests, statuses, results ----------------------------------------------
ARRIVAL, WINDOW_END, COMPLETE, ABANDON = 0, 1, 2, 3
WAKE, PASS = 0, 1
QUEUED, RUNNING, COMPLETED, ABANDONED = 0, 1, 2, 3
OK, ROOM, FAILED = 0, 1, 2
# ---- ji: a job's integers ------------------------------------------------------------------
J_CLASS, J_GPUS, J_PRIO, J_CONTRACT, J_ALLOC, J_PREEMPTS, J_STATUS = 0, 1, 2, 3, 4, 5, 6
J_COMPLETION, J_CLUSTER, J_NEXT_ARRIVAL, J_ARRIVING = 7, 8, 9, 10
N_JI = 11
# ---- jf: a job's floats ----------------------------------------------------------------------
J_SUBMIT, J_DURATION, J_PATIENCE, J_PRICE, J_CHECKPOINT, J_REMAINING = 0, 1, 2, 3, 4, 5
J_FIRST, J_END, J_RUN, J_LOST, J_BILLED, J_SEGMENT = 6, 7, 8, 9, 10, 11
N_JF = 12
# ---- cl: a cluster's integers ----------------------------------------------------------------
L_PASS_DUE, L_WAITING, L_FIRST_ARRIVAL, L_LAST_ARRIVAL, L_SPEEDS = 0, 1, 2, 3, 4
N_CL = 5


class Loop(NamedTuple):
    """The AI side of a run as arrays (see the module docstring)."""

    ci: np.ndarray  # int64[N_CI]
    cf: np.ndarray  # float64[N_CF]
    h_t: np.ndarray  # the clock's heap: time, sequence number, kind, value
    h_seq: np.ndarray
    h_kind: np.ndarray
    h_val: np.ndarray
    deferred: np.ndarray  # clusters whose pass waits for the end of this instant
    r_kind: np.ndarray  # requests for the caller: WAKE at r_t, or PASS of cluster r_c
    r_t: np.ndarray
    r_c: np.ndarray
    days_s: np.ndarray  # day boundaries; arrivals of day d are first_arrival[d] to [d + 1]
    first_arrival: np.ndarray
    a_t: np.ndarray  # every drawn arrival: time, class, GPUs, work, patience
    a_class: np.ndarray
    a_gpus: np.ndarray
    a_work: np.ndarray
    a_patience: np.ndarray
    t_cluster: np.ndarray  # per class: its cluster, price, checkpoint (NaN: none), priority,
    t_price: np.ndarray  # contract (-1: none)
    t_checkpoint: np.ndarray
    t_prio: np.ndarray
    t_contract: np.ndarray
    contracted: np.ndarray  # per contract: GPUs, -1 if not classified here
    reserved: np.ndarray  # [cluster, contract]: GPUs of its queued or running tenant jobs
    cl: np.ndarray  # [cluster, N_CL]
    speed: np.ndarray  # per cluster: work-seconds per second now
    speed_t: np.ndarray  # [cluster, change]: the speed log (first entry 0 s, 1.0)
    speed_v: np.ndarray
    ji: np.ndarray  # [N_JI, job]
    jf: np.ndarray  # [N_JF, job]
    b_t: np.ndarray  # busy log: time, GPUs allocated (+) or freed (-), cluster
    b_d: np.ndarray
    b_c: np.ndarray
    q_t: np.ndarray  # queue log: time, jobs joining (+1) or leaving (-1), cluster
    q_d: np.ndarray
    q_c: np.ndarray
    s_start: np.ndarray  # billed segments: start, end of kept work, GPU-s billed, price, cluster
    s_end: np.ndarray
    s_billed: np.ndarray
    s_price: np.ndarray
    s_c: np.ndarray
    p_t: np.ndarray  # preemptions: time, GPU-s of work lost, cluster
    p_lost: np.ndarray
    p_c: np.ndarray
    out: np.ndarray  # scratch: jobs started or stopped by one scheduler call


_fast = njit(cache=True, _nrt=False)  # type: ignore[call-overload]
# functions that take the tuple of scheduler states (its members are counted if not _nrt)


# ---- the clock -------------------------------------------------------------------------------


@_fast
def _less(lp: Loop, a: int, b: int) -> bool:
    ta, tb = lp.h_t[a], lp.h_t[b]
    return ta < tb or (ta == tb and lp.h_seq[a] < lp.h_seq[b])


@_fast
def _swap(lp: Loop, a: int, b: int) -> None:
    lp.h_t[a], lp.h_t[b] = lp.h_t[b], lp.h_t[a]
    lp.h_seq[a], lp.h_seq[b] = lp.h_seq[b], lp.h_seq[a]
    lp.h_kind[a], lp.h_kind[b] = lp.h_kind[b], lp.h_kind[a]
    lp.h_val[a], lp.h_val[b] = lp.h_val[b], lp.h_val[a]


@_fast
def after(lp: Loop, delay: float, kind: int, value: int) -> int:
    """An event at ``now + delay`` (as SimPy computes a timeout's time); its sequence number."""
    t_s = lp.cf[F_NOW] + delay
    seq = lp.ci[C_SEQ]
    lp.ci[C_SEQ] = seq + 1
    i = lp.ci[C_HEAP]
    lp.ci[C_HEAP] = i + 1
    lp.h_t[i], lp.h_seq[i], lp.h_kind[i], lp.h_val[i] = t_s, seq, kind, value
    while i > 0:
        parent = (i - 1) >> 1
        if not _less(lp, i, parent):
            break
        _swap(lp, i, parent)
        i = parent
    if t_s < lp.cf[F_DRIVER] and not lp.ci[C_LOOPING]:
        lp.cf[F_DRIVER] = t_s  # wake the driver earlier (AiClock._wake)
        _request(lp, WAKE, t_s, -1)
    return seq


@_fast
def _pop(lp: Loop) -> None:
    """Drop the heap's top (the caller read it)."""
    n = lp.ci[C_HEAP] - 1
    lp.ci[C_HEAP] = n
    lp.h_t[0], lp.h_seq[0] = lp.h_t[n], lp.h_seq[n]
    lp.h_kind[0], lp.h_val[0] = lp.h_kind[n], lp.h_val[n]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= n:
            return
        if child + 1 < n and _less(lp, child + 1, child):
            child += 1
        if not _less(lp, child, i):
            return
        _swap(lp, i, child)
        i = child


@_fast
def _request(lp: Loop, kind: int, t_s: float, cluster: int) -> None:
    n = lp.ci[C_REQUESTS]
    lp.r_kind[n], lp.r_t[n], lp.r_c[n] = kind, t_s, cluster
    lp.ci[C_REQUESTS] = n + 1


@_fast
def _alone(lp: Loop) -> bool:
    """True if nothing else can change a cluster at this instant (``AiClock.alone``)."""
    return lp.ci[C_LOOPING] == 1 and (lp.ci[C_HEAP] == 0 or lp.h_t[0] > lp.cf[F_NOW])


@_fast
def _pass_at_end(lp: Loop, c: int) -> None:
    """Run cluster ``c``'s pass at the end of this instant (``GpuCluster._pass_at_end``)."""
    lp.cl[c, L_PASS_DUE] = 1
    if lp.ci[C_LOOPING]:
        lp.deferred[lp.ci[C_DEFERRED]] = c
        lp.ci[C_DEFERRED] += 1
    else:
        _request(lp, PASS, lp.cf[F_NOW], c)


@_fast
def margin(lp: Loop, scheds: tuple[sk.State, ...]) -> int:
    """Most entries one event or command can add to a log or the heap, now.

    A pass starts at most the jobs queued, arriving at its instant or stopped by its caps and
    failures (at most those running); so the bound is the jobs queued and running plus, per
    cluster, the most arrivals drawn for one instant (``C_MARGIN``, with a few to spare).
    It follows the load rather than the installed GPUs, so a large idle cluster does not
    make the arrays large.
    """
    most = lp.ci[C_MARGIN]
    for s in scheds:
        most += s.ints[sk.I_QLEN] + s.ints[sk.I_ELEN]
    return most


@_fast
def _has_room(lp: Loop, margin: int) -> bool:
    """True if every growing array holds ``margin`` more entries (twice, where it may take two)."""
    return (
        lp.ci[C_HEAP] + 2 * margin <= lp.h_t.shape[0]
        and lp.ci[C_REQUESTS] + 2 * margin <= lp.r_kind.shape[0]
        and lp.ci[C_BUSY] + 2 * margin <= lp.b_t.shape[0]
        and lp.ci[C_QUEUE] + 2 * margin <= lp.q_t.shape[0]
        and lp.ci[C_SEGS] + margin <= lp.s_start.shape[0]
        and lp.ci[C_PREEMPTS] + margin <= lp.p_t.shape[0]
    )


# ---- the day's arrivals (AiHosting) ------------------------------------------------------------


@_fast
def _wait_for_next(lp: Loop, now: float) -> None:
    day = lp.ci[C_DAY]
    i = lp.ci[C_CURSOR]
    if i >= lp.first_arrival[day + 1]:
        # wait for the end of the day before the next one
        after(lp, max(lp.days_s[day + 1] - now, 0.0), WINDOW_END, -1)
    else:
        lp.ci[C_CURSOR] = i + 1
        after(lp, lp.a_t[i] - now, ARRIVAL, i)


@_fast
def start(lp: Loop) -> int:
    """Submit the first day's arrivals (``AiHosting.start``); ROOM if arrays must grow first."""
    if not _has_room(lp, lp.ci[C_MARGIN]):
        return ROOM
    open_window(lp, 0)
    return OK


@_fast
def open_window(lp: Loop, day: int) -> None:
    """Submit day ``day``'s arrivals, from the first (``AiHosting._open_window``)."""
    lp.ci[C_DAY] = day
    lp.ci[C_CURSOR] = lp.first_arrival[day]
    _wait_for_next(lp, lp.cf[F_NOW])


@_fast
def _arrival(lp: Loop, scheds: tuple[sk.State, ...], i: int) -> None:
    now = lp.cf[F_NOW]
    _wait_for_next(lp, now)  # first: the submission must be this event's last change
    k = lp.a_class[i]
    job = lp.ci[C_NEXT_ID]
    lp.ci[C_NEXT_ID] = job + 1
    c = lp.t_cluster[k]
    ji, jf = lp.ji, lp.jf
    ji[J_CLASS, job], ji[J_GPUS, job], ji[J_PRIO, job] = k, lp.a_gpus[i], lp.t_prio[k]
    ji[J_CONTRACT, job], ji[J_ALLOC, job], ji[J_PREEMPTS, job] = lp.t_contract[k], 0, 0
    ji[J_STATUS, job], ji[J_COMPLETION, job], ji[J_CLUSTER, job] = QUEUED, -1, c
    ji[J_ARRIVING, job] = 0
    jf[J_SUBMIT, job], jf[J_DURATION, job] = now, lp.a_work[i]
    jf[J_PATIENCE, job] = lp.a_patience[i]
    jf[J_PRICE, job], jf[J_CHECKPOINT, job] = lp.t_price[k], lp.t_checkpoint[k]
    jf[J_FIRST, job], jf[J_END, job], jf[J_RUN, job] = np.nan, np.nan, 0.0
    jf[J_LOST, job], jf[J_BILLED, job], jf[J_SEGMENT, job] = 0.0, 0.0, np.nan
    arrive(lp, scheds, job, True)


@_fast
def _window_ends(lp: Loop) -> None:
    day = lp.ci[C_DAY]
    if lp.days_s[day + 1] < lp.cf[F_HORIZON]:
        open_window(lp, day + 1)


# ---- a cluster (GpuCluster) -------------------------------------------------------------------


@_fast
def arrive(lp: Loop, scheds: tuple[sk.State, ...], job: int, last: bool) -> None:
    """A job whose row is filled arrives now (``GpuCluster.arrive``)."""
    c = lp.ji[J_CLUSTER, job]
    lp.jf[J_REMAINING, job] = lp.jf[J_DURATION, job]
    if not last or lp.cl[c, L_PASS_DUE] or not _alone(lp):
        # other changes may come at this instant: the job joins at its end
        lp.ji[J_NEXT_ARRIVAL, job] = -1
        tail = lp.cl[c, L_LAST_ARRIVAL]
        if tail < 0:
            lp.cl[c, L_FIRST_ARRIVAL] = job
        else:
            lp.ji[J_NEXT_ARRIVAL, tail] = job
        lp.cl[c, L_LAST_ARRIVAL] = job
        if not lp.cl[c, L_PASS_DUE]:
            _pass_at_end(lp, c)
        return
    if lp.ji[J_CONTRACT, job] >= 0:
        _classify(lp, c, job)
    now = lp.cf[F_NOW]
    s = scheds[c]
    _sched_row(lp, s, job)
    n = sk.submit(s, job, now, False, lp.out)
    if n < 0:
        lp.ci[C_ERROR] = n
        return
    if n == 1 and lp.out[0] == job:  # it starts, nothing else does
        _run(lp, s, c, job, now)
        return
    lp.ji[J_ARRIVING, job] = 1
    _started(lp, s, c, n, now)
    lp.ji[J_ARRIVING, job] = 0
    if lp.ji[J_STATUS, job] == QUEUED:
        _waits(lp, c, job, now)


@_fast
def _sched_row(lp: Loop, s: sk.State, job: int) -> None:
    """The scheduler's row of a job that joins the queue now (``Job(...)``)."""
    s.j_gpus[job] = lp.ji[J_GPUS, job]
    s.j_work[job] = lp.jf[J_REMAINING, job]
    s.j_prio[job] = lp.ji[J_PRIO, job]
    s.j_submit[job] = lp.jf[J_SUBMIT, job]


@_fast
def _classify(lp: Loop, c: int, job: int) -> None:
    k = lp.ji[J_CONTRACT, job]
    held = lp.reserved[c, k] + lp.ji[J_GPUS, job]
    contracted = lp.contracted[k]
    if contracted >= 0 and held > contracted:
        lp.ji[J_PRIO, job], lp.ji[J_CONTRACT, job] = ON_DEMAND, -1
    else:
        lp.reserved[c, k] = held


@_fast
def end_of_instant(lp: Loop, scheds: tuple[sk.State, ...], c: int) -> None:
    """Apply this instant's arrivals to cluster ``c``, then run one pass.

    The node failures and caps of the instant come first, from the caller
    (``GpuCluster._end_of_instant``); it clears the pass's due flag before them.
    """
    lp.cl[c, L_PASS_DUE] = 0
    now = lp.cf[F_NOW]
    s = scheds[c]
    first = lp.cl[c, L_FIRST_ARRIVAL]
    if first < 0:
        n = sk.schedule(s, now, lp.out)
        if n < 0:
            lp.ci[C_ERROR] = n
        elif n:
            _started(lp, s, c, n, now)
        return
    lp.cl[c, L_FIRST_ARRIVAL], lp.cl[c, L_LAST_ARRIVAL] = -1, -1
    job = first
    while job >= 0:  # in arrival order, after the instant's releases
        if lp.ji[J_CONTRACT, job] >= 0:
            _classify(lp, c, job)
        lp.ji[J_ARRIVING, job] = 1
        job = lp.ji[J_NEXT_ARRIVAL, job]
    job = first
    n = 0
    while job >= 0:
        nxt = lp.ji[J_NEXT_ARRIVAL, job]
        _sched_row(lp, s, job)
        n = sk.submit(s, job, now, nxt >= 0, lp.out)  # the last one runs the pass
        if n < 0:
            lp.ci[C_ERROR] = n
            return
        job = nxt
    if n:
        _started(lp, s, c, n, now)
    job = first
    while job >= 0:
        lp.ji[J_ARRIVING, job] = 0
        if lp.ji[J_STATUS, job] == QUEUED:
            _waits(lp, c, job, now)
        job = lp.ji[J_NEXT_ARRIVAL, job]


@_fast
def _waits(lp: Loop, c: int, job: int, now: float) -> None:
    _queue_change(lp, c, now, 1)
    patience = lp.jf[J_PATIENCE, job]
    if math.isfinite(patience):
        after(lp, patience, ABANDON, job)


@_fast
def _queue_change(lp: Loop, c: int, t_s: float, delta: int) -> None:
    lp.cl[c, L_WAITING] += delta
    n = lp.ci[C_QUEUE]
    lp.q_t[n], lp.q_d[n], lp.q_c[n] = t_s, delta, c
    lp.ci[C_QUEUE] = n + 1


@_fast
def _started(lp: Loop, s: sk.State, c: int, n: int, now: float) -> None:
    """Start the ``n`` jobs the scheduler placed (in ``out``); arriving ones never queued."""
    for i in range(n):
        job = lp.out[i]
        if not lp.ji[J_ARRIVING, job]:
            _queue_change(lp, c, now, -1)
        _run(lp, s, c, job, now)


@_fast
def _run(lp: Loop, s: sk.State, c: int, job: int, now: float) -> None:
    ji, jf = lp.ji, lp.jf
    if jf[J_FIRST, job] != jf[J_FIRST, job]:  # NaN: never started before
        jf[J_FIRST, job] = now
    ji[J_STATUS, job] = RUNNING
    gpus = ji[J_GPUS, job]
    g = s.ints[sk.I_G]
    allocated = gpus if gpus <= g else g * s.j_k[job]
    ji[J_ALLOC, job] = allocated
    jf[J_SEGMENT, job] = now
    n = lp.ci[C_BUSY]
    lp.b_t[n], lp.b_d[n], lp.b_c[n] = now, allocated, c
    lp.ci[C_BUSY] = n + 1
    ji[J_COMPLETION, job] = after(lp, jf[J_REMAINING, job] / lp.speed[c], COMPLETE, job)


@_fast
def _book_segment(lp: Loop, c: int, job: int, end_s: float, kept_s: float) -> None:
    ji, jf = lp.ji, lp.jf
    start_s, allocated = jf[J_SEGMENT, job], ji[J_ALLOC, job]
    jf[J_RUN, job] += end_s - start_s
    if ji[J_PRIO, job] == ON_DEMAND:
        billed = allocated * kept_s
        jf[J_BILLED, job] += billed
    else:
        billed = 0.0  # reserved work is paid by its contract
    n = lp.ci[C_SEGS]
    m = lp.cl[c, L_SPEEDS]
    lp.s_start[n] = start_s
    if lp.speed_t[c, m - 1] <= start_s:  # no speed change since: the common case
        lp.s_end[n] = start_s + kept_s / lp.speed_v[c, m - 1]
    else:
        lp.s_end[n] = _wall_after(lp, c, start_s, kept_s)
    lp.s_billed[n], lp.s_price[n], lp.s_c[n] = billed, jf[J_PRICE, job], c
    lp.ci[C_SEGS] = n + 1
    b = lp.ci[C_BUSY]
    lp.b_t[b], lp.b_d[b], lp.b_c[b] = end_s, -allocated, c
    lp.ci[C_BUSY] = b + 1


@_fast
def _close_segment(lp: Loop, c: int, job: int, end_s: float, done_s: float, kept_s: float) -> None:
    lp.jf[J_LOST, job] += done_s - kept_s
    lp.jf[J_REMAINING, job] -= kept_s
    _book_segment(lp, c, job, end_s, kept_s)


@_fast
def _bisect_right(values: np.ndarray, n: int, x: float) -> int:
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if x < values[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@_fast
def _work_s(lp: Loop, c: int, since_s: float, until_s: float) -> float:
    times, speeds, m = lp.speed_t[c], lp.speed_v[c], lp.cl[c, L_SPEEDS]
    if times[m - 1] <= since_s:
        return (until_s - since_s) * speeds[m - 1]
    i = _bisect_right(times, m, since_s)
    work = (times[i] - since_s) * speeds[i - 1]
    for j in range(i + 1, m):
        work += (times[j] - times[j - 1]) * speeds[j - 1]
    return work + (until_s - times[m - 1]) * speeds[m - 1]


@_fast
def _wall_after(lp: Loop, c: int, since_s: float, work_s: float) -> float:
    times, speeds, m = lp.speed_t[c], lp.speed_v[c], lp.cl[c, L_SPEEDS]
    if times[m - 1] <= since_s:
        return since_s + work_s / speeds[m - 1]
    t_s = since_s
    for j in range(_bisect_right(times, m, since_s), m):
        piece = (times[j] - t_s) * speeds[j - 1]
        if work_s <= piece:
            return t_s + work_s / speeds[j - 1]
        work_s -= piece
        t_s = times[j]
    return t_s + work_s / speeds[m - 1]


@_fast
def _kept_work_s(lp: Loop, c: int, job: int, now_s: float) -> float:
    jf = lp.jf
    done_before = jf[J_DURATION, job] - jf[J_REMAINING, job]
    done_now = done_before + _work_s(lp, c, jf[J_SEGMENT, job], now_s)
    interval = jf[J_CHECKPOINT, job]
    if interval != interval:  # NaN: no checkpoints
        return 0.0
    return max(math.floor(done_now / interval) * interval, done_before) - done_before


@_fast
def _complete(lp: Loop, scheds: tuple[sk.State, ...], job: int, seq: int) -> None:
    ji, jf = lp.ji, lp.jf
    if ji[J_COMPLETION, job] != seq:
        return  # stale: the job was preempted or retimed after this was scheduled
    now = lp.cf[F_NOW]
    c = ji[J_CLUSTER, job]
    _book_segment(lp, c, job, now, jf[J_REMAINING, job])
    jf[J_REMAINING, job] = 0.0
    ji[J_COMPLETION, job] = -1
    ji[J_STATUS, job], jf[J_END, job] = COMPLETED, now
    if ji[J_CONTRACT, job] >= 0:
        lp.reserved[c, ji[J_CONTRACT, job]] -= ji[J_GPUS, job]
    n = sk.finish(scheds[c], job, now, True, lp.out)
    if n < 0:
        lp.ci[C_ERROR] = n
        return
    _changed(lp, scheds, c)


@_fast
def _abandon(lp: Loop, scheds: tuple[sk.State, ...], job: int) -> None:
    ji, jf = lp.ji, lp.jf
    if ji[J_STATUS, job] != QUEUED or jf[J_FIRST, job] == jf[J_FIRST, job]:
        return  # it started in time (patience applies before the first start only)
    now = lp.cf[F_NOW]
    c = ji[J_CLUSTER, job]
    n = sk.withdraw(scheds[c], job, now, True, lp.out)
    if n < 0 and n != sk.E_NOT_HERE:
        lp.ci[C_ERROR] = n
        return
    ji[J_STATUS, job], jf[J_END, job] = ABANDONED, now
    if ji[J_CONTRACT, job] >= 0:
        lp.reserved[c, ji[J_CONTRACT, job]] -= ji[J_GPUS, job]
    _queue_change(lp, c, now, -1)
    _changed(lp, scheds, c)


@_fast
def _changed(lp: Loop, scheds: tuple[sk.State, ...], c: int) -> None:
    if lp.cl[c, L_PASS_DUE] or not lp.cl[c, L_WAITING]:
        return
    if _alone(lp):
        end_of_instant(lp, scheds, c)
    else:
        _pass_at_end(lp, c)


# ---- commands' parts (GpuCluster) ------------------------------------------------------------


@_fast
def _preempt(lp: Loop, scheds: tuple[sk.State, ...], c: int, n: int) -> bool:
    """Book the ``n`` jobs a cap or failure stopped (in ``out``) and queue them again."""
    now = lp.cf[F_NOW]
    s = scheds[c]
    ji, jf = lp.ji, lp.jf
    for i in range(n):
        job = lp.out[i]
        done = _work_s(lp, c, jf[J_SEGMENT, job], now)
        kept = _kept_work_s(lp, c, job, now)
        _close_segment(lp, c, job, now, done, kept)
        ji[J_STATUS, job] = QUEUED
        ji[J_PREEMPTS, job] += 1
        ji[J_COMPLETION, job] = -1
        p = lp.ci[C_PREEMPTS]
        lp.p_t[p], lp.p_lost[p], lp.p_c[p] = now, (done - kept) * ji[J_ALLOC, job], c
        lp.ci[C_PREEMPTS] = p + 1
        _queue_change(lp, c, now, 1)
        _sched_row(lp, s, job)
        code = sk.requeue(s, job, now)
        if code < 0:
            lp.ci[C_ERROR] = code
            return False
    return True


@njit(cache=True)  # with reference counting: a cap's shedding allocates its ranking
def command_pass(
    lp: Loop,
    scheds: tuple[sk.State, ...],
    c: int,
    failed: np.ndarray,
    caps: np.ndarray,
    stopped: np.ndarray,
) -> int:
    """Cluster ``c``'s pass at the end of a command's instant (``GpuCluster._end_of_instant``).

    The instant's node failures, then its caps, stop jobs (their numbers go to ``stopped``,
    failures first, for the caller's event log); then its arrivals join and one pass runs.
    ROOM (nothing done) if arrays must grow first.
    """
    if not _has_room(lp, margin(lp, scheds)):
        return ROOM
    lp.cl[c, L_PASS_DUE] = 0
    now = lp.cf[F_NOW]
    s = scheds[c]
    for i in range(failed.shape[0]):  # before the caps: the failure frees its node first
        n = sk.vacate(s, failed[i], now, lp.out)
        if n < 0 or not _preempt(lp, scheds, c, n):
            lp.ci[C_ERROR] = min(n, -1)
            return FAILED
        stopped[i] = n
    for i in range(caps.shape[0]):
        n = sk.set_cap(s, caps[i], now, lp.out)
        if n < 0 or not _preempt(lp, scheds, c, n):
            lp.ci[C_ERROR] = min(n, -1)
            return FAILED
        stopped[failed.shape[0] + i] = n
    end_of_instant(lp, scheds, c)
    return FAILED if lp.ci[C_ERROR] else OK


@njit(cache=True)
def set_speed(lp: Loop, scheds: tuple[sk.State, ...], c: int, factor: float) -> int:
    """From now on cluster ``c``'s jobs progress at ``factor`` (``GpuCluster.set_speed``).

    The caller caught the clock up and logged the speed. ROOM (nothing done) if arrays must
    grow first.
    """
    if not _has_room(lp, margin(lp, scheds)):
        return ROOM
    s = scheds[c]
    now = lp.cf[F_NOW]
    lp.speed[c] = factor
    code = sk.set_speed(s, factor, now)
    if code < 0:
        lp.ci[C_ERROR] = code
        return FAILED
    for job in sk.running_jobs(s):  # in start order, as the scheduler reports them moved
        left = s.j_left[job] - (now - s.j_anchor[job]) * s.floats[sk.F_SPEED]
        lp.ji[J_COMPLETION, job] = after(lp, left / factor, COMPLETE, job)
    if s.ints[sk.I_QLEN] and not lp.cl[c, L_PASS_DUE]:
        _pass_at_end(lp, c)  # the reservation moved: a pass may backfill more
    return OK


@_fast
def close(lp: Loop, c: int, horizon_s: float) -> int:
    """Book the open segments of cluster ``c``'s running jobs as kept up to the horizon.

    ROOM (nothing done) if the segment and busy logs cannot hold every running job.
    """
    running = 0
    for job in range(lp.ci[C_NEXT_ID]):
        running += lp.ji[J_STATUS, job] == RUNNING
    if lp.ci[C_SEGS] + running > lp.s_start.shape[0] or lp.ci[C_BUSY] + running > lp.b_t.shape[0]:
        return ROOM
    for job in range(lp.ci[C_NEXT_ID]):
        if lp.ji[J_STATUS, job] == RUNNING and lp.ji[J_CLUSTER, job] == c:
            done = _work_s(lp, c, lp.jf[J_SEGMENT, job], horizon_s)
            _close_segment(lp, c, job, horizon_s, done, done)
    return OK


# ---- the loop ----------------------------------------------------------------------------


@_fast
def _dispatch(lp: Loop, scheds: tuple[sk.State, ...], kind: int, value: int, seq: int) -> None:
    if kind == COMPLETE:
        _complete(lp, scheds, value, seq)
    elif kind == ARRIVAL:
        _arrival(lp, scheds, value)
    elif kind == ABANDON:
        _abandon(lp, scheds, value)
    else:
        _window_ends(lp)


@_fast
def _process(lp: Loop, scheds: tuple[sk.State, ...], limit_s: float, at_limit: bool) -> int:
    """Process the events before ``limit_s`` (and at it, if ``at_limit``), in order.

    In the loop, an instant's deferred passes run once its last event is processed; outside
    it (catching up to a command) passes are requests, so none is ever deferred.
    """
    while lp.ci[C_HEAP] and (lp.h_t[0] < limit_s or (at_limit and lp.h_t[0] == limit_s)):
        if not _has_room(lp, margin(lp, scheds)):
            return ROOM
        t_s, seq, kind, value = lp.h_t[0], lp.h_seq[0], lp.h_kind[0], lp.h_val[0]
        _pop(lp)
        lp.cf[F_NOW] = t_s
        lp.ci[C_PROCESSED] += 1
        _dispatch(lp, scheds, kind, value, seq)
        if lp.ci[C_ERROR]:
            return FAILED
        if lp.ci[C_DEFERRED] and (lp.ci[C_HEAP] == 0 or lp.h_t[0] > t_s):
            # the instant is over: its passes, which may add events due now
            n = lp.ci[C_DEFERRED]
            lp.ci[C_DEFERRED] = 0
            for i in range(n):
                end_of_instant(lp, scheds, lp.deferred[i])
            if lp.ci[C_ERROR]:
                return FAILED
    return OK


@_fast
def run_before(lp: Loop, scheds: tuple[sk.State, ...], limit_s: float) -> int:
    """Process every event before ``limit_s``, each instant's deferred passes at its end."""
    lp.ci[C_LOOPING] = 1
    status = _process(lp, scheds, limit_s, False)
    lp.ci[C_LOOPING] = 0
    return status


@_fast
def catch_up_now(lp: Loop, scheds: tuple[sk.State, ...], now_s: float) -> int:
    """Process the events due at ``now_s`` as changes simultaneous with a command.

    The caller ran :func:`run_before` up to ``now_s`` first and set the clock's now.
    """
    return _process(lp, scheds, now_s, True)
