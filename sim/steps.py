"""Piecewise-constant time series and their exact integrals over bins.

Most model inputs are piecewise constant between events (hourly price, network hashrate,
difficulty between blocks, units running between decisions). Storing them as steps lets the
recorder integrate any product of them exactly over any bins (hours, days), so levels are
time-weighted and flows are exact without per-tick appends.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim.errors import SimulationError


def _before_start(t_s: np.ndarray | float, first_s: float) -> SimulationError:
    """A query before a series starts: the caller asked about a time it does not cover."""
    return SimulationError(
        "series", float(np.min(t_s)), f"query before the start of the series ({first_s:,g} s)"
    )


@dataclass(frozen=True)
class StepSeries:
    """``values[i]`` holds on ``[times_s[i], times_s[i+1])``; the last value holds onwards.

    ``times_s`` is strictly increasing; queries before ``times_s[0]`` are an error.
    """

    times_s: np.ndarray
    values: np.ndarray

    @classmethod
    def constant(cls, value: float, start_s: float = 0.0) -> StepSeries:
        """A series equal to ``value`` from ``start_s`` on."""
        return cls(np.array([start_s], dtype=float), np.array([value], dtype=float))

    def scaled(self, factor: float) -> StepSeries:
        """The series multiplied by ``factor``."""
        return StepSeries(self.times_s, self.values * factor)

    def at(self, t_s: np.ndarray | float) -> np.ndarray:
        """Value in force at each time (right-continuous)."""
        idx = np.searchsorted(self.times_s, t_s, side="right") - 1
        if (idx < 0).any():  # the method: np.any's wrapper costs more than the test here
            raise _before_start(t_s, self.times_s[0])
        return self.values[idx]

    @cached_property
    def _cumulative(self) -> np.ndarray:
        """Integral from ``times_s[0]`` to each ``times_s[i]``."""
        piece_integrals = self.values[:-1] * np.diff(self.times_s)
        return np.concatenate(([0.0], np.cumsum(piece_integrals)))

    def cumulative_at(self, t_s: np.ndarray) -> np.ndarray:
        """Integral of the series from ``times_s[0]`` to each ``t_s``."""
        t_s = np.asarray(t_s, dtype=float)
        cum = self._cumulative
        idx = np.searchsorted(self.times_s, t_s, side="right") - 1
        if (idx < 0).any():
            raise _before_start(t_s, self.times_s[0])
        return cum[idx] + self.values[idx] * (t_s - self.times_s[idx])

    def cumulative_at_knots(self) -> np.ndarray:
        """``cumulative_at(times_s)`` without a search: each knot is its own piece's start."""
        return self._cumulative + self.values * (self.times_s - self.times_s)

    def integrate(self, edges_s: np.ndarray) -> np.ndarray:
        """Integral over each bin ``[edges_s[i], edges_s[i+1])``."""
        return np.diff(self.cumulative_at(edges_s))

    def mean(self, edges_s: np.ndarray) -> np.ndarray:
        """Time-weighted mean over each bin."""
        return self.integrate(edges_s) / np.diff(edges_s)


def piece_over(times_s: np.ndarray, first_s: float, last_s: float) -> int | None:
    """The piece of a step series changing at ``times_s`` in force all over [first_s, last_s].

    An identifier (the number of changes up to ``first_s``), or None if the series changes
    after ``first_s`` and by ``last_s``.
    """
    first, last = np.searchsorted(times_s, (first_s, last_s), side="right")
    return int(first) if first == last else None


def integrate_columns(
    times_s: np.ndarray,
    values: np.ndarray,
    edges_s: np.ndarray,
    weight: StepSeries | None = None,
    columns_per_pass: int = 64,
) -> np.ndarray:
    """Exact integrals over bins (bins × C) of C step series that share change times.

    ``values[i, c]`` holds on ``[times_s[i], times_s[i+1])`` as in :class:`StepSeries`;
    with a ``weight`` series each column is multiplied by it first (revenue = hashrate ×
    value per hash). The bins' pieces between the columns' changes are laid out once for all
    columns, so the cost is one pass over them per column, not a merge per column; columns
    go ``columns_per_pass`` at a time to bound memory.
    """
    edges = np.asarray(edges_s, dtype=float)
    grid = np.unique(np.concatenate((times_s[(times_s > edges[0]) & (times_s < edges[-1])], edges)))
    # the columns are constant on each piece of the grid, so a piece's weight is the exact
    # integral of the weight over it, however often the weight changes inside
    widths = np.diff(weight.cumulative_at(grid) if weight is not None else grid)
    rows = np.searchsorted(times_s, grid[:-1], side="right") - 1
    if rows.size and rows[0] < 0:
        raise _before_start(grid[0], times_s[0])
    starts = np.searchsorted(grid, edges[:-1])
    out = np.empty((edges.size - 1, values.shape[1]))
    for first in range(0, values.shape[1], columns_per_pass):
        part = slice(first, first + columns_per_pass)
        out[:, part] = np.add.reduceat(values[rows, part] * widths[:, None], starts, axis=0)
    return out


