"""Scenario section for the outdoor ambient temperature (dry bulb) that drives the cooling.

The ambient is either a climate preset (annual and daily cosines plus a mean-reverting
weather deviation, see :mod:`sim.model.ambient`) or the replay of an hourly CSV; scheduled
heat waves add to either. A preset's parameters are data in :data:`AMBIENT_PRESETS`; any
parameter left null in the scenario is filled from the chosen preset when the scenario
loads, so the manifest shows the values used.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from sim.scenario.fields import Section, UtcDatetime

AmbientPreset = Literal["west_texas", "quebec", "nordic"]
AMBIENT_CSV_COLUMN = "ambient_temp_c"  # value column of an ambient CSV (timestamp_utc, …)
# Range of an ambient CSV's values (°C): a little beyond the coldest (−89 °C, Vostok) and
# hottest (≈57 °C, Death Valley) air temperatures measured on Earth.
AMBIENT_LIMITS_C = (-90.0, 60.0)

# Climate presets. Every number is an ASSUMPTION rounded from public climate normals
# (docs/sources.md#climate-normals; approximate figures, worth checking against the tables):
#
# west_texas: Midland, TX (NOAA NCEI U.S. Climate Normals 1991–2020, Midland Intl, MAF):
#   annual mean ≈ 18 °C, January mean ≈ 7 °C, July mean ≈ 28 °C, July mean high ≈ 35 °C,
#   January mean low ≈ 0 °C, roughly ten days a year at or above 38 °C (100 °F) and 40 °C+
#   on a few. Mean 18 ± 10.5 gives 7.5 / 28.5 °C; the daily range of ≈ 14 °C gives a
#   diurnal amplitude of 7 °C (July high 35.5 °C before the weather noise). Local time is
#   US Central Standard Time (UTC−6); the afternoon maximum is near 16:00 CST.
# quebec: Montreal area (Environment and Climate Change Canada normals 1981–2010,
#   Montréal–Trudeau Intl): annual mean ≈ 7 °C, January ≈ −10 °C, July ≈ 21 °C, July mean
#   high ≈ 26 °C. A cosine cannot match all three (winter is longer than summer); 6.5 ± 15.5
#   gives −9 / 22 °C. Daily range ≈ 9–10 °C → amplitude 4.5 °C. UTC−5, maximum near 15:00.
# nordic: Luleå, northern Sweden (SMHI normals 1991–2020): annual mean ≈ 2–3 °C, January
#   ≈ −11 °C, July ≈ 16 °C, July mean high ≈ 20 °C. 2.5 ± 13.5 gives −11 / 16 °C; small
#   daily range (polar night, maritime summer) → amplitude 3.5 °C. UTC+1, maximum near 15:00.
#
# The weather deviation (stationary sd, e-folding time) is an assumption for all three:
# day-to-day anomalies of daily mean temperature at mid and high latitudes have a standard
# deviation of ≈ 2–6 °C (larger in winter, larger inland and further north) and a lag-one-day
# autocorrelation of ≈ 0.6–0.75, i.e. e-folding times of ≈ 2–3.5 days. One stationary value
# per site is a compromise between summer and winter. With these values the hot tails differ
# as intended (checked in tests/validation/test_ambient_model.py): west Texas has ≈ 4–5 days
# a year reaching 40 °C and ≈ 14 reaching 38 °C; Quebec ≈ 10 days a year reaching 30 °C and
# one reaching 35 °C every other year; the Nordic site reaches 27 °C about one day a year.
AMBIENT_PRESETS: dict[str, dict[str, float]] = {
    "west_texas": {
        "mean_c": 18.0,
        "seasonal_amplitude_c": 10.5,
        "hottest_day_of_year": 195.0,  # 14 July
        "diurnal_amplitude_c": 7.0,
        "hottest_hour_local": 16.0,
        "utc_offset_hours": -6.0,
        "noise_std_c": 3.0,
        "noise_correlation_hours": 48.0,
    },
    "quebec": {
        "mean_c": 6.5,
        "seasonal_amplitude_c": 15.5,
        "hottest_day_of_year": 200.0,  # 19 July
        "diurnal_amplitude_c": 4.5,
        "hottest_hour_local": 15.0,
        "utc_offset_hours": -5.0,
        "noise_std_c": 3.5,
        "noise_correlation_hours": 60.0,
    },
    "nordic": {
        "mean_c": 2.5,
        "seasonal_amplitude_c": 13.5,
        "hottest_day_of_year": 203.0,  # 22 July
        "diurnal_amplitude_c": 3.5,
        "hottest_hour_local": 15.0,
        "utc_offset_hours": 1.0,
        "noise_std_c": 3.5,
        "noise_correlation_hours": 72.0,
    },
}


def _preset_value(
    description: str,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> Any:
    return Field(None, ge=ge, lt=lt, le=le, description=f"{description} Null = the preset's value.")


class HeatWaveSpec(Section):
    """A heat wave: a fixed temperature added to the ambient over a time window."""

    start_utc: UtcDatetime = Field(description="Start of the heat wave (UTC).")
    end_utc: UtcDatetime = Field(description="End of the heat wave, exclusive (UTC).")
    extra_c: float = Field(gt=0, description="Temperature added to the ambient during it (°C).")

    @model_validator(mode="after")
    def _ordered(self) -> HeatWaveSpec:
        if self.end_utc <= self.start_utc:
            raise ValueError(
                f"end_utc ({self.end_utc.isoformat()}) must be after start_utc "
                f"({self.start_utc.isoformat()})"
            )
        return self


class AmbientSpec(Section):
    """Outdoor dry-bulb temperature: a climate preset or a CSV, plus scheduled heat waves."""

    model: Literal["preset", "csv"] = Field(
        "preset",
        description="'preset': annual and daily cosines plus an Ornstein–Uhlenbeck weather "
        "deviation, hourly; 'csv': replay a file.",
    )
    preset: AmbientPreset = Field(
        "west_texas",
        description="Climate whose parameters fill the null fields below: 'west_texas' "
        "(Midland, TX), 'quebec' (Montreal area) or 'nordic' (Luleå, Sweden).",
    )
    mean_c: float = _preset_value("Annual mean temperature (°C).", ge=-60, le=60)
    seasonal_amplitude_c: float = _preset_value(
        "Amplitude of the annual cosine (°C; the hottest minus the coldest day is twice it).",
        ge=0,
    )
    hottest_day_of_year: float = _preset_value(
        "Local day of the year when the annual cosine peaks (1 = 1 January 00:00).", ge=1, lt=367
    )
    diurnal_amplitude_c: float = _preset_value(
        "Amplitude of the daily cosine (°C; half the mean daily range).", ge=0
    )
    hottest_hour_local: float = _preset_value(
        "Local hour of day when the daily cosine peaks (h, 0 = midnight).", ge=0, lt=24
    )
    utc_offset_hours: float = _preset_value(
        "Local time = UTC + this, for the day of the year and the hour of day (h; fixed, no "
        "daylight saving).",
        ge=-12,
        le=14,
    )
    noise_std_c: float = _preset_value(
        "Stationary standard deviation of the weather deviation (°C).", ge=0
    )
    noise_correlation_hours: float = _preset_value(
        "E-folding time of the weather deviation's autocorrelation (h; lag-k hours "
        "correlation exp(−k/this)).",
        ge=0.01,
        le=87_660,
    )
    csv_path: str | None = Field(
        None,
        description="CSV with columns timestamp_utc (or date), ambient_temp_c; each value "
        "holds until the next row (model 'csv'; hourly rows expected); relative to the "
        "scenario file.",
    )
    heat_waves: list[HeatWaveSpec] = Field(
        default_factory=list,
        description="Heat waves added to the ambient of either model; overlapping waves add up.",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # an unknown preset is reported by its own field; fill west_texas to avoid a cascade
        preset = data.get("preset")
        values = AMBIENT_PRESETS.get(preset if isinstance(preset, str) else "west_texas")
        values = values or AMBIENT_PRESETS["west_texas"]
        return {**data, **{k: v for k, v in values.items() if data.get(k) is None}}

    @model_validator(mode="after")
    def _csv_path_matches_model(self) -> AmbientSpec:
        if self.model == "csv" and self.csv_path is None:
            raise ValueError("csv_path is required with model 'csv'")
        if self.model != "csv" and self.csv_path is not None:
            raise ValueError("csv_path is only used with model 'csv'")
        return self
