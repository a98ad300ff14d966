"""Grid programs: price-triggered demand response and the ERCOT 4CP transmission charge.

Everything here is a pure function of exogenous inputs (the energy price path, the calendar,
a random stream) or, for the charge, of the site's power after the run. Spans are
``[start_s, end_s)`` on the simulation time base (seconds since ``start_utc``).

- **Price-triggered demand response.** An event starts when the price is at or above the
  trigger and no event is in force; it ends at the first time, at least ``min_duration_s``
  after its start, when the price is below the trigger.
- **4CP.** In each configured month the site alerts on the ``alert_days_per_month`` weekdays
  whose window has the highest mean energy price. The month's actual 15-minute peak lies in
  one of the alert windows with probability ``forecast_hit_probability`` (alert day uniform,
  quarter hour uniform in the window), otherwise in the window of another weekday (uniform
  too). The month's charge, the site's mean power in that interval × rate / months, is
  :func:`sim.economics.grid.four_cp_charges`.
- **Curtailment credit** the policy sees: the sum of every credit in force — scheduled and
  price-triggered demand response (paid) and, in alert windows, the expected avoided 4CP
  charge per MWh kept off (not paid; the charge falls instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import numpy as np

from sim.economics.grid import FourCpCharge
from sim.economics.inputs import FourCpPeak
from sim.eventlog import EventRow
from sim.rng import RandomStreams
from sim.scenario.four_cp import four_cp_month_windows
from sim.scenario.grid import FourCpSpec, GridProgramsSpec, PriceTriggeredDrSpec
from sim.scenario.schema import DemandResponseSpec
from sim.steps import StepSeries, from_changes
from sim.units import SECONDS_PER_HOUR, unix_seconds

PEAK_INTERVAL_S = 900  # ERCOT 4CP: the system peak is one 15-minute settlement interval
_TIE_DECIMALS = 6  # window means equal to a micro-dollar per MWh tie; the earlier day wins


class Span(NamedTuple):
    """A time span ``[start_s, end_s)`` (s since start_utc)."""

    start_s: float
    end_s: float


class CreditSpan(NamedTuple):
    """A credit per MWh of load kept off, in force on ``[start_s, end_s)``."""

    start_s: float
    end_s: float
    credit_usd_per_mwh: float


@dataclass(frozen=True)
class GridPlan:
    """Everything the grid programs fix before the run (all exogenous to the site)."""

    price_windows: list[Span]
    alerts: list[Span]
    peaks: list[FourCpPeak]


# --------------------------------------------------------------------------- demand response


def price_triggered_windows(
    spec: PriceTriggeredDrSpec, price: StepSeries, horizon_s: float
) -> list[Span]:
    """Spans of price-triggered demand-response events within ``[0, horizon_s)``.

    An event starts at the first time ``t0`` with ``price ≥ trigger`` while no event is in
    force and ends at the first time ``t ≥ t0 + min_duration_s`` with ``price < trigger``
    (the horizon cuts the last one). With ``min_duration_s = 0`` the events are exactly the
    maximal runs of ``price ≥ trigger``. Exact for any piecewise-constant price; the loop runs
    once per event, not per hour.

    Parameters
    ----------
    spec
        The program.
    price
        Energy price (USD/MWh), defined from time 0.
    horizon_s
        End of the run (s).
    """
    starts, ends = _segments(price, horizon_s)
    above = price.at(starts) >= spec.trigger_usd_per_mwh
    if not above.any():
        return []
    rise = above & ~np.concatenate(([False], above[:-1]))
    fall = above & ~np.concatenate((above[1:], [False]))
    run_starts, run_ends = starts[rise], ends[fall]  # maximal runs [run_starts, run_ends)
    spans: list[Span] = []
    i = 0
    while i < run_starts.size:
        start = float(run_starts[i])
        earliest_end = start + spec.min_duration_s
        j = int(np.searchsorted(run_starts, earliest_end, side="right")) - 1  # j ≥ i
        end = max(float(run_ends[j]), earliest_end)  # still above at earliest_end: ride it out
        spans.append(Span(start, min(end, horizon_s)))
        i = j + 1
    return spans


def _segments(price: StepSeries, horizon_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Constant pieces ``[starts[i], ends[i])`` of ``price`` clipped to ``[0, horizon_s)``."""
    starts = np.maximum(price.times_s, 0.0)
    ends = np.minimum(np.append(price.times_s[1:], np.inf), horizon_s)
    keep = ends > starts
    return starts[keep], ends[keep]


def scheduled_spans(
    events: Sequence[DemandResponseSpec], start_utc: datetime, horizon_s: float
) -> list[CreditSpan]:
    """Scheduled demand-response events (``site.demand_response``) as credit spans in the run."""
    start_unix = unix_seconds(start_utc)
    spans = []
    for event in events:
        start = max(unix_seconds(event.start_utc) - start_unix, 0.0)
        end = min(unix_seconds(event.end_utc) - start_unix, horizon_s)
        if end > start:
            spans.append(CreditSpan(start, end, event.credit_usd_per_mwh))
    return spans


# --------------------------------------------------------------------------- 4CP


