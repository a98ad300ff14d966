"""Benchmark the site control loop: 5 years at 15-minute control, 10 halls, 50 vs 500 groups.

Run by hand (``.venv/bin/python benchmarks/bench_site.py``); it takes about 40 s on a
2-core machine. Add ``--json PATH`` to keep the figures, ``--profile`` to also print where
``site.run()`` spends its time (outside the timings), ``--quick`` for a smoke run of one
summer (about 5 s, nothing judged) and ``--large-run-one`` to also time ``run_one`` on
the 500-group site (about 5 s more).

The requirement (issue 5)
-------------------------
"The control loop is vectorised over groups and halls: a 5-year run at 15-minute control
with 10 halls and 50 groups costs <= 1 speed unit (the wall time of 1,000,000 bare SimPy
timeouts, measured in the same benchmark run); 10x the groups costs < 2x the time."

The scenario (built in code, see ``site_scenario``)
---------------------------------------------------
``scenarios/spot_prices.yaml``'s chain, BTC price and hourly ERCOT-like spot energy price,
run 2024-01-01 -> 2029-01-01 (175,392 control ticks of 900 s) with the ``profit`` policy
(``static`` and ``ai_first`` are measured too), a west Texas ambient with a +6 °C heat wave
on 15-22 July of every year, and 10 halls: 4 air, 3 hydro and 3 immersion. Each hall holds
5 ASIC groups of 200-400 catalog units (hydro models in hydro halls, air models in the
others): 50 groups, 14,700 units, 59.4 MW. A hall rejects 1.05x the heat installed in it at
or below its design ambient, and the grid is 1.2x the installed power, so the site curtails
and throttles in the heat. No GPUs. The 10x variant splits every group into 10 groups of a
tenth of the units (500 groups, same halls, same units, same power), so only the number of
groups changes.

What is measured (``time.perf_counter``, medians of repetitions)
----------------------------------------------------------------
1. speed unit: 1,000,000 ``env.timeout(1)`` in one SimPy process; two samples first, then one
   after each other stage, as in ``bench_baseline.py``.
2. per policy: ``Site.build(scenario, seed)`` and ``site.run()`` (sim/model/site.py), timed
   separately, on the 50- and the 500-group site. One warm-up of the 50-group site, then
   rounds of (50, 500) in alternating order. Targets: build + run of the 50-group site
   <= 1 unit; the median of the per-round ratios t(500) / t(50) of build + run < 2.
3. for information: the whole ``run_one`` (simulation and every output table) of the
   50-group ``profit`` site (and, with ``--large-run-one``, once on the 500-group site).

The code under test may change while the benchmark runs (other sessions editing ``sim/``),
so the git commit, the modified files under ``sim/`` and a hash of the ``sim/`` sources are
recorded at the start and at the end.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

import yaml

from sim.model.site import Site
from sim.runner import run_one
from sim.scenario import scenario_from_mapping
from sim.scenario.catalog import BUILTIN_ASICS
from sim.scenario.schema import Scenario

from common import (
    REPO,
    UNIT_EVENTS,
    Check,
    all_passed,
    argument_parser,
    code_state,
    describe,
    environment,
    environment_line,
    profile,
    ratio_row,
    run_stages,
    table,
    time_row,
    timed,
    write_json,
)

BASE = REPO / "scenarios" / "spot_prices.yaml"  # chain, BTC price and spot energy price
START_UTC = "2024-01-01T00:00:00Z"
END_UTC = "2029-01-01T00:00:00Z"  # 5 years
QUICK_START_UTC = "2024-06-01T00:00:00Z"  # --quick: one summer, with the July heat wave
QUICK_END_UTC = "2024-09-01T00:00:00Z"
CONTROL_INTERVAL_S = 900
HALL_KINDS = ("air", "hydro", "immersion") * 3 + ("air",)  # 4 air, 3 hydro, 3 immersion
BASE_GROUPS_PER_HALL = 5
SPLIT = 10  # the large site splits every group into this many
AIR_MODELS = tuple(name for name, spec in BUILTIN_ASICS.items() if spec.cooling == "air")
HYDRO_MODELS = tuple(name for name, spec in BUILTIN_ASICS.items() if spec.cooling == "hydro")
HALL_HEADROOM = 1.05  # heat rejection at design ambient / heat installed in the hall
GRID_HEADROOM = 1.2  # grid / installed power
HEAT_WAVE_EXTRA_C = 6.0
POLICIES = ("profit", "static", "ai_first")
ROUNDS = {"profit": 5, "static": 3, "ai_first": 3}  # rounds of (50, 500 groups)
RUN_ONE_REPEATS = 3
SITE_TARGET_UNITS = 1.0
SCALING_TARGET = 2.0  # t(500 groups) / t(50 groups), below
PROFILE_TOP = 15


# ---- scenario ---------------------------------------------------------------------------


def unit_count(hall: int, group: int) -> int:
    """Units of base group ``group`` in hall ``hall``: 200-400, a multiple of ``SPLIT``."""
    return 200 + 20 * ((BASE_GROUPS_PER_HALL * hall + group) % 11)


def site_scenario(split: int, policy: str, quick: bool = False) -> Scenario:
    """The benchmark site with every base group split into ``split`` groups, under ``policy``."""
    raw = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    halls: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    installed_kw = 0.0
    for h, cooling in enumerate(HALL_KINDS):
        hall = f"hall-{h:02d}-{cooling}"
        models = HYDRO_MODELS if cooling == "hydro" else AIR_MODELS
        hall_kw = 0.0
        for j in range(BASE_GROUPS_PER_HALL):
            model = models[(h + j) % len(models)]
            count = unit_count(h, j) // split
            for k in range(split):
                groups.append(
                    {"name": f"g{h:02d}-{j}-{k}", "model": model, "count": count, "hall": hall}
                )
            hall_kw += split * count * BUILTIN_ASICS[model].power_w / 1_000.0
        halls.append(
            {"name": hall, "cooling": cooling, "heat_rejection_kw": round(HALL_HEADROOM * hall_kw)}
        )
        installed_kw += hall_kw
    years = range(2024, 2025) if quick else range(2024, 2029)
    raw["name"] = f"bench-site-{len(groups)}-{policy}"
    raw["start_utc"], raw["end_utc"] = (
        (QUICK_START_UTC, QUICK_END_UTC) if quick else (START_UTC, END_UTC)
    )
    raw["site"].update(
        {
            "grid_capacity_kw": round(GRID_HEADROOM * installed_kw),
            "policy": {"name": policy, "control_interval_s": CONTROL_INTERVAL_S},
            "ambient": {
                "preset": "west_texas",
                "heat_waves": [
                    {
                        "start_utc": f"{y}-07-15T00:00:00Z",
                        "end_utc": f"{y}-07-22T00:00:00Z",
                        "extra_c": HEAT_WAVE_EXTRA_C,
                    }
                    for y in years
                ],
            },
            "halls": halls,
        }
    )
    raw["mining"]["groups"] = groups
    return scenario_from_mapping(raw, source=f"<bench_site {raw['name']}>")


def describe_scenario(scenario: Scenario) -> dict[str, Any]:
    """What the JSON and the summary line say about a site."""
    groups = scenario.mining.groups
    installed_kw = sum(g.count * BUILTIN_ASICS[g.model].power_w / 1_000.0 for g in groups)
    return {
        "start_utc": scenario.start_utc.isoformat(),
        "end_utc": scenario.end_utc.isoformat(),
        "control_ticks": int(scenario.horizon_s // CONTROL_INTERVAL_S),
        "halls": {h.name: h.heat_rejection_kw for h in scenario.site.halls},
        "groups": len(groups),
        "units": sum(g.count for g in groups),
        "installed_kw": installed_kw,
        "grid_kw": scenario.site.grid_capacity_kw,
        "energy_model": scenario.site.energy.model,
        "ambient_preset": scenario.site.ambient.preset,
        "heat_waves": len(scenario.site.ambient.heat_waves),
    }


# ---- timing -----------------------------------------------------------------------------


def build_and_run(scenario: Scenario) -> tuple[float, float, Site]:
    """Wall times (s) of ``Site.build`` and of ``site.run()``, after a garbage collection."""
    gc.collect()
    started = time.perf_counter()
    site = Site.build(scenario, scenario.seed)
    built = time.perf_counter()
    site.run()
    ended = time.perf_counter()
    return built - started, ended - built, site


def site_facts(site: Site) -> dict[str, Any]:
    """What the run did: SimPy events, event-log rows by kind, throttle-factor changes."""
    kinds = Counter(row.event for row in site.events.rows)
    return {
        "simpy_events": site.env.events_processed,
        "event_rows": dict(sorted(kinds.items())),
        "throttle_changes": sum(thermal.change_count for thermal in site.facility.thermal),
    }


def measure_policy(policy: str, rounds: int, quick: bool) -> dict[str, Any]:
    """``Site.build`` and ``site.run()`` on 50 and 500 groups, rounds of alternating order."""
    variants = {
        "small": site_scenario(1, policy, quick),
        "large": site_scenario(SPLIT, policy, quick),
    }
    build_and_run(variants["small"])  # warm-up: imports, caches
    samples: dict[str, dict[str, list[float]]] = {
        size: {"build": [], "run": [], "total": []} for size in variants
    }
    facts: dict[str, Any] = {}
    for i in range(rounds):
        order = ["small", "large"] if i % 2 == 0 else ["large", "small"]
        for size in order:
            build_s, run_s, site = build_and_run(variants[size])
            samples[size]["build"].append(build_s)
            samples[size]["run"].append(run_s)
            samples[size]["total"].append(build_s + run_s)
            facts[size] = site_facts(site)
            del site
    ratios = [
        big / small
        for small, big in zip(samples["small"]["total"], samples["large"]["total"], strict=True)
    ]
    out: dict[str, Any] = {
        size: {
            "scenario": describe_scenario(variants[size]),
            "facts": facts[size],
            **{part: describe(times) for part, times in samples[size].items()},
        }
        for size in variants
    }
    out["ratio_large_to_small"] = statistics.median(ratios)
    out["ratio_of_medians"] = out["large"]["total"]["median_s"] / out["small"]["total"]["median_s"]
    out["round_ratios"] = ratios
    return out


def measure_run_one(repeats: int, large: bool, quick: bool) -> dict[str, Any]:
    """``run_one`` of the ``profit`` site (tables included), for information."""
    small = site_scenario(1, "profit", quick)
    run_one(small)  # warm-up
    out: dict[str, Any] = {
        "small": describe([timed(partial(run_one, small)) for _ in range(repeats)])
    }
    if large:
        out["large"] = describe([timed(partial(run_one, site_scenario(SPLIT, "profit", quick)))])
    return out


# ---- profile ----------------------------------------------------------------------------


# Module groups of the site's control loop in profiles.
SITE_PARTS = (
    ("/sim/model/thermal.py", "thermal"),
    ("/sim/model/facility.py", "facility"),
    ("/sim/model/policy.py", "policy"),
    ("/sim/model/control.py", "control"),
    ("/sim/model/fleet.py", "fleet"),
    ("/sim/eventlog.py", "event log"),
)


def profile_site_run(scenario: Scenario, top: int) -> dict[str, Any]:
    """cProfile of ``site.run()`` (see ``common.profile``)."""
    site = Site.build(scenario, scenario.seed)
    return {"groups": len(scenario.mining.groups), **profile(site.run, SITE_PARTS, top)}


def print_profile(profile: dict[str, Any]) -> None:
    """One profile as two small text tables."""
    total = profile["total_tottime_s"]
    print(
        f"profile of site.run(), profit, {profile['groups']} groups (under cProfile: {total:.2f} s)"
    )
    print(f"{'tottime':>8}  {'share':>6}  {'calls':>10}  function")
    for row in profile["top"]:
        print(
            f"{row['tottime_s']:7.3f}s  {row['tottime_s'] / total:6.1%}  {row['calls']:>10,}  "
            f"{row['function']}"
        )
    print("time by module (built-ins charged to their callers):")
    for group, seconds in profile["groups_s"].items():
        print(f"  {group:<26} {seconds:7.3f} s  {seconds / total:6.1%}")


# ---- report -----------------------------------------------------------------------------


def checks(results: dict[str, Any], judged: bool) -> list[Check]:
    """Compare every measurement with its target (no targets in quick mode)."""
    unit_s = results["speed_unit"]["median_s"]
    site_target = SITE_TARGET_UNITS if judged else None
    rows = [time_row(f"speed unit ({UNIT_EVENTS:,} SimPy timeouts)", results["speed_unit"], unit_s)]
    for policy in POLICIES:
        if policy not in results:
            continue
        stats = results[policy]
        for size in ("small", "large"):
            n = stats[size]["scenario"]["groups"]
            rows.append(time_row(f"{policy}, {n} groups: Site.build", stats[size]["build"], unit_s))
            rows.append(time_row(f"{policy}, {n} groups: site.run()", stats[size]["run"], unit_s))
            rows.append(
                time_row(
                    f"{policy}, {n} groups: build + run",
                    stats[size]["total"],
                    unit_s,
                    site_target if size == "small" else None,
                )
            )
        ratio = stats["ratio_large_to_small"]
        row = ratio_row(
            f"{policy}: t(500 groups) / t(50 groups), paired",
            ratio,
            stats["round_ratios"],
            f"< {SCALING_TARGET:g}",
            ratio < SCALING_TARGET,
        )
        rows.append(row if judged else replace(row, target="—", passed=None))
    run_one_stats = results["run_one"]
    rows.append(
        time_row("run_one (with tables), profit, 50 groups", run_one_stats["small"], unit_s)
    )
    if "large" in run_one_stats:
        rows.append(
            time_row("run_one (with tables), profit, 500 groups", run_one_stats["large"], unit_s)
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run every stage, print the table, optionally write JSON; exit 1 on any FAIL."""
    parser = argument_parser(__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: one summer, profit only, one round, nothing judged",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile site.run() of the profit site, 50 and 500 groups",
    )
    parser.add_argument(
        "--large-run-one",
        action="store_true",
        help="also time run_one once on the 500-group site (slow)",
    )
    args = parser.parse_args(argv)
    quick = args.quick

    started = time.perf_counter()
    env_info = environment()
    code_before = code_state()
    print(
        f"dcsim site control benchmark{' (QUICK: smoke run, not judged)' if quick else ''} — "
        f"commit {code_before['git_commit']}"
        f"{' (sim/ modified)' if code_before['sim_modified'] else ''}, "
        f"{environment_line(env_info)}",
        flush=True,
    )
    policies = ("profit",) if quick else POLICIES
    stages: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
        (
            policy,
            f"{policy}: Site.build + site.run(), 50 and 500 groups",
            partial(measure_policy, policy, 1 if quick else ROUNDS[policy], quick),
        )
        for policy in policies
    ]
    stages.append(
        (
            "run_one",
            "run_one (with tables), profit",
            partial(measure_run_one, 1 if quick else RUN_ONE_REPEATS, args.large_run_one, quick),
        )
    )
    results = run_stages(stages)
    rows = checks(results, judged=not quick)
    total = time.perf_counter() - started
    code_after = code_state()

    print()
    print(table(rows))
    print()
    for size in ("small", "large"):
        scenario = results["profit"][size]["scenario"]
        facts = results["profit"][size]["facts"]
        print(
            f"profit, {scenario['groups']} groups: {scenario['start_utc'][:10]} → "
            f"{scenario['end_utc'][:10]}, {scenario['control_ticks']:,} ticks, "
            f"{len(scenario['halls'])} halls, {scenario['units']:,} units "
            f"({scenario['installed_kw'] / 1e3:.1f} MW, grid {scenario['grid_kw'] / 1e3:.1f} MW); "
            f"{facts['simpy_events']:,} SimPy events, {facts['throttle_changes']:,} throttle "
            f"changes, event rows {facts['event_rows']}"
        )
    if code_after != code_before:
        print(
            f"WARNING: sim/ changed during the run ({code_before['sim_sources_sha256']} → "
            f"{code_after['sim_sources_sha256']}, commit {code_after['git_commit']}); "
            "the figures mix code versions"
        )
    print(f"benchmark took {total:.0f} s")
    profiles = None
    if args.profile:
        profiles = []
        for split in (1, SPLIT):
            print()
            profiles.append(profile_site_run(site_scenario(split, "profit", quick), PROFILE_TOP))
            print_profile(profiles[-1])
    passed = all_passed(rows)
    if args.json is not None:
        document = {
            "environment": env_info,
            "code_before": code_before,
            "code_after": code_after,
            "quick": quick,
            "results": results,
            "checks": [row.as_dict() for row in rows],
            "all_passed": passed,
            "benchmark_wall_time_s": total,
            "profiles": profiles,
        }
        write_json(args.json, document)
    return 0 if passed or quick else 1


if __name__ == "__main__":
    sys.exit(main())
