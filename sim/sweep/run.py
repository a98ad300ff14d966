"""Run a sweep: every planned run in worker processes, results in plan order, tables written.

The parent loads and validates every variant first (:func:`sim.sweep.plan.plan_sweep`);
nothing runs unless all are valid. Runs then go to a
:class:`concurrent.futures.ProcessPoolExecutor` (``forkserver`` where available, else
``spawn``: no worker inherits the parent's state) as pickled scenarios with their seeds;
each returns its KPI row or a failure record (:mod:`sim.sweep.outcome`). Outcomes are
stored by plan position, so the tables do not depend on which run finished first or on
how many workers there were.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.errors import Issue, ScenarioError
from sim.record.outdir import OutputFolder
from sim.sweep.outcome import FAILED, OK, RunOutcome, RunTask, run_task, worker_init
from sim.sweep.plan import SweepPlan, plan_sweep
from sim.sweep.spec import SweepSpec, read_sweep, sweep_from_mapping
from sim.sweep.tables import (
    AGGREGATE,
    PAIRED,
    RUNS,
    SWEEP_FILES,
    aggregate_table,
    paired_table,
    runs_table,
    sweep_manifest,
    write_sweep,
)

# progress(runs done, runs in all, runs failed so far)
SweepProgress = Callable[[int, int, int], None]


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: its plan, its tables and where they were written (if anywhere)."""

    plan: SweepPlan
    runs: pd.DataFrame
    aggregate: pd.DataFrame
    paired: pd.DataFrame
    outcomes: tuple[RunOutcome, ...]
    workers: int
    wall_time_s: float
    out_dir: Path | None

    @property
    def failed(self) -> int:
        """Runs that failed."""
        return int((self.runs["status"] != OK).sum())


def _context() -> Any:
    """``forkserver`` (its server imports the model once; workers fork from it), else spawn."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["sim.runner", "sim.sweep.outcome"])  # once per server
    return context


def execute(
    tasks: Sequence[RunTask], workers: int | None = None, progress: SweepProgress | None = None
) -> list[RunOutcome]:
    """Run ``tasks`` in ``workers`` processes (default: CPU count); outcomes in task order.

    A run that raises comes back as a ``failed`` outcome. A worker that dies (killed, out
    of memory) fails its run and every run not yet finished, with the reason.
    """
    total = len(tasks)
    workers = min(workers or os.cpu_count() or 1, max(total, 1))
    outcomes: list[RunOutcome | None] = [None] * total
    failed = 0
    if progress is not None:
        progress(0, total, 0)
    if not total:
        return []
    pool = ProcessPoolExecutor(workers, mp_context=_context(), initializer=worker_init)
    try:
        pending: dict[Future[RunOutcome], int] = {
            pool.submit(run_task, task): i for i, task in enumerate(tasks)
        }
        done_count = 0
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                i = pending.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool as exc:
                    outcome = RunOutcome(FAILED, f"BrokenProcessPool: {exc}", {}, 0.0)
                outcomes[i] = outcome
                done_count += 1
                failed += outcome.status != OK
                if progress is not None:
                    progress(done_count, total, failed)
    except BaseException:  # Ctrl-C, SIGTERM: stop the runs in flight too, not after them
        # ProcessPoolExecutor has no public way to stop its workers before Python 3.14
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [outcome for outcome in outcomes if outcome is not None]


def _spec(spec_or_path: SweepSpec | Mapping[str, Any] | str | Path) -> tuple[SweepSpec, str]:
    if isinstance(spec_or_path, SweepSpec):
        return spec_or_path, "<sweep>"
    if isinstance(spec_or_path, Mapping):
        return sweep_from_mapping(spec_or_path), "<sweep>"
    return read_sweep(spec_or_path), str(spec_or_path)


def _check_workers(workers: int | None, source: str) -> None:
    if workers is not None and workers < 1:
        raise ScenarioError(source, [Issue("workers", f"must be at least 1 (got {workers})")])


def run_sweep(
    spec_or_path: SweepSpec | Mapping[str, Any] | str | Path,
    out_dir: str | Path | None = None,
    workers: int | None = None,
    progress: SweepProgress | None = None,
    command: list[str] | None = None,
) -> SweepResult:
    """Run the sweep of a sweep file (or spec, or mapping); write its tables to ``out_dir``.

    ``workers``: processes running at once (default: the CPU count). ``progress``, if
    given, is called as runs finish with (done, total, failed). With ``out_dir``, the
    folder is checked and held before any run (:class:`sim.record.outdir.OutputFolder`:
    new, empty or an earlier dcsim folder) and ``runs.csv``, ``aggregate.csv``,
    ``paired.csv`` and ``manifest.json`` are written into it; ``command`` is recorded in
    the manifest. A failed run is a row with status ``failed``; the sweep goes on.

    Raises
    ------
    ScenarioError
        The sweep file, its base scenario or a variant is invalid, or ``workers`` < 1;
        nothing has run.
    sim.record.outdir.OutDirError
        ``out_dir`` cannot receive the sweep's files; nothing has run.
    """
    spec, source = _spec(spec_or_path)
    _check_workers(workers, source)
    return run_plan(plan_sweep(spec, source), out_dir, workers, progress, command)


def run_plan(
    plan: SweepPlan,
    out_dir: str | Path | None = None,
    workers: int | None = None,
    progress: SweepProgress | None = None,
    command: list[str] | None = None,
) -> SweepResult:
    """Run a planned sweep (:func:`sim.sweep.plan.plan_sweep`, or one built by hand).

    As :func:`run_sweep` once the plan is made: each variant's scenario is sent as it is,
    with its replication's seed.
    """
    _check_workers(workers, "<sweep>")
    kpis = tuple(plan.spec.kpis)
    tasks = [RunTask(plan.scenario(run.variant), run.seed, kpis) for run in plan.runs]
    used = min(workers or os.cpu_count() or 1, max(len(tasks), 1))
    if out_dir is None:
        return _finish(plan, tasks, used, progress, None, command)
    with OutputFolder(out_dir, SWEEP_FILES) as folder:
        return _finish(plan, tasks, used, progress, folder, command)


def _finish(
    plan: SweepPlan,
    tasks: list[RunTask],
    workers: int,
    progress: SweepProgress | None,
    folder: OutputFolder | None,
    command: list[str] | None,
) -> SweepResult:
    started = time.perf_counter()
    outcomes = execute(tasks, workers, progress)
    wall_time_s = time.perf_counter() - started
    runs = runs_table(plan, outcomes)
    aggregate = aggregate_table(plan, runs)
    paired = paired_table(plan, runs)
    written = None
    if folder is not None:
        tables = {RUNS: runs, AGGREGATE: aggregate, PAIRED: paired}
        files = {name: len(frame) for name, frame in tables.items()}
        manifest = sweep_manifest(
            plan, runs, outcomes, files, command or ["run_sweep"], workers, wall_time_s
        )
        written = write_sweep(folder, tables, manifest)
    return SweepResult(
        plan, runs, aggregate, paired, tuple(outcomes), workers, wall_time_s, written
    )
