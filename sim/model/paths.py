"""Exogenous stochastic paths as step series: GBM on a fixed grid, or replay of a CSV."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from sim.errors import SimulationError
from sim.scenario.inputs import InputFiles, StepData
from sim.steps import StepSeries
from sim.units import SECONDS_PER_YEAR, unix_seconds


def gbm_steps(
    start_value: float,
    drift_per_year: float,
    volatility_per_year: float,
    step_s: float,
    horizon_s: float,
    rng: np.random.Generator,
) -> StepSeries:
    """Geometric Brownian motion sampled every ``step_s``, held constant in between.

    ``E[X(t)] = start_value · exp(drift_per_year · t)`` with t in years; the log increments
    are exact, so the path's law does not depend on the step.
    """
    times = np.arange(0.0, horizon_s, step_s)
    dt_years = step_s / SECONDS_PER_YEAR
    shocks = rng.standard_normal(times.size - 1)
    increments = (
        drift_per_year - 0.5 * volatility_per_year**2
    ) * dt_years + volatility_per_year * np.sqrt(dt_years) * shocks
    log_path = np.concatenate(([0.0], np.cumsum(increments)))
    return StepSeries(times, start_value * np.exp(log_path))


def csv_series(
    files: InputFiles,
    section: str,
    csv_path: str | None,
    column: str,
    component: str,
    start_utc: datetime,
    positive: bool = True,
) -> StepData:
    """The (unix seconds, values) of a ``model: csv`` input ``section``, as read at load.

    Raises
    ------
    SimulationError
        When no file is set (the scenario checks prevent it) or, for a scenario that was not
        loaded by the loader, when the file cannot be read now.
    """
    if csv_path is None:  # a real check, not an assert: asserts vanish under python -O
        raise SimulationError(
            component, 0.0, f"{section}.model is csv but {section}.csv_path is not set", start_utc
        )
    try:
        return files.step_series(f"{section}.csv_path", csv_path, column, positive)
    except ValueError as exc:
        raise SimulationError(component, 0.0, str(exc), start_utc) from exc


def csv_steps(
    series: StepData,
    start_utc: datetime,
    horizon_s: float,
    scale: float = 1.0,
) -> StepSeries:
    """Replay a CSV step series (unix seconds, values) on the simulation time base, × ``scale``.

    The row in force at ``start_utc`` starts the series at t = 0; rows after the horizon
    are dropped. Coverage of ``start_utc`` is checked when the scenario is loaded.
    """
    unix_s, values = series
    t_s = unix_s - unix_seconds(start_utc)
    first = max(int(np.searchsorted(t_s, 0.0, side="right")) - 1, 0)
    keep = slice(first, int(np.searchsorted(t_s, horizon_s, side="left")))
    times = np.maximum(t_s[keep], 0.0)
    return StepSeries(times, values[keep] * scale)
