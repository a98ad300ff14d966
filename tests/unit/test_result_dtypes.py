"""Every date and time column of a run's tables is a UTC datetime, ready to plot."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim import load_scenario, run_one

QUICK = Path(__file__).resolve().parents[2] / "scenarios" / "quick.yaml"


@pytest.mark.parametrize("end", ["2024-03-04", "2024-04-22"], ids=["no-halving", "halving"])
def test_time_columns_are_utc_datetimes(end: str) -> None:
    result = run_one(load_scenario(QUICK, [f"end_utc={end}T00:00:00Z"]))
    time_columns = 0
    for name, frame in result.tables().items():
        for column in frame.columns:
            if column == "date" or column.endswith("_utc"):
                time_columns += 1
                assert isinstance(frame[column].dtype, pd.DatetimeTZDtype), (name, column)
                assert str(frame[column].dt.tz) == "UTC", (name, column)
    assert time_columns >= 8
    assert (result.daily["date"] == result.daily["date"].dt.normalize()).all()
    halving = result.summary["first_halving_utc"].iloc[0]
    assert pd.isna(halving) == (end == "2024-03-04")