def four_cp_alerts(
    spec: FourCpSpec, price: StepSeries, start_utc: datetime, horizon_s: float
) -> list[Span]:
    """Alert windows: per covered month, the weekdays with the highest mean window price.

    The price is exogenous to the site, so the predictor may read the whole month's path.
    Ties (to a micro-dollar per MWh, e.g. a fixed price) go to the earlier day. Spans are in
    time order.
    """
    window_s = spec.window_hours * SECONDS_PER_HOUR
    alerts: list[Span] = []
    for month in four_cp_month_windows(spec, start_utc, horizon_s):
        starts = month.starts_s
        total = price.cumulative_at(starts + window_s) - price.cumulative_at(starts)
        mean = np.round(total / window_s, _TIE_DECIMALS)
        best = np.argsort(-mean, kind="stable")[: spec.alert_days_per_month]
        alerts.extend(Span(float(s), float(s + window_s)) for s in np.sort(starts[best]))
    return alerts


def four_cp_peaks(
    spec: FourCpSpec,
    start_utc: datetime,
    horizon_s: float,
    alerts: Sequence[tuple[float, float]],
    rng: np.random.Generator,
) -> list[FourCpPeak]:
    """The actual peak interval of each covered month (stream ``four_cp``).

    With probability ``forecast_hit_probability`` the peak falls on a uniformly chosen alert
    window of the month, otherwise on a uniformly chosen other weekday window; the 15-minute
    interval is uniform among the window's quarter hours. Draws, for all months at once: one
    uniform (hit or miss), one uniform (which day), one integer (which quarter hour) per
    month, so the draws do not depend on the price path.

    Parameters
    ----------
    alerts
        The alert spans of :func:`four_cp_alerts` for the same spec and run.
    rng
        The run's ``four_cp`` stream.
    """
    months = four_cp_month_windows(spec, start_utc, horizon_s)
    n = len(months)
    hit = rng.random(n) < spec.forecast_hit_probability
    pick = rng.random(n)
    quarter = rng.integers(0, spec.window_hours * SECONDS_PER_HOUR // PEAK_INTERVAL_S, size=n)
    peaks = []
    for i, month in enumerate(months):
        alerted = _alerted(month.starts_s, alerts)
        pool = month.starts_s[alerted if hit[i] else ~alerted]
        if pool.size == 0:
            raise ValueError(
                f"{month.month}: no {'alert' if hit[i] else 'other'} window to place the peak "
                "in; pass the alerts of four_cp_alerts"
            )
        start = float(pool[int(pick[i] * pool.size)] + quarter[i] * PEAK_INTERVAL_S)
        peaks.append(FourCpPeak(month.month, start, start + PEAK_INTERVAL_S))
    return peaks


def _alerted(times_s: np.ndarray, alerts: Sequence[tuple[float, float]]) -> np.ndarray:
    """Whether each time lies in one of the (disjoint) alert spans."""
    if not alerts:
        return np.zeros(np.shape(times_s), dtype=bool)
    order = sorted(alerts)
    a = np.array([s for s, _ in order])
    b = np.array([e for _, e in order])
    idx = np.searchsorted(a, times_s, side="right") - 1
    return (idx >= 0) & (times_s < b[np.maximum(idx, 0)])


# --------------------------------------------------------------------------- credits


def credit_from_spans(spans: Sequence[tuple[float, float, float]]) -> StepSeries:
    """Sum of the credits in force at each time (USD/MWh), from time 0; 0 outside all spans.

    Overlapping spans add. Each level is computed as Σ credit × (number of its spans in
    force), so it is exact and exactly 0 where no span is in force.
    """
    if not spans:
        return StepSeries.constant(0.0)
    s, e, c = (np.array([span[k] for span in spans], dtype=float) for k in range(3))
    s = np.maximum(s, 0.0)
    keep = e > s
    s, e, c = s[keep], e[keep], c[keep]
    times = np.unique(np.concatenate(([0.0], s, e)))
    values = np.zeros(times.size)
    for credit in np.unique(c):
        mine = c == credit
        ones = np.ones(int(mine.sum()))
        in_force = from_changes(np.concatenate((s[mine], e[mine])), np.concatenate((ones, -ones)))
        values = values + credit * in_force.at(times)
    changed = np.concatenate(([True], values[1:] != values[:-1]))
    return StepSeries(times[changed], values[changed])


def curtail_credit(
    programs: GridProgramsSpec,
    scheduled: Sequence[tuple[float, float, float]],
    price_windows: Sequence[tuple[float, float]],
    alerts: Sequence[tuple[float, float]],
) -> StepSeries:
    """Credit per MWh of ASIC load kept off that the policy weighs (USD/MWh, from time 0).

    The sum of the scheduled events' credits, the price-triggered credit in its events and
    :attr:`FourCpSpec.alert_credit_usd_per_mwh` in the alert windows; where they overlap,
    they add (separate programs each pay, or save, for the same MWh kept off).

    Parameters
    ----------
    programs
        The site's grid programs.
    scheduled
        ``(start_s, end_s, credit_usd_per_mwh)`` of each scheduled event.
    price_windows
        Spans of :func:`price_triggered_windows` (empty without that program).
    alerts
        Spans of :func:`four_cp_alerts` (empty without 4CP, or for the paid credit).
    """
    spans = [CreditSpan(*span) for span in scheduled]
    if price_windows:
        if programs.price_triggered_dr is None:
            raise ValueError("price_windows given without a price_triggered_dr program")
        credit = programs.price_triggered_dr.credit_usd_per_mwh
        spans += [CreditSpan(s, e, credit) for s, e in price_windows]
    if alerts:
        if programs.four_cp is None:
            raise ValueError("alerts given without a four_cp program")
        credit = programs.four_cp.alert_credit_usd_per_mwh
        spans += [CreditSpan(s, e, credit) for s, e in alerts]
    return credit_from_spans(spans)


def paid_credit(
    programs: GridProgramsSpec,
    scheduled: Sequence[tuple[float, float, float]],
    price_windows: Sequence[tuple[float, float]],
) -> StepSeries:
    """Credit the grid pays per MWh of ASIC load kept off (USD/MWh): no 4CP term.

    The 4CP alert credit is an expected saving, which the charge already shows; integrate
    this series, not :func:`curtail_credit`, against the curtailed power for revenue.
    """
    return curtail_credit(programs, scheduled, price_windows, [])


# --------------------------------------------------------------------------- plan and events


def plan_grid_programs(
    programs: GridProgramsSpec,
    price: StepSeries,
    start_utc: datetime,
    horizon_s: float,
    streams: RandomStreams,
) -> GridPlan:
    """Event windows, alerts and peaks of the configured programs.

    The stream ``four_cp`` is taken from ``streams`` only when 4CP is configured, so runs
    without it list no extra stream.
    """
    dr, cp = programs.price_triggered_dr, programs.four_cp
    windows = [] if dr is None else price_triggered_windows(dr, price, horizon_s)
    if cp is None:
        return GridPlan(windows, [], [])
    alerts = four_cp_alerts(cp, price, start_utc, horizon_s)
    peaks = four_cp_peaks(cp, start_utc, horizon_s, alerts, streams.get("four_cp"))
    return GridPlan(windows, alerts, peaks)


def plan_event_rows(
    programs: GridProgramsSpec, scheduled: Sequence[CreditSpan], plan: GridPlan, start_utc: datetime
) -> list[EventRow]:
    """Rows for ``events.csv`` of what the programs fix before the run, in time order.

    Logged when the site is built, so at equal times they come before the grants that
    answer them. Add each with ``EventLog.add(*row)``:

    - ``demand_response`` at each scheduled event's start: its credit (usd_per_mwh), detail
      its length (``<h> h``);
    - ``demand_response`` at each price-triggered start: the credit, detail
      ``price-triggered``;
    - ``four_cp_alert`` at each alert start: the alert credit (usd_per_mwh), detail
      ``YYYY-MM, <h> h``.
    """
    rows = [
        EventRow(
            span.start_s,
            "demand_response",
            "site",
            span.credit_usd_per_mwh,
            "usd_per_mwh",
            f"{(span.end_s - span.start_s) / SECONDS_PER_HOUR:g} h",
        )
        for span in scheduled
    ]
    if programs.price_triggered_dr is not None:
        credit = programs.price_triggered_dr.credit_usd_per_mwh
        for s, _ in plan.price_windows:
            rows.append(
                EventRow(s, "demand_response", "site", credit, "usd_per_mwh", "price-triggered")
            )
    cp = programs.four_cp
    if cp is not None:
        for s, _ in plan.alerts:
            detail = f"{local_month(cp, start_utc, s)}, {cp.window_hours} h"
            rows.append(
                EventRow(
                    s, "four_cp_alert", "site", cp.alert_credit_usd_per_mwh, "usd_per_mwh", detail
                )
            )
    return sorted(rows, key=lambda row: row.time_s)


def four_cp_peak_rows(
    alerts: Sequence[tuple[float, float]], charges: Sequence[FourCpCharge]
) -> list[EventRow]:
    """A ``four_cp_peak`` row at each month's peak, once the run knows the site's power.

    The value is the site's mean power in the peak (kw), the detail the month, whether an
    alert covered it and the charge.
    """
    caught = _alerted(np.array([c.peak_start_s for c in charges]), alerts)
    rows = []
    for charge, hit in zip(charges, caught, strict=True):
        when = "in an alert window" if hit else "missed by the alerts"
        detail = f"{charge.month}, {when}, charge {charge.charge_usd:,.0f} USD"
        rows.append(
            EventRow(
                charge.peak_start_s, "four_cp_peak", "site", charge.site_power_kw, "kw", detail
            )
        )
    return rows


def local_month(spec: FourCpSpec, start_utc: datetime, t_s: float) -> str:
    """Local calendar month ``YYYY-MM`` of simulation time ``t_s``."""
    offset_s = round(spec.utc_offset_hours * SECONDS_PER_HOUR)
    local = int(np.floor(unix_seconds(start_utc) + t_s + offset_s))
    return str(np.datetime64(local, "s").astype("datetime64[M]"))
