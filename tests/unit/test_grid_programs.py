"""Unit tests of grid programs: schema, price-triggered events, 4CP calendar, credits, charges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pytest
from helpers import SCENARIOS
from pydantic import ValidationError

from sim.economics.grid import FourCpCharge, four_cp_charges
from sim.economics.inputs import FourCpPeak
from sim.errors import ScenarioError
from sim.model.grid_programs import (
    PEAK_INTERVAL_S,
    CreditSpan,
    GridPlan,
    Span,
    credit_from_spans,
    curtail_credit,
    four_cp_alerts,
    four_cp_peak_rows,
    four_cp_peaks,
    local_month,
    paid_credit,
    plan_event_rows,
    plan_grid_programs,
    price_triggered_windows,
    scheduled_spans,
)
from sim.rng import RandomStreams
from sim.scenario import load_scenario
from sim.scenario.four_cp import four_cp_month_windows, partial_four_cp_months
from sim.scenario.grid import FourCpSpec, GridProgramsSpec, PriceTriggeredDrSpec
from sim.scenario.loader import issues_from_validation
from sim.scenario.schema import DemandResponseSpec
from sim.steps import StepSeries

H = 3_600.0
DAY = 86_400.0
JUNE = datetime(2024, 6, 1, tzinfo=UTC)  # a Saturday; local (UTC−6) May 31 18:00


def utc(year: int, month: int, day: int, hour: int = 0) -> float:
    return datetime(year, month, day, hour, tzinfo=UTC).timestamp()


def hourly(prices: Sequence[float]) -> StepSeries:
    return StepSeries(np.arange(len(prices)) * H, np.array(prices, dtype=float))


def issues(raw: dict) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        GridProgramsSpec.model_validate(raw)
    return [str(issue) for issue in issues_from_validation(exc.value)]


# --------------------------------------------------------------------------- schema


def test_defaults_and_alert_credit() -> None:
    spec = FourCpSpec()
    assert (spec.rate_usd_per_kw_year, spec.months, spec.utc_offset_hours) == (
        100.0,
        [6, 7, 8, 9],
        -6.0,
    )
    assert (spec.window_start_local_hour, spec.window_hours) == (16, 2)
    assert (spec.alert_days_per_month, spec.forecast_hit_probability) == (5, 0.8)
    # 100 / 4 USD/kW per month × 0.8 / 5 per window / 2 h × 1000 kWh/MWh
    assert spec.alert_credit_usd_per_mwh == pytest.approx(2_000.0)
    assert GridProgramsSpec() == GridProgramsSpec(price_triggered_dr=None, four_cp=None)
    assert PriceTriggeredDrSpec(trigger_usd_per_mwh=100, credit_usd_per_mwh=20).min_duration_s == 0


def test_every_issue_reported_with_its_path() -> None:
    found = issues(
        {
            "price_triggered_dr": {"credit_usd_per_mwh": 0, "min_duration_s": -1},
            "four_cp": {
                "months": [6, 13],
                "alert_days_per_month": 20,
                "forecast_hit_probability": 1.2,
                "rate_usd_per_kw_year": 0,
                "rate": 3,
            },
        }
    )
    assert found == [
        "price_triggered_dr.trigger_usd_per_mwh: is required",
        "price_triggered_dr.credit_usd_per_mwh: Input should be greater than 0 (got 0)",
        "price_triggered_dr.min_duration_s: Input should be greater than or equal to 0 (got -1)",
        "four_cp.rate_usd_per_kw_year: Input should be greater than 0 (got 0)",
        "four_cp.months[1]: Input should be less than or equal to 12 (got 13)",
        "four_cp.alert_days_per_month: Input should be less than or equal to 19 (got 20)",
        "four_cp.forecast_hit_probability: Input should be less than or equal to 1 (got 1.2)",
        "four_cp.rate: unknown field",
    ]


def test_months_increasing_and_window_before_midnight() -> None:
    found = issues(
        {"four_cp": {"months": [7, 6], "window_start_local_hour": 22, "window_hours": 4}}
    )
    assert found == [
        "four_cp.months: Value error, must be strictly increasing, e.g. [6, 7, 8, 9] (got [7, 6])",
        "four_cp.window_hours: Value error, the window must end by local midnight: "
        "window_start_local_hour 22 + 4 h = 26 > 24 (got 4)",
    ]
    assert FourCpSpec(window_start_local_hour=20, window_hours=4).window_hours == 4
    assert issues({"four_cp": {"months": []}})[0].startswith("four_cp.months: List should have")


# --------------------------------------------------------------------------- price-triggered


PRICES = [10, 60, 70, 10, 60, 10, 10, 80]  # above 50 on hours [1, 3), [4, 5), [7, …)


@pytest.mark.parametrize(
    ("min_duration_s", "expected_h"),
    [
        (0, [(1, 3), (4, 5), (7, 8)]),
        (5_400, [(1, 3), (4, 5.5), (7, 8)]),  # 2.5 h is inside the run: ride it to 3 h
        (7_200, [(1, 3), (4, 6), (7, 8)]),  # ends exactly where the run ends: price is low
        (10_800, [(1, 5), (7, 8)]),  # 4 h: price at the trigger again, ride to 5 h
        (6 * 3_600, [(1, 8)]),  # 7 h is a new run start: the event continues to the horizon
    ],
)
def test_price_triggered_windows(min_duration_s: int, expected_h: list) -> None:
    spec = PriceTriggeredDrSpec(
        trigger_usd_per_mwh=60, credit_usd_per_mwh=25, min_duration_s=min_duration_s
    )
    windows = price_triggered_windows(spec, hourly(PRICES), 8 * H)
    assert windows == [Span(a * H, b * H) for a, b in expected_h]


def test_price_triggered_edges() -> None:
    price = hourly(PRICES)
    spec = PriceTriggeredDrSpec(trigger_usd_per_mwh=90, credit_usd_per_mwh=25)
    assert price_triggered_windows(spec, price, 8 * H) == []
    spec = PriceTriggeredDrSpec(trigger_usd_per_mwh=5, credit_usd_per_mwh=25)
    assert price_triggered_windows(spec, price, 2.5 * H) == [Span(0.0, 2.5 * H)]
    # a price series that began before the run is clipped to time 0
    early = StepSeries(np.array([-H, 0.5 * H, 2 * H]), np.array([80.0, 10.0, 80.0]))
    spec = PriceTriggeredDrSpec(trigger_usd_per_mwh=50, credit_usd_per_mwh=25)
    assert price_triggered_windows(spec, early, 3 * H) == [Span(0, 0.5 * H), Span(2 * H, 3 * H)]


def test_scheduled_spans_clip_to_the_run() -> None:
    events = [
        DemandResponseSpec(
            start_utc="2024-05-31T23:00Z", end_utc="2024-06-01T02:00Z", credit_usd_per_mwh=40
        ),
        DemandResponseSpec(
            start_utc="2024-06-02T00:00Z", end_utc="2024-06-02T01:00Z", credit_usd_per_mwh=50
        ),
        DemandResponseSpec(
            start_utc="2024-06-05T00:00Z", end_utc="2024-06-05T01:00Z", credit_usd_per_mwh=60
        ),
    ]
    assert scheduled_spans(events, JUNE, 2 * DAY) == [
        CreditSpan(0.0, 2 * H, 40.0),
        CreditSpan(DAY, DAY + H, 50.0),
    ]


# --------------------------------------------------------------------------- credits


def test_overlapping_credits_add_and_return_to_exactly_zero() -> None:
    programs = GridProgramsSpec(
        price_triggered_dr=PriceTriggeredDrSpec(trigger_usd_per_mwh=50, credit_usd_per_mwh=0.2),
        four_cp=FourCpSpec(),
    )
    credit = curtail_credit(
        programs,
        scheduled=[(0.0, 2 * H, 0.1)],
        price_windows=[(H, 3 * H)],
        alerts=[(1.5 * H, 4 * H)],
    )
    t = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 100]) * H
    expected = [0.1, 0.1, 0.1 + 0.2, 0.1 + 0.2 + 2000, 0.2 + 2000, 2000, 0, 0]
    np.testing.assert_allclose(credit.at(t), expected, rtol=1e-15)
    assert credit.at(4 * H)[()] == 0.0  # exactly, though 0.1 + 0.2 − 0.1 − 0.2 is not
    assert credit.times_s[0] == 0.0
    paid = paid_credit(programs, [(0.0, 2 * H, 0.1)], [(H, 3 * H)])
    np.testing.assert_allclose(paid.at(t), [0.1, 0.1, 0.3, 0.3, 0.2, 0, 0, 0], rtol=1e-15)


def test_credit_spans_edge_cases() -> None:
    zero = credit_from_spans([])
    assert zero.at(5.0)[()] == 0.0 and zero.times_s[0] == 0.0
    series = credit_from_spans([(-H, H, 7.0), (5 * H, 5 * H, 9.0), (2 * H, 3 * H, 7.0)])
    assert series.times_s.tolist() == [0, H, 2 * H, 3 * H]
    assert series.values.tolist() == [7, 0, 7, 0]
    doubled = credit_from_spans([(0.0, 2 * H, 7.0), (H, 3 * H, 7.0)])
    assert doubled.values.tolist() == [7, 14, 7, 0]


def test_credit_needs_its_program() -> None:
    with pytest.raises(ValueError, match="price_triggered_dr"):
        curtail_credit(GridProgramsSpec(), [], [(0.0, H)], [])
    with pytest.raises(ValueError, match="four_cp"):
        curtail_credit(GridProgramsSpec(), [], [], [(0.0, H)])


# --------------------------------------------------------------------------- 4CP calendar


def test_month_windows_local_time() -> None:
    spec = FourCpSpec()
    months = four_cp_month_windows(spec, JUNE, 122 * DAY)  # June to September 2024, whole
    assert [m.month for m in months] == ["2024-06", "2024-07", "2024-08", "2024-09"]
    assert [m.starts_s.size for m in months] == [20, 23, 22, 21]  # weekdays per month
    # the first June weekday is Monday 3 June; 16:00 CST is 22:00 UTC
    assert months[0].starts_s[0] == utc(2024, 6, 3, 22) - JUNE.timestamp()
    # Monday 30 September's window ends at 24:00 UTC, exactly at the horizon: still whole
    assert months[3].starts_s[-1] == utc(2024, 9, 30, 22) - JUNE.timestamp()
    assert partial_four_cp_months(spec, JUNE, 122 * DAY) == []
    # one second short and September is only partly covered
    short = four_cp_month_windows(spec, JUNE, 122 * DAY - 1)
    assert [m.month for m in short] == ["2024-06", "2024-07", "2024-08"]
    assert partial_four_cp_months(spec, JUNE, 122 * DAY - 1) == ["2024-09"]


def test_window_late_in_the_local_day_belongs_to_the_local_month() -> None:
    spec = FourCpSpec(months=[7, 8], window_start_local_hour=20, window_hours=4)
    start = datetime(2024, 7, 1, 6, tzinfo=UTC)  # 1 July 00:00 CST
    months = four_cp_month_windows(spec, start, 62 * DAY)
    july, august = months
    last_july = utc(2024, 8, 1, 2) - start.timestamp()  # Wednesday 31 July, 20:00 CST
    assert july.starts_s[-1] == last_july and last_july not in august.starts_s
    assert local_month(spec, start, last_july) == "2024-07"
    assert local_month(spec, start, last_july + 4 * H) == "2024-08"


def test_fractional_offset_and_month_filter() -> None:
    spec = FourCpSpec(months=[2], utc_offset_hours=5.5, window_start_local_hour=0, window_hours=1)
    start = datetime(2023, 1, 31, 18, 30, tzinfo=UTC)  # 1 February 2023 00:00 local
    (feb,) = four_cp_month_windows(spec, start, 28 * DAY)
    assert feb.month == "2023-02" and feb.starts_s.size == 20  # a common-year February
    assert feb.starts_s[0] == 0.0  # Wednesday 1 February, 00:00 local


def test_several_years_have_one_set_of_months_each() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    months = four_cp_month_windows(FourCpSpec(), start, 731 * DAY)
    assert [m.month for m in months] == [f"{y}-{m:02d}" for y in (2024, 2025) for m in (6, 7, 8, 9)]
    assert four_cp_month_windows(FourCpSpec(), start, 120 * DAY) == []


def test_alerts_pick_the_dearest_weekday_windows() -> None:
    spec = FourCpSpec(months=[6], alert_days_per_month=3)
    horizon = 30 * DAY
    base = JUNE.timestamp()
    bumps = {  # window start (UTC) → price in that window
        utc(2024, 6, 12, 22): 300.0,
        utc(2024, 6, 4, 22): 200.0,
        utc(2024, 6, 27, 22): 250.0,
        utc(2024, 6, 8, 22): 900.0,  # a Saturday: never an alert
        utc(2024, 6, 19, 21): 180.0,  # half in the window: mean 110, only fourth
    }
    times, values = [0.0], [40.0]
    for t, p in sorted(bumps.items()):
        times += [t - base, t - base + 2 * H]
        values += [p, 40.0]
    price = StepSeries(np.array(times), np.array(values))
    alerts = four_cp_alerts(spec, price, JUNE, horizon)
    assert [a.start_s + base for a in alerts] == [
        utc(2024, 6, 4, 22),
        utc(2024, 6, 12, 22),
        utc(2024, 6, 27, 22),
    ]
    assert all(a.end_s - a.start_s == 2 * H for a in alerts)
    # a fixed price ties every day: the first weekdays win
    flat = four_cp_alerts(spec, StepSeries.constant(35.0), JUNE, horizon)
    assert [a.start_s + base for a in flat] == [utc(2024, 6, d, 22) for d in (3, 4, 5)]


def test_peaks_are_quarter_hours_in_the_right_windows() -> None:
    spec = FourCpSpec(forecast_hit_probability=1.0)
    price = StepSeries.constant(35.0)
    alerts = four_cp_alerts(spec, price, JUNE, 122 * DAY)
    peaks = four_cp_peaks(spec, JUNE, 122 * DAY, alerts, np.random.default_rng(3))
    assert [p.month for p in peaks] == ["2024-06", "2024-07", "2024-08", "2024-09"]
    for peak in peaks:
        assert peak.end_s - peak.start_s == PEAK_INTERVAL_S
        assert (peak.start_s + JUNE.timestamp() - 22 * H) % DAY in {i * 900.0 for i in range(8)}
        assert any(a <= peak.start_s and peak.end_s <= b for a, b in alerts)
    missed = four_cp_peaks(
        spec.model_copy(update={"forecast_hit_probability": 0.0}),
        JUNE,
        122 * DAY,
        alerts,
        np.random.default_rng(3),
    )
    assert not any(a <= p.start_s < b for p in missed for a, b in alerts)
    again = four_cp_peaks(spec, JUNE, 122 * DAY, alerts, np.random.default_rng(3))
    assert again == peaks
    with pytest.raises(ValueError, match="2024-06: no alert window"):
        four_cp_peaks(spec, JUNE, 122 * DAY, [], np.random.default_rng(3))


def test_charges_exact_on_a_hand_made_power_series() -> None:
    spec = FourCpSpec(rate_usd_per_kw_year=120.0)
    peaks = [
        FourCpPeak("2024-06", 1_000.0, 1_900.0),
        FourCpPeak("2024-07", 1_900.0, 2_800.0),  # adjacent: the bin between is empty
        FourCpPeak("2024-08", 10_000.0, 10_900.0),
    ]
    power = StepSeries(np.array([0.0, 1_300.0, 2_000.0]), np.array([1_000.0, 400.0, 0.0]))
    charges = four_cp_charges(spec, power, peaks)
    # (1000·300 + 400·600) / 900 = 600 kW; (400·100) / 900 kW; 0 kW — at 120/4 USD/kW
    assert all(isinstance(c, FourCpCharge) for c in charges)
    assert [(c.month, c.peak_start_s) for c in charges] == [
        ("2024-06", 1_000.0),
        ("2024-07", 1_900.0),
        ("2024-08", 10_000.0),
    ]
    kw = [600.0, 400 / 9, 0.0]
    np.testing.assert_allclose([c.site_power_kw for c in charges], kw, rtol=1e-14)
    np.testing.assert_allclose([c.charge_usd for c in charges], np.multiply(kw, 30), rtol=1e-14)
    assert four_cp_charges(spec, power, []) == []


# --------------------------------------------------------------------------- plan and events


def test_plan_and_event_rows() -> None:
    programs = GridProgramsSpec(
        price_triggered_dr=PriceTriggeredDrSpec(trigger_usd_per_mwh=100, credit_usd_per_mwh=30),
        four_cp=FourCpSpec(months=[6], alert_days_per_month=2, forecast_hit_probability=1.0),
    )
    price = StepSeries(np.array([0.0, 5 * H, 6 * H]), np.array([35.0, 150.0, 35.0]))
    streams = RandomStreams(0)
    plan = plan_grid_programs(programs, price, JUNE, 30 * DAY, streams)
    assert streams.names == ["four_cp"]
    assert plan.price_windows == [Span(5 * H, 6 * H)]
    assert len(plan.alerts) == 2 and len(plan.peaks) == 1
    assert programs.four_cp is not None
    charges = four_cp_charges(programs.four_cp, StepSeries.constant(2_000.0), plan.peaks)
    scheduled = [CreditSpan(2 * H, 4 * H, 50.0)]
    rows = plan_event_rows(programs, scheduled, plan, JUNE)
    assert [r.event for r in rows] == [
        "demand_response",
        "demand_response",
        "four_cp_alert",
        "four_cp_alert",
    ]
    assert [r.time_s for r in rows] == sorted(r.time_s for r in rows)
    planned, dr, alert = rows[0], rows[1], rows[2]
    assert (planned.time_s, planned.value, planned.unit, planned.detail) == (
        2 * H,
        50.0,
        "usd_per_mwh",
        "2 h",
    )
    assert (dr.time_s, dr.value, dr.unit, dr.detail) == (
        5 * H,
        30.0,
        "usd_per_mwh",
        "price-triggered",
    )
    assert (alert.value, alert.unit, alert.detail) == (
        pytest.approx(100 / 1 * 1.0 / 2 / 2 * 1e3),
        "usd_per_mwh",
        "2024-06, 2 h",
    )
    (peak,) = four_cp_peak_rows(plan.alerts, charges)
    assert peak.event == "four_cp_peak"
    assert (peak.value, peak.unit) == (2_000.0, "kw")
    assert peak.detail == "2024-06, in an alert window, charge 200,000 USD"
    quiet = RandomStreams(0)
    assert plan_grid_programs(GridProgramsSpec(), price, JUNE, DAY, quiet) == GridPlan([], [], [])
    assert quiet.names == []  # no 4CP, no stream


def test_a_scenario_cutting_through_a_4cp_month_is_rejected_with_the_field_path() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(SCENARIOS / "spot_curtailment.yaml", ["end_utc=2026-07-15T00:00:00Z"])
    (issue,) = caught.value.issues
    assert issue.path == "site.grid_programs.four_cp.months"
    assert "2026-07" in issue.message
