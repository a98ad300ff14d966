"""Build the output tables of a finished run from its step series and logs.

Levels are exact time-weighted means and flows exact integrals over each row's interval,
computed from piecewise-constant series; no per-tick state is kept during the run. The
tables read the run's typed records (:mod:`sim.economics.inputs`), its event log and the
scenario's calendar, never the model; all money comes from :mod:`sim.economics` and is only
binned here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from sim import consensus as rules
from sim.economics.ai import AiMoney
from sim.economics.facility import FacilityMoney, generator_fuel_usd
from sim.economics.faults import FaultLosses
from sim.economics.inputs import (
    AiRecord,
    FacilityRecord,
    FaultRecord,
    FaultRows,
    HallRecord,
    MiningRecord,
)
from sim.economics.mining import MiningMoney
from sim.eventlog import EventLog
from sim.record.ai_tables import AiSeries, ai_columns, ai_summary, bin_index
from sim.record.columns import (
    BLOCK_COLUMNS,
    DAILY_COLUMNS,
    EVENT_COLUMNS,
    INTERVAL_COLUMNS,
    SUMMARY_COLUMNS,
    check_columns,
)
from sim.record.facility_tables import facility_columns
from sim.scenario.schema import Scenario
from sim.steps import StepSeries
from sim.units import (
    HASHES_PER_EHS,
    HASHES_PER_THS,
    KWH_PER_MWH,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    SECONDS_PER_YEAR,
    as_utc,
)


@dataclass(frozen=True)
class RunRecords:
    """A finished run as the tables read it: calendar, event log, records and their money."""

    scenario: Scenario  # the run's, seed included
    events: EventLog
    mining: MiningRecord
    mining_money: MiningMoney
    ai: AiRecord
    ai_series: AiSeries
    ai_money: AiMoney
    facility: FacilityRecord
    facility_money: FacilityMoney
    faults: FaultRecord
    fault_losses: FaultLosses


def _built_at(scenario: Scenario) -> tuple[float, datetime]:
    """When a finished run's tables are built: at the horizon (s, and the run's start)."""
    return scenario.horizon_s, scenario.start_utc


def _timestamps(scenario: Scenario, t_s: np.ndarray) -> pd.DatetimeIndex:
    """UTC timestamps (whole seconds) of simulation times."""
    base = pd.Timestamp(as_utc(scenario.start_utc))
    return base + pd.to_timedelta(np.floor(t_s), unit="s")


def interval_table(run: RunRecords, edges_s: np.ndarray) -> pd.DataFrame:
    """One row per bin ``[edges_s[i], edges_s[i+1])``: INTERVAL_COLUMNS, then hall columns."""
    mining, money, facility = run.mining, run.mining_money, run.facility
    start = edges_s[:-1]
    duration = np.diff(edges_s)
    chain = mining.chain
    energy_price = mining.energy_price_usd_per_mwh
    block_bins = bin_index(mining.blocks.times_s, edges_s)  # shared by every block column

    def per_bin(weights: np.ndarray | None = None, only: np.ndarray | None = None) -> np.ndarray:
        """Sum of ``weights`` (or count) of the blocks (``only`` those flagged) per bin."""
        bins = block_bins if only is None else block_bins[only]
        if weights is not None and only is not None:
            weights = weights[only]
        if weights is not None and not weights.any():  # no solo reward (FPPS): all +0.0
            return np.zeros(duration.size)
        return np.bincount(bins, weights=weights, minlength=duration.size)[: duration.size]

    revenue_btc = money.fpps_btc_rate.integrate(edges_s) + per_bin(money.site_reward_btc)
    revenue_usd = money.fpps_usd_rate.integrate(edges_s) + per_bin(money.site_reward_usd)
    asic_cost = money.energy_cost_rate.integrate(edges_s)
    gpu = ai_columns(run.ai_series, run.ai_money, edges_s)
    plant = facility_columns(facility, run.facility_money, edges_s)
    site_columns = list(plant)[: len(plant) - 4 * len(facility.halls)]
    table = {
        "timestamp_utc": _timestamps(run.scenario, start),
        "time_s": start,
        "duration_s": duration,
        "block_height": chain["height"].at(start).astype(np.int64) - 1,
        "difficulty": chain["difficulty"].at(start),
        "subsidy_btc": chain["subsidy_btc"].at(start),
        "expected_fees_btc_per_block": chain["expected_fees_btc"].at(start),
        "blocks_found": per_bin().astype(np.int64),
        "network_fees_btc": per_bin(mining.blocks.fees_btc),
        "btc_price_usd": mining.btc_price_usd.mean(edges_s),
        "network_hashrate_ehs": mining.network_hashrate_hs.mean(edges_s) / HASHES_PER_EHS,
        "hashprice_usd_per_ph_day": money.hashprice.mean(edges_s),
        "energy_price_usd_per_mwh": energy_price.mean(edges_s),
        "site_hashrate_ths": mining.hashrate_hs.mean(edges_s) / HASHES_PER_THS,
        "asic_units_running": mining.units.mean(edges_s),
        "asic_power_kw": mining.power_kw.mean(edges_s),
        "asic_energy_kwh": mining.power_kw.integrate(edges_s) / SECONDS_PER_HOUR,
        "curtailed_kw": mining.curtailed_kw.mean(edges_s),
        "dr_credit_usd": money.dr_credit_rate.integrate(edges_s),
        "site_blocks_found": per_bin(only=money.site_found).astype(np.int64),
        "btc_mined": revenue_btc,
        "mining_revenue_usd": revenue_usd,
        "pool_fee_usd": money.pool_fee_usd(edges_s),
        "asic_energy_cost_usd": asic_cost,
        "mining_margin_usd": revenue_usd - asic_cost,
        **gpu,
        **{name: plant[name] for name in site_columns},
        "throttled_hashrate_ths": mining.throttled_hashrate_hs.mean(edges_s) / HASHES_PER_THS,
        "heat_lost_revenue_usd": money.heat_lost_usd_rate.integrate(edges_s),
        "energy_cost_usd": asic_cost
        + gpu["gpu_energy_cost_usd"]
        + plant["cooling_energy_cost_usd"],
        "grid_outage_hours": run.faults.grid_down.integrate(edges_s) / SECONDS_PER_HOUR,
        "hardware_failures": np.bincount(
            bin_index(run.faults.failed_s, edges_s), minlength=duration.size
        )[: duration.size].astype(np.int64),
        "energy_not_served_kwh": run.fault_losses.not_served_kw.integrate(edges_s)
        / SECONDS_PER_HOUR,
        "fault_lost_revenue_usd": run.fault_losses.mining_lost_usd_rate.integrate(edges_s),
    }
    check_columns("interval table", table, INTERVAL_COLUMNS, *_built_at(run.scenario))
    table.update({name: plant[name] for name in list(plant)[len(site_columns) :]})
    return pd.DataFrame(table)


def sample_edges(horizon_s: float, interval_s: float) -> np.ndarray:
    """Bin edges every ``interval_s`` from 0, closed by the horizon."""
    return np.append(np.arange(0.0, horizon_s, interval_s), horizon_s)


def day_edges(scenario: Scenario) -> np.ndarray:
    """Bin edges at each UTC midnight inside the run, plus its start and end."""
    start = as_utc(scenario.start_utc)
    offset = (start - start.replace(hour=0, minute=0, second=0)).total_seconds()
    first_midnight = SECONDS_PER_DAY - offset if offset else SECONDS_PER_DAY
    inner = np.arange(first_midnight, scenario.horizon_s, SECONDS_PER_DAY)
    return np.concatenate(([0.0], inner, [scenario.horizon_s]))


def daily_table(run: RunRecords) -> pd.DataFrame:
    """One row per UTC day with DAILY_COLUMNS, then hall columns."""
    table = interval_table(run, day_edges(run.scenario))
    table.insert(0, "date", table["timestamp_utc"].dt.floor("D"))  # UTC midnight of the day
    check_columns(
        "daily.csv", table.columns[: len(DAILY_COLUMNS)], DAILY_COLUMNS, *_built_at(run.scenario)
    )
    return table


def blocks_table(run: RunRecords) -> pd.DataFrame:
    """Every network block found in the run, with BLOCK_COLUMNS."""
    blocks = run.mining.blocks
    unique_bits, which = np.unique(blocks.bits, return_inverse=True)
    table = {
        "height": blocks.heights,
        "time_s": blocks.times_s,
        "timestamp_utc": _timestamps(run.scenario, blocks.times_s),
        "difficulty": rules.difficulties_of(blocks.bits),
        "bits": np.array([f"{int(b):08x}" for b in unique_bits], dtype=object)[which],
        "subsidy_btc": rules.subsidy_sat(blocks.heights) / 1e8,
        "fees_btc": blocks.fees_btc,
        "network_hashrate_ehs": blocks.network_hashrate_hs / HASHES_PER_EHS,
        "found_by_site": run.mining_money.site_found,
    }
    check_columns("blocks.csv", table, BLOCK_COLUMNS, *_built_at(run.scenario))
    return pd.DataFrame(table)


def events_table(run: RunRecords) -> pd.DataFrame:
    """All logged events in time order, with EVENT_COLUMNS."""
    rows = run.events.sorted_rows()
    frame = pd.DataFrame(rows, columns=["time_s", "event", "entity", "value", "unit", "detail"])
    times = frame["time_s"].to_numpy(dtype=float)
    frame.insert(1, "timestamp_utc", _timestamps(run.scenario, times))
    frame = _with_fault_columns(frame, run.faults.rows, run.fault_losses, run.scenario.horizon_s)
    check_columns("events.csv", frame.columns, EVENT_COLUMNS, *_built_at(run.scenario))
    return frame


def _with_fault_columns(
    frame: pd.DataFrame, rows: FaultRows, losses: FaultLosses, horizon_s: float
) -> pd.DataFrame:
    """The event rows that start faults, with each fault's end, duration and losses.

    Faults meet their rows by (time, event, entity) and order among equals: the log keeps
    a fault's start row in the order ``FaultRecord.rows`` lists them.
    """
    if not rows.event.size:
        empty = np.full(len(frame), np.nan)
        return frame.assign(
            end_time_s=empty,
            duration_s=empty,
            energy_not_served_kwh=empty,
            jobs_interrupted=pd.array([pd.NA] * len(frame), dtype="Int64"),
            lost_gpu_hours=empty,
        )
    ended = np.isfinite(rows.end_s)
    faults = pd.DataFrame(
        {
            "time_s": rows.start_s,
            "event": rows.event,
            "entity": rows.entity,
            "end_time_s": np.where(ended, rows.end_s, np.nan),
            "duration_s": np.minimum(rows.end_s, horizon_s) - rows.start_s,
            "energy_not_served_kwh": losses.energy_not_served_kwh,
            "jobs_interrupted": pd.array(losses.jobs_interrupted, dtype="Int64"),
            "lost_gpu_hours": losses.lost_gpu_hours,
        }
    )
    keys = ["time_s", "event", "entity"]
    faults["nth"] = faults.groupby(keys, sort=False).cumcount()
    frame = frame.assign(nth=frame.groupby(keys, sort=False).cumcount())
    merged = frame.merge(faults, on=[*keys, "nth"], how="left", validate="one_to_one")
    return merged.drop(columns="nth")


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def _facility_summary(run: RunRecords, daily: pd.DataFrame) -> dict[str, float | int]:
    """Energy by use, PUE, heat throttling and its cost over the run."""
    it_mwh = float(daily["asic_energy_kwh"].sum() + daily["gpu_energy_kwh"].sum()) / KWH_PER_MWH
    cooling_mwh = float(daily["cooling_energy_kwh"].sum()) / KWH_PER_MWH
    trips = len(run.events.of_kind("thermal_trip"))
    return {
        "halls": len(run.facility.halls),
        "mean_ambient_temp_c": float(
            run.facility.ambient_c.mean(np.array([0.0, run.scenario.horizon_s]))[0]
        ),
        "it_energy_mwh": it_mwh,
        "cooling_energy_mwh": cooling_mwh,
        "energy_mwh": it_mwh + cooling_mwh,
        "mean_pue": _ratio(it_mwh + cooling_mwh, it_mwh),
        "cooling_energy_cost_usd": float(daily["cooling_energy_cost_usd"].sum()),
        "four_cp_charge_usd": float(daily["four_cp_charge_usd"].sum()),
        "hours_throttled": float(daily["throttled_hours"].sum()),
        "thermal_trips": trips,
        "heat_lost_revenue_usd": float(daily["heat_lost_revenue_usd"].sum()),
    }


def _fault_summary(
    faults: FaultRecord, halls: list[HallRecord], ai: AiSeries, horizon_s: float
) -> dict[str, float | int]:
    """Outages, failures, the share of each kind's installed units in service, jobs hit."""
    # a node taken away preempts the jobs on it at that very instant
    by_faults = np.isin(ai.preempt_t, faults.gpu_fault_s)
    lost_gpu_s = ai.preempt_lost_gpu_s
    ends = np.array([0.0, horizon_s])
    served = np.array([float(s.integrate(ends)[0]) for s in faults.in_service])
    generator_mwh, fuel_usd = generator_fuel_usd(halls, faults)

    def availability(kind: str) -> float:
        mine = faults.kinds == kind
        installed_s = float(faults.units_installed[mine].sum()) * horizon_s
        return _ratio(float(served[mine].sum()), installed_s)

    return {
        "grid_outages": int(faults.outage_start_s.size),
        "grid_outage_hours": float(faults.grid_down.integrate(ends)[0]) / SECONDS_PER_HOUR,
        "hardware_failures": int(faults.failed_s.size),
        "cooling_failures": faults.cooling_failures,
        "cooling_failure_hours": faults.cooling_failure_s / SECONDS_PER_HOUR,
        "asic_availability": availability("asic"),
        "gpu_node_availability": availability("gpu"),
        "generator_energy_mwh": generator_mwh,
        "generator_fuel_cost_usd": fuel_usd,
        "failed_generator_starts": faults.failed_generator_starts,
        "jobs_interrupted_by_faults": int(by_faults.sum()),
        "fault_lost_gpu_hours": float(lost_gpu_s[by_faults].sum()) / SECONDS_PER_HOUR,
    }


