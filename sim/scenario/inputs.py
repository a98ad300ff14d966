"""A scenario's input files, each read once when the scenario loads.

The loader reads every CSV a scenario names (price, hashrate, energy price, ambient, job
trace) while it validates them, and keeps the parsed data and the file's SHA-256 with the
scenario. The model takes its inputs from here and never opens a file, so a loaded
scenario can be pickled to another process or machine and run there; the manifest records
each file's path and digest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.scenario.series_csv import csv_rows, read_file, step_series_from_rows
from sim.scenario.trace import Trace, trace_from_rows

Rows = list[dict[str, Any]]
StepData = tuple[np.ndarray, np.ndarray]  # (unix seconds, values), strictly increasing


@dataclass(frozen=True)
class InputFile:
    """One input file as read: where it was, its digest and its parsed data."""

    path: str
    sha256: str
    data: Any  # StepData or Trace


class InputFiles:
    """The input files of one scenario, keyed by the field that names them."""

    def __init__(self) -> None:
        self._files: dict[str, InputFile] = {}

    def _read(self, field: str, path: str, parse: Callable[[Path, Rows], Any]) -> Any:
        """``parse`` of the file at ``path`` named by ``field``, read and digested on first use."""
        known = self._files.get(field)
        if known is None or known.path != path:
            content = read_file(Path(path))
            data = parse(Path(path), csv_rows(Path(path), content))
            known = self._files[field] = InputFile(path, hashlib.sha256(content).hexdigest(), data)
        return known.data

    def step_series(
        self,
        field: str,
        path: str,
        column: str,
        positive: bool = True,
        limits: tuple[float, float] | None = None,
    ) -> StepData:
        """The step series of ``path`` named by ``field``, read on first use.

        Raises
        ------
        ValueError
            Naming the file, line and column when the file is malformed.
        """
        series: StepData = self._read(
            field,
            path,
            lambda where, rows: step_series_from_rows(where, rows, column, positive, limits),
        )
        return series

    def trace(self, field: str, path: str) -> Trace:
        """The job trace of ``path`` named by ``field``, read on first use."""
        trace: Trace = self._read(field, path, trace_from_rows)
        return trace

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InputFiles):
            return NotImplemented
        return self.digests() == other.digests()

    __hash__ = None  # type: ignore[assignment]  # mutable: filled as files are read

    def digests(self) -> dict[str, dict[str, str]]:
        """Field → path and SHA-256 of each file read, for the manifest."""
        return {
            field: {"path": file.path, "sha256": file.sha256}
            for field, file in sorted(self._files.items())
        }
