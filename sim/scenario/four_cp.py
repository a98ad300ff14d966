"""The 4CP calendar: the weekday windows of each configured month that a run covers.

A pure function of the scenario's dates and :class:`~sim.scenario.grid.FourCpSpec`, shared
by the scenario checks (a month only partly inside the run is an error) and the model
(:mod:`sim.model.grid_programs` alerts and draws peaks in the months covered whole).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from sim.scenario.grid import FourCpSpec
from sim.units import SECONDS_PER_DAY, SECONDS_PER_HOUR, unix_seconds


@dataclass(frozen=True)
class MonthWindows:
    """The possible-peak windows of one 4CP month: one per local weekday."""

    month: str  # local calendar month, 'YYYY-MM'
    starts_s: np.ndarray  # window starts, increasing (s since start_utc)


def four_cp_month_windows(
    spec: FourCpSpec, start_utc: datetime, horizon_s: float
) -> list[MonthWindows]:
    """Weekday windows of each configured month that the run covers whole, in time order.

    A month counts when every one of its weekdays (Monday–Friday, local) has its window
    ``[window_start_local_hour, + window_hours)`` inside ``[0, horizon_s)``; months the run
    covers in part have no alerts, no peak and no charge (see :func:`partial_four_cp_months`).
    A run of several years has the configured months of every calendar year.
    """
    return _month_windows(spec, start_utc, horizon_s)[0]


def partial_four_cp_months(spec: FourCpSpec, start_utc: datetime, horizon_s: float) -> list[str]:
    """Configured months that overlap the run but are not covered whole (hence not charged)."""
    return _month_windows(spec, start_utc, horizon_s)[1]


def _month_windows(
    spec: FourCpSpec, start_utc: datetime, horizon_s: float
) -> tuple[list[MonthWindows], list[str]]:
    start_unix = unix_seconds(start_utc)
    offset_s = round(spec.utc_offset_hours * SECONDS_PER_HOUR)
    first_day = int(np.floor((start_unix + offset_s) / SECONDS_PER_DAY))
    last_day = int(np.floor((start_unix + horizon_s + offset_s) / SECONDS_PER_DAY))
    days = np.arange(first_day, last_day + 1, dtype=np.int64)  # local days since 1970-01-01
    weekday = (days + 3) % 7 < 5  # 1970-01-01 was a Thursday; Monday = 0
    month = days.astype("datetime64[D]").astype("datetime64[M]")
    starts = (
        days * SECONDS_PER_DAY
        + spec.window_start_local_hour * SECONDS_PER_HOUR
        - offset_s
        - start_unix
    ).astype(float)
    ends = starts + spec.window_hours * SECONDS_PER_HOUR
    inside = (starts >= 0) & (ends <= horizon_s)
    touching = (ends > 0) & (starts < horizon_s)
    covered: list[MonthWindows] = []
    partial: list[str] = []
    for m in np.unique(month[weekday]):
        if int(m.astype(np.int64)) % 12 + 1 not in spec.months:
            continue
        sel = weekday & (month == m)
        first = m.astype("datetime64[D]")
        weekdays_in_month = int(np.busday_count(first, (m + 1).astype("datetime64[D]")))
        label = str(m)
        if sel.sum() == weekdays_in_month and inside[sel].all():
            covered.append(MonthWindows(label, starts[sel]))
        elif touching[sel].any():
            partial.append(label)
    return covered, partial
