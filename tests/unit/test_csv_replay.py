"""Replay of price and hashrate CSVs: values hold from their time until the next row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers import SCENARIOS

from sim import load_scenario, run_one
from sim.errors import ScenarioError


def test_history_scenario_replays_the_price_file_exactly() -> None:
    scenario = load_scenario(SCENARIOS / "history_2024_2025.yaml", ["end_utc=2024-06-01T00:00:00Z"])
    daily = run_one(scenario).daily.set_index("date")
    prices = pd.read_csv(SCENARIOS / "data" / "btc_price_2024_2025.csv")
    in_force = prices.set_index("date")["btc_price_usd"]
    for date in ["2024-01-01", "2024-01-30", "2024-02-15", "2024-04-20", "2024-05-31"]:
        expected = in_force[in_force.index <= date].iloc[-1]
        assert daily.loc[date, "btc_price_usd"] == pytest.approx(expected, rel=1e-12)
    # a day on which the price changed at midnight is a single step, not a blend
    assert daily.loc["2024-04-20", "btc_price_usd"] == 64_900


def test_price_csv_mid_day_change_is_time_weighted(tmp_path: Path) -> None:
    csv = tmp_path / "price.csv"
    csv.write_text(
        "timestamp_utc,btc_price_usd\n2023-12-31T00:00:00Z,100\n2024-01-02T06:00:00Z,200\n"
    )
    scenario = load_scenario(
        SCENARIOS / "quick.yaml",
        [
            "start_utc=2024-01-01T00:00:00Z",
            "end_utc=2024-01-04T00:00:00Z",
            "bitcoin.epoch_start_utc=2024-01-01T00:00:00Z",
            "bitcoin.price.model=csv",
            f"bitcoin.price.csv_path={csv}",
        ],
    )
    daily = run_one(scenario).daily["btc_price_usd"].tolist()
    assert daily == pytest.approx([100.0, (6 * 100 + 18 * 200) / 24, 200.0], rel=1e-12)


def test_price_csv_that_starts_late_or_is_malformed_is_rejected(tmp_path: Path) -> None:
    late = tmp_path / "late.csv"
    late.write_text("date,btc_price_usd\n2024-06-01,100\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("date,price\n2024-01-01,100\n")
    for path, message in ((late, "starts after start_utc"), (bad, "needs columns")):
        with pytest.raises(ScenarioError) as err:
            load_scenario(
                SCENARIOS / "quick.yaml",
                ["bitcoin.price.model=csv", f"bitcoin.price.csv_path={path}"],
            )
        assert "bitcoin.price.csv_path" in str(err.value)
        assert message in str(err.value)
