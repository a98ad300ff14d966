"""Benchmark sweeps: KPI-only baseline replications with 1 and 2 local workers, and hybrid ones.

Run by hand (``.venv/bin/python benchmarks/bench_sweep.py [--runs N] [--hybrid-runs M]
[--hybrid-only] [--json PATH]``); about 2 minutes on a 2-core machine with the default 40
runs per measurement, plus ≈5 s per hybrid run.

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
4. for information, the parent's peak RSS (``resource.getrusage``) after the sweeps;
5. M KPI-only replications of ``scenarios/hybrid.yaml`` (2 years, 4,096 GPUs) in this
   process (``run_task``, one warm-up first): seconds per run, in speed units too.

The 1,000-run figures are projections from N (or M) runs: the per-run cost does not depend
on the count. The hybrid sweep's is 1,000 × s/run divided by the 2-process ceiling of stage 3,
or by 2 with ``--hybrid-only`` (stages 2–4 skipped; the projection is then the ideal one).
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from sim.scenario import load_scenario
from sim.sweep import run_sweep
from sim.sweep.outcome import RunTask, run_task, worker_init

from common import (
    REPO,
    Check,
    all_passed,
    argument_parser,
    code_state,
    describe,
    environment,
    environment_line,
    ratio_row,
    run_stages,
    table,
    time_row,
    write_json,
)

KPIS = ["btc_mined", "mining_margin_usd", "energy_cost_usd"]
HYBRID_KPIS = ["btc_mined", "ai_revenue_usd", "energy_cost_usd"]


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


def hybrid_runs(count: int) -> dict[str, Any]:
    """Seconds per KPI-only hybrid replication in this process, after one warm-up."""
    scenario = load_scenario(REPO / "scenarios" / "hybrid.yaml")
    kpis = tuple(HYBRID_KPIS)
    run_task(RunTask(scenario, 1_000, kpis))
    times = []
    for seed in range(count):
        started = time.perf_counter()
        outcome = run_task(RunTask(scenario, seed, kpis))
        times.append(time.perf_counter() - started)
        if outcome.status != "ok":
            raise SystemExit(f"a hybrid run failed: {outcome.error}")
    return describe(times)


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
    parser.add_argument("--hybrid-runs", type=int, default=5, help="hybrid runs (0: none)")
    parser.add_argument(
        "--hybrid-only", action="store_true", help="skip the baseline sweeps and the ceiling"
    )
    args = parser.parse_args(argv)
    runs, hybrid = args.runs, args.hybrid_runs
    env_info = environment()
    code = code_state()
    print(
        f"dcsim sweep benchmark — commit {code['git_commit']}"
        f"{' (sim/ modified)' if code['sim_modified'] else ''}, {environment_line(env_info)}",
        flush=True,
    )
    if not args.hybrid_only:
        print("  starting the forkserver (a 2-run sweep, not measured) …", flush=True)
        timed_sweep(2, 2)
    stages = [] if args.hybrid_only else baseline_stages(runs)
    if hybrid:
        stages.append(("hybrid", f"hybrid, {hybrid} runs, 1 process", lambda: hybrid_runs(hybrid)))
    results = run_stages(stages)
    rows = [] if args.hybrid_only else baseline_rows(results, runs)
    if hybrid:
        rows += hybrid_rows(results, 2.0 if args.hybrid_only else results["ceiling"]["ceiling"])
    print()
    print(table(rows))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1_024
    if not args.hybrid_only:
        one, two = results["one_worker"], results["two_workers"]
        print(
            f"\n{runs} runs: 1 worker {one:.1f} s ({runs / one:.2f} runs/s), 2 workers "
            f"{two:.1f} s ({runs / two:.2f} runs/s); parent peak RSS {peak_mb:.0f} MB"
        )
    if hybrid:
        print(f"hybrid s/run: {', '.join(f'{t:.2f}' for t in results['hybrid']['samples_s'])}")
    print(f"speed unit {results['speed_unit']['median_s']:.3f} s")
    if args.json:
        write_json(args.json, {"environment": env_info, "code": code, "results": results})
    return 0 if all_passed(rows) else 1


def baseline_stages(runs: int) -> list[tuple[str, str, Callable[[], Any]]]:
    """The baseline sweeps on 1 and 2 workers, and the 2-process ceiling."""
    return [
        ("one_worker", f"baseline sweep, {runs} runs, 1 worker", lambda: timed_sweep(runs, 1)),
        ("two_workers", f"baseline sweep, {runs} runs, 2 workers", lambda: timed_sweep(runs, 2)),
        ("ceiling", "2-process ceiling", lambda: ceiling(runs)),
    ]


def hybrid_rows(results: dict[str, Any], ceil: float) -> list[Check]:
    """s/run of a hybrid replication (in units) and the 1,000-run sweep it implies."""
    stats, unit_s = results["hybrid"], results["speed_unit"]["median_s"]
    thousand_min = stats["median_s"] * 1_000 / ceil / 60
    return [
        time_row("hybrid run, KPIs only, 1 process", stats, unit_s),
        ratio_row(
            f"1,000 hybrid runs on 2 workers (projected, min; ÷ {ceil:.2f})",
            thousand_min,
            [thousand_min],
            "<= 15",
            thousand_min <= 15,
        ),
    ]


def baseline_rows(results: dict[str, Any], runs: int) -> list[Check]:
    """The baseline sweep's rows: the 1,000-run projection, the speed-up and the ceiling."""
    one, two = results["one_worker"], results["two_workers"]
    speedup = one / two
    ceil = results["ceiling"]["ceiling"]
    thousand_s = two / runs * 1_000
    return [
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


if __name__ == "__main__":
    sys.exit(main())
