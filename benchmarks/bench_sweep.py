"""Benchmark sweeps: KPI-only baseline replications with 1 and 2 local workers.

Run by hand (``.venv/bin/python benchmarks/bench_sweep.py [--runs N] [--json PATH]``);
about 2 minutes on a 2-core machine with the default 40 runs per measurement.

The requirement (issue 12)
--------------------------
"A 1,000-replication sweep of the 5-year baseline (KPIs only) within 2 minutes; a
1,000-replication sweep of hybrid.yaml within 15 minutes; 2 local workers >= 90 % of the
machine's 2-process ceiling, measured in the same run; peak memory of a 1,000-replication
sweep with daily bands <= 2 GB."

What is measured (``time.perf_counter``)
-----------------------------------------
0. first, unmeasured, a 2-run sweep: it starts the forkserver, whose imports (≈2 s) a
   1,000-run sweep pays once, not per run, but which would otherwise be charged to the
   first measurement below;
1. the speed unit (1,000,000 bare SimPy timeouts), sampled around the stages;
2. ``run_sweep`` of the baseline with N replications, KPIs only, no output folder, with 1
   and then 2 worker processes: runs per second, and the 1,000-run time they imply;
3. the machine's 2-process ceiling: two plain processes each running N/2 baseline runs
   (``sim.sweep.outcome.run_task``, no sweep), against one process running N/2; each set up
   as a sweep's worker is (``worker_init``: it keeps the memory it frees), so the ceiling
   compares like with like;
4. for information, the parent's peak RSS (``resource.getrusage``) after the sweeps.

The 1,000-run figures are projections from N runs (the per-run cost does not depend on N).
The hybrid target is not measured here: one hybrid replication takes ≈4–6 s, so the
target needs the AI scheduler about twice as fast (docs/performance.md).
"""

from __future__ import annotations

import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sim.scenario import load_scenario
from sim.sweep import run_sweep
from sim.sweep.outcome import RunTask, run_task, worker_init

from common import (
    REPO,
    all_passed,
    argument_parser,
    code_state,
    environment,
    environment_line,
    ratio_row,
    run_stages,
    table,
    write_json,
)

KPIS = ["btc_mined", "mining_margin_usd", "energy_cost_usd"]


def sweep_spec(runs: int) -> dict[str, Any]:
    """The baseline, ``runs`` replications, KPIs only."""
    return {
        "name": "bench",
        "base": str(REPO / "scenarios" / "baseline.yaml"),
        "replications": runs,
        "seed": 7,
        "kpis": KPIS,
    }


def timed_sweep(runs: int, workers: int) -> float:
    """Wall time of a KPI-only baseline sweep of ``runs`` runs on ``workers`` processes."""
    started = time.perf_counter()
    result = run_sweep(sweep_spec(runs), workers=workers)
    elapsed = time.perf_counter() - started
    if (result.runs["status"] != "ok").any():
        raise SystemExit("a benchmark run failed")
    return elapsed


def _runs_in_one_process(count: int) -> float:
    scenario = load_scenario(REPO / "scenarios" / "baseline.yaml")
    started = time.perf_counter()
    for seed in range(count):
        run_task(RunTask(scenario, seed, tuple(KPIS)))
    return time.perf_counter() - started


def ceiling(runs: int) -> dict[str, float]:
    """One process running runs/2, then two processes running runs/2 each."""
    half = max(runs // 2, 1)
    with ProcessPoolExecutor(1, initializer=worker_init) as pool:
        one = pool.submit(_runs_in_one_process, half).result()
    started = time.perf_counter()
    with ProcessPoolExecutor(2, initializer=worker_init) as pool:
        list(pool.map(_runs_in_one_process, [half, half]))
    two = time.perf_counter() - started
    return {"one_s": one, "two_s": two, "ceiling": 2 * one / two}


def main(argv: list[str] | None = None) -> int:
    """Run the stages, print the table, optionally write JSON; exit 1 on any FAIL."""
    parser = argument_parser(__doc__)
    parser.add_argument("--runs", type=int, default=40, help="runs per measurement")
    args = parser.parse_args(argv)
    runs = args.runs
    env_info = environment()
    code = code_state()
    print(
        f"dcsim sweep benchmark — commit {code['git_commit']}"
        f"{' (sim/ modified)' if code['sim_modified'] else ''}, {environment_line(env_info)}",
        flush=True,
    )
    print("  starting the forkserver (a 2-run sweep, not measured) …", flush=True)
    timed_sweep(2, 2)
    results = run_stages(
        [
            ("one_worker", f"baseline sweep, {runs} runs, 1 worker", lambda: timed_sweep(runs, 1)),
            (
                "two_workers",
                f"baseline sweep, {runs} runs, 2 workers",
                lambda: timed_sweep(runs, 2),
            ),
            ("ceiling", "2-process ceiling", lambda: ceiling(runs)),
        ]
    )
    one, two = results["one_worker"], results["two_workers"]
    speedup = one / two
    ceil = results["ceiling"]["ceiling"]
    thousand_s = two / runs * 1_000
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1_024
    rows = [
        ratio_row(
            "1,000 baseline runs on 2 workers (projected, min)",
            thousand_s / 60,
            [thousand_s / 60],
            "<= 2",
            thousand_s <= 120,
        ),
        ratio_row("2 workers / 1 worker, runs per second", speedup, [speedup], "—", None),
        ratio_row("2-process ceiling (plain processes)", ceil, [ceil], "—", None),
        ratio_row(
            "2 workers / ceiling", speedup / ceil, [speedup / ceil], ">= 0.9", speedup / ceil >= 0.9
        ),
    ]
    print()
    print(table(rows))
    print(
        f"\n{runs} runs: 1 worker {one:.1f} s ({runs / one:.2f} runs/s), 2 workers {two:.1f} s "
        f"({runs / two:.2f} runs/s); parent peak RSS {peak_mb:.0f} MB; speed unit "
        f"{results['speed_unit']['median_s']:.3f} s"
    )
    if args.json:
        write_json(args.json, {"environment": env_info, "code": code, "results": results})
    return 0 if all_passed(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
