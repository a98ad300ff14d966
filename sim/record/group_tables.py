"""groups.csv: one row per UTC day and hardware group, so halls can be compared."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.economics.energy import energy_cost_usd
from sim.economics.inputs import MiningRecord
from sim.economics.mining import MiningMoney
from sim.record.columns import GROUP_COLUMNS
from sim.record.tables import RunRecords
from sim.steps import StepSeries, integrate_columns
from sim.units import HASHES_PER_THS, SECONDS_PER_HOUR


def _rows(dates: pd.Series, fixed: dict[str, str], values: dict[str, np.ndarray]) -> pd.DataFrame:
    frame = pd.DataFrame({"date": dates.array, **values})
    for column, value in fixed.items():
        frame[column] = value
    return frame


def _in_service(series: StepSeries, installed: float, edges_s: np.ndarray) -> np.ndarray:
    """Mean units in service per bin: all installed when nothing ever failed or went dark."""
    if series.times_s.size == 1 and series.values[0] == installed:
        return np.full(edges_s.size - 1, installed)
    return series.mean(edges_s)


def _asic_rows(
    mining: MiningRecord,
    money: MiningMoney,
    in_service: list[StepSeries],
    dates: pd.Series,
    edges_s: np.ndarray,
) -> pd.DataFrame:
    """Every ASIC group's days at once.

    The groups share their change times (grants and throttling), so each day's integrals
    take one pass per group over pieces laid out once, not a merge of series per group.
    """
    groups = mining.groups
    times, effective = groups.times_s, groups.effective
    seconds = np.diff(edges_s)[:, None]
    unit_kw = groups.unit_power_w / 1_000.0
    unit_hs = groups.unit_hashrate_ths * HASHES_PER_THS
    units = integrate_columns(times, groups.running, edges_s) / seconds
    working_s = integrate_columns(times, effective, edges_s)  # unit-seconds after throttling
    fpps = (
        integrate_columns(times, effective, edges_s, money.usd_per_hash)
        * unit_hs
        * money.fpps_cash_share
    )
    price = mining.paid_energy_price_usd_per_mwh
    energy_cost = integrate_columns(times, effective, edges_s, price) * unit_kw
    at = money.group_reward_times_s
    day = np.minimum(np.searchsorted(edges_s, at, side="right") - 1, len(dates) - 1)
    solo = np.zeros_like(fpps)
    np.add.at(solo, day, money.group_reward_usd)
    serving = np.column_stack(
        [
            _in_service(series, float(n), edges_s)
            for series, n in zip(in_service, groups.units_installed, strict=True)
        ]
    )
    columns = {
        "units_installed": np.broadcast_to(groups.units_installed.astype(np.int64), units.shape),
        "units_in_service": serving,
        "units_running": units,
        "power_kw": working_s / seconds * unit_kw,
        "energy_kwh": working_s * unit_kw / SECONDS_PER_HOUR,
        "curtailed_kw": (serving - units) * unit_kw,
        "hashrate_ths": working_s / seconds * groups.unit_hashrate_ths,
        "gpus_busy": np.full(units.shape, np.nan),
        "revenue_usd": fpps + solo,
        "energy_cost_usd": energy_cost_usd(energy_cost),
    }
    return pd.DataFrame(
        {
            "date": dates.array.take(np.tile(np.arange(len(dates)), len(groups.names))),
            "group": np.repeat(groups.names, len(dates)),
            "kind": "asic",
            "hardware": np.repeat(groups.models, len(dates)),
            # group by group, day by day
            **{name: values.T.ravel() for name, values in columns.items()},
        }
    )


def groups_table(run: RunRecords, dates: pd.Series, edges_s: np.ndarray) -> pd.DataFrame:
    """Per day and group: units, power, energy, curtailment, work done, revenue and cost."""
    frames = []
    asics = len(run.mining.groups.names)
    in_service = run.faults.in_service
    if asics:
        frames.append(
            _asic_rows(run.mining, run.mining_money, in_service[:asics], dates, edges_s)
        )
    gpus = zip(run.ai.groups, run.ai_money.groups, in_service[asics:], strict=True)
    for group, money, serving in gpus:
        power = group.power_kw
        nodes = group.nodes_powered.mean(edges_s)
        nodes_in_service = _in_service(serving, float(group.nodes), edges_s)
        fixed = {"group": group.name, "kind": "gpu", "hardware": group.hardware}
        values = {
            "units_installed": np.full(len(dates), group.nodes),
            "units_in_service": nodes_in_service,
            "units_running": nodes,
            "power_kw": power.mean(edges_s),
            "energy_kwh": power.integrate(edges_s) / SECONDS_PER_HOUR,
            "curtailed_kw": (nodes_in_service - nodes) * group.node_peak_power_w / 1_000.0,
            "hashrate_ths": np.full(len(dates), np.nan),
            "gpus_busy": group.busy_gpus.mean(edges_s),
            "revenue_usd": money.revenue_usd(edges_s),
            "energy_cost_usd": money.energy_cost_usd(edges_s),
        }
        frames.append(_rows(dates, fixed, values))
    if not frames:
        return pd.DataFrame(columns=list(GROUP_COLUMNS)).astype({"date": dates.dtype})
    table = pd.concat(frames, ignore_index=True)
    table["margin_usd"] = table["revenue_usd"] - table["energy_cost_usd"]
    table = table[list(GROUP_COLUMNS)]
    return table.sort_values(["date", "kind", "group"], kind="stable").reset_index(drop=True)
