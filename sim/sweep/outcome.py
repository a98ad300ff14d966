"""One run of a sweep as a worker process sees it: the task it receives, what it returns.

A worker loads nothing from disk: it receives the variant's scenario, already loaded and
validated by the parent (a :class:`~sim.scenario.Scenario` carries its input files and
pickles), and the replication's seed; it returns the run's KPI row, a few hundred bytes,
never its tables. An exception inside the run is caught here and returned as a failure,
so one bad run never stops a sweep.
"""

from __future__ import annotations

import signal
import time
from dataclasses import dataclass
from typing import Any

from sim.scenario import Scenario

OK, FAILED = "ok", "failed"


@dataclass(frozen=True)
class RunTask:
    """What a worker receives: the scenario to run, the seed and the KPIs to return."""

    scenario: Scenario
    seed: int
    kpis: tuple[str, ...]


@dataclass(frozen=True)
class RunOutcome:
    """What a worker returns: ``ok`` and the KPI values, or ``failed`` and why."""

    status: str
    error: str
    kpis: dict[str, Any]
    wall_time_s: float


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (smaller to pickle, same value)."""
    return value.item() if hasattr(value, "item") else value


def run_task(task: RunTask) -> RunOutcome:
    """Run ``task`` and return its KPIs; any exception becomes a ``failed`` outcome."""
    from sim.runner import run_one

    started = time.perf_counter()
    try:
        summary = run_one(task.scenario, seed=task.seed).summary.iloc[0]
        kpis = {name: _plain(summary[name]) for name in task.kpis}
    except Exception as exc:  # noqa: BLE001 - recorded and reported, the sweep goes on
        message = " ".join(str(exc).split())  # one line in runs.csv
        return RunOutcome(FAILED, f"{type(exc).__name__}: {message}", {}, _since(started))
    return RunOutcome(OK, "", kpis, _since(started))


def _since(started: float) -> float:
    return time.perf_counter() - started


def worker_init() -> None:
    """In each worker: leave Ctrl-C to the parent, which cancels the sweep and stops us."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
