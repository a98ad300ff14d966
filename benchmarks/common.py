"""Helpers shared by the hand-run benchmarks (``bench_baseline.py``, ``bench_ai.py``, …).

The scripts are run as ``.venv/bin/python benchmarks/bench_*.py``, which puts this folder on
``sys.path``, so they import this module as ``common``. It holds what both need: the timing
helper and the summary of samples, the speed unit (1,000,000 bare SimPy timeouts, sampled
between the stages), the machine/package/git metadata and the state of the code under test,
a profile grouped by module, the results table and the JSON file.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import json
import os
import platform
import pstats
import statistics
import subprocess
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import simpy

REPO = Path(__file__).resolve().parents[1]
UNIT_EVENTS = 1_000_000
UNIT_REPEATS_FIRST = 2  # then one more after each other stage: 5 samples in all
PACKAGES = ("simpy", "numpy", "pandas", "pyarrow", "pydantic", "pyyaml")

# ---- timing -----------------------------------------------------------------------------


def timed(fn: Callable[[], object]) -> float:
    """Wall time (s) of one call of ``fn``, after a garbage collection."""
    gc.collect()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def describe(times: list[float]) -> dict[str, Any]:
    """Median, min, max and every sample of a list of wall times (s)."""
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "samples_s": times,
    }


# ---- speed unit -------------------------------------------------------------------------


def bare_timeouts(env: simpy.Environment, n: int) -> Generator[simpy.Event, None, None]:
    """SimPy process that yields ``n`` one-second timeouts, nothing else."""
    for _ in range(n):
        yield env.timeout(1)


def speed_unit_once() -> float:
    """Wall time (s) of 1,000,000 bare SimPy timeouts in one process."""
    env = simpy.Environment()
    env.process(bare_timeouts(env, UNIT_EVENTS))
    return timed(env.run)


def run_stages(stages: list[tuple[str, str, Callable[[], dict[str, Any]]]]) -> dict[str, Any]:
    """Run each ``(key, label, measure)`` stage, sampling the speed unit around them.

    The unit is sampled ``UNIT_REPEATS_FIRST`` times first, then once after each stage, so
    it sees the same machine load as what it divides. Returns ``{"speed_unit": ..., key:
    measure(), ...}``.
    """
    results: dict[str, Any] = {}
    print("  measuring the speed unit …", flush=True)
    unit_samples = [speed_unit_once() for _ in range(UNIT_REPEATS_FIRST)]
    for key, label, measure in stages:
        print(f"  {label} …", flush=True)
        results[key] = measure()
        unit_samples.append(speed_unit_once())
    return {"speed_unit": describe(unit_samples), **results}


# ---- profile ----------------------------------------------------------------------------


def module_group(filename: str, parts: Sequence[tuple[str, str]]) -> str:
    """Which part of the code a profiled function belongs to: the first of ``parts``
    (path fragment, group) whose fragment is in ``filename``, else a coarse group."""
    path = filename.replace("\\", "/")
    for part, group in parts:
        if part in path:
            return group
    if "/sim/" in path and "site-packages" not in path:
        return "sim (other)"
    if "/simpy/" in path:
        return "simpy"
    if "/numpy/" in path:
        return "numpy"
    if path.startswith("<string>"):  # dataclass and NamedTuple __init__/__new__
        return "dataclass/namedtuple init"
    return "other"


def profile(
    run: Callable[[], object], parts: Sequence[tuple[str, str]], top: int
) -> dict[str, Any]:
    """cProfile of ``run()``: the top functions by tottime and the time per module group.

    A built-in function (``list.append``, ``heapq.heappush`` …) has no module of its own; its
    time is charged to the groups of its callers, in proportion to what each caller spent in
    it, and its row names them.
    """
    profiler = cProfile.Profile()
    profiler.enable()
    run()
    profiler.disable()
    raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    groups: dict[str, float] = {}
    rows: list[dict[str, Any]] = []
    for (filename, line, name), (_, calls, tottime, cumtime, callers) in raw.items():
        if filename == "~":
            by_caller = {module_group(caller[0], parts): 0.0 for caller in callers}
            spent = sum(entry[2] for entry in callers.values()) or 1.0
            for caller, entry in callers.items():
                by_caller[module_group(caller[0], parts)] += tottime * entry[2] / spent
            for group, seconds in by_caller.items():
                groups[group] = groups.get(group, 0.0) + seconds
            group = "builtin, called from " + "/".join(
                sorted(by_caller, key=lambda g: -by_caller[g])
            )
            where = name
        else:
            group = module_group(filename, parts)
            groups[group] = groups.get(group, 0.0) + tottime
            short = filename.split("site-packages/")[-1].split("/main/")[-1]
            where = f"{short}:{line} {name}"
        rows.append(
            {
                "function": where,
                "group": group,
                "calls": calls,
                "tottime_s": tottime,
                "cumtime_s": cumtime,
            }
        )
    rows.sort(key=lambda row: -row["tottime_s"])
    return {
        "total_tottime_s": sum(groups.values()),
        "top": rows[:top],
        "groups_s": dict(sorted(groups.items(), key=lambda item: -item[1])),
    }


# ---- environment ------------------------------------------------------------------------


def git(*args: str) -> str:
    """Output of a read-only git command in the repository, or 'unknown'."""
    try:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.rstrip()  # not strip(): porcelain lines start with a space
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def code_state() -> dict[str, Any]:
    """Commit, modified files under sim/ and a hash of the sim/ sources as they are now.

    Taken at the start and at the end of a benchmark: another session may edit ``sim/``
    while it runs.
    """
    digest = hashlib.sha256()
    for path in sorted((REPO / "sim").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return {
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "sim_modified": git("status", "--porcelain", "--", "sim").splitlines(),
        "sim_sources_sha256": digest.hexdigest()[:12],
    }


def environment(with_commit: bool = False) -> dict[str, Any]:
    """Machine, interpreter and package versions (and, if asked, the git commit)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    info: dict[str, Any] = {
        "timestamp_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    if with_commit:
        info["git_commit"] = git("rev-parse", "--short", "HEAD")
    info["versions"] = versions
    return info


def environment_line(env_info: dict[str, Any]) -> str:
    """``Python 3.x, N CPUs, simpy 4.x, …`` for the first line of the output."""
    return f"Python {env_info['python']}, {env_info['cpus']} CPUs, " + ", ".join(
        f"{k} {v}" for k, v in env_info["versions"].items()
    )


# ---- results table ----------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One row of the results table; ``passed`` is None for a row without a target.

    ``rate`` is an optional column: None leaves it out of the table (unless another row has
    one) and out of ``as_dict``; "" is a blank cell in a table that has the column.
    """

    name: str
    measured: str
    spread: str
    in_units: str
    rate: str | None = field(default=None, kw_only=True)
    target: str
    passed: bool | None

    def as_dict(self) -> dict[str, Any]:
        """The row for the JSON file, without ``rate`` if the row has none."""
        row = asdict(self)
        if self.rate is None:
            del row["rate"]
        return row


def time_row(
    name: str,
    stats: dict[str, Any],
    unit_s: float,
    target_units: float | None = None,
    *,
    rate: str | None = None,
) -> Check:
    """A row for a wall time: median, min–max, median in units, optional target."""
    units = stats["median_s"] / unit_s
    return Check(
        name,
        f"{stats['median_s']:.3f} s",
        f"{stats['min_s']:.3f}–{stats['max_s']:.3f} s",
        f"{units:.2f}",
        "—" if target_units is None else f"<= {target_units} units",
        None if target_units is None else units <= target_units,
        rate=rate,
    )


def ratio_row(
    name: str, ratio: float, rounds: list[float], target: str, ok: bool, *, rate: str | None = None
) -> Check:
    """A row for a paired ratio (median of per-round ratios) with its target."""
    spread = f"{min(rounds):.2f}–{max(rounds):.2f}"
    return Check(name, f"{ratio:.3f}", spread, "—", target, ok, rate=rate)


def table(rows: list[Check]) -> str:
    """The results as a fixed-width text table; a rate column if any row has a rate."""
    with_rate = any(row.rate is not None for row in rows)
    verdict = {True: "PASS", False: "FAIL", None: "—"}
    cells = [
        ("benchmark", "median", "min–max", "units")
        + (("rate",) if with_rate else ())
        + ("target", "result")
    ]
    for r in rows:
        rate = (r.rate or "",) if with_rate else ()
        cells.append((r.name, r.measured, r.spread, r.in_units, *rate, r.target, verdict[r.passed]))
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def all_passed(rows: list[Check]) -> bool:
    """True unless some row failed its target (rows without a target do not count)."""
    return all(row.passed is not False for row in rows)


# ---- command line and JSON --------------------------------------------------------------


def argument_parser(doc: str | None) -> argparse.ArgumentParser:
    """A parser described by the first line of ``doc``, with the common ``--json`` flag."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n", 1)[0])
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    return parser


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as indented JSON (creating the folder) and say so."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")
