"""Benchmark the baseline scenario against dcsim's speed and memory targets.

Run by hand (``make bench``, i.e. ``.venv/bin/python benchmarks/bench_baseline.py``); it
takes well under two minutes on a 2-core machine. Add ``--json PATH`` to keep the figures.

Why a "speed unit"
------------------
Wall times depend on the machine, so every time is also expressed in **speed units**: the
wall time of 1,000,000 bare SimPy ``timeout`` events yielded by one process, measured in the
same run. A target in units ("the baseline costs at most half of a million bare events")
holds on a slow laptop and on a fast server alike, and catches an engine that silently
starts waking once per block (~270,000 blocks over the baseline's five years) or once per
ASIC instead of once per difficulty epoch.

What is measured (medians of repetitions, ``time.perf_counter``)
----------------------------------------------------------------
1. speed unit: 1,000,000 ``env.timeout(1)`` in one SimPy process; two samples first, then
   one after each other stage, so the unit sees the same machine load as what it divides.
2. engine alone: ``run_one(load_scenario("scenarios/baseline.yaml"))``, no I/O, after one
   warm-up. Target <= 0.5 units.
3. whole CLI run: ``python -m sim run scenarios/baseline.yaml --out TMP`` as a subprocess,
   including interpreter start-up, imports and CSV writing. Target <= 2 units.
4. peak memory of that CLI run: the child's own max RSS, read from ``os.wait4`` on exactly
   that child (never an aggregate over earlier children). Target <= 500 MB.
5. scaling with fleet size: ``run_one`` of the baseline with the fleet replaced by one group
   of 100 vs 100,000 Antminer S21 (grid raised to 400 MW so the big fleet is valid), run in
   back-to-back pairs of alternating order. The ratio is the median of the pairs' ratios
   (the ratio of the two medians is in the JSON too). Target: within 10 % of 1.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from sim.runner import run_one
from sim.scenario import load_scenario
from sim.scenario.schema import Scenario

from common import (
    REPO,
    UNIT_EVENTS,
    Check,
    all_passed,
    argument_parser,
    describe,
    environment,
    environment_line,
    ratio_row,
    run_stages,
    table,
    time_row,
    timed,
    write_json,
)

BASELINE = REPO / "scenarios" / "baseline.yaml"
ENGINE_REPEATS = 5
CLI_REPEATS = 5
SCALING_PAIRS = 15  # back-to-back (small, large) pairs, alternating order
SMALL_FLEET = 100
LARGE_FLEET = 100_000
SCALING_GRID_KW = 400_000  # 100,000 S21 draw 350 MW; the baseline grid is 100 MW
ENGINE_TARGET_UNITS = 0.5
CLI_TARGET_UNITS = 2.0
MEMORY_TARGET_MB = 500.0
SCALING_TARGET = 0.10  # |t_large / t_small - 1|


def fleet_variant(units: int) -> Scenario:
    """The baseline with its fleet replaced by ``units`` Antminer S21 and a 400 MW grid."""
    return load_scenario(
        BASELINE,
        overrides=[
            f"mining.groups=[{{model: Antminer S21, count: {units}}}]",
            f"site.grid_capacity_kw={SCALING_GRID_KW}",
        ],
    )


def cli_run_once(out_dir: Path) -> tuple[float, float]:
    """Run the CLI on the baseline once: (wall time s, the child's max RSS in MB)."""
    command = [sys.executable, "-m", "sim", "run", str(BASELINE), "--out", str(out_dir)]
    log = out_dir.with_suffix(".log")
    with log.open("wb") as sink:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=REPO, stdout=sink, stderr=subprocess.STDOUT)
        # wait4 reaps exactly this child and returns its own resource usage
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {child.returncode}:\n{log.read_text()}")
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss_bytes = usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024
    return elapsed, rss_bytes / 1e6


def measure_engine() -> dict[str, Any]:
    """``run_one`` of the baseline (scenario loaded once, outside the timing)."""
    scenario = load_scenario(BASELINE)
    run_one(scenario)  # warm-up
    times = [timed(partial(run_one, scenario)) for _ in range(ENGINE_REPEATS)]
    return {**describe(times), "events_processed": run_one(scenario).events_processed}


