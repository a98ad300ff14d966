"""Replay a hybrid run's scheduler calls on the Python scheduler and on the compiled kernel.

Run by hand (``.venv/bin/python benchmarks/bench_kernel.py [--days D] [--json PATH]``); about
a minute for the default 730 days (the whole of ``scenarios/hybrid.yaml``), plus the kernel's
compilation the first time (about 30 s, then cached).

Issue 12's hybrid target needs the AI job loop in machine code (docs/performance.md). The
scheduler is the first part compiled (``sim.model.scheduling.kernel``). This records every
call a real hybrid run makes to its scheduler (submissions, completions, withdrawals, passes,
node caps, node failures, speed changes, requeues), then replays the record three ways and
requires the same jobs started and stopped by every call, in the same order:

1. the Python ``Scheduler``, called from Python (what a run costs today);
2. ``CompiledScheduler``, called from Python (one crossing into machine code per call);
3. the kernel called from one compiled loop over the record (what the scheduler will cost
   once the whole job loop is compiled).

It prints each one's seconds, per call and in speed units. No target: a measurement that
says how much of a hybrid run the scheduler can give back.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from typing import Any

import numpy as np
from numba import njit

from sim.model.scheduling import kernel as k
from sim.model.scheduling.compiled import CompiledScheduler
from sim.model.scheduling.jobs import Job, Preempted
from sim.model.scheduling.scheduler import Scheduler
from sim.model.site import AI_LOOP_VARIABLE
from sim.runner import run_one
from sim.scenario import load_scenario

from common import REPO, speed_unit_once

SUBMIT, FINISH, WITHDRAW, SCHEDULE, CAP, VACATE, SPEED, REQUEUE = range(8)


class Recorder(Scheduler):
    """The Python scheduler, writing down every call and the jobs it started or stopped."""

    log: list[tuple[Any, ...]]  # (op, job id, value, now_s, defer, job row, result ids)

    def submit(self, job: Job, now_s: float, defer: bool = False) -> Any:
        started = super().submit(job, now_s, defer)
        self.log.append((SUBMIT, job, 0.0, now_s, defer, _ids(started)))
        return started

    def finish(self, job_id: int, now_s: float, defer: bool = False) -> Any:
        started = super().finish(job_id, now_s, defer)
        self.log.append((FINISH, job_id, 0.0, now_s, defer, _ids(started)))
        return started

    def withdraw(self, job_id: int, now_s: float, defer: bool = False) -> Any:
        job, started = super().withdraw(job_id, now_s, defer)
        self.log.append((WITHDRAW, job_id, 0.0, now_s, defer, _ids(started)))
        return job, started

    def schedule(self, now_s: float) -> Any:
        started = super().schedule(now_s)
        self.log.append((SCHEDULE, -1, 0.0, now_s, False, _ids(started)))
        return started

    def set_node_cap(self, cap: int, now_s: float, requeue: Any = None, defer: bool = False) -> Any:
        return self._stops(CAP, cap, now_s, requeue, defer, super().set_node_cap)

    def vacate_node(
        self, node: int, now_s: float, requeue: Any = None, defer: bool = False
    ) -> Any:
        return self._stops(VACATE, node, now_s, requeue, defer, super().vacate_node)

    def _stops(
        self, op: int, value: int, now_s: float, requeue: Any, defer: bool, call: Any
    ) -> Any:
        requeued: list[Job] = []

        def keep(stopped: Preempted) -> Job:
            job = requeue(stopped)
            requeued.append(job)
            return job

        at = len(self.log)
        preempted, started = call(value, now_s, keep if requeue else None, defer)
        self.log.insert(at, (op, -1, float(value), now_s, defer, _ids(preempted)))
        self.log[at + 1 : at + 1] = [(REQUEUE, job, 0.0, now_s, False, ()) for job in requeued]
        return preempted, started

    def set_speed(self, speed: float, now_s: float, defer: bool = False) -> Any:
        moved, started = super().set_speed(speed, now_s, defer)
        self.log.append((SPEED, -1, speed, now_s, defer, _ids(started)))
        return moved, started


def _ids(items: list[Any]) -> tuple[int, ...]:
    return tuple(item.job.job_id if isinstance(item, Preempted) else item.job_id for item in items)


def record(days: int) -> tuple[list[tuple[Any, ...]], int, int, int]:
    """The scheduler calls of ``days`` of hybrid.yaml; and its nodes, GPUs per node, depth."""
    import sim.model.cluster as cluster_module

    path = REPO / "scenarios" / "hybrid.yaml"
    start = load_scenario(path).start_utc
    end = (start + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scenario = load_scenario(path, [f"end_utc={end}"])
    made: list[Recorder] = []

    def recorder(*args: Any) -> Recorder:
        scheduler = Recorder(*args)
        scheduler.log = []
        made.append(scheduler)
        return scheduler

    cluster_module.Scheduler = recorder  # type: ignore[misc,assignment]
    os.environ[AI_LOOP_VARIABLE] = "python"  # the loop whose scheduler calls can be recorded
    try:
        run_one(scenario)
    finally:
        cluster_module.Scheduler = Scheduler  # type: ignore[misc]
        del os.environ[AI_LOOP_VARIABLE]
    (only,) = made  # hybrid.yaml has one GPU group
    return only.log, only.node_count, only.gpus_per_node, only._depth


def replay_python(log: list[tuple[Any, ...]], make: Any) -> list[tuple[int, ...]]:
    """Replay on a scheduler object; the ids each call started (stopped, for caps and failures)."""
    s = make()
    out: list[tuple[int, ...]] = []
    for at, (op, job, value, now_s, defer, _) in enumerate(log):
        if op == SUBMIT:
            out.append(_ids(s.submit(job, now_s, defer)))
        elif op == FINISH:
            out.append(_ids(s.finish(job, now_s, defer)))
        elif op == WITHDRAW:
            out.append(_ids(s.withdraw(job, now_s, defer)[1]))
        elif op == SCHEDULE:
            out.append(_ids(s.schedule(now_s)))
        elif op in (CAP, VACATE):
            requeued = iter(entry[1] for entry in log[at + 1 :] if entry[0] == REQUEUE)
            call = s.set_node_cap if op == CAP else s.vacate_node
            preempted = call(int(value), now_s, lambda _, rq=requeued: next(rq), defer)[0]
            out.append(_ids(preempted))
        elif op == SPEED:
            out.append(_ids(s.set_speed(value, now_s, defer)[1]))
        else:  # REQUEUE: done by the call before it
            out.append(())
    return out


def columns(log: list[tuple[Any, ...]]) -> tuple[np.ndarray, ...]:
    """The record as arrays for the compiled replay; the job row rides along."""
    n = len(log)
    op, job_id, gpus, prio = (np.zeros(n, dtype=np.int64) for _ in range(4))
    work, submit_s, value, now_s = (np.zeros(n) for _ in range(4))
    defer = np.zeros(n, dtype=np.bool_)
    for i, (o, job, v, t, d, _) in enumerate(log):
        op[i], value[i], now_s[i], defer[i] = o, v, t, d
        if isinstance(job, Job):
            job_id[i], gpus[i], work[i], prio[i], submit_s[i] = job
        else:
            job_id[i] = job
        if o in (CAP, VACATE, SPEED) and not d:
            raise SystemExit("the replay assumes deferred caps, failures and speeds (GpuCluster's)")
    return op, job_id, gpus, work, prio, submit_s, value, now_s, defer


@njit(cache=True)
def replay_compiled(
    s: k.State,
    op: np.ndarray,
    job_id: np.ndarray,
    gpus: np.ndarray,
    work: np.ndarray,
    prio: np.ndarray,
    submit_s: np.ndarray,
    value: np.ndarray,
    now_s: np.ndarray,
    defer: np.ndarray,
    ids: np.ndarray,
    counts: np.ndarray,
) -> int:
    """Replay in one compiled loop; each call's ids go to ``ids``, their number to ``counts``."""
    at = 0
    for i in range(op.shape[0]):
        o, job, t = op[i], job_id[i], now_s[i]
        out = ids[at:]
        if o in (SUBMIT, REQUEUE):
            s.j_gpus[job], s.j_work[job], s.j_prio[job], s.j_submit[job] = (
                gpus[i], work[i], prio[i], submit_s[i]
            )
            n = k.submit(s, job, t, defer[i], out) if o == SUBMIT else k.requeue(s, job, t)
        elif o == FINISH:
            n = k.finish(s, job, t, defer[i], out)
        elif o == WITHDRAW:
            n = k.withdraw(s, job, t, defer[i], out)
        elif o == SCHEDULE:
            n = k.schedule(s, t, out)
        elif o == CAP:
            n = k.set_cap(s, int(value[i]), t, out)
        elif o == VACATE:
            n = k.vacate(s, int(value[i]), t, out)
        else:
            n = k.set_speed(s, value[i], t)
        if n < 0:
            return n
        counts[i] = n
        at += n
    return 0


