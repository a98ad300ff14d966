"""Benchmark faults: what every fault costs the hybrid site, and failures by units vs events.

Run by hand (``.venv/bin/python benchmarks/bench_faults.py [--json PATH]``); about 2 min
on a 2-core machine.

The requirement (issue 13)
--------------------------
"The 5-year hybrid site with every fault on at realistic rates costs at most 1.2x the same
run without faults; failures of 100 vs 100,000 ASICs per group cost within 10 % of each
other at the same number of failure events."

What is measured (``time.perf_counter``, medians)
--------------------------------------------------
1. the speed unit (1,000,000 bare SimPy timeouts), sampled around the stages;
2. ``Site.build`` + ``site.run()`` of ``scenarios/hybrid.yaml`` run to 2029-01-01, with the
   fault settings of ``scenarios/outages.yaml`` (grid outages, every group's failure rate,
   the repair crew) and without them, in paired rounds of alternating order. Target: the
   median of the per-round ratios (faults / none) <= 1.2;
3. ``draw_failures`` of one group of 100 units and one of 100,000, with failure rates that
   give the same expected number of failures (10,000 over 5 years) and a crew large enough
   that few units are out at once, in paired rounds. Target: the median ratio within 10 %
   of 1.
"""

from __future__ import annotations

import statistics
import sys
import time
from functools import partial
from typing import Any

import numpy as np
import yaml

from sim.model.faults import draw_failures
from sim.model.site import Site
from sim.scenario import load_scenario
from sim.scenario.faults import FaultDurationSpec, RepairCrewSpec
from sim.scenario.schema import Scenario
from sim.units import SECONDS_PER_YEAR

from common import (
    REPO,
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
    timed,
    write_json,
)

ROUNDS = 3
FAILURE_ROUNDS = 5
EXPECTED_FAILURES = 10_000
YEARS = 5.0


def hybrid(faults: bool) -> Scenario:
    """hybrid.yaml to 2029, with outages.yaml's faults or none."""
    overrides = ["end_utc=2029-01-01T00:00:00Z"]
    if faults:
        raw = yaml.safe_load((REPO / "scenarios" / "outages.yaml").read_text(encoding="utf-8"))
        site = raw["site"]
        overrides += [
            f"site.grid_outages={site['grid_outages']}",
            f"site.repair_crew={site['repair_crew']}",
        ]
        for section in ("mining", "ai"):
            for i, group in enumerate(raw[section]["groups"]):
                overrides.append(
                    f"{section}.groups[{i}].annual_failure_rate={group['annual_failure_rate']}"
                )
    return load_scenario(REPO / "scenarios" / "hybrid.yaml", overrides)


def engine(scenario: Scenario) -> tuple[float, dict[str, int]]:
    """Wall time of Site.build + site.run(), and the faults it drew."""
    facts: dict[str, int] = {}

    def run() -> None:
        site = Site.build(scenario, scenario.seed)
        site.run()
        facts["outages"] = site.faults.outages.count
        facts["failures"] = int(site.faults.failures.failed_s.size)
        facts["simpy_events"] = site.env.events_processed

    return timed(run), facts


def measure_hybrid() -> dict[str, Any]:
    """Paired rounds of the hybrid engine run with and without faults."""
    with_faults, without = hybrid(True), hybrid(False)
    on, off, ratios = [], [], []
    facts: dict[str, int] = {}
    engine(without)  # warm-up
    for round_ in range(ROUNDS):
        order = [(True, with_faults), (False, without)]
        times = {}
        for faulty, scenario in order if round_ % 2 else order[::-1]:
            times[faulty], drawn = engine(scenario)
            if faulty:
                facts = drawn
        on.append(times[True])
        off.append(times[False])
        ratios.append(times[True] / times[False])
    return {"faults": describe(on), "none": describe(off), "ratios": ratios, "facts": facts}


def failures_of(units: int) -> float:
    """Wall time of drawing EXPECTED_FAILURES over YEARS among ``units`` units."""
    rate = EXPECTED_FAILURES / (units * YEARS)
    crew = RepairCrewSpec(
        technicians=1_000, repair_time=FaultDurationSpec(distribution="exponential", mean_s=3_600)
    )
    return timed(
        partial(
            draw_failures,
            np.array([units]),
            np.array([rate]),
            crew,
            YEARS * SECONDS_PER_YEAR,
            np.random.default_rng(1),
            np.random.default_rng(2),
        )
    )


def measure_failures() -> dict[str, Any]:
    """Paired rounds of 100 vs 100,000 units at the same expected failures."""
    small, large, ratios = [], [], []
    failures_of(100)  # warm-up
    for _ in range(FAILURE_ROUNDS):
        a, b = failures_of(100), failures_of(100_000)
        small.append(a)
        large.append(b)
        ratios.append(b / a)
    return {"small": describe(small), "large": describe(large), "ratios": ratios}


def main(argv: list[str] | None = None) -> int:
    """Run the stages, print the table, optionally write JSON; exit 1 on any FAIL."""
    args = argument_parser(__doc__).parse_args(argv)
    started = time.perf_counter()
    env_info = environment()
    code = code_state()
    print(
        f"dcsim faults benchmark — commit {code['git_commit']}"
        f"{' (sim/ modified)' if code['sim_modified'] else ''}, {environment_line(env_info)}",
        flush=True,
    )
    results = run_stages(
        [
            ("hybrid", "hybrid to 2029, faults on and off", measure_hybrid),
            ("failures", "draw_failures, 100 vs 100,000 units", measure_failures),
        ]
    )
    unit = results["speed_unit"]["median_s"]
    hyb, fail = results["hybrid"], results["failures"]
    hybrid_ratio = statistics.median(hyb["ratios"])
    failure_ratio = statistics.median(fail["ratios"])
    rows = [
        time_row("speed unit (1,000,000 SimPy timeouts)", results["speed_unit"], unit),
        time_row("hybrid to 2029, no faults: build + run", hyb["none"], unit),
        time_row("hybrid to 2029, faults on: build + run", hyb["faults"], unit),
        ratio_row(
            "faults on / off, paired", hybrid_ratio, hyb["ratios"], "<= 1.2", hybrid_ratio <= 1.2
        ),
        time_row(f"{EXPECTED_FAILURES:,} failures among 100 units", fail["small"], unit),
        time_row(f"{EXPECTED_FAILURES:,} failures among 100,000 units", fail["large"], unit),
        ratio_row(
            "t(100,000 units) / t(100 units), paired",
            failure_ratio,
            fail["ratios"],
            "within 10% of 1",
            abs(failure_ratio - 1.0) <= 0.10,
        ),
    ]
    print()
    print(table(rows))
    facts = hyb["facts"]
    print(
        f"\nhybrid with faults: {facts['outages']} outages, {facts['failures']:,} failures, "
        f"{facts['simpy_events']:,} SimPy events; benchmark took "
        f"{time.perf_counter() - started:.0f} s"
    )
    if args.json:
        write_json(
            args.json,
            {
                "environment": env_info,
                "code": code,
                "results": results,
                "rows": [r.as_dict() for r in rows],
            },
        )
    return 0 if all_passed(rows) else 1


if __name__ == "__main__":
    sys.exit(main())
