"""Run a sweep: every planned run on an executor, results in plan order, tables written.

The parent loads and validates every variant first (:func:`sim.sweep.plan.plan_sweep`);
nothing runs unless all are valid. Runs then go to local worker processes or a Dask
cluster (:mod:`sim.sweep.executors`) as pickled scenarios with their seeds, on Dask in
batches of about a second of work (:class:`Batches`); each returns its KPI row (and daily
band series) or a failure record (:mod:`sim.sweep.outcome`). Each finished run is
appended to the journal (:mod:`sim.sweep.journal`) as it (or its batch) finishes, and
outcomes are stored by plan position, so the tables do not depend on which run finished
first, on how many workers there were, on the executor, or on whether the sweep was
interrupted and resumed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import Issue, ScenarioError
from sim.record.outdir import OutDirError, OutputFolder
from sim.sweep.design import sensitivity_matrix
from sim.sweep.executors import Pool, dask_pool, local_pool
from sim.sweep.journal import Journal, JournalError, journal_path, plan_digest, read_journal
from sim.sweep.outcome import FAILED, OK, RunOutcome, RunTask, run_tasks
from sim.sweep.plan import SweepPlan, plan_sweep
from sim.sweep.sensitivity import sensitivity_table
from sim.sweep.spec import SweepSpec, read_sweep, sweep_from_mapping
from sim.sweep.tables import (
    AGGREGATE,
    BANDS,
    FAILURES,
    PAIRED,
    RUNS,
    SENSITIVITY,
    SWEEP_FILES,
    aggregate_table,
    bands_table,
    failures_log,
    paired_table,
    runs_table,
    sweep_manifest,
    write_sweep,
)

IN_FLIGHT_PER_WORKER = 4
MAX_BATCH = 32  # runs per submission at most
# progress(runs done, runs in all, runs failed so far)
SweepProgress = Callable[[int, int, int], None]
# record(run_id, outcome): called in the parent as each run (on Dask, its batch) finishes
Record = Callable[[int, RunOutcome], None]


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: its plan, its tables and where they were written (if anywhere)."""

    plan: SweepPlan
    runs: pd.DataFrame
    aggregate: pd.DataFrame
    paired: pd.DataFrame
    bands: pd.DataFrame | None  # with the sweep file's bands
    sensitivity: pd.DataFrame | None  # with variants.sensitivity
    outcomes: tuple[RunOutcome, ...]
    workers: int
    wall_time_s: float
    out_dir: Path | None
    resumed: int = 0  # runs taken from an interrupted sweep's journal

    @property
    def failed(self) -> int:
        """Runs that failed."""
        return int((self.runs["status"] != OK).sum())


