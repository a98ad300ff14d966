"""One run of a sweep as a worker sees it: the task it receives, what it returns.

A worker loads nothing from disk: it receives the variant's scenario, already loaded and
validated by the parent (a :class:`~sim.scenario.Scenario` carries its input files and
pickles), and the replication's seed; it returns the run's KPI values and, if asked, a few
daily series for the bands — kilobytes, never the run's tables. It builds only the daily
and summary tables those need, not the timeseries, groups, blocks, jobs or events tables a
full :func:`sim.runner.run_one` builds. An exception inside the run is caught here and
returned as a failure with its traceback, so one bad run never stops a sweep.
"""

from __future__ import annotations

import ctypes
import gc
import signal
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sim.scenario import Scenario

OK, FAILED = "ok", "failed"


@dataclass(frozen=True)
class RunTask:
    """What a worker receives: the scenario, the seed, the KPIs and daily series to return."""

    scenario: Scenario
    seed: int
    kpis: tuple[str, ...]
    series: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOutcome:
    """What a worker returns: ``ok`` with KPI values and daily series, or ``failed`` and why."""

    status: str
    error: str
    kpis: dict[str, Any]
    wall_time_s: float
    series: dict[str, np.ndarray] = field(default_factory=dict)  # daily, one value per day
    traceback: str = ""


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (smaller to pickle, same value)."""
    return value.item() if hasattr(value, "item") else value


def kpi_tables(scenario: Scenario) -> tuple[Any, dict[str, Any]]:
    """(daily table, summary row) of one run of ``scenario`` with its own seed.

    :func:`sim.runner.simulate`, then only what the KPIs and bands read: not the tables a
    sweep never returns (about a third of a run's time), nor the summary's DataFrame.
    """
    from sim.record.tables import daily_table, summary_row
    from sim.runner import simulate

    _, run = simulate(scenario)
    daily = daily_table(run)
    return daily, summary_row(run, daily)


def run_task(task: RunTask) -> RunOutcome:
    """Run ``task`` and return its KPIs; any exception becomes a ``failed`` outcome.

    The run's objects are freed before it returns (the time counts in ``wall_time_s``): its
    site is a graph of components that refer to each other, which only the cycle collector
    frees, and collections are rare during a run (:mod:`sim.gcpolicy`), so the next run would
    otherwise start on top of this one's.
    """
    started = time.perf_counter()
    outcome = _run(task)
    gc.collect()
    return replace(outcome, wall_time_s=time.perf_counter() - started)


def run_tasks(tasks: list[RunTask]) -> list[RunOutcome]:
    """Run several tasks in one call, each as :func:`run_task` (a batch of a Dask sweep)."""
    return [run_task(task) for task in tasks]


def _run(task: RunTask) -> RunOutcome:
    """The outcome of ``task``, its wall time left at 0."""
    try:
        if not 0 <= task.seed < 2**63:  # the scenario seed field's range; model_copy skips it
            raise ValueError(f"seed {task.seed} is outside 0 … 2^63 − 1")
        daily, row = kpi_tables(task.scenario.model_copy(update={"seed": task.seed}))
        kpis = {name: _plain(row[name]) for name in task.kpis}
        series = {name: daily[name].to_numpy(dtype=np.float64) for name in task.series}
    except Exception as exc:  # noqa: BLE001 - recorded and reported, the sweep goes on
        message = " ".join(str(exc).split())  # one line in runs.csv
        return RunOutcome(
            FAILED,
            f"{type(exc).__name__}: {message}",
            {},
            0.0,
            traceback=traceback.format_exc(),
        )
    return RunOutcome(OK, "", kpis, 0.0, series)


# glibc's mallopt parameters (malloc.h) and the values a worker sets
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_BYTES = 32 * 2**20  # glibc's largest dynamic threshold
_TRIM_THRESHOLD_BYTES = 2**30


def keep_freed_memory() -> None:
    """Make this process reuse the memory it frees rather than hand it back to the system.

    A baseline run allocates ≈80 MB of large numpy temporaries, and glibc by default maps
    and unmaps many of them afresh: ≈20,000 page faults a run, ≈15 % of its time in the
    kernel. A worker runs such runs over and over, so it keeps the heap its largest run
    needed (freed memory above 1 GiB is still returned). Outputs do not change. No effect
    without glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
    libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_BYTES)


def worker_init() -> None:
    """In each worker: leave Ctrl-C to the parent, which cancels the sweep and stops us.

    And keep freed memory for the next run (:func:`keep_freed_memory`), and keep the
    worker's own objects out of the collections after each run (:func:`settle_imports`).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_freed_memory()
    settle_imports()


def settle_imports() -> None:
    """Move every object alive now (modules, the model's imports) out of the collector's view.

    They live as long as the worker, so traversing them at each collection is wasted: with
    them frozen, :func:`run_task`'s collection after a baseline run takes ≈0.5 ms, not ≈75 ms
    (a quarter of the run).
    """
    gc.collect()
    gc.freeze()