def _fault_losses_summary(daily: pd.DataFrame) -> dict[str, float]:
    """What the faults kept from the hardware and the mining revenue it would have made."""
    return {
        "energy_not_served_mwh": float(daily["energy_not_served_kwh"].sum()) / KWH_PER_MWH,
        "fault_lost_revenue_usd": float(daily["fault_lost_revenue_usd"].sum()),
    }


def summary_table(run: RunRecords, daily: pd.DataFrame) -> pd.DataFrame:
    """One row of run KPIs with SUMMARY_COLUMNS."""
    table = pd.DataFrame([summary_row(run, daily)])
    # a run without a halving has NaT there, which alone would make a zone-less column
    table["first_halving_utc"] = pd.to_datetime(table["first_halving_utc"], utc=True).astype(
        table["start_utc"].dtype
    )
    return table


def summary_row(run: RunRecords, daily: pd.DataFrame) -> dict[str, Any]:
    """The run's KPIs by SUMMARY_COLUMNS, as plain values.

    What a sweep's run returns its KPIs from, without the one-row DataFrame (a few
    milliseconds of pandas).
    """
    scenario, mining, money, groups = run.scenario, run.mining, run.mining_money, run.mining.groups
    horizon = scenario.horizon_s
    halvings = run.events.of_kind("halving")
    # summed in group order as Python floats, as the catalog ratings are
    installed_ths = float(sum((groups.units_installed * groups.unit_hashrate_ths).tolist()))
    installed_kw = float(sum((groups.units_installed * groups.unit_power_w).tolist())) / 1_000.0
    btc_mined = float(daily["btc_mined"].sum())
    revenue = float(daily["mining_revenue_usd"].sum())
    asic_mwh = float(daily["asic_energy_kwh"].sum()) / KWH_PER_MWH
    asic_cost = float(daily["asic_energy_cost_usd"].sum())
    ends = np.array([0.0, horizon])
    years = horizon / SECONDS_PER_YEAR
    blocks = int(mining.blocks.times_s.size)
    row = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "start_utc": pd.Timestamp(as_utc(scenario.start_utc)),
        "end_utc": pd.Timestamp(as_utc(scenario.end_utc)),
        "horizon_days": horizon / SECONDS_PER_DAY,
        "payout": scenario.mining.payout,
        "blocks_found": blocks,
        "mean_block_interval_s": _ratio(horizon, blocks),
        "halvings": len(halvings),
        "first_halving_utc": (
            _timestamps(scenario, np.array([halvings[0].time_s]))[0] if halvings else pd.NaT
        ),
        "difficulty_start": float(mining.chain["difficulty"].values[0]),
        "difficulty_end": float(mining.chain["difficulty"].values[-1]),
        "network_hashrate_start_ehs": float(mining.network_hashrate_hs.at(ends[:1])[0])
        / HASHES_PER_EHS,
        "network_hashrate_end_ehs": float(mining.network_hashrate_hs.values[-1]) / HASHES_PER_EHS,
        "btc_price_start_usd": float(mining.btc_price_usd.values[0]),
        "btc_price_end_usd": float(mining.btc_price_usd.values[-1]),
        "installed_asic_units": int(groups.units_installed.sum()),
        "installed_hashrate_ths": installed_ths,
        "installed_asic_power_kw": installed_kw,
        "fleet_efficiency_j_per_th": _ratio(installed_kw * 1_000.0, installed_ths),
        "mean_site_hashrate_ths": float(mining.hashrate_hs.mean(ends)[0]) / HASHES_PER_THS,
        "mean_hashprice_usd_per_ph_day": float(money.hashprice.mean(ends)[0]),
        "site_blocks_found": int(money.site_found.sum()),
        "btc_mined": btc_mined,
        "mining_revenue_usd": revenue,
        "pool_fee_usd": float(daily["pool_fee_usd"].sum()),
        "asic_energy_mwh": asic_mwh,
        "asic_energy_cost_usd": asic_cost,
        "mining_margin_usd": revenue - asic_cost,
        "energy_cost_per_btc_usd": _ratio(asic_cost, btc_mined),
        "revenue_per_mwh_usd": _ratio(revenue, asic_mwh),
        "mining_revenue_usd_per_mw_year": _ratio(revenue, installed_kw / 1_000.0 * years),
        "policy": scenario.site.policy.name,
        "curtailed_mwh": float(mining.curtailed_kw.integrate(ends)[0]) / SECONDS_PER_HOUR / 1e3,
        "curtailment_hours": float(
            StepSeries(
                mining.curtailed_kw.times_s, (mining.curtailed_kw.values > 0) * 1.0
            ).integrate(ends)[0]
        )
        / SECONDS_PER_HOUR,
        "dr_credit_usd": float(daily["dr_credit_usd"].sum()),
        **ai_summary(run.ai_series, daily, years),
        **_facility_summary(run, daily),
        **_fault_summary(run.faults, run.facility.halls, run.ai_series, horizon),
        **_fault_losses_summary(daily),
        "energy_cost_usd": float(daily["energy_cost_usd"].sum()),
    }
    check_columns("summary.csv", row, SUMMARY_COLUMNS, *_built_at(scenario))
    return row