class Batches:
    """How many runs to send per submission, so that one holds about ``batch_s`` of work.

    Sized from the mean wall time of the successful runs so far (one run per submission
    until one has finished, and always with ``batch_s`` = 0), and never more than an even
    share of what is left, so the last batches still spread over the workers.
    """

    def __init__(self, batch_s: float, workers: int) -> None:
        self.batch_s = batch_s
        self.workers = workers
        self._runs = 0
        self._wall_s = 0.0

    def finished(self, outcome: RunOutcome) -> None:
        """Count a successful run's wall time (a failure may take none, and says nothing)."""
        if outcome.status == OK:
            self._runs += 1
            self._wall_s += outcome.wall_time_s

    def size(self, left: int) -> int:
        """Runs in the next submission, with ``left`` runs still to send."""
        if self.batch_s <= 0.0 or self._wall_s <= 0.0:
            return 1
        wanted = round(self.batch_s * self._runs / self._wall_s)
        return max(1, min(wanted, MAX_BATCH, left // (IN_FLIGHT_PER_WORKER * self.workers)))


def execute(
    tasks: Sequence[tuple[int, RunTask]],
    pool: Pool,
    progress: SweepProgress | None = None,
    record: Record | None = None,
    already: int = 0,
) -> dict[int, RunOutcome]:
    """Run ``tasks`` (run_id, task) on ``pool``; their outcomes by run_id.

    Runs are sent in batches (:class:`Batches`, one run each on local processes). A run that
    raises comes back as a ``failed`` outcome, and so do the runs of a batch whose worker
    died (killed, out of memory, lost by Dask), with the reason. ``record`` is called with
    each outcome as its batch arrives; ``already`` runs were done before (progress counts
    them). On any exception (Ctrl-C, SIGTERM), the runs in flight are stopped at once.
    """
    total = already + len(tasks)
    outcomes: dict[int, RunOutcome] = {}
    failed = 0
    if progress is not None:
        progress(already, total, 0)
    queue = iter(tasks)
    pending: dict[Future[list[RunOutcome]], list[int]] = {}
    batches = Batches(pool.batch_s, pool.workers)
    sent = 0

    def submit(count: int) -> None:
        nonlocal sent
        for _ in range(count):
            batch = list(itertools.islice(queue, batches.size(len(tasks) - sent)))
            if not batch:
                return
            sent += len(batch)
            try:
                future = pool.executor.submit(run_tasks, [task for _, task in batch])
            except Exception as exc:  # noqa: BLE001 - a broken pool takes no more runs
                future = Future()
                future.set_exception(exc)
            pending[future] = [run_id for run_id, _ in batch]

    try:
        # a few runs per worker in flight, not all: a million-run sweep would otherwise
        # hold a million futures (and, on Dask, a million pickled scenarios) at once
        submit(IN_FLIGHT_PER_WORKER * pool.workers)
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in sorted(done, key=pending.__getitem__):
                run_ids = pending.pop(future)
                try:
                    results = future.result()
                except Exception as exc:  # noqa: BLE001 - the worker, not the run, failed
                    lost = RunOutcome(FAILED, f"{type(exc).__name__}: {exc}", {}, 0.0)
                    results = [lost] * len(run_ids)
                for run_id, outcome in zip(run_ids, results, strict=True):
                    outcomes[run_id] = outcome
                    batches.finished(outcome)
                    if record is not None:
                        record(run_id, outcome)
                    failed += outcome.status != OK
                if progress is not None:
                    progress(already + len(outcomes), total, failed)
            submit(len(done))
    except BaseException:
        pool.stop_now()
        raise
    return outcomes


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
    dask: str | None = None,
    resume: bool = False,
) -> SweepResult:
    """Run the sweep of a sweep file (or spec, or mapping); write its tables to ``out_dir``.

    ``workers``: processes running at once (default: the CPU count; with ``dask='local'``
    the LocalCluster's worker processes). ``dask``: the address of a Dask scheduler
    (``tcp://host:port``) to run on, or ``'local'`` for a new LocalCluster; default: local
    processes. ``progress``, if given, is called as runs finish with (done, total,
    failed). With ``out_dir``, the folder is checked and held before any run
    (:class:`sim.record.outdir.OutputFolder`: new, empty or an earlier dcsim folder), each
    finished run is appended to a journal beside it, and the tables and ``manifest.json``
    are written into it at the end; ``command`` is recorded in the manifest. ``resume``
    takes the successful runs of an interrupted sweep's journal and runs the others. A
    failed run is a row with status ``failed``; the sweep goes on.

    Raises
    ------
    ScenarioError
        The sweep file, its base scenario or a variant is invalid, ``workers`` < 1, Dask is
        missing or its scheduler does not answer; nothing has run.
    sim.record.outdir.OutDirError
        ``out_dir`` cannot receive the sweep's files, or its journal is another sweep's
        (or, without ``resume``, an interrupted sweep's); nothing has run.
    """
    spec, source = _spec(spec_or_path)
    _check_workers(workers, source)
    return run_plan(plan_sweep(spec, source), out_dir, workers, progress, command, dask, resume)


def run_plan(
    plan: SweepPlan,
    out_dir: str | Path | None = None,
    workers: int | None = None,
    progress: SweepProgress | None = None,
    command: list[str] | None = None,
    dask: str | None = None,
    resume: bool = False,
) -> SweepResult:
    """Run a planned sweep (:func:`sim.sweep.plan.plan_sweep`, or one built by hand).

    As :func:`run_sweep` once the plan is made.
    """
    _check_workers(workers, "<sweep>")
    run = _Run(plan, workers, progress, command or ["run_sweep"], dask)
    if out_dir is None:
        if resume:
            raise ScenarioError("<sweep>", [Issue("resume", "needs an output folder")])
        return run.finish(None, None, {})
    with OutputFolder(out_dir, SWEEP_FILES) as folder:
        path, digest = journal_path(folder.out_dir), plan_digest(plan)
        try:
            done = read_journal(path, digest) if resume else {}
            journal = Journal(path, digest, resume)
        except JournalError as exc:
            raise OutDirError(str(exc)) from exc
        try:
            result = run.finish(folder, journal, done)
        finally:
            journal.close()
        if not result.failed:  # else kept: --resume runs the failed runs again
            journal.remove()
        return result


@dataclass(frozen=True)
class _Run:
    plan: SweepPlan
    workers: int | None
    progress: SweepProgress | None
    command: list[str]
    dask: str | None

    @contextlib.contextmanager
    def _pool(self, runs: int) -> Iterator[Pool]:
        # no more local processes than runs (--workers may be large)
        local = min(self.workers or os.cpu_count() or 1, max(runs, 1))
        with dask_pool(self.dask, local) if self.dask is not None else local_pool(local) as pool:
            yield pool

    def finish(
        self, folder: OutputFolder | None, journal: Journal | None, done: dict[int, RunOutcome]
    ) -> SweepResult:
        plan = self.plan
        scenarios = {v.name: v.scenario for v in plan.variants}
        kpis, series = tuple(plan.spec.kpis), tuple(plan.spec.bands)
        tasks = [
            (run.index, RunTask(scenarios[run.variant], run.seed, kpis, series))
            for run in plan.runs
            if run.index not in done
        ]
        started = time.perf_counter()
        with self._pool(len(tasks)) as pool:
            record = journal.append if journal is not None else None
            new = execute(tasks, pool, self.progress, record, already=len(done))
            workers, where = pool.workers, pool.where
        wall_time_s = time.perf_counter() - started
        outcomes = [done.get(run.index) or new[run.index] for run in plan.runs]
        runs = runs_table(plan, outcomes)
        aggregate, paired = aggregate_table(plan, runs), paired_table(plan, runs)
        bands = bands_table(plan, outcomes) if plan.spec.bands else None
        sensitivity = _sensitivity(plan, runs)
        fmt = plan.spec.format
        tables = {f"{RUNS}.{fmt}": runs, AGGREGATE: aggregate, PAIRED: paired}
        if bands is not None:
            tables[f"{BANDS}.{fmt}"] = bands
        if sensitivity is not None:
            tables[SENSITIVITY] = sensitivity
        written = None
        if folder is not None:
            log = failures_log(plan, outcomes)
            files = {name: len(frame) for name, frame in tables.items()}
            if log:
                files[FAILURES] = log.count("\n")
            manifest = sweep_manifest(
                plan, runs, files, self.command, workers, where, wall_time_s, len(done)
            )
            written = write_sweep(folder, tables, manifest, {FAILURES: log} if log else {})
        return SweepResult(
            plan,
            runs,
            aggregate,
            paired,
            bands,
            sensitivity,
            tuple(outcomes),
            workers,
            wall_time_s,
            written,
            len(done),
        )


def _sensitivity(plan: SweepPlan, runs: pd.DataFrame) -> pd.DataFrame | None:
    """The indices of a sensitivity design's KPIs: each design variant's mean over runs."""
    kinds = plan.spec.variants
    design = kinds.sensitivity if kinds is not None else None
    if design is None:
        return None
    names = [v.name for v in plan.variants[int(plan.spec.include_base) :]]  # the design's rows
    ok = runs[runs["status"] == OK]
    outputs = {
        kpi: ok.groupby("variant")[kpi].mean().reindex(names).to_numpy(dtype=np.float64)
        for kpi in design.kpis or plan.spec.kpis
    }
    matrix = sensitivity_matrix(design, plan.spec.seed)
    return sensitivity_table(design, matrix, outputs, plan.spec.seed)
