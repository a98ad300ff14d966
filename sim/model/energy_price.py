"""Hourly spot energy price: calendar shape, mean-reverting noise, spikes, floor and cap.

The price of each UTC clock hour ``k`` (USD/MWh) is

    p_k = clip(m · d(h_k) · w(k) + A · cos(2π (x_k − x_peak) / 365.25) + X_k + S_k, floor, cap)

with ``h_k`` the local hour of day, ``d`` the diurnal profile normalised to mean 1, ``w`` the
weekly factor (``c`` on weekdays and ``c·f`` on Saturday and Sunday, ``c = 7/(5 + 2f)`` so
its weekly mean is 1), ``x_k`` the local day of the year, ``X`` a stationary
Ornstein–Uhlenbeck deviation sampled exactly every hour (an AR(1) with
``φ = exp(−κ · 1 h)``) and ``S_k`` the hour's mean of a stationary shot-noise spike process
(Poisson arrivals, exponential sizes and durations). The whole path is drawn at once with
numpy from the stream ``energy_price``; there is no per-hour Python loop.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import numpy as np

from sim.scenario.schema import EnergySpec
from sim.steps import StepSeries
from sim.units import SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_YEAR, unix_seconds

HOURS_PER_YEAR = SECONDS_PER_YEAR / SECONDS_PER_HOUR  # 8,766 (Julian year)
DAYS_PER_YEAR = SECONDS_PER_YEAR / SECONDS_PER_DAY  # period of the seasonal cosine
_MAX_LOG_GROWTH = 500.0  # chunk length of the AR(1) filter keeps φ^(−L) below e^500


class Spikes(NamedTuple):
    """Price spikes on an hour axis; times are hours from the first clock hour."""

    start_h: np.ndarray
    duration_h: np.ndarray
    size_usd_per_mwh: np.ndarray
    initial: int  # the first ``initial`` spikes were already under way at hour 0


def ar1_filter(shocks: np.ndarray, phi: float) -> np.ndarray:
    """``x[0] = shocks[0]``, ``x[k] = φ·x[k−1] + shocks[k]``, vectorised.

    The series is cut into rows of ``L`` steps; within a row the zero-start filter is
    ``φ^j · cumsum(shocks_i · φ^(−i))`` (rounding error stays relative to each term, since
    every partial sum is rescaled by the same power it was divided by), and a short loop
    over rows carries each row's last value into the next: ``x[r, j] += φ^(j+1) · x[r−1, L−1]``.
    ``L`` keeps ``φ^(−L)`` below ``e^500``, so nothing overflows for any 0 < φ ≤ 1.
    """
    n = shocks.size
    if not 0 < phi <= 1:
        raise ValueError(f"phi must be in (0, 1] (got {phi})")
    if n == 0:
        return np.asarray(shocks, dtype=float)
    decay = -np.log(phi)
    length = n if decay == 0 else max(1, min(n, int(_MAX_LOG_GROWTH / decay)))
    rows = -(-n // length)
    padded = np.zeros(rows * length)
    padded[:n] = shocks
    block = padded.reshape(rows, length)
    powers = phi ** np.arange(length)
    filtered = powers * np.cumsum(block / powers, axis=1)
    carry_gain = phi * powers  # φ^(j+1)
    carry = 0.0
    for r in range(rows):
        filtered[r] += carry_gain * carry
        carry = filtered[r, -1]
    return filtered.reshape(-1)[:n]


def ou_deviation(
    n_hours: int, reversion_per_hour: float, sd_usd_per_mwh: float, rng: np.random.Generator
) -> np.ndarray:
    """Stationary Ornstein–Uhlenbeck deviation sampled exactly at ``n_hours`` whole hours.

    ``X_0 ~ N(0, s²)`` and ``X_{k+1} = φ X_k + s·√(1 − φ²)·Z_k`` with ``φ = exp(−κ)``, so
    every ``X_k`` has variance ``s²`` and the lag-1 autocorrelation is ``φ``. Draws
    ``n_hours`` standard normals.
    """
    phi = float(np.exp(-reversion_per_hour))
    z = rng.standard_normal(n_hours)
    shocks = sd_usd_per_mwh * z
    shocks[1:] *= np.sqrt(-np.expm1(-2.0 * reversion_per_hour))  # √(1 − φ²), accurate for small κ
    return ar1_filter(shocks, phi)


def draw_spikes(
    n_hours: float,
    rate_per_hour: float,
    mean_size_usd_per_mwh: float,
    mean_duration_h: float,
    rng: np.random.Generator,
) -> Spikes:
    """A stationary spike process on ``[0, n_hours)``.

    New spikes arrive as a Poisson process of rate ``rate_per_hour``; each lasts an
    Exp(``mean_duration_h``) time and adds an Exp(``mean_size_usd_per_mwh``) price while it
    lasts. In the stationary state Poisson(rate · mean duration) spikes are already under way
    at hour 0, with Exp remaining durations (memoryless); they are drawn too, so the expected
    spike price is ``rate · mean size · mean duration`` at every time, from the first hour.
    """
    initial = int(rng.poisson(rate_per_hour * mean_duration_h))
    arrivals = int(rng.poisson(rate_per_hour * n_hours))
    starts = np.concatenate((np.zeros(initial), np.sort(rng.uniform(0.0, n_hours, arrivals))))
    count = initial + arrivals
    durations = rng.exponential(mean_duration_h, count)
    sizes = rng.exponential(mean_size_usd_per_mwh, count)
    return Spikes(starts, durations, sizes, initial)


def hourly_spike_mean(spikes: Spikes, n_hours: int) -> np.ndarray:
    """Mean spike price over each hour ``[k, k+1)``, ``k < n_hours`` (USD/MWh).

    A spike of size ``m`` on ``[s, e)`` adds ``m`` times its overlap with each hour: the
    partial first and last hours directly, the whole hours in between through a difference
    array, so the hourly means are exact and the cost is O(spikes + hours).
    """
    size = spikes.size_usd_per_mwh
    start = spikes.start_h
    end = np.minimum(start + spikes.duration_h, float(n_hours))
    first = np.floor(start).astype(np.int64)
    last = np.floor(end).astype(np.int64)  # may be n_hours: that tail is outside the horizon
    out = np.zeros(n_hours + 1)
    same = first == last
    np.add.at(out, first[same], size[same] * (end[same] - start[same]))
    split = ~same
    f, la, m = first[split], last[split], size[split]
    np.add.at(out, f, m * (f + 1 - start[split]))
    np.add.at(out, la, m * (end[split] - la))
    steps = np.zeros(n_hours + 2)
    np.add.at(steps, f + 1, m)  # whole hours f+1 … la−1
    np.add.at(steps, la, -m)
    out += np.cumsum(steps)[: n_hours + 1]
    return out[:n_hours]


def calendar(
    first_hour_unix_s: int, n_hours: int, utc_offset_hours: float
) -> dict[str, np.ndarray]:
    """Local hour of day, weekend flag and day of the year (1 = 1 January 00:00) per hour."""
    offset_s = round(utc_offset_hours * SECONDS_PER_HOUR)
    local_s = first_hour_unix_s + offset_s + SECONDS_PER_HOUR * np.arange(n_hours, dtype=np.int64)
    hour = (local_s // SECONDS_PER_HOUR) % 24
    weekday = (local_s // SECONDS_PER_DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    year_start = (
        local_s.astype("datetime64[s]").astype("datetime64[Y]").astype("datetime64[s]")
    ).astype(np.int64)
    day_of_year = 1.0 + (local_s - year_start) / SECONDS_PER_DAY
    return {"hour": hour, "weekend": weekday >= 5, "day_of_year": day_of_year}


def shape(spec: EnergySpec, cal: dict[str, np.ndarray]) -> np.ndarray:
    """Deterministic part of the price per hour: mean · diurnal · weekly + seasonal (USD/MWh)."""
    diurnal = np.asarray(spec.diurnal_profile, dtype=float)
    diurnal = diurnal / diurnal.mean()
    weekday_level = 7.0 / (5.0 + 2.0 * spec.weekend_factor)
    weekly = np.where(cal["weekend"], spec.weekend_factor * weekday_level, weekday_level)
    seasonal = spec.seasonal_amplitude_usd_per_mwh * np.cos(
        2.0 * np.pi * (cal["day_of_year"] - spec.seasonal_peak_day) / DAYS_PER_YEAR
    )
    return spec.spot_mean_usd_per_mwh * diurnal[cal["hour"]] * weekly + seasonal


def clock_hours(start_utc: datetime, horizon_s: float) -> tuple[int, int]:
    """(unix time of the UTC clock hour containing start_utc, number of hours to the horizon)."""
    start_unix = unix_seconds(start_utc)
    first = int(np.floor(start_unix / SECONDS_PER_HOUR)) * SECONDS_PER_HOUR
    last = int(np.ceil((start_unix + horizon_s) / SECONDS_PER_HOUR)) * SECONDS_PER_HOUR
    return first, max((last - first) // SECONDS_PER_HOUR, 1)


def spot_price_steps(
    spec: EnergySpec, start_utc: datetime, horizon_s: float, rng: np.random.Generator
) -> StepSeries:
    """Hourly spot price (USD/MWh) on the simulation time base.

    Prices change at every whole UTC hour; the first step is the price of the clock hour
    that contains ``start_utc``. Draws, in order: one standard normal per hour (the OU
    deviation), then the spikes (see :func:`draw_spikes`), so the deviation path does not
    depend on the spike parameters.
    """
    first_unix, n_hours = clock_hours(start_utc, horizon_s)
    deviation = ou_deviation(n_hours, spec.reversion_per_hour, spec.volatility_usd_per_mwh, rng)
    spikes = draw_spikes(
        float(n_hours),
        spec.spike_rate_per_year / HOURS_PER_YEAR,
        spec.spike_mean_usd_per_mwh,
        spec.spike_mean_duration_h,
        rng,
    )
    price = shape(spec, calendar(first_unix, n_hours, spec.utc_offset_hours))
    price = price + deviation + hourly_spike_mean(spikes, n_hours)
    price = np.clip(price, spec.price_floor_usd_per_mwh, spec.price_cap_usd_per_mwh)
    times = first_unix + SECONDS_PER_HOUR * np.arange(n_hours) - unix_seconds(start_utc)
    times[0] = 0.0
    return StepSeries(times.astype(float), price)
