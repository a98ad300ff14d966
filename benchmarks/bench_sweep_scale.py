"""Benchmark sweeps at scale: Dask against local processes, and a 1,000-run sweep's memory.

Run by hand (``.venv/bin/python benchmarks/bench_sweep_scale.py [--runs N] [--rounds R]
[--big M] [--json PATH]``); about 6 minutes on a 2-core machine with the defaults (40, 1
and 1,000).

The requirement (issue 12)
--------------------------
"Dask on the same 2 cores within 10 % of local processes; peak memory of a 1,000-replication
sweep with daily bands <= 2 GB."

What is measured (``time.perf_counter``, ``resource.getrusage``)
----------------------------------------------------------------
1. the speed unit (1,000,000 bare SimPy timeouts), sampled around the stages;
2. a KPI-only sweep of N baseline replications on 2 local worker processes, and the same on
   a new Dask LocalCluster of 2 single-threaded workers (``--dask local``), the cluster's
   start and close included; each sweep in a fresh process, as ``dcsim sweep`` runs it
   (so that neither inherits the other's forkserver or imports), R rounds of the pair,
   the first of each pair alternating: target Dask / local <= 1.10, the median of the
   rounds' ratios (a machine shared with other work moves a single sweep by 2x);
3. in a fresh process, a sweep of M baseline replications keeping the KPIs and daily bands
   of four series, on 2 local workers: its wall time (the 1,000-run figure itself, not a
   projection) and its peak memory: the largest sum of the RSS of the sweep process and
   every process under it (workers, forkserver), sampled every 0.2 s: target <= 2 GB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import threading
import time

import psutil

from sim.sweep import run_sweep

from bench_sweep import sweep_spec
from common import (
    Check,
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

BANDS = ["btc_mined", "mining_margin_usd", "hashprice_usd_per_ph_day", "energy_cost_usd"]


def _in_child(*args: str) -> dict[str, float]:
    """Run this script with ``args`` in a fresh process: the figures it prints last (JSON)."""
    child = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=True
    )
    figures: dict[str, float] = json.loads(child.stdout.strip().splitlines()[-1])
    return figures


def timed_sweep(runs: int, dask: str | None) -> dict[str, float]:
    """Wall and CPU time of a KPI-only baseline sweep on 2 local processes or a local Dask
    cluster, in a fresh process."""
    return _in_child("--sweep-child", str(runs), "--dask", dask or "")


def _sweep_child(runs: int, dask: str | None) -> None:
    started = time.perf_counter()
    with TreeUsage() as usage:
        result = run_sweep(sweep_spec(runs), workers=2, dask=dask)
    elapsed = time.perf_counter() - started
    if result.failed:
        raise SystemExit("a benchmark run failed")
    print(json.dumps({"wall_s": elapsed, "cpu_s": usage.cpu_s}))


def paired_sweeps(runs: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    """``rounds`` pairs of sweeps (local, Dask), the first of each pair alternating:
    {"local"|"dask": {"wall_s"|"cpu_s": one figure per round}}."""
    figures: dict[str, dict[str, list[float]]] = {
        kind: {"wall_s": [], "cpu_s": []} for kind in ("local", "dask")
    }
    for round_ in range(rounds):
        order = ["local", "dask"] if round_ % 2 == 0 else ["dask", "local"]
        for kind in order:
            sweep = timed_sweep(runs, "local" if kind == "dask" else None)
            for name, value in sweep.items():
                figures[kind][name].append(value)
            print(
                f"    round {round_ + 1}: {kind} {sweep['wall_s']:.1f} s, "
                f"{sweep['cpu_s']:.1f} CPU s",
                flush=True,
            )
    return figures


def big_sweep(runs: int) -> dict[str, float]:
    """The M-run sweep with bands, in a fresh process so that its peaks are its own."""
    return _in_child("--big-child", str(runs))


class TreeUsage:
    """The largest total RSS of this process and all its descendants, sampled every 0.2 s,
    and the CPU time they used meanwhile (a descendant's as last sampled).

    Local workers are started by a forkserver, so they are this process's grandchildren and
    ``RUSAGE_CHILDREN`` never sees them; psutil (a Dask dependency: the sweep extra) does.
    CPU time is steadier than wall time on a machine shared with other work: what the sweep
    itself cost, whoever else ran.
    """

    def __init__(self) -> None:
        self.peak_mb = 0.0
        self._me = psutil.Process()
        self._cpu_at_start = 0.0
        self._cpu_s: dict[int, float] = {}  # by pid, descendants only
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_every, daemon=True)

    @property
    def cpu_s(self) -> float:
        """CPU seconds (user + system) of this process and its descendants since entry."""
        return _cpu_s(self._me) - self._cpu_at_start + sum(self._cpu_s.values())

    def _sample(self) -> None:
        total = 0
        for process in [self._me, *self._me.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):  # a process may end meanwhile
                total += process.memory_info().rss
                if process.pid != self._me.pid:
                    self._cpu_s[process.pid] = _cpu_s(process)
        self.peak_mb = max(self.peak_mb, total / 2**20)

    def _sample_every(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> TreeUsage:
        self._cpu_at_start = _cpu_s(self._me)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _big_child(runs: int) -> None:
    started = time.perf_counter()
    with TreeUsage() as memory:
        result = run_sweep({**sweep_spec(runs), "bands": BANDS}, workers=2)
    wall_s = time.perf_counter() - started
    assert result.bands is not None
    figures = {
        "wall_s": wall_s,
        "failed": float(result.failed),
        "parent_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1_024,
        "peak_mb": memory.peak_mb,
        "band_rows": float(len(result.bands)),
    }
    print(json.dumps(figures))


def main(argv: list[str] | None = None) -> int:
    """Run the stages, print the table, optionally write JSON; exit 1 on any FAIL."""
    parser = argument_parser(__doc__)
    parser.add_argument("--runs", type=int, default=40, help="runs of the Dask comparison")
    parser.add_argument("--rounds", type=int, default=1, help="pairs of the Dask comparison")
    parser.add_argument("--big", type=int, default=1_000, help="runs of the memory sweep (0: none)")
    parser.add_argument("--big-child", type=int, help=argparse.SUPPRESS)  # internal
    parser.add_argument("--sweep-child", type=int, help=argparse.SUPPRESS)  # internal
    parser.add_argument("--dask", help=argparse.SUPPRESS)  # internal, with --sweep-child
    args = parser.parse_args(argv)
    if args.big_child is not None:
        _big_child(args.big_child)
        return 0
    if args.sweep_child is not None:
        _sweep_child(args.sweep_child, args.dask or None)
        return 0
    runs, rounds, big = args.runs, args.rounds, args.big
    env_info = environment()
    code = code_state()
    print(
        f"dcsim sweep scale benchmark — commit {code['git_commit']}"
        f"{' (sim/ modified)' if code['sim_modified'] else ''}, {environment_line(env_info)}",
        flush=True,
    )
    stages = [
        (
            "pairs",
            f"baseline sweep, {runs} runs, on 2 local workers and on a local Dask cluster of 2, "
            f"{rounds} round(s)",
            lambda: paired_sweeps(runs, rounds),
        )
    ]
    if big:
        stages.append(
            ("big", f"baseline sweep, {big} runs with 4 daily bands", lambda: big_sweep(big))
        )
    results = run_stages(stages)
    pairs = results["pairs"]

    def ratios(figure: str) -> list[float]:
        return [d / p for d, p in zip(pairs["dask"][figure], pairs["local"][figure], strict=True)]

    wall, cpu = ratios("wall_s"), ratios("cpu_s")
    ratio = statistics.median(wall)
    rows = [
        ratio_row("Dask / local processes, same runs", ratio, wall, "<= 1.10", ratio <= 1.10),
        Check(
            "… CPU time of the process trees",
            f"{statistics.median(cpu):.3f}",
            f"{min(cpu):.2f}–{max(cpu):.2f}",
            "—",
            target="—",
            passed=None,
        ),
    ]
    heavy = results.get("big")
    if heavy is not None:
        rows += [
            ratio_row(
                f"{big} runs with bands: peak memory (GB)",
                heavy["peak_mb"] / 1_024,
                [heavy["peak_mb"] / 1_024],
                "<= 2",
                heavy["peak_mb"] <= 2_048 and not heavy["failed"],
            ),
            ratio_row(
                f"{big} runs with bands on 2 workers (min)",
                heavy["wall_s"] / 60,
                [heavy["wall_s"] / 60],
                "—",
                None,
            ),
        ]
    print()
    print(table(rows))
    for kind in ("local", "dask"):
        walls, cpus = (", ".join(f"{t:.1f}" for t in pairs[kind][f]) for f in ("wall_s", "cpu_s"))
        print(f"\n{runs} runs on {kind}: {walls} s; CPU {cpus} s", end="")
    print()
    if heavy is not None:
        print(
            f"{big} runs: {heavy['wall_s']:.0f} s, sweep process {heavy['parent_peak_mb']:.0f} MB "
            f"at its peak, {heavy['band_rows']:.0f} band rows"
        )
    print(f"speed unit {results['speed_unit']['median_s']:.3f} s")
    if args.json:
        write_json(args.json, {"environment": env_info, "code": code, "results": results})
    return 0 if all_passed(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
