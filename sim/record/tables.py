"""Build the output tables of a finished run from its step series and logs.

Levels are exact time-weighted means and flows exact integrals over each row's interval,
computed from piecewise-constant series; no per-tick state is kept during the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from sim import consensus as rules
from sim.model.site import Site
from sim.record.ai_tables import AiSeries, ai_columns, ai_summary, bin_index
from sim.record.columns import (
    BLOCK_COLUMNS,
    DAILY_COLUMNS,
    EVENT_COLUMNS,
    INTERVAL_COLUMNS,
    SUMMARY_COLUMNS,
    check_columns,
)
from sim.record.facility_tables import FacilitySeries, facility_columns
from sim.steps import StepSeries, product
from sim.units import (
    HASHES_PER_EHS,
    HASHES_PER_THS,
    KWH_PER_MWH,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    SECONDS_PER_YEAR,
    as_utc,
)

PH = 1e15  # hashes per second in one PH/s


def _built_at(site: Site) -> tuple[float, datetime]:
    """When a finished run's tables are built: at the horizon (s, and the run's start)."""
    return site.scenario.horizon_s, site.scenario.start_utc


def _timestamps(site: Site, t_s: np.ndarray) -> pd.DatetimeIndex:
    """UTC timestamps (whole seconds) of simulation times."""
    base = pd.Timestamp(as_utc(site.scenario.start_utc))
    return base + pd.to_timedelta(np.floor(t_s), unit="s")


@dataclass(frozen=True)
class MiningSeries:
    """Step series and block arrays that every table is binned from."""

    chain: dict[str, StepSeries]
    value_per_hash: StepSeries  # expected BTC per hash, before pool fees
    usd_per_hash: StepSeries  # its value at the BTC price then (USD per hash)
    site_hashrate_hs: StepSeries
    throttled_hashrate_hs: StepSeries  # granted hashrate lost to heat throttling and trips
    power_kw: StepSeries
    curtailed_kw: StepSeries
    dr_credit_rate: StepSeries  # USD per second earned for load kept off during events
    units: StepSeries
    fpps_btc_rate: StepSeries  # BTC per second, net of pool fee (0 when solo)
    fpps_usd_rate: StepSeries
    gross_usd_rate: StepSeries  # FPPS value before pool fee (USD per second)
    energy_cost_rate: StepSeries  # USD per second
    heat_lost_usd_rate: StepSeries  # expected mining revenue lost to heat (USD per second)
    hashprice_rate: StepSeries  # USD per PH/s per day
    block_times_s: np.ndarray
    block_fees_btc: np.ndarray
    site_found: np.ndarray
    site_reward_btc: np.ndarray  # solo rewards of the site's blocks (0 in fpps)
    site_reward_usd: np.ndarray


def _heat_lost_usd_rate(throttled_hs: StepSeries, usd_per_hash: StepSeries) -> StepSeries:
    """Expected value of the hashrate lost to heat (USD/s, before pool fees)."""
    if not throttled_hs.values.any():  # nothing throttled: skip the long product
        return StepSeries.constant(0.0)
    return product(throttled_hs, usd_per_hash)


def mining_series(site: Site) -> MiningSeries:
    """Derive the revenue and cost series of a finished run."""
    net, fleet, mining = site.network, site.fleet, site.scenario.mining
    chain = net.chain_steps()
    value_per_hash = StepSeries(
        chain["difficulty"].times_s,
        rules.value_per_hash_btc(
            chain["height"].values.astype(np.int64),
            chain["expected_fees_btc"].values,
            chain["difficulty"].values,
        ),
    )
    hashrate = fleet.hashrate_hs()
    throttled = fleet.throttled_hashrate_hs()
    power = fleet.power_kw()
    curtailed = fleet.curtailed_kw()
    keep = 1.0 - mining.pool_fee_fraction if mining.payout == "fpps" else 0.0
    usd_per_hash = product(value_per_hash, site.btc_price_usd)
    btc_rate = product(hashrate, value_per_hash)
    usd_rate = product(hashrate, usd_per_hash)
    times_s = net.blocks.column("times_s")
    heights = net.blocks.column("heights", np.int64)
    fees = net.blocks.column("fees_btc")
    share = hashrate.at(times_s) / net.blocks.column("network_hashrate_hs")
    found = net.blocks.column("luck") < np.minimum(share, 1.0)
    solo = mining.payout == "solo"
    reward = np.where(found & solo, rules.subsidy_sat(heights) / 1e8 + fees, 0.0)
    return MiningSeries(
        chain=chain,
        value_per_hash=value_per_hash,
        usd_per_hash=usd_per_hash,
        site_hashrate_hs=hashrate,
        throttled_hashrate_hs=throttled,
        power_kw=power,
        curtailed_kw=curtailed,
        dr_credit_rate=product(curtailed, site.dr_credit_usd_per_mwh).scaled(
            1.0 / SECONDS_PER_HOUR / KWH_PER_MWH
        ),
        units=fleet.units(),
        fpps_btc_rate=btc_rate.scaled(keep),
        fpps_usd_rate=usd_rate.scaled(keep),
        gross_usd_rate=usd_rate.scaled(0.0 if solo else 1.0),
        energy_cost_rate=product(power, site.energy_price_usd_per_mwh).scaled(
            1.0 / SECONDS_PER_HOUR / KWH_PER_MWH
        ),
        heat_lost_usd_rate=_heat_lost_usd_rate(throttled, usd_per_hash).scaled(
            keep if not solo else 1.0
        ),
        hashprice_rate=usd_per_hash.scaled(SECONDS_PER_DAY * PH),
        block_times_s=times_s,
        block_fees_btc=fees,
        site_found=found,
        site_reward_btc=reward,
        site_reward_usd=reward * site.btc_price_usd.at(times_s) if times_s.size else reward,
    )


def interval_table(
    site: Site, series: MiningSeries, ai: AiSeries, facility: FacilitySeries, edges_s: np.ndarray
) -> pd.DataFrame:
    """One row per bin ``[edges_s[i], edges_s[i+1])``: INTERVAL_COLUMNS, then hall columns."""
    start = edges_s[:-1]
    duration = np.diff(edges_s)
    chain = series.chain
    block_bins = bin_index(series.block_times_s, edges_s)  # shared by every block column

    def per_bin(weights: np.ndarray | None = None, only: np.ndarray | None = None) -> np.ndarray:
        """Sum of ``weights`` (or count) of the blocks (``only`` those flagged) per bin."""
        bins = block_bins if only is None else block_bins[only]
        if weights is not None and only is not None:
            weights = weights[only]
        return np.bincount(bins, weights=weights, minlength=duration.size)[: duration.size]

    revenue_btc = series.fpps_btc_rate.integrate(edges_s) + per_bin(series.site_reward_btc)
    revenue_usd = series.fpps_usd_rate.integrate(edges_s) + per_bin(series.site_reward_usd)
    asic_cost = series.energy_cost_rate.integrate(edges_s)
    gpu = ai_columns(ai, site.energy_price_usd_per_mwh, edges_s)
    plant = facility_columns(facility, site.energy_price_usd_per_mwh, edges_s)
    site_columns = list(plant)[: len(plant) - 4 * len(facility.halls)]
    table = {
        "timestamp_utc": _timestamps(site, start),
        "time_s": start,
        "duration_s": duration,
        "block_height": chain["height"].at(start).astype(np.int64) - 1,
        "difficulty": chain["difficulty"].at(start),
        "subsidy_btc": chain["subsidy_btc"].at(start),
        "expected_fees_btc_per_block": chain["expected_fees_btc"].at(start),
        "blocks_found": per_bin().astype(np.int64),
        "network_fees_btc": per_bin(series.block_fees_btc),
        "btc_price_usd": site.btc_price_usd.mean(edges_s),
        "network_hashrate_ehs": site.network.hashrate.mean(edges_s) / HASHES_PER_EHS,
        "hashprice_usd_per_ph_day": series.hashprice_rate.mean(edges_s),
        "energy_price_usd_per_mwh": site.energy_price_usd_per_mwh.mean(edges_s),
        "site_hashrate_ths": series.site_hashrate_hs.mean(edges_s) / HASHES_PER_THS,
        "asic_units_running": series.units.mean(edges_s),
        "asic_power_kw": series.power_kw.mean(edges_s),
        "asic_energy_kwh": series.power_kw.integrate(edges_s) / SECONDS_PER_HOUR,
        "curtailed_kw": series.curtailed_kw.mean(edges_s),
        "dr_credit_usd": series.dr_credit_rate.integrate(edges_s),
        "site_blocks_found": per_bin(only=series.site_found).astype(np.int64),
        "btc_mined": revenue_btc,
        "mining_revenue_usd": revenue_usd,
        "pool_fee_usd": series.gross_usd_rate.integrate(edges_s)
        - series.fpps_usd_rate.integrate(edges_s),
        "asic_energy_cost_usd": asic_cost,
        "mining_margin_usd": revenue_usd - asic_cost,
        **gpu,
        **{name: plant[name] for name in site_columns},
        "throttled_hashrate_ths": series.throttled_hashrate_hs.mean(edges_s) / HASHES_PER_THS,
        "heat_lost_revenue_usd": series.heat_lost_usd_rate.integrate(edges_s),
        "energy_cost_usd": asic_cost
        + gpu["gpu_energy_cost_usd"]
        + plant["cooling_energy_cost_usd"],
    }
    check_columns("interval table", table, INTERVAL_COLUMNS, *_built_at(site))
    table.update({name: plant[name] for name in list(plant)[len(site_columns) :]})
    return pd.DataFrame(table)


def sample_edges(horizon_s: float, interval_s: float) -> np.ndarray:
    """Bin edges every ``interval_s`` from 0, closed by the horizon."""
    return np.append(np.arange(0.0, horizon_s, interval_s), horizon_s)


def day_edges(site: Site) -> np.ndarray:
    """Bin edges at each UTC midnight inside the run, plus its start and end."""
    start = as_utc(site.scenario.start_utc)
    offset = (start - start.replace(hour=0, minute=0, second=0)).total_seconds()
    first_midnight = SECONDS_PER_DAY - offset if offset else SECONDS_PER_DAY
    inner = np.arange(first_midnight, site.scenario.horizon_s, SECONDS_PER_DAY)
    return np.concatenate(([0.0], inner, [site.scenario.horizon_s]))


def daily_table(
    site: Site, series: MiningSeries, ai: AiSeries, facility: FacilitySeries
) -> pd.DataFrame:
    """One row per UTC day with DAILY_COLUMNS, then hall columns."""
    table = interval_table(site, series, ai, facility, day_edges(site))
    table.insert(0, "date", table["timestamp_utc"].dt.floor("D"))  # UTC midnight of the day
    check_columns("daily.csv", table.columns[: len(DAILY_COLUMNS)], DAILY_COLUMNS, *_built_at(site))
    return table


def blocks_table(site: Site, series: MiningSeries) -> pd.DataFrame:
    """Every network block found in the run, with BLOCK_COLUMNS."""
    log = site.network.blocks
    heights = log.column("heights", np.int64)
    bits = log.column("bits", np.int64)
    unique_bits, which = np.unique(bits, return_inverse=True)
    table = {
        "height": heights,
        "time_s": series.block_times_s,
        "timestamp_utc": _timestamps(site, series.block_times_s),
        "difficulty": rules.difficulties_of(bits),
        "bits": np.array([f"{int(b):08x}" for b in unique_bits], dtype=object)[which],
        "subsidy_btc": rules.subsidy_sat(heights) / 1e8,
        "fees_btc": series.block_fees_btc,
        "network_hashrate_ehs": log.column("network_hashrate_hs") / HASHES_PER_EHS,
        "found_by_site": series.site_found,
    }
    check_columns("blocks.csv", table, BLOCK_COLUMNS, *_built_at(site))
    return pd.DataFrame(table)


def events_table(site: Site) -> pd.DataFrame:
    """All logged events in time order, with EVENT_COLUMNS."""
    rows = site.events.sorted_rows()
    frame = pd.DataFrame(rows, columns=["time_s", "event", "entity", "value", "unit", "detail"])
    frame.insert(1, "timestamp_utc", _timestamps(site, frame["time_s"].to_numpy(dtype=float)))
    check_columns("events.csv", frame.columns, EVENT_COLUMNS, *_built_at(site))
    return frame


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def _facility_summary(site: Site, daily: pd.DataFrame) -> dict[str, float | int]:
    """Energy by use, PUE, heat throttling and its cost over the run."""
    it_mwh = float(daily["asic_energy_kwh"].sum() + daily["gpu_energy_kwh"].sum()) / KWH_PER_MWH
    cooling_mwh = float(daily["cooling_energy_kwh"].sum()) / KWH_PER_MWH
    trips = len(site.events.of_kind("thermal_trip"))
    return {
        "halls": len(site.facility.halls),
        "mean_ambient_temp_c": float(
            site.facility.ambient_c.mean(np.array([0.0, site.scenario.horizon_s]))[0]
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


def summary_table(
    site: Site, series: MiningSeries, ai: AiSeries, daily: pd.DataFrame
) -> pd.DataFrame:
    """One row of run KPIs with SUMMARY_COLUMNS."""
    scenario, fleet, net = site.scenario, site.fleet, site.network
    horizon = scenario.horizon_s
    halvings = site.events.of_kind("halving")
    installed_ths = float(sum(g.count * g.hashrate_ths for g in fleet.groups))
    installed_kw = float(sum(g.count * g.power_w for g in fleet.groups)) / 1_000.0
    btc_mined = float(daily["btc_mined"].sum())
    revenue = float(daily["mining_revenue_usd"].sum())
    asic_mwh = float(daily["asic_energy_kwh"].sum()) / KWH_PER_MWH
    asic_cost = float(daily["asic_energy_cost_usd"].sum())
    ends = np.array([0.0, horizon])
    years = horizon / SECONDS_PER_YEAR
    blocks = int(series.block_times_s.size)
    row = {
        "scenario": scenario.name,
        "seed": site.seed,
        "start_utc": pd.Timestamp(as_utc(scenario.start_utc)),
        "end_utc": pd.Timestamp(as_utc(scenario.end_utc)),
        "horizon_days": horizon / SECONDS_PER_DAY,
        "payout": scenario.mining.payout,
        "blocks_found": blocks,
        "mean_block_interval_s": _ratio(horizon, blocks),
        "halvings": len(halvings),
        "first_halving_utc": (
            _timestamps(site, np.array([halvings[0].time_s]))[0] if halvings else pd.NaT
        ),
        "difficulty_start": float(series.chain["difficulty"].values[0]),
        "difficulty_end": float(series.chain["difficulty"].values[-1]),
        "network_hashrate_start_ehs": float(net.hashrate.at(ends[:1])[0]) / HASHES_PER_EHS,
        "network_hashrate_end_ehs": float(net.hashrate.values[-1]) / HASHES_PER_EHS,
        "btc_price_start_usd": float(site.btc_price_usd.values[0]),
        "btc_price_end_usd": float(site.btc_price_usd.values[-1]),
        "installed_asic_units": int(sum(g.count for g in fleet.groups)),
        "installed_hashrate_ths": installed_ths,
        "installed_asic_power_kw": installed_kw,
        "fleet_efficiency_j_per_th": _ratio(installed_kw * 1_000.0, installed_ths),
        "mean_site_hashrate_ths": float(series.site_hashrate_hs.mean(ends)[0]) / HASHES_PER_THS,
        "mean_hashprice_usd_per_ph_day": float(series.hashprice_rate.mean(ends)[0]),
        "site_blocks_found": int(series.site_found.sum()),
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
        "curtailed_mwh": float(series.curtailed_kw.integrate(ends)[0]) / SECONDS_PER_HOUR / 1e3,
        "curtailment_hours": float(
            StepSeries(
                series.curtailed_kw.times_s, (series.curtailed_kw.values > 0) * 1.0
            ).integrate(ends)[0]
        )
        / SECONDS_PER_HOUR,
        "dr_credit_usd": float(daily["dr_credit_usd"].sum()),
        **ai_summary(ai, daily, years),
        **_facility_summary(site, daily),
        "energy_cost_usd": float(daily["energy_cost_usd"].sum()),
    }
    check_columns("summary.csv", row, SUMMARY_COLUMNS, *_built_at(site))
    table = pd.DataFrame([row])
    # a run without a halving has NaT there, which alone would make a zone-less column
    table["first_halving_utc"] = pd.to_datetime(table["first_halving_utc"], utc=True).astype(
        table["start_utc"].dtype
    )
    return table
