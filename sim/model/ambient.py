"""Outdoor ambient temperature (dry bulb, °C) as an hourly step series.

Preset model: the temperature of each UTC clock hour ``k``, taken at the start of the hour
and held for the hour, is

    T_k = μ + A_s · cos(2π (x_k − x_hot) / 365.25) + A_d · cos(2π (h_k − h_hot) / 24) + X_k

with ``x_k`` the local day of the year (1.0 = 1 January 00:00, fractional), ``h_k`` the local
hour of day (fractional when the UTC offset is) and ``X`` a stationary Ornstein–Uhlenbeck
weather deviation sampled exactly every hour: an AR(1) with ``φ = exp(−1 h / τ)`` and
innovations ``σ·√(1 − φ²)·Z``, started from ``N(0, σ²)``. CSV model: the file's steps.
Heat waves then add ``extra_c`` on ``[start_utc, end_utc)`` exactly in time (their edges
split the hourly steps). The whole path is drawn at once with numpy from the stream
``ambient``; there is no per-hour Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from sim.model.energy_price import DAYS_PER_YEAR, calendar, clock_hours, ou_deviation
from sim.model.paths import csv_series, csv_steps
from sim.scenario.ambient import AMBIENT_CSV_COLUMN, AmbientSpec, HeatWaveSpec
from sim.scenario.inputs import InputFiles
from sim.steps import StepSeries, from_changes, total
from sim.units import SECONDS_PER_DAY, SECONDS_PER_HOUR, unix_seconds


def local_hour_of_day(first_hour_unix_s: int, n_hours: int, utc_offset_hours: float) -> np.ndarray:
    """Local hour of day (0 ≤ h < 24, fractional for fractional offsets) at each clock hour."""
    offset_s = round(utc_offset_hours * SECONDS_PER_HOUR)  # as in energy_price.calendar
    local_s = first_hour_unix_s + offset_s + SECONDS_PER_HOUR * np.arange(n_hours, dtype=np.int64)
    return (local_s % SECONDS_PER_DAY) / SECONDS_PER_HOUR


def ambient_shape(spec: AmbientSpec, first_hour_unix_s: int, n_hours: int) -> np.ndarray:
    """Deterministic part of the preset model at each clock hour: mean + annual + daily (°C)."""
    day_of_year = calendar(first_hour_unix_s, n_hours, spec.utc_offset_hours)["day_of_year"]
    hour = local_hour_of_day(first_hour_unix_s, n_hours, spec.utc_offset_hours)
    seasonal = np.cos(2.0 * np.pi * (day_of_year - spec.hottest_day_of_year) / DAYS_PER_YEAR)
    diurnal = np.cos(2.0 * np.pi * (hour - spec.hottest_hour_local) / 24.0)
    return spec.mean_c + spec.seasonal_amplitude_c * seasonal + spec.diurnal_amplitude_c * diurnal


def preset_steps(
    spec: AmbientSpec, start_utc: datetime, horizon_s: float, rng: np.random.Generator
) -> StepSeries:
    """Hourly ambient of the preset model (°C), without heat waves.

    Values change at every whole UTC hour; the first step is the value of the clock hour
    that contains ``start_utc``. Draws one standard normal per hour (the OU deviation),
    whatever the other parameters, so the deviation path depends only on the seed, the
    number of hours, ``noise_std_c`` and ``noise_correlation_hours``.
    """
    first_unix, n_hours = clock_hours(start_utc, horizon_s)
    deviation = ou_deviation(n_hours, 1.0 / spec.noise_correlation_hours, spec.noise_std_c, rng)
    temperature = ambient_shape(spec, first_unix, n_hours) + deviation
    times = first_unix + SECONDS_PER_HOUR * np.arange(n_hours) - unix_seconds(start_utc)
    times[0] = 0.0
    return StepSeries(times.astype(float), temperature)


def add_heat_waves(
    series: StepSeries, waves: Sequence[HeatWaveSpec], start_utc: datetime, horizon_s: float
) -> StepSeries:
    """``series`` plus each wave's ``extra_c`` on ``[start_utc, end_utc)``, exact in time.

    Waves that end before the start or begin at or after the horizon are dropped; a wave
    already under way at the start counts from t = 0. Overlapping waves add up.
    """
    if not waves:
        return series
    origin = unix_seconds(start_utc)
    start = np.array([unix_seconds(w.start_utc) - origin for w in waves])
    end = np.array([unix_seconds(w.end_utc) - origin for w in waves])
    extra = np.array([w.extra_c for w in waves])
    keep = (end > 0.0) & (start < horizon_s)
    if not keep.any():
        return series
    times = np.concatenate((np.maximum(start[keep], 0.0), end[keep]))
    deltas = np.concatenate((extra[keep], -extra[keep]))
    inside = times < horizon_s  # an end at or after the horizon needs no step
    return total(series, from_changes(times[inside], deltas[inside]))


def ambient_steps(
    spec: AmbientSpec,
    start_utc: datetime,
    horizon_s: float,
    rng: np.random.Generator,
    files: InputFiles | None = None,
) -> StepSeries:
    """Ambient dry-bulb temperature (°C) on the simulation time base, heat waves included.

    Parameters
    ----------
    spec
        The scenario's ambient section.
    start_utc
        Time of t = 0.
    horizon_s
        Length of the run (s); the series covers ``[0, horizon_s)``.
    rng
        The stream ``ambient``; the preset model draws one standard normal per clock hour,
        the CSV model draws nothing.
    files
        The scenario's input files (``sim.scenario.schema.input_files``), which hold the
        CSV model's file as read at load; None reads ``csv_path`` now, as given.
    """
    if spec.model == "csv":
        series = csv_series(
            files or InputFiles(),
            "site.ambient",
            spec.csv_path,
            AMBIENT_CSV_COLUMN,
            "ambient",
            start_utc,
            positive=False,
        )
        base = csv_steps(series, start_utc, horizon_s)
    else:
        base = preset_steps(spec, start_utc, horizon_s, rng)
    return add_heat_waves(base, spec.heat_waves, start_utc, horizon_s)
