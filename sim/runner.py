"""Run one scenario with one seed: build the site, simulate, collect tables. No file I/O."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Annotated

from pydantic import TypeAdapter, ValidationError

from sim.economics.ai import ai_money
from sim.economics.facility import facility_money
from sim.economics.faults import fault_losses
from sim.economics.mining import mining_money
from sim.errors import Issue, ScenarioError
from sim.gcpolicy import fewer_collections
from sim.model.grid_programs import four_cp_peak_rows
from sim.model.records import ai_record, facility_record, fault_record, mining_record
from sim.model.site import Site
from sim.record.ai_tables import ai_series, jobs_table
from sim.record.group_tables import groups_table
from sim.record.network_tables import network_table
from sim.record.tables import (
    RunRecords,
    blocks_table,
    daily_table,
    day_edges,
    events_table,
    interval_table,
    sample_edges,
    summary_table,
)
from sim.result import RunResult
from sim.scenario.loader import issues_from_validation
from sim.scenario.schema import Scenario

Progress = Callable[[str, float], None]  # (phase, share of it done)


def _checked_seed(seed: int) -> int:
    """``seed`` if the schema's ``seed`` field takes it (model_copy does not validate)."""
    field = Scenario.model_fields["seed"]
    try:
        checked: int = TypeAdapter(Annotated[int, field]).validate_python(seed, strict=True)
    except ValidationError as exc:
        issues = [Issue("seed", issue.message) for issue in issues_from_validation(exc)]
        raise ScenarioError("run_one", issues) from exc
    return checked


def simulate(
    scenario: Scenario, progress: Callable[[float], None] | None = None
) -> tuple[Site, RunRecords]:
    """Run ``scenario`` with its own seed and price what happened: the site and its records.

    The model hands over typed records, economics prices them; the tables bin both
    (:func:`run_one` builds them all, a sweep's worker only the ones it returns).
    ``progress`` is told the share of the horizon simulated.
    """
    with fewer_collections():
        return _simulate(scenario, progress)


def _simulate(
    scenario: Scenario, progress: Callable[[float], None] | None
) -> tuple[Site, RunRecords]:
    site = Site.build(scenario, scenario.seed)
    site.run(progress)
    mining = mining_record(site)
    ai = ai_record(site.hosting)
    site.hosting.drop_jobs()  # in ``ai`` now
    facility = facility_record(site, mining, ai)
    energy_price = mining.paid_energy_price_usd_per_mwh
    money, series, faults = mining_money(mining), ai_series(ai), fault_record(site)
    run = RunRecords(
        scenario=scenario,
        events=site.events,
        mining=mining,
        mining_money=money,
        ai=ai,
        ai_series=series,
        ai_money=ai_money(ai, energy_price),
        facility=facility,
        facility_money=facility_money(facility, energy_price),
        faults=faults,
        fault_losses=fault_losses(
            faults,
            mining,
            money.usd_per_hash,
            ai,
            facility.it_power_kw,
            series.preempt_t,
            series.preempt_lost_gpu_s,
            scenario.horizon_s,
        ),
    )
    for row in four_cp_peak_rows(site.grid_plan.alerts, run.facility_money.four_cp):
        site.events.add(*row)
    return site, run


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

    Raises
    ------
    ScenarioError
        If ``seed`` is outside the scenario field's range (0 to 2^63 − 1).
    """
    started = time.perf_counter()
    if seed is not None:  # the manifest's resolved scenario then reproduces this run
        scenario = scenario.model_copy(update={"seed": _checked_seed(seed)})
    run_seed = scenario.seed
    site, run = simulate(
        scenario, None if progress is None else lambda share: progress("simulating", share)
    )
    ai = run.ai
    daily = daily_table(run)
    result = RunResult(
        scenario=scenario,
        seed=run_seed,
        timeseries=interval_table(
            run, sample_edges(scenario.horizon_s, scenario.output.sample_interval_s)
        ),
        daily=daily,
        groups=groups_table(run, daily["date"], day_edges(scenario)),
        blocks=blocks_table(run),
        jobs=jobs_table(ai, run.ai_money, scenario),
        events=events_table(run),
        summary=summary_table(run, daily),
        network=network_table(run, daily["date"], day_edges(scenario)),
        events_processed=site.env.events_processed + site.hosting.events_processed,
        random_streams=site.streams.names,
        wall_time_s=time.perf_counter() - started,
    )
    if progress is not None:
        progress("tables", 1.0)
    return result
