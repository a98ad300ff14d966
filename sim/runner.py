"""Run one scenario with one seed: build the site, simulate, collect tables. No file I/O."""

from __future__ import annotations

import time
from collections.abc import Callable

from sim.economics.mining import mining_money
from sim.model.grid_programs import four_cp_peak_rows
from sim.model.site import Site
from sim.record.ai_tables import ai_series, jobs_table
from sim.record.facility_tables import facility_series
from sim.record.group_tables import groups_table
from sim.record.tables import (
    blocks_table,
    daily_table,
    day_edges,
    events_table,
    interval_table,
    sample_edges,
    summary_table,
)
from sim.result import RunResult
from sim.scenario.schema import Scenario

Progress = Callable[[str, float], None]  # (phase, share of it done)


def run_one(
    scenario: Scenario, seed: int | None = None, progress: Progress | None = None
) -> RunResult:
    """Simulate ``scenario`` with root seed ``seed`` (default: the scenario's own seed).

    ``progress``, if given, is told the share of the horizon simulated as the run goes
    (``progress("simulating", share)``) and then ``progress("tables", 1.0)`` once the
    tables are built.

    Returns
    -------
    RunResult
        DataFrames of every output table; nothing is written to disk.
    """
    started = time.perf_counter()
    if seed is not None:  # the manifest's resolved scenario then reproduces this run
        scenario = scenario.model_copy(update={"seed": seed})
    run_seed = scenario.seed
    site = Site.build(scenario, run_seed)
    site.run(None if progress is None else lambda share: progress("simulating", share))
    mining = site.mining_record()
    money = mining_money(mining)
    jobs = jobs_table(site.hosting, scenario.horizon_s)
    ai = ai_series(site.hosting, jobs)
    facility = facility_series(site, mining.power_kw, ai.power_kw)
    for row in four_cp_peak_rows(site.grid_plan.alerts, facility.four_cp):
        site.events.add(*row)
    daily = daily_table(site, mining, money, ai, facility)
    result = RunResult(
        scenario=scenario,
        seed=run_seed,
        timeseries=interval_table(
            site,
            mining,
            money,
            ai,
            facility,
            sample_edges(scenario.horizon_s, scenario.output.sample_interval_s),
        ),
        daily=daily,
        groups=groups_table(site, mining, money, daily["date"], day_edges(site)),
        blocks=blocks_table(site, mining, money),
        jobs=jobs,
        events=events_table(site),
        summary=summary_table(site, mining, money, ai, daily),
        events_processed=site.env.events_processed,
        random_streams=site.streams.names,
        wall_time_s=time.perf_counter() - started,
    )
    if progress is not None:
        progress("tables", 1.0)
    return result
