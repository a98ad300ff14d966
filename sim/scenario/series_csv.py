"""Read step-function time series (price, hashrate) from small CSV files.

A file has a time column, ``timestamp_utc`` (ISO 8601) or ``date`` (YYYY-MM-DD, midnight
UTC), and one value column. Each value holds from its time until the next row's time.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import numpy as np

from sim.units import as_utc

TIME_COLUMNS = ("timestamp_utc", "date")


def read_step_csv(
    path: Path, value_column: str, positive: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Return (unix seconds, values) of a step series, sorted strictly by time.

    Values must be finite, and > 0 when ``positive`` (prices of energy may be ≤ 0).

    Raises
    ------
    ValueError
        With a message naming the row and column when the file is malformed.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not rows:
        raise ValueError(f"{path} has no data rows")
    columns = set(rows[0])
    time_column = next((c for c in TIME_COLUMNS if c in columns), None)
    if time_column is None or value_column not in columns:
        raise ValueError(
            f"{path} needs columns ({' or '.join(TIME_COLUMNS)}) and {value_column}; "
            f"found {sorted(columns)}"
        )
    times = np.empty(len(rows))
    values = np.empty(len(rows))
    for i, row in enumerate(rows):
        line = i + 2  # header is line 1
        try:
            times[i] = as_utc(datetime.fromisoformat(row[time_column].strip())).timestamp()
            values[i] = float(row[value_column])
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path} line {line}: {exc}") from exc
        if not np.isfinite(values[i]) or (positive and values[i] <= 0):
            bound = "> 0" if positive else "finite"
            raise ValueError(
                f"{path} line {line}: {value_column} must be {bound} (got {values[i]})"
            )
    if np.any(np.diff(times) <= 0):
        raise ValueError(f"{path}: {time_column} must be strictly increasing")
    return times, values
