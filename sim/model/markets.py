"""Markets the site trades with: the BTC/USD price and the energy price."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sim.model.energy_price import spot_price_steps
from sim.model.paths import csv_steps, gbm_steps
from sim.model.steps import StepSeries
from sim.record.events import EventLog
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


def energy_price_path(scenario: Scenario, streams: RandomStreams) -> StepSeries:
    """Energy price in USD/MWh: fixed, hourly spot (stream ``energy_price``) or a CSV."""
    spec = scenario.site.energy
    if spec.model == "csv":
        assert spec.csv_path is not None  # guaranteed by the scenario checks
        return csv_steps(
            Path(spec.csv_path),
            "price_usd_per_mwh",
            scenario.start_utc,
            scenario.horizon_s,
            positive=False,
        )
    if spec.model == "spot":
        return spot_price_steps(
            spec, scenario.start_utc, scenario.horizon_s, streams.get("energy_price")
        )
    return StepSeries.constant(spec.price_usd_per_mwh)


def demand_response_credit(scenario: Scenario, events: EventLog) -> StepSeries:
    """Credit (USD/MWh) for ASIC load kept off: the event's rate during events, else 0."""
    start_unix = scenario.start_utc.timestamp()
    times, values = [0.0], [0.0]
    for event in scenario.site.demand_response:
        start = max(event.start_utc.timestamp() - start_unix, 0.0)
        end = event.end_utc.timestamp() - start_unix
        if end <= 0 or start >= scenario.horizon_s:
            continue
        if start == times[-1]:
            values[-1] = event.credit_usd_per_mwh
        else:
            times.append(start)
            values.append(event.credit_usd_per_mwh)
        times.append(end)
        values.append(0.0)
        detail = f"{(end - start) / 3_600:g} h"
        events.add(
            start, "demand_response", "site", event.credit_usd_per_mwh, "usd_per_mwh", detail
        )
    return StepSeries(np.array(times), np.array(values))
