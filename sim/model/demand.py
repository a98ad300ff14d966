"""AI job demand: synthetic arrivals per job class, and trace replay.

Arrivals of a class form a non-homogeneous Poisson process whose rate is piecewise constant
by UTC hour: ``λ(t) = arrivals_per_hour · diurnal[hour] · weekly[weekday] · (1 + g)^years``
with both profiles normalised to mean 1. For a piecewise-constant rate, drawing a Poisson
count per hour and placing the arrivals uniformly inside it is exact. Arrival times and job
attributes come from separate streams per class (``ai_arrivals:<class>``,
``ai_jobs:<class>``), so changing a class's job sizes leaves every arrival time unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.rng import RandomStreams
from sim.scenario.ai import JobClassSpec
from sim.scenario.trace import Trace
from sim.units import SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_YEAR


@dataclass(frozen=True)
class Arrivals:
    """A batch of submitted jobs, sorted by submit time."""

    submit_s: np.ndarray
    job_class: np.ndarray  # index into the scenario's job classes
    gpus: np.ndarray
    duration_s: np.ndarray
    patience_s: np.ndarray  # inf when the customer never leaves

    @classmethod
    def merge(cls, batches: list[Arrivals]) -> Arrivals:
        """One batch of all jobs, sorted by submit time (stable across batches)."""
        if len(batches) == 1:
            return batches[0]
        joined = cls.concatenate(batches)
        order = joined.submit_s.argsort(kind="stable")
        return cls(*[column.take(order) for column in joined.columns()])

    @classmethod
    def concatenate(cls, batches: list[Arrivals]) -> Arrivals:
        """The batches one after another, as they are (none: an empty batch)."""
        if not batches:
            empty = np.zeros(0)
            return cls(empty, empty.astype(np.int64), empty.astype(np.int64), empty, empty)
        return cls(*[np.concatenate(c) for c in zip(*[b.columns() for b in batches], strict=True)])

    def columns(self) -> tuple[np.ndarray, ...]:
        """The columns, in field order."""
        return (self.submit_s, self.job_class, self.gpus, self.duration_s, self.patience_s)


@dataclass(frozen=True)
class HourBins:
    """The run's days, each cut into bins at UTC hour boundaries, each bin with one arrival rate.

    Arrivals are drawn one day at a time, but the rates are deterministic, so the bins of every
    day are made once.

    Attributes
    ----------
    edges_s : np.ndarray
        Bin edges (s since the start of the run): the day boundaries, the hour boundaries
        between them and the horizon.
    widths_s : np.ndarray
        Bin widths (s).
    calendar_ : tuple[np.ndarray, np.ndarray]
        UTC hour of day (0–23) and weekday (0 = Monday) of each bin.
    days_s : list[float]
        Day boundaries: day ``d`` is ``[days_s[d], days_s[d + 1])``, the last one ends at the
        horizon.
    first_bin : list[int]
        Bins of day ``d``: ``first_bin[d]`` to ``first_bin[d + 1]`` (exclusive).
    """

    edges_s: np.ndarray
    widths_s: np.ndarray
    calendar_: tuple[np.ndarray, np.ndarray]
    days_s: list[float]
    first_bin: list[int]

    @classmethod
    def of(cls, start_unix_s: float, horizon_s: float) -> HourBins:
        """The bins of the days of a run that starts at ``start_unix_s`` and lasts ``horizon_s``."""
        offset = -start_unix_s % SECONDS_PER_HOUR
        days = np.append(np.arange(0.0, horizon_s, SECONDS_PER_DAY), horizon_s)
        # start and horizon are whole seconds, so every edge is exact, as when drawn day by day
        edges = np.union1d(days, np.arange(offset, horizon_s, SECONDS_PER_HOUR))
        return cls(
            edges,
            np.diff(edges),
            cls.calendar(start_unix_s, edges[:-1]),
            days.tolist(),
            np.searchsorted(edges, days).tolist(),
        )

    @staticmethod
    def calendar(start_unix_s: float, hour_starts_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """UTC hour of day and weekday (0 = Monday) of the hours starting at these times."""
        unix_hours = np.floor((start_unix_s + hour_starts_s) / SECONDS_PER_HOUR)
        hour_of_day = (unix_hours % 24).astype(int)
        weekday = ((unix_hours // 24 + 3) % 7).astype(int)  # 1970-01-01 was a Thursday
        return hour_of_day, weekday


@dataclass(frozen=True)
class Weighted:
    """Values drawn with replacement with given weights, as ``Generator.choice`` draws them.

    ``choice(values, size=n, p=weights / weights.sum())`` looks one U(0,1) per draw up in the
    normalised cumulative weights; so does :meth:`draw`, without ``choice``'s checks of ``p``
    on every call (most of its cost for a day's jobs). ``tests/unit/test_demand.py`` checks
    that both give the same values and leave the generator in the same state.
    """

    values: np.ndarray
    cdf: np.ndarray

    @classmethod
    def of(cls, values: np.ndarray, weights: np.ndarray) -> Weighted:
        """``values`` with relative ``weights`` (≥ 0, positive sum)."""
        cdf = (weights / weights.sum()).cumsum()
        cdf /= cdf[-1]
        return cls(values, cdf)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` values drawn from ``rng``."""
        return self.values[self.cdf.searchsorted(rng.random(n), side="right")]


def _normalised(profile: list[float]) -> np.ndarray:
    values = np.asarray(profile, dtype=float)
    return values / values.mean()


class JobClassDemand:
    """Draws the arrivals of one job class, one day at a time."""

    def __init__(
        self,
        index: int,
        spec: JobClassSpec,
        streams: RandomStreams,
        bins: HourBins,
    ) -> None:
        self.index = index
        self.spec = spec
        self._diurnal = _normalised(spec.diurnal_profile)
        self._weekly = _normalised(spec.weekly_profile)
        self._arrival_rng = streams.get(f"ai_arrivals:{spec.name}")
        self._job_rng = streams.get(f"ai_jobs:{spec.name}")
        self._bins = bins
        self._expected = (
            self._rate(bins.calendar_, bins.edges_s[:-1]) * bins.widths_s / SECONDS_PER_HOUR
        )
        weights = np.asarray(spec.gpus.weights or [1.0] * len(spec.gpus.values), dtype=float)
        self._gpus = Weighted.of(np.asarray(spec.gpus.values, dtype=np.int64), weights)

    def _rate(
        self, calendar: tuple[np.ndarray, np.ndarray], hour_starts_s: np.ndarray
    ) -> np.ndarray:
        hour_of_day, weekday = calendar
        rate = self.spec.arrivals_per_hour * self._diurnal[hour_of_day] * self._weekly[weekday]
        if self.spec.growth_per_year == 0.0:
            return rate  # the growth factor is exactly 1
        return rate * (1.0 + self.spec.growth_per_year) ** (hour_starts_s / SECONDS_PER_YEAR)

    def arrivals(self, day: int) -> Arrivals:
        """Jobs submitted on day ``day`` of the run (see :class:`HourBins`), drawn in day order."""
        bins = self._bins
        lo, hi = bins.first_bin[day], bins.first_bin[day + 1]
        counts = self._arrival_rng.poisson(self._expected[lo:hi])
        starts = np.repeat(bins.edges_s[lo:hi], counts)
        widths = np.repeat(bins.widths_s[lo:hi], counts)
        times = starts + widths * self._arrival_rng.random(counts.sum())
        times.sort()  # in place: np.sort would copy first
        return self._jobs(times)

    def _jobs(self, times: np.ndarray) -> Arrivals:
        n = times.size
        rng, spec = self._job_rng, self.spec
        # drawn in the stream's order: GPUs, run times, patience
        return Arrivals(
            times,
            np.full(n, self.index, dtype=np.int64),
            self._gpus.draw(rng, n),
            draw_durations(spec, rng, n),
            draw_patience(spec, rng, n),
        )


def draw_durations(spec: JobClassSpec, rng: np.random.Generator, n: int) -> np.ndarray:
    """Run times (s) of ``n`` jobs of a class."""
    duration = spec.duration
    if duration.distribution == "exponential":
        return rng.exponential(duration.mean_s, n)
    if duration.distribution == "lognormal":
        # mean_s is the mean: mu = ln(mean) − sigma²/2
        mu = np.log(duration.mean_s) - 0.5 * duration.sigma**2
        return rng.lognormal(mu, duration.sigma, n)
    if duration.distribution == "constant":
        return np.full(n, duration.mean_s)
    return rng.choice(np.asarray(duration.values_s, dtype=float), size=n)


def draw_patience(spec: JobClassSpec, rng: np.random.Generator, n: int) -> np.ndarray:
    """Patience (s) of ``n`` customers of a class; inf when they never leave."""
    patience = spec.patience
    if patience is None:
        return np.full(n, np.inf)
    if patience.distribution == "exponential":
        return rng.exponential(patience.mean_s, n)
    return np.full(n, patience.mean_s)


def trace_arrivals(
    trace: Trace,
    classes: list[JobClassSpec],
    default_class: str,
    horizon_s: float,
    streams: RandomStreams,
) -> Arrivals:
    """Jobs of a trace (as read at load) that are submitted before the horizon.

    Submit times, GPUs and run times are replayed exactly; patience is drawn from each row's
    class (stream ``ai_trace_patience``).
    """
    keep = trace.submit_time_s < horizon_s
    names = [c.name for c in classes]
    index = np.array([names.index(c or default_class) for c in np.array(trace.job_classes)[keep]])
    index = index.astype(np.int64) if index.size else np.empty(0, np.int64)
    rng = streams.get("ai_trace_patience")
    patience = np.array([draw_patience(classes[i], rng, 1)[0] for i in index])
    return Arrivals(
        trace.submit_time_s[keep],
        index,
        trace.gpus[keep],
        trace.duration_s[keep],
        patience if patience.size else np.empty(0),
    )
