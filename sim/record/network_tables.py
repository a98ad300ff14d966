"""network.csv: the economic network's cohorts by UTC day (docs/model.md §2.8)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.record.columns import NETWORK_COLUMNS, check_columns
from sim.record.tables import RunRecords
from sim.units import HASHES_PER_EHS


def _day_integrals(
    times_s: np.ndarray, edges_s: np.ndarray, *values: np.ndarray
) -> list[np.ndarray]:
    """Exact integrals over each day (days × C) of step series on ``times_s`` (rows × C).

    The pieces between changes and midnights are laid out once. When every midnight is
    already a change time (an hourly decision grid from a whole hour), each piece is a row
    and the arrays are summed as they are, without a copy per piece.
    """
    inner = times_s[(times_s > edges_s[0]) & (times_s < edges_s[-1])]
    grid = np.unique(np.concatenate((inner, edges_s)))
    rows = np.searchsorted(times_s, grid[:-1], side="right") - 1
    starts = np.searchsorted(grid, edges_s[:-1])
    widths = np.diff(grid)[:, None]
    same = rows.size == times_s.size and bool(np.all(rows == np.arange(rows.size)))
    return [
        np.add.reduceat((matrix if same else matrix[rows]) * widths, starts, axis=0)
        for matrix in values
    ]


def network_table(run: RunRecords, dates: pd.Series, edges_s: np.ndarray) -> pd.DataFrame:
    """One row per day and cohort that has hashed by the day's end; empty without cohorts."""
    cohorts = run.mining.network_cohorts()
    if cohorts is None:  # the same columns and types, no rows
        floats = {name: np.empty(0) for name in list(NETWORK_COLUMNS)[2:]}
        empty = {"date": dates.array[:0], "cohort": np.empty(0, dtype=object), **floats}
        return pd.DataFrame(empty)
    seconds = np.diff(edges_s)[:, None]
    installed, running, hashprice = (
        integral / seconds
        for integral in _day_integrals(
            cohorts.times_s,
            edges_s,
            cohorts.installed_hs,
            cohorts.running_hs,
            cohorts.hashprice_usd_per_ph_day[:, None],
        )
    )
    day, cohort = np.nonzero(cohorts.first_arrival_s[None, :] < edges_s[1:, None])  # row-major
    table = {
        "date": dates.array[day],
        "cohort": np.array(cohorts.names, dtype=object)[cohort],
        "efficiency_j_per_th": cohorts.efficiency_j_per_th[cohort],
        "breakeven_hashprice_usd_per_ph_day": cohorts.breakeven_usd_per_ph_day[cohort],
        "hashprice_usd_per_ph_day": hashprice[day, 0],
        "installed_hashrate_ehs": installed[day, cohort] / HASHES_PER_EHS,
        "running_share": running[day, cohort] / installed[day, cohort],
        "running_hashrate_ehs": running[day, cohort] / HASHES_PER_EHS,
    }
    check_columns(
        "network.csv", table, NETWORK_COLUMNS, run.scenario.horizon_s, run.scenario.start_utc
    )
    return pd.DataFrame(table)
