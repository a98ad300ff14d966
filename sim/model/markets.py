"""Markets the site trades with: the BTC/USD price and the energy price.

Grid programs that pay for load kept off live in :mod:`sim.model.grid_programs`.
"""

from __future__ import annotations

from sim.model.energy_price import spot_price_steps
from sim.model.paths import csv_series, csv_steps, gbm_steps
from sim.rng import RandomStreams
from sim.scenario.schema import Scenario, input_files
from sim.steps import StepSeries


def btc_price_path(scenario: Scenario, streams: RandomStreams) -> StepSeries:
    """BTC price in USD over the horizon (stream ``btc_price``)."""
    spec = scenario.bitcoin.price
    if spec.model == "csv":
        series = csv_series(
            input_files(scenario),
            "bitcoin.price",
            spec.csv_path,
            "btc_price_usd",
            "markets",
            scenario.start_utc,
        )
        return csv_steps(series, scenario.start_utc, scenario.horizon_s)
    return gbm_steps(
        spec.start_usd,
        spec.drift_per_year,
        spec.volatility_per_year,
        spec.update_interval_s,
        scenario.horizon_s,
        streams.get("btc_price"),
    )


def energy_price_path(scenario: Scenario, streams: RandomStreams) -> StepSeries:
    """Energy price in USD/MWh: fixed, hourly spot (stream ``energy_price``) or a CSV."""
    spec = scenario.site.energy
    if spec.model == "csv":
        series = csv_series(
            input_files(scenario),
            "site.energy",
            spec.csv_path,
            "price_usd_per_mwh",
            "markets",
            scenario.start_utc,
            positive=False,
        )
        return csv_steps(series, scenario.start_utc, scenario.horizon_s)
    if spec.model == "spot":
        return spot_price_steps(
            spec, scenario.start_utc, scenario.horizon_s, streams.get("energy_price")
        )
    return StepSeries.constant(spec.price_usd_per_mwh)