def measure_cli() -> dict[str, Any]:
    """Whole CLI runs as subprocesses: wall times and each child's peak RSS."""
    times: list[float] = []
    rss_mb: list[float] = []
    with tempfile.TemporaryDirectory(prefix="dcsim-bench-") as tmp:
        for i in range(CLI_REPEATS):
            elapsed, peak = cli_run_once(Path(tmp) / f"run{i}")
            times.append(elapsed)
            rss_mb.append(peak)
        output_mb = sum(f.stat().st_size for f in (Path(tmp) / "run0").iterdir()) / 1e6
    return {
        **describe(times),
        "peak_rss_mb": max(rss_mb),
        "rss_samples_mb": rss_mb,
        "output_mb": output_mb,
    }


def measure_scaling() -> dict[str, Any]:
    """``run_one`` with 100 vs 100,000 units, interleaved in alternating order."""
    variants = {SMALL_FLEET: fleet_variant(SMALL_FLEET), LARGE_FLEET: fleet_variant(LARGE_FLEET)}
    for scenario in variants.values():
        run_one(scenario)  # warm-up
    times: dict[int, list[float]] = {units: [] for units in variants}
    for i in range(SCALING_PAIRS):
        order = [SMALL_FLEET, LARGE_FLEET] if i % 2 == 0 else [LARGE_FLEET, SMALL_FLEET]
        for units in order:
            times[units].append(timed(partial(run_one, variants[units])))
    small = describe(times[SMALL_FLEET])
    large = describe(times[LARGE_FLEET])
    # each pair ran back to back under the same machine load, so the median of the pairs'
    # ratios resists load bursts better than the ratio of the two medians
    pair_ratios = [b / a for a, b in zip(times[SMALL_FLEET], times[LARGE_FLEET], strict=True)]
    return {
        "small_units": SMALL_FLEET,
        "large_units": LARGE_FLEET,
        "small": small,
        "large": large,
        "ratio_large_to_small": statistics.median(pair_ratios),
        "ratio_of_medians": large["median_s"] / small["median_s"],
        "pair_ratios": pair_ratios,
    }


def checks(results: dict[str, Any]) -> list[Check]:
    """Compare every measurement with its target."""
    unit_s = results["speed_unit"]["median_s"]
    cli = results["cli"]
    scaling = results["scaling"]
    ratio = scaling["ratio_large_to_small"]
    rss = cli["rss_samples_mb"]
    return [
        time_row(f"speed unit ({UNIT_EVENTS:,} SimPy timeouts)", results["speed_unit"], unit_s),
        time_row("engine alone: run_one(baseline)", results["engine"], unit_s, ENGINE_TARGET_UNITS),
        time_row("whole CLI run (dcsim run baseline)", cli, unit_s, CLI_TARGET_UNITS),
        Check(
            "peak RSS of the CLI run (max)",
            f"{cli['peak_rss_mb']:.0f} MB",
            f"{min(rss):.0f}–{max(rss):.0f} MB",
            "—",
            f"<= {MEMORY_TARGET_MB:.0f} MB",
            cli["peak_rss_mb"] <= MEMORY_TARGET_MB,
        ),
        time_row(f"run_one, {SMALL_FLEET:,} S21", scaling["small"], unit_s),
        time_row(f"run_one, {LARGE_FLEET:,} S21", scaling["large"], unit_s),
        ratio_row(
            f"scaling: t({LARGE_FLEET:,}) / t({SMALL_FLEET:,}), paired",
            ratio,
            scaling["pair_ratios"],
            f"within {SCALING_TARGET:.0%} of 1",
            abs(ratio - 1) <= SCALING_TARGET,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, print the table, optionally write JSON; exit 1 on any FAIL."""
    args = argument_parser(__doc__).parse_args(argv)

    started = time.perf_counter()
    env_info = environment(with_commit=True)
    print(f"dcsim benchmark — {environment_line(env_info)}", flush=True)
    stages: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
        ("engine", "measuring engine", measure_engine),
        ("cli", "measuring cli", measure_cli),
        ("scaling", "measuring scaling", measure_scaling),
    ]
    results = run_stages(stages)
    rows = checks(results)
    total = time.perf_counter() - started

    print()
    print(table(rows))
    print()
    print(
        f"engine events processed: {results['engine']['events_processed']:,}; "
        f"CLI output {results['cli']['output_mb']:.1f} MB; "
        f"benchmark took {total:.0f} s"
    )
    passed = all_passed(rows)
    if args.json is not None:
        document = {
            "environment": env_info,
            "results": results,
            "checks": [row.as_dict() for row in rows],
            "all_passed": passed,
            "benchmark_wall_time_s": total,
        }
        write_json(args.json, document)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