def _aligned(series: tuple[StepSeries, ...]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The change times of ``series`` where all are defined, and each one's values there.

    The times are ``np.unique``'s and the values ``at``'s, but found by merging the sorted
    grids (a stable sort of sorted runs takes linear time) and counting each one's own
    times up to each point, instead of a binary search per point and series: ≈5× faster
    on a run's 300,000 block times.
    """
    start = max(s.times_s[0] for s in series)
    firsts = [int(np.searchsorted(s.times_s, start)) for s in series]
    grids = [s.times_s[first:] for s, first in zip(series, firsts, strict=True)]
    varying = [i for i, s in enumerate(series) if s.times_s[-1] > start]
    if len(varying) == 1 and grids[varying[0]][0] == start:
        # the others hold one value from ``start`` on (a site's hashrate that never
        # changes, a fixed energy price): the one series' own times, and the others' last
        # values repeated, without merging its ≈300,000 block times with nothing new
        own = varying[0]
        times = grids[own]
        return times, [
            s.values[firsts[own] :] if i == own else np.full(times.size, s.values[-1])
            for i, s in enumerate(series)
        ]
    joined = np.concatenate(grids)
    order = np.argsort(joined, kind="stable")
    merged = joined[order]
    last = np.empty(merged.size, dtype=bool)  # the last of each run of equal times
    last[-1] = True
    np.not_equal(merged[1:], merged[:-1], out=last[:-1])
    times = merged[last]
    values = []
    bound = 0
    for s, first, grid in zip(series, firsts, grids, strict=True):
        if grid.size == times.size:  # no other time in between: its own values
            values.append(s.values[first:])
        else:
            mine = (order >= bound) & (order < bound + grid.size)
            # own times up to each point (≥ 1 where the series starts at ``start``, else
            # its value before ``start`` holds first)
            values.append(s.values[first - 1 + np.cumsum(mine)[last]])
        bound += grid.size
    return times, values


def product(*factors: StepSeries) -> StepSeries:
    """Pointwise product of step series (defined where all of them are)."""
    times, at_times = _aligned(factors)
    values = np.ones_like(times)
    for factor_values in at_times:
        values = values * factor_values
    return StepSeries(times, values)


def total(*terms: StepSeries) -> StepSeries:
    """Pointwise sum of step series (defined where all of them are)."""
    times, at_times = _aligned(terms)
    return StepSeries(times, np.sum(at_times, axis=0))


def total_from_zero(series: list[StepSeries]) -> StepSeries:
    """The sum of ``series`` as a level from time 0 (0 where none is defined; 0 if empty)."""
    # One series from time 0 is its own total (0 + x = x exactly, and its times are
    # increasing), which spares a merge of ≈200,000 steps per series.
    if len(series) == 1 and series[0].times_s[0] == 0.0:
        return series[0]
    return total(StepSeries.constant(0.0), *series)


def from_changes(times_s: np.ndarray, deltas: np.ndarray, start_s: float = 0.0) -> StepSeries:
    """The level that starts at 0 at ``start_s`` and moves by ``deltas[i]`` at ``times_s[i]``."""
    t = np.concatenate(([start_s], np.asarray(times_s, dtype=float)))
    d = np.concatenate(([0.0], np.asarray(deltas, dtype=float)))
    order = np.argsort(t, kind="stable")
    t, level = t[order], np.cumsum(d[order])
    last = np.append(t[1:] != t[:-1], True)  # the level after all changes at the same time
    return StepSeries(t[last], level[last])


def spread_over_spans(
    start_s: np.ndarray, end_s: np.ndarray, *amounts: np.ndarray
) -> tuple[StepSeries, ...]:
    """Rates that spread amounts evenly over their spans, one series per ``amounts``.

    Each amount is spread over its span ``[start, end)``; empty spans drop. The spans are
    converted once for all the amounts.
    """
    s, e = np.asarray(start_s, dtype=float), np.asarray(end_s, dtype=float)
    keep = e > s
    s, e = s[keep], e[keep]
    times, width = np.concatenate((s, e)), e - s
    rates = (np.asarray(a, dtype=float)[keep] / width for a in amounts)
    return tuple(from_changes(times, np.concatenate((rate, -rate))) for rate in rates)
