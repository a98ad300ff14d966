"""Read step-function time series (price, hashrate) from small CSV files.

A file has a time column, ``timestamp_utc`` (ISO 8601) or ``date`` (YYYY-MM-DD, midnight
UTC), and one value column. Each value holds from its time until the next row's time.
"""

from __future__ import annotations

import csv
import io
import math
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from sim.units import as_utc

TIME_COLUMNS = ("timestamp_utc", "date")


def read_file(path: Path) -> bytes:
    """The bytes of an input file.

    Raises
    ------
    ValueError
        Naming the file when it cannot be read.
    """
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # a path with a NUL character
        raise ValueError(f"cannot read {str(path)!r}: {exc}") from exc


def csv_rows(path: Path, content: bytes) -> list[dict[str, Any]]:
    """The rows of UTF-8 CSV ``content`` with a header line (a leading BOM is skipped).

    Raises
    ------
    ValueError
        Naming the file (``path``) when the content is not UTF-8 CSV text.
    """
    try:  # utf-8-sig: spreadsheets often start a UTF-8 CSV with a byte-order mark
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}); save it as UTF-8 CSV"
        ) from exc
    try:
        return list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise ValueError(f"{path} is not a readable CSV file: {exc}") from exc


def _moment(row: dict[str, Any], column: str) -> float:
    """Unix seconds of the ISO 8601 time in ``column`` (UTC when it has no zone)."""
    text = row[column]
    try:
        return as_utc(datetime.fromisoformat((text or "").strip())).timestamp()
    except (ValueError, OverflowError) as exc:
        raise ValueError(
            f"{column} is not a valid date/time, e.g. 2024-01-01T00:00:00Z or 2024-01-01 "
            f"({exc}; got {text!r})"
        ) from exc


def _number(row: dict[str, Any], column: str) -> float:
    text = row[column]
    try:
        return float(text)
    except (ValueError, TypeError) as exc:  # TypeError: the row ends before the column
        raise ValueError(f"{column} is not a number (got {text!r})") from exc


def step_series_from_rows(
    path: Path,
    rows: list[dict[str, Any]],
    value_column: str,
    positive: bool = True,
    limits: tuple[float, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (unix seconds, values) of a step series read from ``path``, strictly by time.

    Values must be finite, > 0 when ``positive`` (prices of energy may be ≤ 0), and within
    ``limits`` (inclusive) when given.

    Raises
    ------
    ValueError
        With a message naming the row and column when the file is malformed.
    """
    if not rows:
        raise ValueError(f"{path} has no data rows")
    columns = set(rows[0])
    time_column = next((c for c in TIME_COLUMNS if c in columns), None)
    if time_column is None or value_column not in columns:
        raise ValueError(
            f"{path} needs columns ({' or '.join(TIME_COLUMNS)}) and {value_column}; "
            f"found {sorted(c for c in columns if c is not None)}"
        )
    low, high = limits or (-math.inf, math.inf)
    times = np.empty(len(rows))
    values = np.empty(len(rows))
    for i, row in enumerate(rows):
        line = i + 2  # header is line 1
        try:
            times[i] = _moment(row, time_column)
            values[i] = _number(row, value_column)
        except ValueError as exc:
            raise ValueError(f"{path} line {line}: {exc}") from exc
        if not np.isfinite(values[i]) or (positive and values[i] <= 0):
            bound = "> 0" if positive else "finite"
            raise ValueError(
                f"{path} line {line}: {value_column} must be {bound} (got {values[i]})"
            )
        if not low <= values[i] <= high:
            raise ValueError(
                f"{path} line {line}: {value_column} must be between {low:g} and {high:g} "
                f"(got {values[i]:g})"
            )
    backwards = np.flatnonzero(np.diff(times) <= 0)
    if backwards.size:
        raise ValueError(
            f"{path} line {backwards[0] + 3}: {time_column} must be later than the row before "
            "(strictly increasing)"
        )
    return times, values
