"""Validation of the grid programs against their definitions and analytic expectations.

4CP: over many seeds (stream ``four_cp``) a month's peak falls in an alert window with
probability q = forecast_hit_probability, in each given alert window with probability q/A
(A = alert_days_per_month) and in each quarter hour of the window with probability 1/(4·W).
The hit count over N month-trials is Binomial(N, p), so the observed fraction is checked
within Z = 4 standard errors √(p(1−p)/N) (a false alarm has probability ≈ 6·10⁻⁵ per check;
the seeds are fixed, so the test is deterministic). The alert credit is the expected saving:
keeping P kW off through one alert window lowers the expected charge by
rate/n · P · q/A = credit · P · W/1000. A site off in every alert window pays exactly the
months whose peak the alerts missed, (1 − q)·rate·P a year on average.

Price-triggered demand response: the events on an hourly spot path satisfy their definition
at every price breakpoint.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from sim.economics.grid import four_cp_charges
from sim.economics.inputs import FourCpPeak
from sim.model.energy_price import spot_price_steps
from sim.model.grid_programs import (
    PEAK_INTERVAL_S,
    Span,
    credit_from_spans,
    four_cp_alerts,
    four_cp_peaks,
    price_triggered_windows,
)
from sim.rng import RandomStreams
from sim.scenario.grid import FourCpSpec, PriceTriggeredDrSpec
from sim.scenario.schema import EnergySpec
from sim.steps import StepSeries

Z = 4.0
SEEDS = range(500)
START = datetime(2024, 6, 1, tzinfo=UTC)
HORIZON_S = 122 * 86_400.0  # June–September 2024, whole
POWER_KW = 10_000.0


def spot_price(seed: int, horizon_s: float = HORIZON_S) -> StepSeries:
    spec = EnergySpec(model="spot", price_usd_per_mwh=40.0)
    return spot_price_steps(spec, START, horizon_s, RandomStreams(seed).get("energy_price"))


def draw_peaks(spec: FourCpSpec, alerts: list[Span]) -> list[list[FourCpPeak]]:
    return [
        four_cp_peaks(spec, START, HORIZON_S, alerts, RandomStreams(s).get("four_cp"))
        for s in SEEDS
    ]


def window_index(t_s: float, alerts: list[Span]) -> int:
    """Index of the alert span containing ``t_s``, or −1."""
    for i, (a, b) in enumerate(alerts):
        if a <= t_s < b:
            return i
    return -1


def assert_binomial(successes: int, trials: int, p: float) -> None:
    se = np.sqrt(p * (1 - p) / trials)
    assert abs(successes / trials - p) <= Z * se + 1e-12, (successes, trials, p, se)


@pytest.mark.parametrize("q", [0.8, 0.3])
def test_peak_hits_an_alert_window_with_the_forecast_probability(q: float) -> None:
    spec = FourCpSpec(forecast_hit_probability=q)
    alerts = four_cp_alerts(spec, spot_price(1), START, HORIZON_S)
    assert len(alerts) == 4 * spec.alert_days_per_month
    peaks = [p for run in draw_peaks(spec, alerts) for p in run]
    trials = len(peaks)
    assert trials == 4 * len(SEEDS)
    where = np.array([window_index(p.start_s, alerts) for p in peaks])
    assert_binomial(int((where >= 0).sum()), trials, q)
    # each alert window of a month (by its rank in time) holds the peak with probability q/A
    per_month = spec.alert_days_per_month
    rank = where[where >= 0] % per_month
    for k in range(per_month):
        assert_binomial(int((rank == k).sum()), trials, q / per_month)
    # the quarter hour within the day's window is uniform
    window_start = START.timestamp() + np.array([p.start_s for p in peaks]) - 22 * 3_600.0
    quarter = (window_start % 86_400.0) // PEAK_INTERVAL_S
    slots = spec.window_hours * 4
    assert set(quarter.tolist()) <= set(range(slots))
    for k in range(slots):
        assert_binomial(int((quarter == k).sum()), trials, 1 / slots)


def test_alert_credit_is_the_expected_avoided_charge() -> None:
    spec = FourCpSpec()
    alerts = four_cp_alerts(spec, spot_price(2), START, HORIZON_S)
    first_of_month = alerts[:: spec.alert_days_per_month]  # one alert window per month
    flat = StepSeries.constant(POWER_KW)
    off = credit_from_spans([(a, b, -POWER_KW) for a, b in first_of_month])
    curtailed = StepSeries(off.times_s, off.values + POWER_KW)
    saved = [
        c_flat.charge_usd - c_off.charge_usd
        for run in draw_peaks(spec, alerts)
        for c_flat, c_off in zip(
            four_cp_charges(spec, flat, run), four_cp_charges(spec, curtailed, run), strict=True
        )
    ]
    usd_per_kw = spec.rate_usd_per_kw_year / len(spec.months)
    hits = np.array(saved) / (usd_per_kw * POWER_KW)
    assert set(np.round(hits, 12).tolist()) <= {0.0, 1.0}  # the whole charge or nothing
    p = spec.forecast_hit_probability / spec.alert_days_per_month
    assert_binomial(int(hits.sum()), hits.size, p)
    # the credit per MWh × MWh kept off is exactly the expected saving per month
    mwh_off = POWER_KW * spec.window_hours / 1_000.0
    assert spec.alert_credit_usd_per_mwh * mwh_off == pytest.approx(usd_per_kw * POWER_KW * p)


def test_curtailing_in_every_alert_window_leaves_only_missed_peaks() -> None:
    spec = FourCpSpec(forecast_hit_probability=0.8)
    alerts = four_cp_alerts(spec, spot_price(3), START, HORIZON_S)
    off = credit_from_spans([(a, b, -POWER_KW) for a, b in alerts])
    power = StepSeries(off.times_s, off.values + POWER_KW)  # 0 kW in alerts, else POWER_KW
    usd_per_kw = spec.rate_usd_per_kw_year / len(spec.months)
    yearly = []
    for run in draw_peaks(spec, alerts):
        charges = four_cp_charges(spec, power, run)
        for peak, charge in zip(run, charges, strict=True):
            missed = window_index(peak.start_s, alerts) < 0
            assert charge.charge_usd == (usd_per_kw * POWER_KW if missed else 0.0)
        yearly.append(sum(c.charge_usd for c in charges))
    # a year's charge is usd_per_kw·P × Binomial(4, 1 − q), so E = (1 − q)·rate·P: the count
    # of missed months over all runs is the one random quantity, checked against its binomial
    q = spec.forecast_hit_probability
    missed_months = np.array(yearly) / (usd_per_kw * POWER_KW)
    assert_binomial(int(round(missed_months.sum())), 4 * len(SEEDS), 1 - q)


@pytest.mark.parametrize("min_duration_s", [0, 3_600, 5 * 3_600])
def test_price_triggered_events_follow_their_definition(min_duration_s: int) -> None:
    horizon_s = 365 * 86_400.0
    price = spot_price(4, horizon_s)
    spec = PriceTriggeredDrSpec(
        trigger_usd_per_mwh=70.0, credit_usd_per_mwh=40.0, min_duration_s=min_duration_s
    )
    events = price_triggered_windows(spec, price, horizon_s)
    assert len(events) > 20  # the check has something to check
    t = price.times_s[price.times_s < horizon_s]
    high = price.at(t) >= spec.trigger_usd_per_mwh
    starts = np.array([s for s, _ in events])
    ends = np.array([e for _, e in events])
    assert np.all(starts[1:] > ends[:-1])  # disjoint, never back to back
    assert np.all(price.at(starts) >= spec.trigger_usd_per_mwh)  # triggered by the price
    assert np.all(ends - starts >= np.minimum(min_duration_s, horizon_s - starts))
    inner = ends < horizon_s
    assert np.all(price.at(ends[inner]) < spec.trigger_usd_per_mwh)  # ends on a low price
    # in force exactly on: every high piece, and every piece before start + min_duration
    idx = np.searchsorted(starts, t, side="right") - 1
    in_event = (idx >= 0) & (t < ends[np.maximum(idx, 0)])
    assert np.all(in_event[high])
    early = in_event & (t < starts[np.maximum(idx, 0)] + min_duration_s)
    assert np.array_equal(in_event, high | early)
    # the credit series is the credit exactly while an event is in force
    credit = credit_from_spans([(s, e, spec.credit_usd_per_mwh) for s, e in events])
    np.testing.assert_array_equal(credit.at(t), np.where(in_event, spec.credit_usd_per_mwh, 0.0))
