"""Write a run's tables (CSV or Parquet) and its manifest into an output folder.

Files are staged beside the destination and moved in when complete; which folders may be
written and how files are replaced is :mod:`sim.record.outdir`'s business.
"""

from __future__ import annotations

import platform
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sim.record.columns import PRECISIONS, precision_kind
from sim.record.outdir import MANIFEST, OutputFolder
from sim.result import RunResult
from sim.scenario.schema import Scenario, input_files

WRITER_THREADS = 2  # the CSV files written at once
VERSIONED_PACKAGES = ("dcsim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "pyyaml")


def _time_text(column: pa.ChunkedArray, date: bool) -> pa.ChunkedArray:
    """UTC times as ``2024-03-01`` (a date column) or ``2024-03-01T00:07:55Z``."""
    # whole seconds; a string cast is ~5x faster than strftime
    naive = column.cast(pa.timestamp("s"), safe=False).cast(pa.string())
    if date:
        return pc.utf8_slice_codeunits(naive, 0, 10)
    return pc.binary_join_element_wise(pc.utf8_replace_slice(naive, 10, 11, "T"), "Z", "")


def _rounded(column: pa.ChunkedArray, decimals: int) -> pa.Array:
    """Floats rounded half to even to ``decimals`` places; missing values stay missing."""
    # + 0.0 turns the -0.0 of a tiny negative (float noise) into 0.0, so no "-0" is written
    return pa.array(np.round(column.to_numpy(), decimals) + 0.0, from_pandas=True)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV (fast, via pyarrow), each column as columns.PRECISIONS says.

    Floats are rounded to their kind's decimals, then pyarrow prints the shortest text that
    reads back as the same double: the same bytes on every platform, no float noise.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        kind = precision_kind(field.name)
        decimals = PRECISIONS[kind].decimals
        if pa.types.is_timestamp(field.type):
            table = table.set_column(i, field.name, _time_text(table.column(i), kind == "date"))
        elif pa.types.is_floating(field.type) and decimals is not None:
            rounded = _rounded(table.column(i), decimals)
            if kind == "difficulty":  # ≈1e14: fixed point, where pyarrow would print 7.2e+13
                rounded = rounded.cast(pa.decimal128(38, decimals))
            table = table.set_column(i, field.name, rounded)
    pacsv.write_csv(table, path, pacsv.WriteOptions(quoting_style="needed"))


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that shape the results."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def manifest(result: RunResult, files: dict[str, int], command: list[str]) -> dict[str, Any]:
    """What was run, with what, and how long it took."""
    return {
        "scenario_name": result.scenario.name,
        "seed": result.seed,
        "command": command,
        "versions": package_versions(),
        "wall_time_s": round(result.wall_time_s, 3),
        "events_processed": result.events_processed,
        "random_streams": result.random_streams,
        "complete": True,
        "files": files,
        "inputs": input_files(result.scenario).digests(),
        "scenario": result.scenario.model_dump(mode="json"),
    }


def output_files(scenario: Scenario) -> list[str]:
    """Names of the files a run of ``scenario`` writes, manifest last."""
    return [*table_files(scenario), MANIFEST]


def table_files(scenario: Scenario) -> list[str]:
    """Names of the table files a run of ``scenario`` writes, in output.tables order."""
    return [f"{name}.{scenario.output.format}" for name in scenario.output.tables]


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as Parquet: typed columns, full-precision floats, UTC timestamps."""
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def stage_tables(result: RunResult, staging: Path) -> dict[str, int]:
    """Write the run's chosen tables into ``staging``; return file name → rows."""
    output = result.scenario.output
    write = write_csv if output.format == "csv" else write_parquet
    frames = result.tables()
    names = table_files(result.scenario)
    tables = {file: frames[name] for file, name in zip(names, output.tables, strict=True)}
    # pyarrow formats and writes without holding the GIL: the big tables go side by
    # side, largest first (blocks and timeseries are most of the time)
    largest_first = sorted(tables, key=lambda name: -tables[name].size)
    with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
        for _ in pool.map(lambda name: write(tables[name], staging / name), largest_first):
            pass
    return {name: len(frame) for name, frame in tables.items()}


def write_into(folder: OutputFolder, result: RunResult, command: list[str] | None) -> Path:
    """Stage the run's tables and manifest and move them into the held ``folder``."""
    files = stage_tables(result, folder.staging())
    return folder.commit(manifest(result, files, command or sys.argv))


def write_run(result: RunResult, out_dir: Path, command: list[str] | None = None) -> Path:
    """Write all tables and ``manifest.json`` into ``out_dir``; return the folder.

    Raises
    ------
    OutDirError
        If ``out_dir`` may not receive the run (see :mod:`sim.record.outdir`) or another
        run holds it.
    """
    with OutputFolder(out_dir, output_files(result.scenario)) as folder:
        return write_into(folder, result, command)
