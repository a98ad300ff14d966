"""Scenario sections for faults: grid outages, and hardware failures repaired by a crew.

Every fault is off by default (no outages, failure rates 0), so a scenario that does not
ask for faults runs as it did before they existed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from sim.scenario.fields import Section, UtcDatetime

# A fault longer than a year is a decommissioning, not an outage or a repair.
MAX_FAULT_S = 366 * 86_400.0


class FaultDurationSpec(Section):
    """How long a fault lasts: an outage, or a repair once a technician starts it."""

    distribution: Literal["lognormal", "exponential", "constant"] = Field(
        "lognormal", description="Distribution of durations."
    )
    mean_s: float = Field(gt=0, le=MAX_FAULT_S, description="Mean duration (s, at most a year).")
    sigma: float = Field(1.0, gt=0, le=5, description="Log-sd of the lognormal (log units).")


class GridOutagesSpec(Section):
    """Utility outages: the whole site loses grid power (no backup yet)."""

    rate_per_year: float = Field(
        ge=0,
        le=1_000,
        description="Outages per year, a Poisson process (US utilities: SAIFI ≈ 1.0–1.4, "
        "docs/sources.md#grid-reliability).",
    )
    duration: FaultDurationSpec = Field(
        default_factory=lambda: FaultDurationSpec(mean_s=5_400.0),
        description="Outage durations; an outage starting during another extends it.",
    )


class CoolingFailuresSpec(Section):
    """Failures of a hall's cooling plant: part of its heat-rejection capacity is lost."""

    rate_per_year: float = Field(
        ge=0, le=1_000, description="Failures per year, a Poisson process (1 / MTBF)."
    )
    duration: FaultDurationSpec = Field(
        default_factory=lambda: FaultDurationSpec(mean_s=21_600.0, sigma=0.5),
        description="Time to repair (MTTR = mean_s); a failure during another extends it.",
    )
    capacity_lost_fraction: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Share of the hall's heat-rejection capacity lost while failed (1 = all).",
    )


class BackupSpec(Section):
    """Backup power of a hall: a UPS that bridges to a generator during grid outages."""

    ups_power_kw: float = Field(
        0.0, ge=0, le=10_000_000, description="Power the UPS can deliver (kW; IT + cooling)."
    )
    ups_energy_kwh: float = Field(
        0.0,
        ge=0,
        le=100_000_000,
        description="Energy stored in the UPS (kWh); it lasts ups_energy_kwh / ups_power_kw "
        "(its autonomy at rated power, a conservative bound).",
    )
    ups_recharge_kw: float | None = Field(
        None,
        gt=0,
        le=10_000_000,
        description="Power that recharges the UPS once the grid is back (kW); an outage soon "
        "after another finds it partly charged. null = 10 % of ups_power_kw (a full "
        "discharge takes ten times as long to recharge; an assumption).",
    )
    generator_kw: float = Field(
        0.0, ge=0, le=10_000_000, description="Generator capacity (kW; IT + cooling); 0 = none."
    )
    generator_start_delay_s: float = Field(
        10.0, ge=0, le=3_600, description="From the outage to the generator carrying load (s)."
    )
    generator_start_failure_probability: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Chance that the generator fails to start in an outage (the hall goes "
        "dark once the UPS is empty).",
    )
    fuel_cost_usd_per_mwh: float = Field(
        300.0,
        ge=0,
        le=100_000,
        description="Fuel cost of a MWh from the generator (USD/MWh; diesel at ≈0.07 gal/kWh "
        "and $4/gal is ≈$280, an assumption).",
    )


class SparesSpec(Section):
    """Spare parts of a hardware group: a repair uses one, and each used one is reordered."""

    stock: int = Field(ge=0, le=1_000_000, description="Spare parts on hand at the start.")
    lead_time: FaultDurationSpec = Field(
        default_factory=lambda: FaultDurationSpec(distribution="exponential", mean_s=1_209_600.0),
        description="From using a part to its replacement arriving (default: exponential, "
        "two weeks).",
    )


def weibull_shape_field() -> float:
    """The shape of a hardware group's times to failure."""
    result: float = Field(
        1.0,
        ge=0.2,
        le=10,
        description="Weibull shape k of the time to failure (1 = exponential; > 1 wear-out, "
        "< 1 infant mortality; units start at age_at_start_days); the mean life stays "
        "1 / annual_failure_rate.",
    )
    return result


def age_at_start_days_field() -> float:
    """How old a hardware group's units are when the run starts."""
    result: float = Field(
        0.0,
        ge=0,
        le=36_500,
        description="Age of the group's units at the start, all the same (days; 0 = new). "
        "With weibull_shape ≠ 1 it places them on the wear-out (or infant-mortality) curve; "
        "exponential lives have no memory, so it changes nothing there.",
    )
    return result


def spares_field() -> SparesSpec | None:
    """The spares field of a hardware group."""
    result: SparesSpec | None = Field(
        None,
        description="Spare parts and their reorder lead time; a failed unit waits for a part "
        "before a technician. null = a part is always at hand.",
    )
    return result


class MaintenanceWindowSpec(Section):
    """A planned shutdown of a hall: its hardware is off and out of service."""

    start_utc: UtcDatetime = Field(description="Start of the window (UTC).")
    end_utc: UtcDatetime = Field(description="End of the window (UTC).")


class CurtailmentOrderSpec(Section):
    """A utility order to draw at most a share of the interconnect for a period."""

    start_utc: UtcDatetime = Field(description="Start of the order (UTC).")
    end_utc: UtcDatetime = Field(description="End of the order (UTC).")
    grid_share: float = Field(
        ge=0, le=1, description="Share of site.grid_capacity_kw the site may draw meanwhile."
    )


class RepairCrewSpec(Section):
    """The technicians who repair failed ASICs and GPU nodes, one unit at a time each."""

    technicians: int = Field(
        2, ge=1, le=100_000, description="Repairs in progress at once; more wait in line."
    )
    repair_time: FaultDurationSpec = Field(
        default_factory=lambda: FaultDurationSpec(mean_s=14_400.0, sigma=0.5),
        description="Hands-on time of one repair, from the moment a technician starts it.",
    )


def annual_failure_rate_field(unit: str) -> float:
    """The failure-rate field of a hardware group (failures per ``unit`` per year)."""
    result: float = Field(
        0.0,
        ge=0,
        le=100,
        description=f"Failures per {unit} per year of installation (0.05 = 5 %/year; "
        "exponential times to failure); 0 = never fails.",
    )
    return result
