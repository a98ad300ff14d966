"""CSV numbers are written with the documented precision of their column's kind."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import SCENARIOS

from sim import RunResult, load_scenario, run_one
from sim.record.columns import HALL_COLUMNS, PRECISIONS, TABLES, precision_kind
from sim.record.writer import write_csv


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, Path]:
    """quick.yaml's results and its CSVs, written by write_csv."""
    result = run_one(load_scenario(SCENARIOS / "quick.yaml"))
    folder = tmp_path_factory.mktemp("quick")
    for name, frame in result.tables().items():
        write_csv(frame, folder / f"{name.removesuffix('.csv')}.csv")
    return result, folder


def read_text(path: Path) -> pd.DataFrame:
    """A CSV as the text of its fields ('' when empty)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def half_unit(column: str) -> float:
    """The largest change rounding can make to a value of ``column``."""
    decimals = PRECISIONS[precision_kind(column)].decimals
    assert decimals is not None
    return 0.5 * 10.0**-decimals


def test_every_column_has_a_precision_and_every_float_column_is_rounded(quick) -> None:
    result, _ = quick
    for columns in [*TABLES.values(), HALL_COLUMNS]:
        for name in columns:
            assert precision_kind(name) in PRECISIONS
    for name, frame in result.tables().items():
        floats = frame.select_dtypes("float").columns
        unrounded = [c for c in floats if PRECISIONS[precision_kind(c)].decimals is None]
        assert not unrounded, f"{name}: float columns without decimals: {unrounded}"


def test_no_value_has_more_decimals_than_its_column_documents(quick) -> None:
    _, folder = quick
    checked = 0
    for path in sorted(folder.glob("*.csv")):
        for column, texts in read_text(path).items():
            decimals = PRECISIONS[precision_kind(str(column))].decimals
            if decimals is None:
                continue
            for text in texts[texts != ""].unique():
                exponent = Decimal(text).as_tuple().exponent
                assert isinstance(exponent, int) and -exponent <= decimals, (
                    path.name,
                    column,
                    text,
                )
                checked += 1
    assert checked > 100_000  # the check saw the big tables


def test_rounded_totals_stay_within_the_rounding_bound(quick) -> None:
    result, folder = quick
    summary = pd.read_csv(folder / "summary.csv").iloc[0]
    for table in ("daily", "timeseries"):
        rows = pd.read_csv(folder / f"{table}.csv")
        n = len(rows)
        for column in ("mining_revenue_usd", "ai_revenue_usd", "energy_cost_usd", "btc_mined"):
            # each row and the total are off by at most half a unit each
            bound = (n + 1) * half_unit(column) * (1 + 1e-9)
            assert abs(rows[column].sum() - summary[column]) <= bound, (table, column)
            assert rows[column].sum() != pytest.approx(0.0)
        kwh = rows["asic_energy_kwh"].sum()
        bound = n * half_unit("asic_energy_kwh") + 1_000 * half_unit("asic_energy_mwh")
        assert abs(kwh - 1_000 * summary["asic_energy_mwh"]) <= bound * (1 + 1e-9)
    # and the DataFrames keep full precision: only the files are rounded
    assert result.summary["asic_energy_cost_usd"].iloc[0] == 604799.9999999999


def test_float_noise_negative_zero_and_missing_values_are_written_cleanly(
    tmp_path: Path,
) -> None:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(["2024-03-01", "2024-03-02"], utc=True),
            "revenue_usd": [577919.9999999999, -1e-9],
            "difficulty": [72006146478567.09375, 1.0],
            "gpu_utilization": [0.123456789, np.nan],
            "btc_mined": [0.1 + 0.2, 1e-12],
            "blocks_found": [3, 4],
        }
    )
    write_csv(frame, tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text().splitlines() == [
        '"date","revenue_usd","difficulty","gpu_utilization","btc_mined","blocks_found"',
        # difficulty in fixed point at its 2 decimals, not 7.20061464785671e+13
        '"2024-03-01",577920,72006146478567.09,0.123457,0.3,3',
        '"2024-03-02",0,1.00,,0,4',
    ]
    assert frame["revenue_usd"].iloc[0] == 577919.9999999999  # the frame is not changed
