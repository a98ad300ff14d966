"""Validation of the hourly spot energy price against analytic results.

The spot price of clock hour k is clip(m·d(h_k)·w(k) + A·cos(2π(x_k − x_peak)/365.25) + X_k
+ S_k, floor, cap) with X a stationary Ornstein–Uhlenbeck deviation sampled hourly (AR(1),
φ = e^(−κ), variance s²) and S the hourly mean of a stationary Poisson shot noise of
exponential sizes and durations. Tolerances are a few standard errors derived from these
statistics (autocorrelation included); seeds are fixed, so each test is deterministic. The
calendar expectations are recomputed here with pandas, independently of the model's integer
arithmetic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import make_scenario
from scipy import stats

from sim import load_scenario, run_one
from sim.errors import ScenarioError
from sim.model.energy_price import (
    HOURS_PER_YEAR,
    ar1_filter,
    draw_spikes,
    hourly_spike_mean,
    spot_price_steps,
)
from sim.rng import RandomStreams
from sim.scenario.schema import EnergySpec, Scenario

START = datetime(2024, 1, 1, 6, tzinfo=UTC)  # midnight of Monday 2024-01-01 at UTC−6
WEEK_H = 7 * 24
FLAT = {
    "diurnal_profile": [1.0] * 24,
    "weekend_factor": 1.0,
    "seasonal_amplitude_usd_per_mwh": 0.0,
    "spike_rate_per_year": 0.0,
    "price_floor_usd_per_mwh": -1e6,
    "price_cap_usd_per_mwh": 1e6,
}


def spot(**fields: object) -> EnergySpec:
    return EnergySpec.model_validate({"model": "spot", "mean_usd_per_mwh": 40.0, **fields})


def month(energy: dict[str, object], seed: int = 9) -> Scenario:
    """January 2024 on the small default site with the given site.energy section."""
    return make_scenario(seed=seed, site={"energy": energy})


def prices(spec: EnergySpec, hours: int, seed: int = 1, start: datetime = START) -> np.ndarray:
    """Hourly prices of ``hours`` whole clock hours from ``start`` (stream energy_price)."""
    rng = RandomStreams(seed).get("energy_price")
    return spot_price_steps(spec, start, hours * 3600.0, rng).values


def local_calendar(hours: int, offset_h: float, start: datetime = START) -> pd.DataFrame:
    """Local hour, weekend flag and fractional day of the year of each clock hour (pandas)."""
    utc = pd.date_range(start, periods=hours, freq="h")
    local = utc + pd.Timedelta(hours=offset_h)
    return pd.DataFrame(
        {
            "hour": local.hour,
            "weekend": local.day_of_week >= 5,
            "day_of_year": local.day_of_year + (local.hour * 60 + local.minute) / 1440,
        }
    )


def expected_shape(spec: EnergySpec, cal: pd.DataFrame) -> np.ndarray:
    """m·d̂(h)·w + A·cos(2π(x − x_peak)/365.25), recomputed from the definitions."""
    d = np.array(spec.diurnal_profile) / np.mean(spec.diurnal_profile)
    f = spec.weekend_factor
    weekly = np.where(cal["weekend"], 7 * f / (5 + 2 * f), 7 / (5 + 2 * f))
    season = np.cos(2 * np.pi * (cal["day_of_year"] - spec.seasonal_peak_day) / 365.25)
    return (
        spec.spot_mean_usd_per_mwh * d[cal["hour"]] * weekly
        + spec.seasonal_amplitude_usd_per_mwh * season.to_numpy()
    )


def ou_long_run_variance(sd: float, kappa: float) -> float:
    """Σ_k autocovariance of the hourly AR(1): s²(1 + φ)/(1 − φ) (per hour², n·Var(mean))."""
    phi = np.exp(-kappa)
    return sd**2 * (1 + phi) / (1 - phi)


# --------------------------------------------------------------------------- the AR(1) filter


@pytest.mark.parametrize("phi", [1.0, 1 - 1e-4, np.exp(-0.15), 0.5, np.exp(-100.0)])
def test_chunked_ar1_filter_equals_the_recursion(phi: float) -> None:
    shocks = np.random.default_rng(3).standard_normal(12_000)
    expected = np.empty_like(shocks)
    level = 0.0
    for i, shock in enumerate(shocks):
        level = phi * level + shock
        expected[i] = level
    scale = np.abs(expected).max()
    np.testing.assert_allclose(ar1_filter(shocks, phi), expected, rtol=0, atol=1e-12 * scale)


# --------------------------------------------------------------------------- the OU deviation


@pytest.mark.parametrize("kappa", [0.05, 0.15, 2.0])
def test_ou_deviation_has_stationary_variance_and_lag1_autocorrelation_phi(kappa: float) -> None:
    sd, n = 12.0, 200_000
    spec = spot(reversion_per_hour=kappa, volatility_usd_per_mwh=sd, **FLAT)
    x = prices(spec, n) - 40.0
    phi = np.exp(-kappa)
    # Stationary from the first hour: innovations s·√(1−φ²)·Z give Var = s²·(1−φ²)/(1−φ²).
    assert x.mean() == pytest.approx(0.0, abs=4 * np.sqrt(ou_long_run_variance(sd, kappa) / n))
    # Var(s²_hat) ≈ 2σ⁴(1 + φ²)/((1 − φ²)n) for a Gaussian AR(1) (Bartlett).
    var_se = sd**2 * np.sqrt(2 * (1 + phi**2) / ((1 - phi**2) * n))
    assert x.var() == pytest.approx(sd**2, abs=4 * var_se)
    # Lag-1 autocorrelation: sd ≈ √((1 − φ²)/n).
    r1 = np.corrcoef(x[:-1], x[1:])[0, 1]
    assert r1 == pytest.approx(phi, abs=4 * np.sqrt((1 - phi**2) / n))
    # The one-step innovations are uncorrelated with the past and have sd s·√(1 − φ²).
    innovations = x[1:] - phi * x[:-1]
    assert innovations.std() == pytest.approx(sd * np.sqrt(1 - phi**2), rel=4 / np.sqrt(2 * n))
    assert abs(np.corrcoef(innovations[1:], x[1:-1])[0, 1]) < 4 / np.sqrt(n)


# --------------------------------------------------------------------------- spikes


def test_spike_arrivals_are_poisson_with_exponential_sizes_and_durations() -> None:
    rate, size, duration, years = 20.0, 600.0, 2.0, 400
    rng = np.random.default_rng(11)
    spikes = draw_spikes(years * HOURS_PER_YEAR, rate / HOURS_PER_YEAR, size, duration, rng)
    arrivals = spikes.start_h[spikes.initial :]
    counts = np.bincount((arrivals // HOURS_PER_YEAR).astype(int), minlength=years)
    assert counts.size == years
    assert counts.mean() == pytest.approx(rate, abs=4 * np.sqrt(rate / years))
    # Index of dispersion Σ(x − x̄)²/λ ~ χ²(n − 1) for Poisson counts.
    dispersion = ((counts - counts.mean()) ** 2).sum() / rate
    lo, hi = stats.chi2.ppf([1e-4, 1 - 1e-4], years - 1)
    assert lo < dispersion < hi
    # Sizes and durations: exponential (Kolmogorov–Smirnov at the 1e-4 level).
    assert stats.kstest(spikes.size_usd_per_mwh, "expon", args=(0, size)).pvalue > 1e-4
    assert stats.kstest(spikes.duration_h, "expon", args=(0, duration)).pvalue > 1e-4


def test_hourly_spike_mean_integrates_each_spike_exactly() -> None:
    rng = np.random.default_rng(5)
    spikes = draw_spikes(500.0, 0.2, 100.0, 3.0, rng)
    hourly = hourly_spike_mean(spikes, 500)
    # Brute force on a fine grid: every spike covers [start, start + duration) ∩ [0, 500).
    fine = np.arange(0, 500, 1 / 3600) + 0.5 / 3600
    level = np.zeros_like(fine)
    for s, d, m in zip(spikes.start_h, spikes.duration_h, spikes.size_usd_per_mwh, strict=True):
        level += m * ((fine >= s) & (fine < s + d))
    np.testing.assert_allclose(hourly, level.reshape(500, 3600).mean(axis=1), atol=0.1)
    ends = np.minimum(spikes.start_h + spikes.duration_h, 500.0)
    assert hourly.sum() == pytest.approx(
        (spikes.size_usd_per_mwh * (ends - spikes.start_h)).sum(), rel=1e-9
    )


# --------------------------------------------------------------------------- the long-run mean


def test_long_run_mean_is_base_mean_plus_spike_contribution() -> None:
    # 5,218 whole weeks (≈100 years) from a local Monday midnight: each (hour, weekday) cell
    # is equally represented, so the diurnal and weekly factors average to exactly 1.
    spec = spot(
        price_floor_usd_per_mwh=-1e6,
        price_cap_usd_per_mwh=1e6,  # no clipping, so the mean is linear in the parts
    )
    n = 5_218 * WEEK_H
    p = prices(spec, n, seed=2)
    lam = spec.spike_rate_per_year / HOURS_PER_YEAR  # 1/h
    size, dur = spec.spike_mean_usd_per_mwh, spec.spike_mean_duration_h
    season = expected_shape(spec, local_calendar(n, -6)).mean() - spec.spot_mean_usd_per_mwh
    assert abs(season) < 0.01  # whole years: the cosine averages out up to calendar rounding
    expected = spec.spot_mean_usd_per_mwh + season + lam * size * dur
    # Var(mean) = OU long-run variance / n + shot noise: Campbell, Var ∫S = λT·E[M²]E[D²]
    # = λT·(2 size²)(2 dur²) for exponential sizes and durations.
    var_mean = (
        ou_long_run_variance(spec.volatility_usd_per_mwh, spec.reversion_per_hour) / n
        + lam * 4 * size**2 * dur**2 / n
    )
    se = np.sqrt(var_mean)
    assert p.mean() == pytest.approx(expected, abs=4 * se)
    # The analytic standard error agrees with batch means over 100 batches of 52 weeks.
    n_batched = 100 * 52 * WEEK_H
    batches = p[:n_batched].reshape(100, -1).mean(axis=1)
    batch_se = batches.std(ddof=1) / np.sqrt(batches.size)
    analytic_se = se * np.sqrt(n / n_batched)
    assert 0.6 < analytic_se / batch_se < 1.6


# --------------------------------------------------------------------------- calendar shape


def test_exact_shape_without_noise_matches_the_calendar_formula() -> None:
    # No noise, no spikes: the price is the deterministic shape, hour by hour, for a local
    # offset with half hours and a start in the middle of a clock hour.
    spec = spot(
        volatility_usd_per_mwh=0.0,
        spike_rate_per_year=0.0,
        weekend_factor=0.7,
        seasonal_amplitude_usd_per_mwh=10.0,
        seasonal_peak_day=200.0,
        utc_offset_hours=5.5,
    )
    start = datetime(2023, 12, 30, 17, 40, 0, tzinfo=UTC)
    n = 24 * 400
    p = prices(spec, n, start=start)  # 9,601 clock hours, the first one partial
    first_hour = start.replace(minute=0)
    cal = local_calendar(p.size, 5.5, start=first_hour)
    np.testing.assert_allclose(p, expected_shape(spec, cal), rtol=1e-12, atol=1e-9)
    series = spot_price_steps(spec, start, n * 3600.0, np.random.default_rng(0))
    assert series.times_s[0] == 0.0 and series.times_s[1] == 20 * 60  # next hour at 18:00


def test_mean_by_local_hour_and_weekday_follows_the_profile() -> None:
    spec = spot(seasonal_amplitude_usd_per_mwh=0.0, spike_rate_per_year=0.0, weekend_factor=0.8)
    weeks = 30 * 52
    p = prices(spec, weeks * WEEK_H, seed=3)
    cal = local_calendar(p.size, -6)
    cells = pd.DataFrame({"p": p, "hour": cal["hour"], "weekend": cal["weekend"]})
    means = cells.groupby(["weekend", "hour"])["p"].agg(["mean", "size"])
    d = np.array(spec.diurnal_profile) / np.mean(spec.diurnal_profile)
    level = {False: 7 / (5 + 2 * 0.8), True: 0.8 * 7 / (5 + 2 * 0.8)}
    expected = np.array([40.0 * d[h] * level[w] for w, h in means.index])
    # Samples of a cell are ≥ 24 h apart: correlation φ^24 ≈ 0.03 between neighbours.
    rho = np.exp(-24 * spec.reversion_per_hour)
    se = spec.volatility_usd_per_mwh * np.sqrt((1 + rho) / (1 - rho) / means["size"].to_numpy())
    z = (means["mean"].to_numpy() - expected) / se
    assert np.abs(z).max() < 4.5  # 48 cells: Bonferroni at ≈1e-5 each
    # The shape is visible: the evening peak over the night low, far beyond the noise.
    weekday = means.loc[False, "mean"]
    assert weekday[19] / weekday[3] == pytest.approx(d[19] / d[3], rel=0.02)


def test_seasonal_cosine_has_the_set_amplitude_and_peak_day() -> None:
    amplitude, kappa, sd = 8.0, 0.15, 12.0
    spec = spot(
        **{**FLAT, "seasonal_amplitude_usd_per_mwh": amplitude},
        seasonal_peak_day=213.0,
        reversion_per_hour=kappa,
        volatility_usd_per_mwh=sd,
    )
    n = 40 * 8_766
    p = prices(spec, n, seed=4) - 40.0
    phase = 2 * np.pi * (local_calendar(n, -6)["day_of_year"].to_numpy() - 213.0) / 365.25
    design = np.column_stack([np.cos(phase), np.sin(phase)])
    (a, b), *_ = np.linalg.lstsq(design, p, rcond=None)
    # Var of a regression coefficient on a slow sinusoid ≈ 2·(long-run variance)/n.
    se = np.sqrt(2 * ou_long_run_variance(sd, kappa) / n)
    assert a == pytest.approx(amplitude, abs=4 * se)
    assert b == pytest.approx(0.0, abs=4 * se)


# --------------------------------------------------------------------------- bounds


def test_floor_and_cap_bound_every_hour_and_bind() -> None:
    spec = spot(
        volatility_usd_per_mwh=150.0,
        spike_rate_per_year=500.0,
        spike_mean_usd_per_mwh=3_000.0,
        price_floor_usd_per_mwh=-50.0,
        price_cap_usd_per_mwh=5_000.0,
    )
    p = prices(spec, 5 * 8_766)
    assert p.min() == -50.0 and p.max() == 5_000.0
    assert ((p >= -50.0) & (p <= 5_000.0)).all()


def test_bad_spot_settings_are_all_reported_with_their_paths() -> None:
    energy = {"model": "csv", "price_floor_usd_per_mwh": 100, "price_cap_usd_per_mwh": 100}
    with pytest.raises(ScenarioError) as err:
        month({**energy, "diurnal_profile": [0.0] * 24})
    assert {(i.path, i.message) for i in err.value.issues} == {
        ("site.energy.csv_path", "is required with model 'csv'"),
        ("site.energy.diurnal_profile", "must have a positive sum"),
        (
            "site.energy.price_floor_usd_per_mwh",
            "must be below price_cap_usd_per_mwh (100), got 100",
        ),
    }
    with pytest.raises(ScenarioError) as err:
        month({"model": "spot", "diurnal_profile": [1.0] * 23})
    (issue,) = err.value.issues
    assert issue.path == "site.energy.diurnal_profile"


# --------------------------------------------------------------------------- runs


def test_same_seed_same_path_and_other_streams_are_untouched() -> None:
    spot_run = run_one(month({"model": "spot", "price_usd_per_mwh": 41.9}))
    again = run_one(month({"model": "spot", "price_usd_per_mwh": 41.9}))
    fixed = run_one(month({"model": "fixed", "price_usd_per_mwh": 41.9}))
    other_seed = run_one(month({"model": "spot", "price_usd_per_mwh": 41.9}, seed=10))
    price = spot_run.timeseries["energy_price_usd_per_mwh"].to_numpy()
    np.testing.assert_array_equal(price, again.timeseries["energy_price_usd_per_mwh"])
    assert not np.array_equal(price, other_seed.timeseries["energy_price_usd_per_mwh"])
    assert np.ptp(price) > 10 and (fixed.timeseries["energy_price_usd_per_mwh"] == 41.9).all()
    # Stream independence: the energy model changes no block time, BTC price or hashrate.
    np.testing.assert_array_equal(spot_run.blocks["time_s"], fixed.blocks["time_s"])
    for column in ("btc_price_usd", "network_hashrate_ehs", "btc_mined", "mining_revenue_usd"):
        np.testing.assert_array_equal(spot_run.timeseries[column], fixed.timeseries[column])


def test_spike_parameters_do_not_move_the_deviation_path() -> None:
    # The OU normals are drawn before the spikes: adding spikes only adds (≥ 0) spike hours.
    base = spot(**{**FLAT, "spike_rate_per_year": 0.0})
    spiky = spot(**{**FLAT, "spike_rate_per_year": 50.0})
    a, b = prices(base, 2 * 8_766, seed=6), prices(spiky, 2 * 8_766, seed=6)
    extra = b - a
    assert (extra >= -1e-9).all() and 0 < (extra > 1e-9).mean() < 0.1


def test_energy_cost_is_power_times_price_hour_by_hour_and_day_by_day() -> None:
    result = run_one(month({"model": "spot"}))
    ts, daily = result.timeseries, result.daily
    assert (ts["duration_s"] == 3600).all()
    # The price is constant within each clock hour, so each hourly row's cost is exact.
    hourly_cost = ts["asic_energy_kwh"] * ts["energy_price_usd_per_mwh"] / 1_000
    # Exact up to rounding (≈1e−16 of the hour's energy × price; the price can be near 0).
    np.testing.assert_allclose(ts["asic_energy_cost_usd"], hourly_cost, rtol=1e-9, atol=1e-6)
    by_day = hourly_cost.groupby(ts["timestamp_utc"].dt.floor("D")).sum()
    np.testing.assert_allclose(
        daily.set_index("date")["asic_energy_cost_usd"], by_day.loc[daily["date"]], rtol=1e-9
    )
    np.testing.assert_allclose(daily["energy_cost_usd"], daily["asic_energy_cost_usd"], rtol=0)
    total = result.summary.iloc[0]["asic_energy_cost_usd"]
    assert total == pytest.approx(hourly_cost.sum(), rel=1e-12)


# --------------------------------------------------------------------------- CSV replay


def test_price_csv_is_replayed_as_steps(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "prices.csv").write_text(
        "timestamp_utc,price_usd_per_mwh\n"
        "2023-12-31T23:00:00Z,30\n"
        "2024-01-01T05:00:00Z,120.5\n"
        "2024-01-01T05:30:00Z,0.5\n"
        "2024-01-02T00:00:00Z,45\n"
    )
    scenario_file = tmp_path / "replay.yaml"
    scenario_file.write_text(
        "name: replay\nstart_utc: 2024-01-01T00:00:00Z\nend_utc: 2024-01-04T00:00:00Z\n"
        "mining: {groups: [{model: Antminer S21, count: 1000}]}\n"
        "site: {energy: {model: csv, csv_path: data/prices.csv}}\n"  # relative to the file
    )
    result = run_one(load_scenario(scenario_file))
    ts = result.timeseries
    expected = np.r_[[30.0] * 5, (120.5 + 0.5) / 2, [0.5] * 18, [45.0] * 48]
    np.testing.assert_allclose(ts["energy_price_usd_per_mwh"], expected, rtol=1e-12)
    day1 = (5 * 30 + 0.5 * 120.5 + 18.5 * 0.5) / 24
    np.testing.assert_allclose(result.daily["energy_price_usd_per_mwh"], [day1, 45, 45])
    kw = ts["asic_power_kw"].iloc[0]
    assert result.daily["asic_energy_cost_usd"].iloc[0] == pytest.approx(kw * 24 * day1 / 1_000)


def test_price_csv_with_negative_prices_is_replayed(tmp_path: Path) -> None:
    csv = tmp_path / "prices.csv"
    csv.write_text("date,price_usd_per_mwh\n2024-01-01,-12.5\n2024-01-02,0\n2024-01-03,30\n")
    scenario = month({"model": "csv", "csv_path": str(csv)})
    daily = run_one(scenario).daily["energy_price_usd_per_mwh"].to_numpy()
    np.testing.assert_array_equal(daily[:3], [-12.5, 0.0, 30.0])


@pytest.mark.parametrize(
    ("energy", "message"),
    [
        ({"model": "csv"}, "is required with model 'csv'"),
        ({"model": "spot", "csv_path": "prices.csv"}, "is only used with model 'csv'"),
        ({"model": "csv", "csv_path": "LATE"}, "series starts after start_utc"),
    ],
)
def test_price_csv_path_rules(energy: dict[str, str], message: str, tmp_path: Path) -> None:
    late = tmp_path / "late.csv"
    late.write_text("date,price_usd_per_mwh\n2024-01-05,40\n")
    if energy.get("csv_path") == "LATE":
        energy = {**energy, "csv_path": str(late)}
    with pytest.raises(ScenarioError) as err:
        month(energy)
    (issue,) = err.value.issues
    assert issue.path == "site.energy.csv_path"
    assert message in issue.message


def test_mean_defaults_to_the_fixed_price() -> None:
    spec = EnergySpec.model_validate({"model": "spot", "price_usd_per_mwh": 41.9})
    assert spec.spot_mean_usd_per_mwh == 41.9
    assert spot().spot_mean_usd_per_mwh == 40.0
