"""Markets the site trades with: the BTC/USD price and the energy price."""

from __future__ import annotations

from pathlib import Path

from sim.model.paths import csv_steps, gbm_steps
from sim.model.steps import StepSeries
from sim.rng import RandomStreams
from sim.scenario.schema import Scenario


def btc_price_path(scenario: Scenario, streams: RandomStreams) -> StepSeries:
    """BTC price in USD over the horizon (stream ``btc_price``)."""
    spec = scenario.bitcoin.price
    if spec.model == "csv":
        assert spec.csv_path is not None  # guaranteed by the scenario checks
        return csv_steps(
            Path(spec.csv_path), "btc_price_usd", scenario.start_utc, scenario.horizon_s
        )
    return gbm_steps(
        spec.start_usd,
        spec.drift_per_year,
        spec.volatility_per_year,
        spec.update_interval_s,
        scenario.horizon_s,
        streams.get("btc_price"),
    )


def energy_price_path(scenario: Scenario) -> StepSeries:
    """Energy price in USD/MWh (a fixed price for now)."""
    return StepSeries.constant(scenario.site.energy.price_usd_per_mwh)
