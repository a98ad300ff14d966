"""Scenario sections for grid programs: price-triggered demand response and ERCOT 4CP.

Both programs pay the site for ASIC load it keeps off. Price-triggered demand response pays
a credit per MWh while the energy price is high; 4CP (four coincident peaks) sets next
year's transmission charge from the site's power in one 15-minute system peak in each of
June–September, so a site that curtails in the predicted peak windows avoids most of it
(docs/sources.md#ercot-4cp). The model is in :mod:`sim.model.grid_programs` and docs/model.md.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from sim.scenario.fields import Section

MIN_WEEKDAYS_PER_MONTH = 20  # February of a common year: exactly four weeks


class PriceTriggeredDrSpec(Section):
    """The grid calls a demand-response event whenever the energy price reaches a trigger."""

    trigger_usd_per_mwh: float = Field(
        gt=0,
        description="An event starts when the energy price is at or above this (USD/MWh).",
    )
    credit_usd_per_mwh: float = Field(
        gt=0,
        description="Credit per MWh of ASIC load kept off while an event lasts (USD/MWh).",
    )
    min_duration_s: int = Field(
        0,
        ge=0,
        le=7 * 86_400,
        description="Once started, an event lasts at least this long, then until the price "
        "is below the trigger (s; 0 = exactly while the price is at or above it).",
    )


class FourCpSpec(Section):
    """ERCOT 4CP: one 15-minute system peak per summer month sets the transmission charge."""

    rate_usd_per_kw_year: float = Field(
        100.0,
        gt=0,
        description="Transmission charge per kW of the site's mean power in the peak "
        "intervals, per year (USD/kW-year; docs/sources.md#ercot-4cp: ≈50–150).",
    )
    months: list[Annotated[int, Field(ge=1, le=12)]] = Field(
        [6, 7, 8, 9],
        min_length=1,
        max_length=12,
        description="Calendar months (1–12, increasing) with one peak each; each sets "
        "rate_usd_per_kw_year / len(months) per kW.",
    )
    utc_offset_hours: float = Field(
        -6.0,
        ge=-12,
        le=14,
        description="Local time = UTC + this, for months, weekdays and windows (h; fixed, no "
        "daylight saving; −6 = US Central Standard Time).",
    )
    window_start_local_hour: int = Field(
        16,
        ge=0,
        le=23,
        description="Local hour when each day's possible-peak window starts (h of day).",
    )
    window_hours: int = Field(
        2,
        ge=1,
        le=24,
        description="Length of each day's possible-peak window; it ends by local midnight (h).",
    )
    alert_days_per_month: int = Field(
        5,
        ge=1,
        le=MIN_WEEKDAYS_PER_MONTH - 1,
        description="Weekdays per month the site expects a peak and curtails in the window: "
        "those with the highest mean energy price in it (days; ≤ 19 leaves a weekday for a "
        "missed peak).",
    )
    forecast_hit_probability: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Probability that a month's actual peak falls in one of its alert windows "
        "(else on another weekday's window).",
    )

    @field_validator("months")
    @classmethod
    def _increasing(cls, months: list[int]) -> list[int]:
        if any(a >= b for a, b in zip(months, months[1:], strict=False)):
            raise ValueError("must be strictly increasing, e.g. [6, 7, 8, 9]")
        return months

    @field_validator("window_hours")
    @classmethod
    def _window_within_day(cls, hours: int, info: ValidationInfo) -> int:
        start = info.data.get("window_start_local_hour")
        if start is not None and start + hours > 24:
            raise ValueError(
                f"the window must end by local midnight: window_start_local_hour {start} + "
                f"{hours} h = {start + hours} > 24"
            )
        return hours

    @property
    def alert_credit_usd_per_mwh(self) -> float:
        """Expected avoided charge per MWh kept off through an alert window (USD/MWh).

        ``rate / n_months × (hit probability / alert days) / window_hours × 1000``: the charge
        per kW of one month's peak, times the chance that this window holds the peak, per
        MWh that 1 kW kept off through the window saves.
        """
        chance = self.forecast_hit_probability / self.alert_days_per_month
        return self.rate_usd_per_kw_year / len(self.months) * chance / self.window_hours * 1e3


class GridProgramsSpec(Section):
    """Grid programs the site takes part in (each null = not enrolled)."""

    price_triggered_dr: PriceTriggeredDrSpec | None = Field(
        None,
        description="Demand response called whenever the energy price reaches a trigger; null "
        "= none.",
    )
    four_cp: FourCpSpec | None = Field(
        None,
        description="ERCOT 4CP transmission charge with peak alerts; null = no charge.",
    )
