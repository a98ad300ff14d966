"""groups.csv: one row per UTC day and hardware group, so halls can be compared."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.site import Site
from sim.model.steps import StepSeries, product
from sim.record.columns import GROUP_COLUMNS
from sim.units import HASHES_PER_THS, KWH_PER_MWH, SECONDS_PER_HOUR


def _energy_cost(power_kw: StepSeries, site: Site, edges_s: np.ndarray) -> np.ndarray:
    cost = product(power_kw, site.energy_price_usd_per_mwh).integrate(edges_s)
    return cost / SECONDS_PER_HOUR / KWH_PER_MWH


def _rows(dates: pd.Series, fixed: dict[str, str], values: dict[str, np.ndarray]) -> pd.DataFrame:
    frame = pd.DataFrame({"date": dates.to_numpy(), **values})
    for column, value in fixed.items():
        frame[column] = value
    frame["margin_usd"] = frame["revenue_usd"] - frame["energy_cost_usd"]
    return frame


def groups_table(
    site: Site,
    usd_per_hash: StepSeries,
    solo_reward_usd: np.ndarray,
    block_times_s: np.ndarray,
    dates: pd.Series,
    edges_s: np.ndarray,
) -> pd.DataFrame:
    """Per day and group: units, power, energy, curtailment, work done, revenue and cost."""
    fleet, mining = site.fleet, site.scenario.mining
    keep = 1.0 - mining.pool_fee_fraction if mining.payout == "fpps" else 0.0
    frames = []
    site_hs = fleet.hashrate_hs()
    for index, group in enumerate(fleet.groups):
        units = fleet.group_units(index)
        working = fleet.group_effective_units(index)  # after heat throttling
        power = working.scaled(group.power_w / 1_000.0)
        hashrate = working.scaled(group.hashrate_ths * HASHES_PER_THS)
        fpps = product(hashrate, usd_per_hash).integrate(edges_s) * keep
        # solo: the site's blocks, split by the group's share of the site's hashrate then
        share = hashrate.at(block_times_s) / np.maximum(site_hs.at(block_times_s), 1e-300)
        which = np.minimum(
            np.searchsorted(edges_s, block_times_s, side="right") - 1, len(dates) - 1
        )
        solo = np.bincount(which, weights=solo_reward_usd * share, minlength=len(dates))
        fixed = {"group": group.name, "kind": "asic", "hardware": group.model}
        values = {
            "units_installed": np.full(len(dates), group.count),
            "units_running": units.mean(edges_s),
            "power_kw": power.mean(edges_s),
            "energy_kwh": power.integrate(edges_s) / SECONDS_PER_HOUR,
            "curtailed_kw": (group.count - units.mean(edges_s)) * group.power_w / 1_000.0,
            "hashrate_ths": hashrate.mean(edges_s) / HASHES_PER_THS,
            "gpus_busy": np.full(len(dates), np.nan),
            "revenue_usd": fpps + solo[: len(dates)],
            "energy_cost_usd": _energy_cost(power, site, edges_s),
        }
        frames.append(_rows(dates, fixed, values))
    hosting = site.hosting
    for index, cluster in enumerate(hosting.clusters):
        reserved_usd_h = sum(
            c.gpus * c.price_usd_per_gpu_hour
            for c, where in zip(hosting.contracts, hosting.contract_cluster, strict=True)
            if where == index
        )
        power = cluster.power_kw()
        fixed = {"group": cluster.name, "kind": "gpu", "hardware": cluster.node.name}
        values = {
            "units_installed": np.full(len(dates), cluster.spec.nodes),
            "units_running": cluster.nodes_powered().mean(edges_s),
            "power_kw": power.mean(edges_s),
            "energy_kwh": power.integrate(edges_s) / SECONDS_PER_HOUR,
            "curtailed_kw": (cluster.spec.nodes - cluster.nodes_powered().mean(edges_s))
            * cluster.node.peak_power_w
            / 1_000.0,
            "hashrate_ths": np.full(len(dates), np.nan),
            "gpus_busy": cluster.busy_gpus().mean(edges_s),
            "revenue_usd": cluster.on_demand_usd_rate().integrate(edges_s)
            + reserved_usd_h * np.diff(edges_s) / SECONDS_PER_HOUR,
            "energy_cost_usd": _energy_cost(power, site, edges_s),
        }
        frames.append(_rows(dates, fixed, values))
    if not frames:
        return pd.DataFrame(columns=list(GROUP_COLUMNS))
    table = pd.concat(frames, ignore_index=True)[list(GROUP_COLUMNS)]
    return table.sort_values(["date", "kind", "group"], kind="stable").reset_index(drop=True)
