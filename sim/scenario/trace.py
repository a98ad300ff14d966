"""Job traces: CSV rows ``submit_time_s, gpus, duration_s[, job_class]``.

``submit_time_s`` is seconds since the scenario's start_utc; rows are sorted by it on load.
Public cluster traces (e.g. Philly, Helios, Alibaba PAI) convert to this by subtracting the
trace's first submit time and keeping GPUs and run time per job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.scenario.fields import INT64_MAX

REQUIRED = ("submit_time_s", "gpus", "duration_s")


@dataclass(frozen=True)
class Trace:
    """A job trace, sorted by submit time."""

    submit_time_s: np.ndarray
    gpus: np.ndarray
    duration_s: np.ndarray
    job_classes: list[str]  # "" where the row has no class


def trace_from_rows(path: Path, rows: list[dict[str, Any]]) -> Trace:
    """Check and sort the rows of the trace file at ``path``.

    Raises
    ------
    ValueError
        Naming the line and column when the file is malformed.
    """
    columns = set(rows[0]) if rows else set()
    if not rows or not set(REQUIRED) <= columns:
        raise ValueError(f"{path} needs columns {', '.join(REQUIRED)}[, job_class]")
    submit, gpus, duration = np.empty(len(rows)), np.empty(len(rows), np.int64), np.empty(len(rows))
    for i, row in enumerate(rows):
        try:
            submit[i], count = float(row["submit_time_s"]), int(row["gpus"])
            duration[i] = float(row["duration_s"])
        except (TypeError, ValueError) as exc:  # TypeError: the row ends early
            raise ValueError(f"{path} line {i + 2}: {exc}") from exc
        finite = np.isfinite(submit[i]) and np.isfinite(duration[i])
        if not (finite and submit[i] >= 0 and 1 <= count <= INT64_MAX and duration[i] > 0):
            raise ValueError(
                f"{path} line {i + 2}: need finite submit_time_s ≥ 0 and duration_s > 0, and "
                f"gpus ≥ 1 (got {row['submit_time_s']}, {row['duration_s']}, {row['gpus']})"
            )
        gpus[i] = count
    order = np.argsort(submit, kind="stable")
    classes = [(rows[i].get("job_class") or "").strip() for i in order]
    return Trace(submit[order], gpus[order], duration[order], classes)
