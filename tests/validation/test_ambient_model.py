"""Validation of the preset ambient temperature model against analytic results.

The temperature of clock hour k is T_k = μ + A_s·cos(2π(x_k − x_hot)/365.25)
+ A_d·cos(2π(h_k − h_hot)/24) + X_k with X a stationary Ornstein–Uhlenbeck deviation sampled
hourly: an AR(1) with φ = e^(−1 h/τ) and variance σ², whose spectral density is
f(ω) = σ²(1 − φ²)/(1 − 2φ·cos ω + φ²) (so f(0) = σ²(1 + φ)/(1 − φ) is the long-run
variance). The calendar terms are recomputed here with pandas, independently of the model's
integer arithmetic; X is the path minus them. Tolerances are four standard errors derived
from these statistics (autocorrelation included); seeds are fixed, so every test is
deterministic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.model.ambient import ambient_steps
from sim.rng import RandomStreams
from sim.scenario.ambient import AMBIENT_PRESETS, AmbientSpec

YEARS = 30
PRESETS = sorted(AMBIENT_PRESETS)
DAYS_PER_YEAR = 365.25


def local_start(spec: AmbientSpec, year: int = 2001) -> datetime:
    """UTC time of 1 January 00:00 local time, so that runs cover whole local years."""
    return datetime(year, 1, 1, tzinfo=UTC) - timedelta(hours=spec.utc_offset_hours)


def local_calendar(spec: AmbientSpec, start: datetime, hours: int) -> pd.DataFrame:
    """Local day of the year (1.0 = 1 January 00:00) and hour of day of each clock hour."""
    utc = pd.date_range(pd.Timestamp(start).floor("h"), periods=hours, freq="h")
    local = utc + pd.Timedelta(hours=spec.utc_offset_hours)
    hour = local.hour + local.minute / 60
    return pd.DataFrame(
        {"day_of_year": local.day_of_year + hour / 24, "hour": hour, "date": local.date}
    )


def expected_shape(spec: AmbientSpec, cal: pd.DataFrame) -> np.ndarray:
    """μ + A_s·cos(2π(x − x_hot)/365.25) + A_d·cos(2π(h − h_hot)/24), from the definitions."""
    season = np.cos(2 * np.pi * (cal["day_of_year"] - spec.hottest_day_of_year) / DAYS_PER_YEAR)
    day = np.cos(2 * np.pi * (cal["hour"] - spec.hottest_hour_local) / 24)
    return (
        spec.mean_c + spec.seasonal_amplitude_c * season + spec.diurnal_amplitude_c * day
    ).to_numpy()


def phi_of(spec: AmbientSpec) -> float:
    return float(np.exp(-1.0 / spec.noise_correlation_hours))


def spectral_density(spec: AmbientSpec, omega: np.ndarray) -> np.ndarray:
    """f(ω) of the hourly AR(1): Σ_l γ_l·cos(ωl) (°C², per hour)."""
    phi = phi_of(spec)
    return spec.noise_std_c**2 * (1 - phi**2) / (1 - 2 * phi * np.cos(omega) + phi**2)


def f_at(spec: AmbientSpec, omega: float) -> float:
    """f(ω) at one frequency."""
    return float(spectral_density(spec, np.array([omega]))[0])


@cache
def long_run(preset: str, seed: int = 17) -> tuple[AmbientSpec, pd.DataFrame, np.ndarray]:
    """(spec, local calendar, temperatures) of YEARS whole local years of a preset."""
    spec = AmbientSpec(preset=preset)  # type: ignore[arg-type]
    start = local_start(spec)
    end = local_start(spec, 2001 + YEARS)
    horizon_s = (end - start).total_seconds()
    values = ambient_steps(spec, start, horizon_s, RandomStreams(seed).get("ambient")).values
    values.setflags(write=False)
    return spec, local_calendar(spec, start, values.size), values


# --------------------------------------------------------------------------- deterministic part


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("offset_h", [None, 5.5, -3.5])
def test_noise_free_path_equals_the_formula(preset: str, offset_h: float | None) -> None:
    spec = AmbientSpec.model_validate(
        {"preset": preset, "noise_std_c": 0.0, "utc_offset_hours": offset_h}
    )
    start = datetime(2023, 12, 30, 17, 25, tzinfo=UTC)  # across a year end, not on the hour
    series = ambient_steps(spec, start, 3 * 8_784 * 3600.0, np.random.default_rng(0))
    hours = series.values.size
    assert hours == 3 * 8_784 + 1  # the partial clock hours at both ends
    np.testing.assert_allclose(
        series.values, expected_shape(spec, local_calendar(spec, start, hours)), atol=1e-9
    )


# --------------------------------------------------------------------------- the weather deviation


@pytest.mark.parametrize("preset", PRESETS)
def test_long_run_mean(preset: str) -> None:
    spec, cal, values = long_run(preset)
    n = values.size
    shape_mean = expected_shape(spec, cal).mean()
    # Over whole years the cosines average to zero up to the year-end phase step of x.
    assert shape_mean == pytest.approx(spec.mean_c, abs=0.01)
    se = np.sqrt(f_at(spec, 0.0) / n)
    assert values.mean() == pytest.approx(shape_mean, abs=4 * se)


@pytest.mark.parametrize("preset", PRESETS)
def test_deviation_has_variance_sigma2_and_lag_k_autocorrelation_phi_k(preset: str) -> None:
    spec, cal, values = long_run(preset)
    x = values - expected_shape(spec, cal)
    n, sigma, phi = x.size, spec.noise_std_c, phi_of(spec)
    assert x.mean() == pytest.approx(0.0, abs=4 * np.sqrt(f_at(spec, 0.0) / n))
    # Var(s²) ≈ 2σ⁴(1 + φ²)/((1 − φ²)n) for a Gaussian AR(1).
    var_se = sigma**2 * np.sqrt(2 * (1 + phi**2) / ((1 - phi**2) * n))
    assert x.var() == pytest.approx(sigma**2, abs=4 * var_se)
    centred = x - x.mean()
    denominator = centred @ centred
    for k in (1, 6, 24, 72, 168):
        r_k = centred[:-k] @ centred[k:] / denominator
        # Bartlett: Var(r_k) ≈ [(1 + φ²)(1 − φ^2k)/(1 − φ²) − 2k·φ^2k]/n.
        var_r = ((1 + phi**2) * (1 - phi ** (2 * k)) / (1 - phi**2) - 2 * k * phi ** (2 * k)) / n
        assert r_k == pytest.approx(phi**k, abs=4 * np.sqrt(var_r)), f"lag {k}"
    # Innovations: uncorrelated with the past, sd σ·√(1 − φ²), Gaussian.
    innovations = x[1:] - phi * x[:-1]
    assert innovations.std() == pytest.approx(sigma * np.sqrt(1 - phi**2), rel=4 / np.sqrt(2 * n))
    assert abs(np.corrcoef(innovations[1:], x[1:-1])[0, 1]) < 4 / np.sqrt(n)
    assert stats.kstest(innovations / (sigma * np.sqrt(1 - phi**2)), "norm").pvalue > 1e-4


def test_deviation_is_stationary_from_the_first_hour() -> None:
    spec = AmbientSpec.model_validate(
        {"seasonal_amplitude_c": 0.0, "diurnal_amplitude_c": 0.0, "noise_std_c": 3.0}
    )
    replications, hours = 3_000, 48
    start = datetime(2024, 1, 1, tzinfo=UTC)
    paths = np.array(
        [
            ambient_steps(spec, start, hours * 3600.0, RandomStreams(seed).get("ambient")).values
            for seed in range(replications)
        ]
    )
    x = paths - spec.mean_c
    phi = phi_of(spec)
    for k in (0, 1, hours - 1):
        assert x[:, k].mean() == pytest.approx(0.0, abs=4 * 3.0 / np.sqrt(replications))
        assert x[:, k].var() == pytest.approx(9.0, abs=4 * 9.0 * np.sqrt(2 / replications))
    # Across replications, corr(X_0, X_k) = φ^k; sd of r ≈ (1 − ρ²)/√R.
    for k in (1, 24, hours - 1):
        r = np.corrcoef(x[:, 0], x[:, k])[0, 1]
        assert r == pytest.approx(phi**k, abs=4 * (1 - phi ** (2 * k)) / np.sqrt(replications))


# --------------------------------------------------------------------------- calendar shape


def harmonic_regression(
    values: np.ndarray, phase: np.ndarray, period: float, other: np.ndarray
) -> tuple[float, float]:
    """(amplitude, peak position) of the cosine of ``phase`` in an OLS with ``other`` terms."""
    angle = 2 * np.pi * phase / period
    design = np.column_stack((np.ones_like(angle), np.cos(angle), np.sin(angle), other))
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    amplitude = float(np.hypot(coef[1], coef[2]))
    peak = float(np.arctan2(coef[2], coef[1]) * period / (2 * np.pi)) % period
    return amplitude, peak


@pytest.mark.parametrize("preset", PRESETS)
def test_seasonal_amplitude_and_hottest_day_by_regression(preset: str) -> None:
    spec, cal, values = long_run(preset)
    n = values.size
    hour_angle = 2 * np.pi * cal["hour"].to_numpy() / 24
    amplitude, peak = harmonic_regression(
        values,
        cal["day_of_year"].to_numpy(),
        DAYS_PER_YEAR,
        np.column_stack((np.cos(hour_angle), np.sin(hour_angle))),
    )
    # A cosine regressor of frequency ω has Var(b) ≈ 2f(ω)/n.
    se = np.sqrt(2 * f_at(spec, 2 * np.pi / (DAYS_PER_YEAR * 24)) / n)
    assert amplitude == pytest.approx(spec.seasonal_amplitude_c, abs=4 * se)
    peak_se_days = se / spec.seasonal_amplitude_c * DAYS_PER_YEAR / (2 * np.pi)
    assert peak == pytest.approx(spec.hottest_day_of_year, abs=4 * peak_se_days)


@pytest.mark.parametrize("preset", PRESETS)
def test_diurnal_amplitude_and_hottest_hour_by_regression(preset: str) -> None:
    spec, cal, values = long_run(preset)
    n = values.size
    season_angle = 2 * np.pi * cal["day_of_year"].to_numpy() / DAYS_PER_YEAR
    amplitude, peak = harmonic_regression(
        values,
        cal["hour"].to_numpy(),
        24.0,
        np.column_stack((np.cos(season_angle), np.sin(season_angle))),
    )
    se = np.sqrt(2 * f_at(spec, 2 * np.pi / 24) / n)
    assert amplitude == pytest.approx(spec.diurnal_amplitude_c, abs=4 * se)
    assert peak == pytest.approx(spec.hottest_hour_local, abs=4 * se / amplitude * 24 / (2 * np.pi))


@pytest.mark.parametrize("preset", PRESETS)
def test_mean_by_local_hour_of_day_follows_the_daily_cosine(preset: str) -> None:
    spec, cal, values = long_run(preset)
    n = values.size
    assert n % 24 == 0
    hour = cal["hour"].to_numpy().astype(int)
    observed = np.bincount(hour, weights=values) / np.bincount(hour)
    expected_values = expected_shape(spec, cal)
    expected = np.bincount(hour, weights=expected_values) / np.bincount(hour)
    # Pure shape: A_d·cos(2π(h − h_hot)/24) about the mean (the season averages out).
    np.testing.assert_allclose(
        expected - expected.mean(),
        spec.diurnal_amplitude_c
        * np.cos(2 * np.pi * (np.arange(24) - spec.hottest_hour_local) / 24),
        atol=1e-3,
    )
    # m_h − m̄ = (1/n)Σ_t X_t·c_t with c_t = Σ_{k=1..23} e^{iω_k(t−h)}: Var ≈ Σ_k f(ω_k)/n.
    # 24 comparisons at once: the two-sided 1e-4 level with Bonferroni, z ≈ 4.6.
    se = float(np.sqrt(spectral_density(spec, 2 * np.pi * np.arange(1, 24) / 24).sum() / n))
    z = stats.norm.isf(1e-4 / (2 * 24))
    np.testing.assert_allclose(
        observed - observed.mean(), expected - expected.mean(), rtol=0, atol=z * se
    )
    assert int(np.argmax(observed)) == round(spec.hottest_hour_local) % 24


# --------------------------------------------------------------------------- preset calibration


def hours_above_per_year(
    spec: AmbientSpec, cal: pd.DataFrame, values: np.ndarray, threshold_c: float
) -> tuple[float, float, float]:
    """(expected, observed, standard error) of the hours per year at or above a threshold.

    Expected: Σ_k P(X_k ≥ threshold − shape_k) with X_k ~ N(0, σ²), per year. The standard
    error is by batch means over the years (the deviation forgets within days, so yearly
    counts are nearly independent).
    """
    shape = expected_shape(spec, cal)
    expected = stats.norm.sf((threshold_c - shape) / spec.noise_std_c).sum() / YEARS
    per_year = np.add.reduceat(
        values >= threshold_c, np.arange(0, values.size, values.size // YEARS)
    )
    per_year = per_year[:YEARS]
    se = per_year.std(ddof=1) / np.sqrt(YEARS)
    return float(expected), float((values >= threshold_c).sum() / YEARS), float(se)


@pytest.mark.parametrize(
    ("preset", "threshold_c", "low", "high"),
    [
        ("west_texas", 40.0, 5.0, 40.0),  # a few hot afternoons a year reach 40 °C
        ("west_texas", 35.0, 150.0, 400.0),
        ("quebec", 30.0, 20.0, 100.0),
        ("quebec", 38.0, 0.0, 0.5),
        ("nordic", 25.0, 5.0, 50.0),
        ("nordic", 30.0, 0.0, 1.0),  # free cooling almost all year
    ],
)
def test_preset_hot_tails_match_the_gaussian_tail_and_the_calibration(
    preset: str, threshold_c: float, low: float, high: float
) -> None:
    spec, cal, values = long_run(preset)
    expected, observed, se = hours_above_per_year(spec, cal, values, threshold_c)
    assert low <= expected <= high
    # The batch-means error has YEARS − 1 degrees of freedom: Student's t at the two-sided
    # 1e-4 level (≈ 4.5). Its floor, the Poisson error, covers thresholds that few years reach.
    t = stats.t.isf(5e-5, YEARS - 1)
    assert observed == pytest.approx(expected, abs=t * max(se, np.sqrt(expected / YEARS)))


def test_presets_rank_by_heat() -> None:
    hot = {p: hours_above_per_year(*long_run(p), 25.0)[0] for p in PRESETS}
    assert hot["west_texas"] > 4 * hot["quebec"] > 16 * hot["nordic"] > 0
