"""Benchmark AI hosting: dcsim's GPU cluster against a bare SimPy M/M/c of the same size.

Run by hand (``.venv/bin/python benchmarks/bench_ai.py``); it takes about a minute on a
2-core machine. Add ``--json PATH`` to keep the figures and ``--profile`` to also print where
``site.run()`` spends its time on the AI scenario and what ``site.py``'s event counting costs
it (outside the timings).

Why compare with a bare M/M/c
-----------------------------
A GPU hall is, at heart, a multi-server queue. The cheapest way to simulate one in SimPy is
``simpy.Resource(capacity=c)`` with one process per customer (request, hold, release). dcsim
does much more per job (best-fit placement on 8-GPU nodes, gang jobs, EASY backfill,
patience, checkpoints, billing and logs), but it deliberately uses no process per job: each
job is a few plain callbacks on timeouts. The target is that this design pays for the extra
work, i.e. that dcsim handles at least as many jobs per second of wall time as the bare
M/M/c serves customers. Both are measured in the same run, interleaved, so the ratio holds
on any machine. The second target guards the scheduler's promise that nothing scans idle
nodes: the same job stream on 10× and 100× more nodes must not cost more per job.

What is measured (medians of repetitions, ``time.perf_counter``)
----------------------------------------------------------------
1. speed unit, for context: 1,000,000 ``env.timeout(1)`` in one SimPy process; two samples
   first, then one after each other stage (median of 5), as in ``bench_baseline.py``.
2. bare M/M/c: ``simpy.Resource(capacity=2000)``, Poisson arrivals at ρ = 0.85, exponential
   service with mean 1 h (numpy draws, seeded), one process per customer, run until all
   100,000 customers are served (≈66 simulated hours). Figure: customers per second.
3. dcsim on ``scenarios/ai_only.yaml`` (250 HGX H100 nodes = 2,000 GPUs, one year, ≈98,000
   jobs, ≈82 % utilisation): (a) the simulation alone, ``Site.build`` then ``site.run()``;
   (b) the whole ``run_one`` including the output tables. Figure: jobs submitted per second.
   Stages 2 and 3 run in rounds of one sample each, in rotating order; the ratio to the
   bare M/M/c is the median of the per-round ratios. Target: ratio >= 1, for (a) and (b).
4. cost per job vs idle nodes: one synthetic job stream (≈1,700 GPUs of demand, 1/2/4/8-GPU
   jobs, exponential 12 h run times, 30 days, ≈39,000 jobs) on 250, 2,500 and 25,000 nodes
   (85 %, 8.5 % and 0.85 % load); ``Site.build`` + ``site.run()``, in rounds of rotating
   order. Ratios are medians of per-round ratios, for each larger/smaller pair. Target: no
   ratio above 1.20.

The code under test may change while the benchmark runs (another session editing ``sim/``),
so the git commit, the modified files under ``sim/`` and a hash of the ``sim/`` sources are
recorded at the start and at the end.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import numpy as np
import simpy

import sim.model.site as site_module
from sim.model.site import Site
from sim.runner import run_one
from sim.scenario import load_scenario, scenario_from_mapping
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

AI_SCENARIO = REPO / "scenarios" / "ai_only.yaml"
HOUR_S = 3_600.0
# bare M/M/c, the size of the AI hall
MMC_SERVERS = 2_000
MMC_RHO = 0.85
MMC_SERVICE_S = HOUR_S
MMC_CUSTOMERS = 100_000
MMC_WARMUP_CUSTOMERS = 10_000
MMC_SEED = 1
THROUGHPUT_ROUNDS = 5  # rounds of (bare M/M/c, dcsim site.run, dcsim run_one)
THROUGHPUT_TARGET = 1.0  # dcsim jobs/s over bare M/M/c customers/s, at least
# cost per job vs idle nodes: one job stream, three cluster sizes
IDLE_NODE_COUNTS = (250, 2_500, 25_000)
IDLE_DEMAND_GPUS = 1_700.0  # 85 % of the 250-node cluster
IDLE_GPU_VALUES = (1, 2, 4, 8)
IDLE_GPU_WEIGHTS = (0.4, 0.3, 0.2, 0.1)  # mean 2.6 GPUs
IDLE_MEAN_RUN_S = 12 * HOUR_S
IDLE_DAYS = 30
IDLE_GRID_KW = 300_000  # 25,000 HGX H100 nodes peak at 255 MW
IDLE_SEED = 1
IDLE_ROUNDS = 7
IDLE_TARGET = 1.20  # per-job time on the larger cluster over the smaller, at most
NODE_TYPE = "HGX H100 8-GPU"
PROFILE_TOP = 10
COUNTING_PAIRS = 5  # site.run() with and without site.py's event counting, with --profile


def rotated(items: list[Any], shift: int) -> list[Any]:
    """``items`` rotated left by ``shift``: each round starts with a different item."""
    shift %= len(items)
    return items[shift:] + items[:shift]


# ---- bare M/M/c -------------------------------------------------------------------------


def mmc_customer(
    env: simpy.Environment, servers: simpy.Resource, service_s: float
) -> Generator[simpy.Event, None, None]:
    """One customer: wait for a server, hold it for the service time, release it."""
    with servers.request() as request:
        yield request
        yield env.timeout(service_s)


def mmc_source(
    env: simpy.Environment,
    servers: simpy.Resource,
    gaps_s: list[float],
    services_s: list[float],
) -> Generator[simpy.Event, None, None]:
    """Poisson arrivals: start one customer process after each inter-arrival gap."""
    for gap_s, service_s in zip(gaps_s, services_s, strict=True):
        yield env.timeout(gap_s)
        env.process(mmc_customer(env, servers, service_s))


def mmc_run(customers: int) -> dict[str, float]:
    """Build and run the bare M/M/c until ``customers`` are served; draws included."""
    rng = np.random.default_rng(MMC_SEED)
    arrival_rate_per_s = MMC_RHO * MMC_SERVERS / MMC_SERVICE_S
    gaps_s = rng.exponential(1.0 / arrival_rate_per_s, customers).tolist()
    services_s = rng.exponential(MMC_SERVICE_S, customers).tolist()
    env = simpy.Environment()
    servers = simpy.Resource(env, capacity=MMC_SERVERS)
    env.process(mmc_source(env, servers, gaps_s, services_s))
    env.run()  # until no event is left: every customer served
    if servers.count or servers.queue:
        raise AssertionError("bare M/M/c ended with customers in the system")
    return {"customers": float(customers), "simulated_h": env.now / HOUR_S}


# ---- dcsim ------------------------------------------------------------------------------


def site_run(scenario: Scenario) -> Site:
    """The simulation alone: build the site and run it to the horizon (no tables)."""
    site = Site.build(scenario, scenario.seed)
    site.run()
    return site


def jobs_submitted(site: Site) -> int:
    """Jobs submitted over the run, all GPU groups."""
    return site.hosting.jobs_submitted


def idle_scenario(nodes: int) -> Scenario:
    """The fixed synthetic job stream of stage 4 on ``nodes`` HGX H100 nodes, no ASICs."""
    mean_gpus = float(np.dot(IDLE_GPU_VALUES, IDLE_GPU_WEIGHTS))
    return scenario_from_mapping(
        {
            "name": f"bench-ai-idle-{nodes}",
            "start_utc": "2024-01-01T00:00:00Z",
            "end_utc": f"2024-01-{1 + IDLE_DAYS:02d}T00:00:00Z",
            "seed": IDLE_SEED,
            "mining": {"groups": []},
            "site": {"grid_capacity_kw": IDLE_GRID_KW},
            "ai": {
                "groups": [{"node_type": NODE_TYPE, "nodes": nodes}],
                "job_classes": [
                    {
                        "name": "mixed",
                        # flat profiles: a homogeneous Poisson stream
                        "arrivals_per_hour": IDLE_DEMAND_GPUS
                        / (mean_gpus * IDLE_MEAN_RUN_S / HOUR_S),
                        "gpus": {
                            "values": list(IDLE_GPU_VALUES),
                            "weights": list(IDLE_GPU_WEIGHTS),
                        },
                        "duration": {"distribution": "exponential", "mean_s": IDLE_MEAN_RUN_S},
                    }
                ],
            },
        },
        source="<bench_ai idle-nodes>",
    )


# ---- stages -----------------------------------------------------------------------------


def measure_warmup() -> dict[str, Any]:
    """One untimed run of each workload: imports, caches and the scenario facts."""
    mmc_run(MMC_WARMUP_CUSTOMERS)
    scenario = load_scenario(AI_SCENARIO)
    result = run_one(scenario)
    summary = result.summary.iloc[0]
    for nodes in IDLE_NODE_COUNTS:
        site_run(idle_scenario(nodes))
    return {
        "ai_scenario": str(AI_SCENARIO.relative_to(REPO)),
        "jobs_submitted": int(summary["jobs_submitted"]),
        "jobs_completed": int(summary["jobs_completed"]),
        "jobs_abandoned": int(summary["jobs_abandoned"]),
        "gpus_installed": int(summary["gpus_installed"]),
        "gpu_utilization": float(summary["gpu_utilization"]),
        "mean_wait_s": float(summary["mean_wait_s"]),
        "events_processed": result.events_processed,
    }


def measure_throughput() -> dict[str, Any]:
    """Bare M/M/c, dcsim ``site.run()`` and dcsim ``run_one``, in rounds of rotating order."""
    scenario = load_scenario(AI_SCENARIO)
    counts: dict[str, float] = {}
    simulated_h: list[float] = []

    def mmc() -> None:
        served = mmc_run(MMC_CUSTOMERS)
        counts["mmc"] = served["customers"]
        simulated_h.append(served["simulated_h"])

    def sim_alone() -> None:
        counts["site_run"] = jobs_submitted(site_run(scenario))

    def full() -> None:
        counts["run_one"] = len(run_one(scenario).jobs)

    work: dict[str, Callable[[], None]] = {"mmc": mmc, "site_run": sim_alone, "run_one": full}
    times: dict[str, list[float]] = {key: [] for key in work}
    for i in range(THROUGHPUT_ROUNDS):
        for key in rotated(list(work), i):
            times[key].append(timed(work[key]))
    rates = {key: [counts[key] / t for t in times[key]] for key in work}
    out: dict[str, Any] = {}
    for key in work:
        stats = describe(times[key])
        out[key] = {**stats, "count": counts[key], "per_s": counts[key] / stats["median_s"]}
    out["mmc"]["simulated_h"] = simulated_h[0]
    for key in ("site_run", "run_one"):
        # each round ran both back to back under the same load: median of per-round ratios
        ratios = [a / b for a, b in zip(rates[key], rates["mmc"], strict=True)]
        out[key]["ratio_to_mmc"] = statistics.median(ratios)
        out[key]["ratio_of_medians"] = out[key]["per_s"] / out["mmc"]["per_s"]
        out[key]["round_ratios"] = ratios
    return out


def measure_idle_nodes() -> dict[str, Any]:
    """The same job stream on 250, 2,500 and 25,000 nodes, in rounds of rotating order."""
    scenarios = {nodes: idle_scenario(nodes) for nodes in IDLE_NODE_COUNTS}
    jobs: dict[int, int] = {}
    times: dict[int, list[float]] = {nodes: [] for nodes in IDLE_NODE_COUNTS}

    def one(nodes: int) -> None:
        jobs[nodes] = jobs_submitted(site_run(scenarios[nodes]))

    for i in range(IDLE_ROUNDS):
        for nodes in rotated(list(IDLE_NODE_COUNTS), i):
            times[nodes].append(timed(partial(one, nodes)))
    if len(set(jobs.values())) != 1:
        raise AssertionError(f"the job stream differs between cluster sizes: {jobs}")
    n_jobs = jobs[IDLE_NODE_COUNTS[0]]
    sizes: dict[str, Any] = {}
    for nodes in IDLE_NODE_COUNTS:
        stats = describe(times[nodes])
        sizes[str(nodes)] = {**stats, "us_per_job": stats["median_s"] / n_jobs * 1e6}
    pairs: dict[str, Any] = {}
    for i, small in enumerate(IDLE_NODE_COUNTS):
        for large in IDLE_NODE_COUNTS[i + 1 :]:
            ratios = [b / a for a, b in zip(times[small], times[large], strict=True)]
            pairs[f"{large}/{small}"] = {
                "ratio": statistics.median(ratios),
                "ratio_of_medians": sizes[str(large)]["median_s"] / sizes[str(small)]["median_s"],
                "round_ratios": ratios,
            }
    return {
        "jobs": n_jobs,
        "days": IDLE_DAYS,
        "demand_gpus": IDLE_DEMAND_GPUS,
        "sizes": sizes,
        "pairs": pairs,
    }


# ---- profile ----------------------------------------------------------------------------


# Module groups of the GPU hosting code in profiles.
AI_PARTS = (
    ("/sim/model/scheduling/", "scheduler"),
    ("/sim/model/ai_kernel.py", "compiled loop"),
    ("/sim/model/compiled_ai.py", "compiled loop"),
    ("/sim/model/cluster.py", "cluster/hosting"),
    ("/sim/model/hosting.py", "cluster/hosting"),
    ("/sim/model/demand.py", "demand"),
)


def profile_site_run(top: int) -> dict[str, Any]:
    """cProfile of ``site.run()`` on the AI scenario (see ``common.profile``)."""
    scenario = load_scenario(AI_SCENARIO)
    return profile(Site.build(scenario, scenario.seed).run, AI_PARTS, top)


def counting_overhead(pairs: int) -> dict[str, Any]:
    """What ``site.py``'s ``CountingEnvironment`` (an ``env.step`` override) costs ``site.run()``.

    The same ``Site.build`` + ``site.run()`` on the AI scenario with the counting environment
    and with a plain ``simpy.Environment`` (events not counted), in ``pairs`` back-to-back
    pairs of alternating order. The figure is the median of the per-pair differences.
    """

    class PlainEnvironment(simpy.Environment):
        events_processed = 0  # what the manifest reads; not counted here

    scenario = load_scenario(AI_SCENARIO)
    counting = site_module.CountingEnvironment
    environments = {"counting": counting, "plain": PlainEnvironment}
    times: dict[str, list[float]] = {"counting": [], "plain": []}
    try:
        for i in range(pairs):
            for key in rotated(list(environments), i):
                site_module.CountingEnvironment = environments[key]  # type: ignore[misc]
                times[key].append(timed(partial(site_run, scenario)))
    finally:
        site_module.CountingEnvironment = counting  # type: ignore[misc]
    differences = [a - b for a, b in zip(times["counting"], times["plain"], strict=True)]
    return {
        "counting_s": statistics.median(times["counting"]),
        "plain_s": statistics.median(times["plain"]),
        "overhead_s": statistics.median(differences),
        "pair_differences_s": differences,
    }


def print_profile(profile: dict[str, Any]) -> None:
    """The profile as two small text tables."""
    total = profile["total_tottime_s"]
    print(f"profile of site.run() on {AI_SCENARIO.name} (under cProfile: {total:.2f} s)")
    print(f"{'tottime':>8}  {'calls':>9}  {'group':<34}  function")
    for row in profile["top"]:
        print(
            f"{row['tottime_s']:7.3f}s  {row['calls']:>9,}  {row['group']:<34}  {row['function']}"
        )
    print("time by group (built-ins charged to their callers):")
    for group, seconds in profile["groups_s"].items():
        print(f"  {group:<16} {seconds:6.3f} s  {seconds / total:5.1%}")


# ---- report -----------------------------------------------------------------------------


def checks(results: dict[str, Any]) -> list[Check]:
    """Compare every measurement with its target."""
    unit_s = results["speed_unit"]["median_s"]
    facts = results["warmup"]
    tp = results["throughput"]
    idle = results["idle_nodes"]
    mmc = tp["mmc"]
    rows = [
        time_row(
            f"speed unit ({UNIT_EVENTS:,} SimPy timeouts)", results["speed_unit"], unit_s, rate=""
        ),
        time_row(
            f"bare M/M/c: c={MMC_SERVERS:,}, rho={MMC_RHO}, {MMC_CUSTOMERS:,} customers",
            mmc,
            unit_s,
            rate=f"{mmc['per_s']:,.0f} customers/s",
        ),
    ]
    labels = {
        "site_run": "(a) dcsim Site.build + site.run()",
        "run_one": "(b) dcsim run_one (with tables)",
    }
    for key, label in labels.items():
        stats = tp[key]
        rows.append(
            time_row(
                f"{label}, {AI_SCENARIO.name}, {facts['jobs_submitted']:,} jobs",
                stats,
                unit_s,
                rate=f"{stats['per_s']:,.0f} jobs/s",
            )
        )
    for key, label in labels.items():
        stats = tp[key]
        rows.append(
            ratio_row(
                f"{label.split(' ', 1)[0]} jobs/s ÷ bare M/M/c customers/s, paired",
                stats["ratio_to_mmc"],
                stats["round_ratios"],
                f">= {THROUGHPUT_TARGET:.2f}",
                stats["ratio_to_mmc"] >= THROUGHPUT_TARGET,
                rate="",
            )
        )
    for nodes in IDLE_NODE_COUNTS:
        stats = idle["sizes"][str(nodes)]
        load = IDLE_DEMAND_GPUS / (nodes * 8)
        rows.append(
            time_row(
                f"same {idle['jobs']:,} jobs on {nodes:,} nodes ({load:.2%} load)",
                stats,
                unit_s,
                rate=f"{stats['us_per_job']:.1f} µs/job",
            )
        )
    for pair, stats in idle["pairs"].items():
        large, small = (int(n) for n in pair.split("/"))
        rows.append(
            ratio_row(
                f"per-job time, {large:,} / {small:,} nodes, paired",
                stats["ratio"],
                stats["round_ratios"],
                f"<= {IDLE_TARGET:.2f}",
                stats["ratio"] <= IDLE_TARGET,
                rate="",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark, print the table, optionally write JSON; exit 1 on any FAIL."""
    parser = argument_parser(__doc__)
    parser.add_argument(
        "--profile",
        action="store_true",
        help=f"also print the top {PROFILE_TOP} functions of site.run() by tottime and what "
        "site.py's event counting costs",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    env_info = environment()
    code_before = code_state()
    print(
        f"dcsim AI benchmark — commit {code_before['git_commit']}"
        f"{' (sim/ modified)' if code_before['sim_modified'] else ''}, "
        f"{environment_line(env_info)}",
        flush=True,
    )
    stages: list[tuple[str, str, Callable[[], dict[str, Any]]]] = [
        ("warmup", "warm-up (one run of each workload)", measure_warmup),
        ("throughput", "bare M/M/c vs dcsim, interleaved", measure_throughput),
        ("idle_nodes", "cost per job on 250 / 2,500 / 25,000 nodes", measure_idle_nodes),
    ]
    results = run_stages(stages)
    rows = checks(results)
    total = time.perf_counter() - started
    code_after = code_state()

    facts = results["warmup"]
    print()
    print(table(rows))
    print()
    print(
        f"{AI_SCENARIO.name}: {facts['jobs_submitted']:,} jobs submitted "
        f"({facts['jobs_completed']:,} completed, {facts['jobs_abandoned']:,} abandoned), "
        f"{facts['gpus_installed']:,} GPUs at {facts['gpu_utilization']:.1%} utilisation, "
        f"{facts['events_processed']:,} events (SimPy's and the AI clock's); bare M/M/c simulated "
        f"{results['throughput']['mmc']['simulated_h']:.1f} h"
    )
    if code_after != code_before:
        print(
            f"WARNING: sim/ changed during the run ({code_before['sim_sources_sha256']} → "
            f"{code_after['sim_sources_sha256']}, commit {code_after['git_commit']}); "
            "the figures mix code versions"
        )
    print(f"benchmark took {total:.0f} s")
    profile = None
    if args.profile:
        print()
        profile = profile_site_run(PROFILE_TOP)
        print_profile(profile)
        profile["counting_environment"] = overhead = counting_overhead(COUNTING_PAIRS)
        print(
            f"CountingEnvironment: site.run() {overhead['counting_s']:.3f} s, with a plain "
            f"simpy.Environment {overhead['plain_s']:.3f} s: it costs "
            f"{overhead['overhead_s']:.3f} s (median of {COUNTING_PAIRS} paired differences)"
        )
    passed = all_passed(rows)
    if args.json is not None:
        document = {
            "environment": env_info,
            "code_before": code_before,
            "code_after": code_after,
            "results": results,
            "checks": [row.as_dict() for row in rows],
            "all_passed": passed,
            "benchmark_wall_time_s": total,
            "profile": profile,
        }
        write_json(args.json, document)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
