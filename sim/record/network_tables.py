"""network.csv: the economic network's cohorts by UTC day (docs/model.md §2.8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import csr_matrix

from sim.record.columns import NETWORK_COLUMNS, check_columns
from sim.record.tables import RunRecords
from sim.units import HASHES_PER_EHS


def _day_integrals(times_s: np.ndarray, edges_s: np.ndarray) -> csr_matrix:
    """Sparse (days × rows) matrix: seconds of each day during which row ``i`` holds.

    ``M @ values`` integrates step series sharing ``times_s`` over each day exactly, reading
    the (rows × cohorts) arrays once (``integrate_columns`` would copy them per piece).
    """
    grid = np.unique(
        np.concatenate((times_s[(times_s > edges_s[0]) & (times_s < edges_s[-1])], edges_s))
    )
    rows = np.searchsorted(times_s, grid[:-1], side="right") - 1
    days = np.searchsorted(edges_s, grid[:-1], side="right") - 1
    shape = (edges_s.size - 1, times_s.size)
    return csr_matrix((np.diff(grid), (days, rows)), shape=shape)


def network_table(run: RunRecords, dates: pd.Series, edges_s: np.ndarray) -> pd.DataFrame:
    """One row per day and cohort that has hashed by the day's end; empty without cohorts."""
    cohorts = run.mining.network_cohorts
    if cohorts is None:  # the same columns and types, no rows
        floats = {name: np.empty(0) for name in list(NETWORK_COLUMNS)[2:]}
        empty = {"date": dates.array[:0], "cohort": np.empty(0, dtype=object), **floats}
        return pd.DataFrame(empty)
    seconds = np.diff(edges_s)[:, None]
    daily = _day_integrals(cohorts.times_s, edges_s)
    installed = daily @ cohorts.installed_hs / seconds
    running = daily @ (cohorts.installed_hs * cohorts.share) / seconds
    share = daily @ cohorts.share / seconds
    hashprice = daily @ cohorts.hashprice_usd_per_ph_day[:, None]
    day, cohort = np.nonzero(cohorts.first_arrival_s[None, :] < edges_s[1:, None])  # row-major
    table = {
        "date": dates.array[day],
        "cohort": np.array(cohorts.names, dtype=object)[cohort],
        "efficiency_j_per_th": cohorts.efficiency_j_per_th[cohort],
        "breakeven_hashprice_usd_per_ph_day": cohorts.breakeven_usd_per_ph_day[cohort],
        "hashprice_usd_per_ph_day": (hashprice[:, 0] / seconds[:, 0])[day],
        "installed_hashrate_ehs": installed[day, cohort] / HASHES_PER_EHS,
        "running_share": share[day, cohort],
        "running_hashrate_ehs": running[day, cohort] / HASHES_PER_EHS,
    }
    check_columns(
        "network.csv", table, NETWORK_COLUMNS, run.scenario.horizon_s, run.scenario.start_utc
    )
    return pd.DataFrame(table)
