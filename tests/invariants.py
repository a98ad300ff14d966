"""Cross-table invariants of one run: every table tells the same story.

``check_run(result)`` checks, on the full-precision DataFrames of :func:`sim.run_one` (the
CSVs are rounded per column, docs/outputs.md, and would not add up exactly):

- **flows**: Σ timeseries = Σ daily = summary for every money, energy, block, BTC and job
  column, with the units mapped (kWh in the tables, MWh in the summary);
- **per-day splits**: groups.csv summed over groups = daily.csv, day by day, for ASICs and
  GPUs separately; blocks.csv, jobs.csv and events.csv against the flow columns;
- **levels**: time-weighted means of the rows = the summary's run means;
- **identities**, row by row in every table: margins = revenue − costs, power = IT + cooling,
  energy = mean power × duration, as columns.py defines them.

Tolerance: bins are differences of running integrals and totals are sums of rows, so they
agree to float rounding, relative to the size of the terms summed (not of the result, which
may cancel to ≈0: margins): ``|a − b| ≤ 1e-9 · max(|a|, |b|, Σ|terms|) + 1e-9``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from sim.result import RunResult

RTOL = 1e-9
ATOL = 1e-9  # a nano-unit (USD, kWh, BTC) where every term is 0 or tiny

# Interval flows (summed over rows) → (summary column, summary per table unit)
FLOW_TO_SUMMARY: dict[str, tuple[str, float] | None] = {
    "duration_s": ("horizon_days", 86_400.0),
    "blocks_found": ("blocks_found", 1.0),
    "site_blocks_found": ("site_blocks_found", 1.0),
    "network_fees_btc": None,  # checked against blocks.csv
    "btc_mined": ("btc_mined", 1.0),
    "mining_revenue_usd": ("mining_revenue_usd", 1.0),
    "pool_fee_usd": ("pool_fee_usd", 1.0),
    "asic_energy_kwh": ("asic_energy_mwh", 1_000.0),
    "asic_energy_cost_usd": ("asic_energy_cost_usd", 1.0),
    "mining_margin_usd": ("mining_margin_usd", 1.0),
    "dr_credit_usd": ("dr_credit_usd", 1.0),
    "grid_outage_hours": ("grid_outage_hours", 1.0),
    "hardware_failures": ("hardware_failures", 1.0),
    "jobs_submitted": ("jobs_submitted", 1.0),
    "jobs_started": None,  # checked against jobs.csv
    "jobs_completed": ("jobs_completed", 1.0),
    "jobs_abandoned": ("jobs_abandoned", 1.0),
    "jobs_preempted": ("jobs_preempted", 1.0),
    "gpu_hours_sold": ("gpu_hours_sold", 1.0),
    "gpu_energy_kwh": ("gpu_energy_mwh", 1_000.0),
    "ai_on_demand_revenue_usd": ("ai_on_demand_revenue_usd", 1.0),
    "ai_reserved_revenue_usd": ("ai_reserved_revenue_usd", 1.0),
    "sla_penalty_usd": ("sla_penalty_usd", 1.0),
    "ai_revenue_usd": ("ai_revenue_usd", 1.0),
    "gpu_energy_cost_usd": ("gpu_energy_cost_usd", 1.0),
    "ai_margin_usd": ("ai_margin_usd", 1.0),
    "cooling_energy_kwh": ("cooling_energy_mwh", 1_000.0),
    "cooling_energy_cost_usd": ("cooling_energy_cost_usd", 1.0),
    "throttled_hours": ("hours_throttled", 1.0),
    "four_cp_charge_usd": ("four_cp_charge_usd", 1.0),
    "heat_lost_revenue_usd": ("heat_lost_revenue_usd", 1.0),
    "energy_cost_usd": ("energy_cost_usd", 1.0),
}

# Interval levels (time-weighted means over rows) → (summary run mean, summary per table unit)
LEVEL_TO_SUMMARY: dict[str, tuple[str, float]] = {
    "site_hashrate_ths": ("mean_site_hashrate_ths", 1.0),
    "hashprice_usd_per_ph_day": ("mean_hashprice_usd_per_ph_day", 1.0),
    "ambient_temp_c": ("mean_ambient_temp_c", 1.0),
    # ∫ curtailed kW dt in kWh; the summary has MWh
    "curtailed_kw": ("curtailed_mwh", np.nan),
}

NON_NEGATIVE = (
    "blocks_found", "site_blocks_found", "network_fees_btc", "btc_mined", "pool_fee_usd",
    "asic_energy_kwh", "curtailed_kw", "dr_credit_usd", "jobs_submitted", "jobs_started",
    "jobs_completed", "jobs_abandoned", "jobs_preempted", "gpu_hours_sold", "gpu_energy_kwh",
    "ai_on_demand_revenue_usd", "ai_reserved_revenue_usd", "sla_penalty_usd",
    "cooling_power_kw", "cooling_energy_kwh", "throttled_hours", "four_cp_charge_usd",
    "heat_lost_revenue_usd", "throttled_hashrate_ths",
)  # fmt: skip

# groups.csv column → daily column it sums to, per kind (None: no daily counterpart)
GROUP_TO_DAILY: dict[str, dict[str, str]] = {
    "asic": {
        "units_running": "asic_units_running",
        "power_kw": "asic_power_kw",
        "energy_kwh": "asic_energy_kwh",
        "curtailed_kw": "curtailed_kw",
        "hashrate_ths": "site_hashrate_ths",
        "revenue_usd": "mining_revenue_usd",
        "energy_cost_usd": "asic_energy_cost_usd",
    },
    "gpu": {
        "units_running": "gpu_nodes_powered",
        "power_kw": "gpu_power_kw",
        "energy_kwh": "gpu_energy_kwh",
        "gpus_busy": "gpus_busy",
        "revenue_usd": "ai_revenue_usd",  # before SLA penalties, as groups.csv documents
        "energy_cost_usd": "gpu_energy_cost_usd",
    },
}


def assert_close(actual: float, expected: float, what: str, scale: float = 0.0) -> None:
    """``actual`` = ``expected`` to float rounding of terms of total size ``scale``."""
    tol = RTOL * max(abs(actual), abs(expected), scale) + ATOL
    assert abs(actual - expected) <= tol, f"{what}: {actual!r} != {expected!r} (tol {tol:.3g})"


def assert_rows(actual: pd.Series, terms: Iterable[pd.Series], signs: Iterable[float], what: str):
    """Row by row: ``actual`` = Σ sign·term, relative to the size of the terms."""
    terms, signs = list(terms), list(signs)
    expected = sum(s * t.to_numpy(dtype=float) for s, t in zip(signs, terms, strict=True))
    scale = sum(np.abs(t.to_numpy(dtype=float)) for t in terms) + np.abs(actual.to_numpy(float))
    gap = np.abs(actual.to_numpy(dtype=float) - expected)
    bad = np.flatnonzero(~(gap <= RTOL * scale + ATOL))
    assert bad.size == 0, f"{what}: {bad.size} rows differ, first row {bad[0]}: gap {gap[bad[0]]!r}"


def check_interval_identities(table: pd.DataFrame, name: str, fpps_keep: float | None) -> None:
    """The per-row identities of timeseries.csv and daily.csv (columns.py's definitions).

    ``fpps_keep`` is 1 − pool fee under FPPS, None under solo (no pool fee).
    """
    t = table
    hours = t["duration_s"] / 3_600.0

    def rows(col: str, terms: list[str], signs: list[float]) -> None:
        assert_rows(t[col], [t[c] for c in terms], signs, f"{name}.{col}")

    rows("mining_margin_usd", ["mining_revenue_usd", "asic_energy_cost_usd"], [1, -1])
    rows("ai_revenue_usd", ["ai_on_demand_revenue_usd", "ai_reserved_revenue_usd"], [1, 1])
    rows("ai_margin_usd", ["ai_revenue_usd", "sla_penalty_usd", "gpu_energy_cost_usd"], [1, -1, -1])
    rows(
        "energy_cost_usd",
        ["asic_energy_cost_usd", "gpu_energy_cost_usd", "cooling_energy_cost_usd"],
        [1, 1, 1],
    )
    rows("it_power_kw", ["asic_power_kw", "gpu_power_kw"], [1, 1])
    rows("site_power_kw", ["it_power_kw", "cooling_power_kw"], [1, 1])
    halls = [c for c in t.columns if c.endswith("_cooling_power_kw") and c != "cooling_power_kw"]
    assert_rows(t["cooling_power_kw"], [t[c] for c in halls], [1] * len(halls), f"{name} halls")
    # energy = mean power × hours
    for energy, power in (
        ("asic_energy_kwh", "asic_power_kw"),
        ("gpu_energy_kwh", "gpu_power_kw"),
        ("cooling_energy_kwh", "cooling_power_kw"),
    ):
        assert_rows(t[energy], [t[power] * hours], [1], f"{name}.{energy}")
    it = t["it_power_kw"] > 0
    assert_rows(
        t.loc[it, "pue"],
        [t.loc[it, "site_power_kw"] / t.loc[it, "it_power_kw"]],
        [1],
        f"{name}.pue",
    )
    assert t.loc[~it, "pue"].isna().all(), f"{name}.pue without IT load"
    # FPPS: revenue = (1 − f)·gross, pool fee = f·gross; solo: no pool fee
    if fpps_keep is None:
        assert (t["pool_fee_usd"] == 0).all(), f"{name}.pool_fee_usd under solo"
    else:
        assert_rows(
            t["pool_fee_usd"] * fpps_keep,
            [t["mining_revenue_usd"] * (1 - fpps_keep)],
            [1],
            f"{name}.pool_fee_usd",
        )
    # never negative by definition (credits, rates and limits are ≥ 0 in the schema; cooling
    # factors are ≥ 0 at any ambient); energy costs may be, under negative spot prices
    # (to rounding: a row is a difference of running integrals as large as the column's total)
    for col in NON_NEGATIVE:
        assert (t[col] >= -(RTOL * t[col].abs().sum() + ATOL)).all(), f"{name}.{col} negative"
    assert (t.loc[it, "pue"] >= 1.0).all(), f"{name}.pue below 1"
    assert (t["throttled_hours"] <= hours * (1 + RTOL)).all(), f"{name}.throttled_hours"
    assert (t["site_blocks_found"] <= t["blocks_found"]).all(), f"{name}: site blocks > blocks"


def check_run(result: RunResult) -> None:
    """Check every cross-table invariant and per-row identity of one run (see module doc)."""
    ts, daily, groups, summary = result.timeseries, result.daily, result.groups, result.summary
    s = summary.iloc[0]
    scenario = result.scenario
    fpps_keep = (
        1.0 - scenario.mining.pool_fee_fraction if scenario.mining.payout == "fpps" else None
    )
    horizon_s = scenario.horizon_s

    # the two interval tables have the same columns and cover the run without gaps
    assert list(ts.columns) == list(daily.columns[1:]), "timeseries and daily columns differ"
    for name, t in (("timeseries", ts), ("daily", daily)):
        edges = np.append(t["time_s"].to_numpy(), horizon_s)
        np.testing.assert_array_equal(np.diff(edges), t["duration_s"].to_numpy(), err_msg=name)
        assert t["time_s"].iloc[0] == 0.0, name
        check_interval_identities(t, name, fpps_keep)

    # flows: Σ timeseries = Σ daily = summary
    for col, target in FLOW_TO_SUMMARY.items():
        a, b = float(ts[col].sum()), float(daily[col].sum())
        scale = float(ts[col].abs().sum())
        assert_close(a, b, f"Σ timeseries vs Σ daily {col}", scale)
        if target is not None:
            column, per_unit = target
            assert_close(
                a, float(s[column]) * per_unit, f"Σ timeseries {col} vs summary {column}", scale
            )
    # summary totals that combine flows
    it_mwh = (ts["asic_energy_kwh"].sum() + ts["gpu_energy_kwh"].sum()) / 1_000.0
    assert_close(float(s["it_energy_mwh"]), it_mwh, "summary it_energy_mwh")
    assert_close(
        float(s["energy_mwh"]),
        it_mwh + ts["cooling_energy_kwh"].sum() / 1_000.0,
        "summary energy_mwh",
    )
    assert_close(
        float(s["mining_margin_usd"]),
        s["mining_revenue_usd"] - s["asic_energy_cost_usd"],
        "summary mining_margin_usd",
        abs(s["mining_revenue_usd"]) + s["asic_energy_cost_usd"],
    )
    assert_close(
        float(s["ai_margin_usd"]),
        s["ai_revenue_usd"] - s["sla_penalty_usd"] - s["gpu_energy_cost_usd"],
        "summary ai_margin_usd",
        s["ai_revenue_usd"] + s["sla_penalty_usd"] + abs(s["gpu_energy_cost_usd"]),
    )
    assert_close(
        float(s["ai_revenue_usd"]),
        s["ai_on_demand_revenue_usd"] + s["ai_reserved_revenue_usd"],
        "summary ai_revenue",
    )
    assert_close(
        float(s["energy_cost_usd"]),
        s["asic_energy_cost_usd"] + s["gpu_energy_cost_usd"] + s["cooling_energy_cost_usd"],
        "summary energy_cost_usd",
        abs(s["asic_energy_cost_usd"])
        + abs(s["gpu_energy_cost_usd"])
        + abs(s["cooling_energy_cost_usd"]),
    )
    if it_mwh > 0:
        assert_close(float(s["mean_pue"]), float(s["energy_mwh"] / s["it_energy_mwh"]), "mean_pue")

    # levels: time-weighted row means = the summary's run means
    for name, t in (("timeseries", ts), ("daily", daily)):
        weights = t["duration_s"].to_numpy(dtype=float)
        for col, (column, _) in LEVEL_TO_SUMMARY.items():
            integral = float(np.dot(t[col].to_numpy(dtype=float), weights))
            if col == "curtailed_kw":
                mwh = integral / 3.6e6  # kW·s → MWh
                assert_close(mwh, float(s[column]), f"{name} ∫{col} vs {column}", mwh)
            else:
                assert_close(
                    integral / horizon_s,
                    float(s[column]),
                    f"{name} {col} vs {column}",
                    float(np.dot(np.abs(t[col].to_numpy(float)), weights)) / horizon_s,
                )
        if s["gpus_installed"] > 0:
            busy = float(np.dot(t["gpus_busy"].to_numpy(dtype=float), weights))
            assert_close(
                busy / (s["gpus_installed"] * horizon_s),
                float(s["gpu_utilization"]),
                f"{name} gpus_busy vs gpu_utilization",
            )

    check_groups(groups, daily)
    check_blocks(result)
    check_jobs(result)
    check_events(result)


def check_groups(groups: pd.DataFrame, daily: pd.DataFrame) -> None:
    """groups.csv: its own identities, and its groups summed per day = daily.csv."""
    assert_rows(
        groups["margin_usd"],
        [groups["revenue_usd"], groups["energy_cost_usd"]],
        [1, -1],
        "groups.margin_usd",
    )
    hours = daily.set_index("date")["duration_s"] / 3_600.0
    g_hours = groups["date"].map(hours)
    assert_rows(groups["energy_kwh"], [groups["power_kw"] * g_hours], [1], "groups.energy_kwh")
    # units in service: at most those installed, at least those running (nodes powered)
    slack = RTOL * groups["units_installed"] + ATOL
    assert (groups["units_in_service"] <= groups["units_installed"] + slack).all()
    assert (groups["units_running"] <= groups["units_in_service"] + slack).all()
    by_day = daily.set_index("date")
    for kind, columns in GROUP_TO_DAILY.items():
        mine = groups[groups["kind"] == kind]
        sums = mine.groupby("date")[list(columns)].sum().reindex(by_day.index, fill_value=0.0)
        magnitude = (
            mine.assign(**{c: mine[c].abs() for c in columns})
            .groupby("date")[list(columns)]
            .sum()
            .reindex(by_day.index, fill_value=0.0)
        )
        for col, daily_col in columns.items():
            gap = np.abs(sums[col].to_numpy(float) - by_day[daily_col].to_numpy(float))
            tol = (
                RTOL
                * np.maximum(
                    magnitude[col].to_numpy(float), np.abs(by_day[daily_col].to_numpy(float))
                )
                + ATOL
            )
            bad = np.flatnonzero(~(gap <= tol))
            assert bad.size == 0, (
                f"Σ groups.{col} ({kind}) vs daily.{daily_col}: {bad.size} days differ, "
                f"first {by_day.index[bad[0]]}: gap {gap[bad[0]]!r}"
            )


def check_blocks(result: RunResult) -> None:
    """blocks.csv against the block columns of the interval tables."""
    blocks, ts = result.blocks, result.timeseries
    assert len(blocks) == int(ts["blocks_found"].sum()), "blocks.csv rows vs blocks_found"
    assert int(blocks["found_by_site"].sum()) == int(ts["site_blocks_found"].sum())
    assert_close(
        float(blocks["fees_btc"].sum()),
        float(ts["network_fees_btc"].sum()),
        "blocks fees_btc vs network_fees_btc",
        float(blocks["fees_btc"].abs().sum()),
    )
    if result.scenario.mining.payout == "solo":
        # solo: btc mined is exactly the subsidy plus fees of the site's blocks
        mine = blocks[blocks["found_by_site"]]
        reward = float((mine["subsidy_btc"] + mine["fees_btc"]).sum())
        assert_close(float(ts["btc_mined"].sum()), reward, "solo btc_mined vs blocks", reward)


def check_jobs(result: RunResult) -> None:
    """jobs.csv against the job columns of the interval tables and the summary."""
    jobs, ts, s = result.jobs, result.timeseries, result.summary.iloc[0]
    assert len(jobs) == int(ts["jobs_submitted"].sum()) == int(s["jobs_submitted"])
    assert int(jobs["start_time_s"].notna().sum()) == int(ts["jobs_started"].sum())
    assert int((jobs["status"] == "completed").sum()) == int(s["jobs_completed"])
    assert int((jobs["status"] == "abandoned").sum()) == int(s["jobs_abandoned"])
    assert int(jobs["preemptions"].sum()) == int(s["jobs_preempted"])
    assert_close(
        float(jobs["revenue_usd"].sum()),
        float(s["ai_on_demand_revenue_usd"]),
        "Σ jobs revenue_usd vs on-demand revenue",
        float(jobs["revenue_usd"].sum()),
    )


def check_events(result: RunResult) -> None:
    """events.csv: SLA penalties and 4CP peaks against the money they book."""
    events, s = result.events, result.summary.iloc[0]
    penalties = events.loc[events["event"] == "sla_penalty", "value"]
    assert_close(
        float(penalties.sum()),
        float(s["sla_penalty_usd"]),
        "sla_penalty events",
        float(penalties.sum()),
    )
    peaks = events.loc[events["event"] == "four_cp_peak", "value"]
    cp = result.scenario.site.grid_programs.four_cp
    if cp is None:
        assert peaks.empty and s["four_cp_charge_usd"] == 0.0
    else:
        charge = float(peaks.sum()) * cp.rate_usd_per_kw_year / len(cp.months)
        assert_close(charge, float(s["four_cp_charge_usd"]), "four_cp_peak events", charge)
