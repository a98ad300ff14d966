"""Step series: exact integrals and products over bins."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.errors import SimulationError
from sim.record.ai_tables import bin_index
from sim.steps import StepSeries, integrate_columns, product, total


def test_integrate_and_mean_over_bins() -> None:
    series = StepSeries(np.array([0.0, 10.0, 25.0]), np.array([1.0, 3.0, -2.0]))
    edges = np.array([0.0, 5.0, 20.0, 30.0])
    np.testing.assert_allclose(series.integrate(edges), [5.0, 5 + 30, 15 - 10])
    np.testing.assert_allclose(series.mean(edges), [1.0, 35 / 15, 0.5])
    assert series.at(10.0) == 3.0  # right-continuous
    with pytest.raises(SimulationError, match="before the start"):
        series.at(-1.0)


pieces = st.lists(st.tuples(st.floats(0.01, 100.0), st.floats(-1e3, 1e3)), min_size=1, max_size=30)


def _series(spec: list[tuple[float, float]]) -> StepSeries:
    widths, values = zip(*spec, strict=True)
    times = np.concatenate(([0.0], np.cumsum(widths)[:-1]))
    return StepSeries(times, np.array(values))


@given(pieces, pieces)
def test_product_integral_equals_fine_grid_sum(a: list, b: list) -> None:
    sa, sb = _series(a), _series(b)
    end = 1.5 * max(sa.times_s[-1], sb.times_s[-1]) + 1.0
    edges = np.linspace(0.0, end, 7)
    exact = product(sa, sb).integrate(edges)
    # reference: every breakpoint is a grid point, so a midpoint sum on the union is exact
    grid = np.unique(np.concatenate((edges, sa.times_s, sb.times_s)))
    mid = (grid[:-1] + grid[1:]) / 2
    contrib = sa.at(mid) * sb.at(mid) * np.diff(grid)
    which = np.searchsorted(edges, mid, side="right") - 1
    reference = np.bincount(which, weights=contrib, minlength=6)
    scale = np.abs(contrib).sum() + 1.0
    np.testing.assert_allclose(exact, reference, atol=1e-9 * scale)


columns = st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3)


@given(st.lists(st.tuples(st.floats(0.01, 100.0), columns), min_size=1, max_size=30), pieces)
def test_integrate_columns_equals_each_columns_product_integral(shared: list, w: list) -> None:
    """Columns sharing change times, with and without a weight, against one series each."""
    widths, rows = zip(*shared, strict=True)
    times = np.concatenate(([0.0], np.cumsum(widths)[:-1]))
    values, weight = np.array(rows), _series(w)
    end = 1.5 * max(times[-1], weight.times_s[-1]) + 1.0
    edges = np.linspace(0.0, end, 7)
    plain = integrate_columns(times, values, edges, columns_per_pass=2)
    weighted = integrate_columns(times, values, edges, weight, columns_per_pass=2)
    for c in range(values.shape[1]):
        column = StepSeries(times, values[:, c])
        scale = np.abs(values[:, c]).max() * end * (1.0 + np.abs(weight.values).max())
        np.testing.assert_allclose(plain[:, c], column.integrate(edges), atol=1e-9 * scale)
        expected = product(column, weight).integrate(edges)
        np.testing.assert_allclose(weighted[:, c], expected, atol=1e-9 * scale)


grids = st.lists(st.integers(0, 40), min_size=1, max_size=20, unique=True)


@given(st.lists(st.tuples(grids, st.integers(0, 2**31)), min_size=1, max_size=4))
def test_product_and_total_are_their_definitions_bit_for_bit(specs: list) -> None:
    """On the union of the grids from the latest start, each series' value by ``at``."""
    series = [
        StepSeries(np.sort(np.array(t, dtype=float)), np.random.default_rng(s).normal(size=len(t)))
        for t, s in specs
    ]
    start = max(s.times_s[0] for s in series)
    times = np.unique(np.concatenate([s.times_s[s.times_s >= start] for s in series]))
    expected_product = np.ones_like(times)
    for s in series:
        expected_product = expected_product * s.at(times)
    expected_total = np.sum([s.at(times) for s in series], axis=0)
    for got, values in ((product(*series), expected_product), (total(*series), expected_total)):
        assert got.times_s.tobytes() == times.tobytes()
        assert got.values.tobytes() == values.tobytes()


@given(
    st.lists(st.integers(-5, 60), min_size=0, max_size=80),
    st.lists(st.integers(0, 50), min_size=2, max_size=8, unique=True),
)
def test_bin_index_of_sorted_times_is_the_search_per_time(times: list, edges: list) -> None:
    """Sorted times (a run's blocks) take the search per edge: the same bins, clamped."""
    t, e = np.sort(np.array(times, dtype=float)), np.sort(np.array(edges, dtype=float))
    expected = np.minimum(np.searchsorted(e, t, side="right") - 1, e.size - 2)
    got = bin_index(t, e)
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected)


@given(pieces)
def test_cumulative_at_knots_is_cumulative_at_the_knots(spec: list) -> None:
    series = _series(spec)
    expected = series.cumulative_at(series.times_s)
    assert series.cumulative_at_knots().tobytes() == expected.tobytes()
