"""AI demand draws: made cheaply, they are the draws of the plain day-by-day recipe.

The recipe (model.md §4.2): per day ``[a, min(a + 1 day, horizon))`` and class, the day cut
at UTC hour boundaries, one Poisson count per bin with mean ``λ(bin start) · width``, one
U(0,1) per arrival, then the jobs' GPUs with ``Generator.choice``, run times and patience.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from sim.model.demand import (
    Arrivals,
    HourBins,
    JobClassDemand,
    Weighted,
    draw_durations,
    draw_patience,
)
from sim.rng import RandomStreams
from sim.scenario.ai import JobClassSpec
from sim.units import SECONDS_PER_DAY, SECONDS_PER_HOUR, unix_seconds

WEIGHTS = [
    [1.0],
    [1.0, 1.0, 1.0],
    [0.5, 0.3, 0.2],
    [0.4, 0.3, 0.2, 0.1],
    [0.0, 2.0, 0.0, 1.0],
    [1e-3, 3.7, 1 / 3, 2.2e4, 0.1],
    list(np.random.default_rng(5).random(40)),
]


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("n", [0, 1, 7, 1_000])
def test_weighted_draws_what_generator_choice_draws(weights: list[float], n: int) -> None:
    # if a numpy upgrade changes how choice draws with p, Weighted must follow it
    w = np.asarray(weights)
    values = np.arange(10, 10 + w.size, dtype=np.int64) * 3
    ours, numpys = np.random.default_rng(n), np.random.default_rng(n)
    drawn = Weighted.of(values, w).draw(ours, n)
    expected = numpys.choice(values, size=n, p=w / w.sum())
    assert drawn.dtype == expected.dtype and np.array_equal(drawn, expected)
    assert np.array_equal(ours.random(5), numpys.random(5))  # the same state after


def _day_by_day(
    spec: JobClassSpec, start: datetime, horizon_s: float, seed: int
) -> list[tuple[np.ndarray, np.ndarray, Arrivals]]:
    """The recipe, window by window, with Generator.choice for the GPUs: per day the bin
    edges, the expected counts and the arrivals."""
    start_unix_s = unix_seconds(start)
    streams = RandomStreams(seed)
    arrival_rng = streams.get(f"ai_arrivals:{spec.name}")
    job_rng = streams.get(f"ai_jobs:{spec.name}")
    diurnal = np.asarray(spec.diurnal_profile) / np.mean(spec.diurnal_profile)
    weekly = np.asarray(spec.weekly_profile) / np.mean(spec.weekly_profile)
    weights = np.asarray(spec.gpus.weights or [1.0] * len(spec.gpus.values))
    days, a = [], 0.0
    while a < horizon_s:
        b = min(a + SECONDS_PER_DAY, horizon_s)
        offset = -start_unix_s % SECONDS_PER_HOUR
        first = offset + np.ceil((a - offset) / SECONDS_PER_HOUR) * SECONDS_PER_HOUR
        inner = np.arange(first, b, SECONDS_PER_HOUR)
        edges = np.concatenate(([a], inner[(inner > a) & (inner < b)], [b]))
        widths = np.diff(edges)
        unix_hours = np.floor((start_unix_s + edges[:-1]) / SECONDS_PER_HOUR)
        rate = (
            spec.arrivals_per_hour
            * diurnal[(unix_hours % 24).astype(int)]
            * weekly[((unix_hours // 24 + 3) % 7).astype(int)]
        )
        if spec.growth_per_year != 0.0:
            rate = rate * (1.0 + spec.growth_per_year) ** (edges[:-1] / (365.25 * SECONDS_PER_DAY))
        mean = rate * widths / SECONDS_PER_HOUR
        counts = arrival_rng.poisson(mean)
        u = arrival_rng.random(counts.sum())
        times = np.sort(np.repeat(edges[:-1], counts) + np.repeat(widths, counts) * u)
        n = times.size
        gpus = job_rng.choice(np.asarray(spec.gpus.values), size=n, p=weights / weights.sum())
        duration = draw_durations(spec, job_rng, n)
        patience = draw_patience(spec, job_rng, n)
        days.append((edges, mean, Arrivals(times, np.zeros(n), gpus, duration, patience)))
        a = b
    return days


SPECS = [
    {"name": "flat", "arrivals_per_hour": 6.0},
    {
        "name": "shaped",
        "arrivals_per_hour": 3.5,
        "diurnal_profile": [1 + (h % 5) * 0.13 for h in range(24)],
        "weekly_profile": [1.15, 1.15, 1.15, 1.15, 1.1, 0.65, 0.65],
        "growth_per_year": 1.5,
        "gpus": {"values": [8, 16, 32], "weights": [0.5, 0.35, 0.15]},
        "duration": {"distribution": "lognormal", "mean_s": 28_800, "sigma": 0.9},
        "patience": {"distribution": "exponential", "mean_s": 43_200},
    },
    {"name": "shrinking", "arrivals_per_hour": 40.0, "growth_per_year": -0.3},
]
RUNS = [  # start (UTC), length: on the hour or not, whole days or not, under an hour
    (datetime(2024, 1, 1, tzinfo=UTC), timedelta(days=9)),
    (datetime(2024, 2, 28, 0, 17, 23, tzinfo=UTC), timedelta(days=8, hours=5, seconds=11)),
    (datetime(2025, 6, 1, 23, 59, 59, tzinfo=UTC), timedelta(hours=30)),
    (datetime(1969, 12, 31, 22, 30, tzinfo=UTC), timedelta(days=3, minutes=1)),
    (datetime(2024, 5, 5, 13, 45, 1, tzinfo=UTC), timedelta(minutes=40)),
]


@pytest.mark.parametrize("spec", SPECS, ids=[s["name"] for s in SPECS])
@pytest.mark.parametrize("start, length", RUNS)
def test_arrivals_are_the_day_by_day_draws(spec: dict, start: datetime, length: timedelta) -> None:
    job_class = JobClassSpec.model_validate(spec)
    horizon_s = length.total_seconds()
    bins = HourBins.of(unix_seconds(start), horizon_s)
    demand = JobClassDemand(2, job_class, RandomStreams(11), bins)
    expected = _day_by_day(job_class, start, horizon_s, 11)
    assert len(bins.days_s) == len(expected) + 1 and bins.days_s[-1] == horizon_s
    for day, (edges, mean, want) in enumerate(expected):
        lo, hi = bins.first_bin[day], bins.first_bin[day + 1]
        # the same floats, not merely the same draws
        assert np.array_equal(bins.edges_s[lo : hi + 1], edges)
        assert np.array_equal(demand._expected[lo:hi], mean)
        got = demand.arrivals(day)
        for name in ("submit_s", "gpus", "duration_s", "patience_s"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), (day, name)
        assert np.array_equal(got.job_class, np.full(want.submit_s.size, 2))
