"""Count the bytecodes the AI job loop executes per job, by function: a cost that is not noisy.

Run by hand (``.venv/bin/python benchmarks/ai_bytecodes.py [--days D] [--top N]``); about a
minute for the default 60 days. Not a target: a guide for work on the per-job path.

Wall and CPU times on a shared 2-core machine move by 10–30 % from one minute to the next,
more than most single changes to the AI loop save. The number of bytecodes the interpreter
executes per job is exact and repeatable, so it shows what a change removes. It is only a
guide: a bytecode that allocates (a new tuple, a bound method) costs more than one that
loads a local, so confirm a saving with paired CPU times before keeping it.

Runs use the compiled loop (``sim.model.compiled_ai``); this counts the Python loop
(``DCSIM_AI_LOOP=python``), the reference the compiled one follows.

What is counted: every bytecode executed inside ``AiClock._run_before`` (the loop that
processes arrivals, completions and abandonments, and everything they call: the cluster,
the scheduler, the day's arrival draws) in a KPI-free ``run_one`` of ``scenarios/hybrid.yaml``
cut to ``--days`` days, divided by the jobs submitted.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from datetime import timedelta
from types import FrameType
from typing import Any

from sim.model.ai_clock import AiClock
from sim.model.site import AI_LOOP_VARIABLE
from sim.runner import run_one
from sim.scenario import load_scenario

from common import REPO


def count(days: int) -> tuple[int, Counter[tuple[str, str]]]:
    """Jobs submitted, and bytecodes executed per (file, function), in ``days`` of hybrid."""
    path = REPO / "scenarios" / "hybrid.yaml"
    start = load_scenario(path).start_utc
    end = (start + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scenario = load_scenario(path, [f"end_utc={end}"])
    counts: Counter[tuple[str, str]] = Counter()

    def per_opcode(frame: FrameType, event: str, _: Any) -> Any:
        if event == "opcode":
            code = frame.f_code
            counts[(code.co_filename.rsplit("/", 1)[-1], code.co_name)] += 1
        return per_opcode

    def per_call(frame: FrameType, _event: str, _arg: Any) -> Any:
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        return per_opcode

    loop = AiClock._run_before

    def traced(clock: AiClock, limit_s: float) -> None:
        sys.settrace(per_call)
        try:
            loop(clock, limit_s)
        finally:
            sys.settrace(None)

    AiClock._run_before = traced  # type: ignore[method-assign]
    os.environ[AI_LOOP_VARIABLE] = "python"  # the Python loop: the compiled one has no bytecodes
    try:
        jobs = len(run_one(scenario).jobs)
    finally:
        AiClock._run_before = loop  # type: ignore[method-assign]
        del os.environ[AI_LOOP_VARIABLE]
    return jobs, counts


def main(argv: list[str] | None = None) -> int:
    """Print bytecodes per job, in all and for the ``--top`` functions."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60, help="days of hybrid.yaml (default 60)")
    parser.add_argument("--top", type=int, default=25, help="functions listed (default 25)")
    args = parser.parse_args(argv)
    jobs, counts = count(args.days)
    print(f"{jobs:,} jobs, {sum(counts.values()) / jobs:,.1f} bytecodes per job")
    for (file, function), n in counts.most_common(args.top):
        print(f"{n / jobs:8.1f}  {file}:{function}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
