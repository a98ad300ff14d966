"""Write a run's tables and manifest atomically.

Everything goes to a temporary folder beside the destination, which is moved into place
only when complete, so a crash or an error never leaves a half-written output folder.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

if TYPE_CHECKING:
    from sim.runner import RunResult

WRITER_THREADS = 2  # the CSV files written at once
VERSIONED_PACKAGES = ("dcsim", "simpy", "numpy", "pandas", "pyarrow", "pydantic", "pyyaml")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as CSV with ISO 8601 UTC timestamps (fast, via pyarrow)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type):
            # ISO 8601 in whole seconds; a string cast is ~5x faster than strftime
            naive = table.column(i).cast(pa.timestamp("s"), safe=False).cast(pa.string())
            text = pc.binary_join_element_wise(pc.utf8_replace_slice(naive, 10, 11, "T"), "Z", "")
            table = table.set_column(i, field.name, text)
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
        "files": files,
        "scenario": result.scenario.model_dump(mode="json"),
    }


def out_dir_problem(out_dir: Path) -> str | None:
    """Why ``out_dir`` may not receive a run, or None if it may.

    A run replaces an earlier run's folder (one holding a manifest.json) or fills an empty
    or missing one; anything else is the user's and is never deleted.
    """
    if not out_dir.exists():
        return None
    if not out_dir.is_dir():
        return f"{out_dir} exists and is not a folder"
    if any(out_dir.iterdir()) and not (out_dir / "manifest.json").is_file():
        return f"{out_dir} exists and is not a dcsim output folder (no manifest.json)"
    return None


def replace_dir(staging: Path, out_dir: Path) -> None:
    """Move a finished ``staging`` folder to ``out_dir``, replacing any previous run."""
    if out_dir.exists():
        trash = out_dir.with_name(f".{out_dir.name}.old-{staging.name}")
        out_dir.rename(trash)
        staging.rename(out_dir)
        shutil.rmtree(trash)
    else:
        staging.rename(out_dir)


def write_run(result: RunResult, out_dir: Path, command: list[str] | None = None) -> Path:
    """Write all tables and ``manifest.json`` into ``out_dir`` atomically.

    Raises
    ------
    FileExistsError
        If ``out_dir`` exists and is neither empty nor an earlier run's folder.
    """
    out_dir = out_dir.resolve()
    problem = out_dir_problem(out_dir)
    if problem:
        raise FileExistsError(problem)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        tables = result.tables()
        # pyarrow formats and writes without holding the GIL: the big tables go side by
        # side, largest first (blocks.csv and timeseries.csv are most of the time)
        largest_first = sorted(tables, key=lambda name: -tables[name].size)
        with ThreadPoolExecutor(max_workers=WRITER_THREADS) as pool:
            for _ in pool.map(lambda name: write_csv(tables[name], staging / name), largest_first):
                pass
        files = {name: len(frame) for name, frame in tables.items()}
        text = json.dumps(manifest(result, files, command or sys.argv), indent=2)
        (staging / "manifest.json").write_text(text + "\n", encoding="utf-8")
        replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