def main(argv: list[str] | None = None) -> int:
    """Record, replay three ways, compare and print the times."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=730, help="days of hybrid.yaml (730)")
    args = parser.parse_args(argv)
    log, nodes, g, depth = record(args.days)
    expected = [entry[5] for entry in log]
    jobs = 1 + max(e[1].job_id if isinstance(e[1], Job) else e[1] for e in log)
    print(f"{len(log):,} scheduler calls for {jobs:,} jobs in {args.days} days of hybrid.yaml")
    arrays = columns(log)
    total = sum(map(len, expected))
    warm = k.new_state(nodes, g, depth, jobs)
    replay_compiled(warm, *arrays, np.zeros(total + 1, np.int64), np.zeros(len(log), np.int64))

    times: dict[str, float] = {}
    started = time.process_time()
    python = replay_python(log, lambda: Scheduler(nodes, g, depth))
    times["Python scheduler, called from Python"] = time.process_time() - started
    started = time.process_time()
    compiled = replay_python(log, lambda: CompiledScheduler(nodes, g, depth))
    times["CompiledScheduler, called from Python"] = time.process_time() - started
    state = k.new_state(nodes, g, depth, jobs)
    ids, counts = np.zeros(total + 1, np.int64), np.zeros(len(log), np.int64)
    started = time.process_time()
    code = replay_compiled(state, *arrays, ids, counts)
    times["kernel, called from a compiled loop"] = time.process_time() - started
    if code < 0:
        raise SystemExit(f"the compiled replay failed with code {code}")
    offsets = np.concatenate([[0], np.cumsum(counts)])
    in_loop = [tuple(ids[offsets[i] : offsets[i + 1]].tolist()) for i in range(len(log))]
    for name, got in (("python", python), ("compiled", compiled), ("loop", in_loop)):
        if got != expected:
            first = next(i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b)
            raise SystemExit(f"{name} replay differs from the run at call {first}: {log[first]}")
    print("every replay started and stopped the same jobs as the run, call for call")
    unit = speed_unit_once()
    for name, seconds in times.items():
        per_call = seconds / len(log) * 1e9
        print(f"{name:40s} {seconds:7.3f} s CPU  {per_call:7.0f} ns/call  {seconds / unit:6.3f} u")
    print(f"speed unit {unit:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
