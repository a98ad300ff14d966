"""Scenario sections of the economic network: miners' cohorts, their power costs and entry.

Read by :mod:`sim.model.hashrate_supply` when ``bitcoin.network_hashrate.model`` is
``economic``; defaults are the fit of ``tools/calibrate_network.py`` to 2024–2025
(docs/model.md §2.8).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from sim.scenario.fields import Name, Section

# the start cohorts' fractions must add up to one, up to the rounding of typed decimals
FRACTION_SUM_TOLERANCE = 1e-6


class CohortSpec(Section):
    """Miners of one efficiency class installed at start_utc."""

    name: Name = Field(description="Cohort name in network.csv.")
    efficiency_j_per_th: float = Field(
        gt=0, le=1_000, description="Energy per terahash of the cohort's machines (J/TH)."
    )
    hashrate_fraction: float = Field(
        gt=0,
        le=1,
        description="Share of the network's installed hashrate at start_utc (fraction; the "
        "cohorts' shares add up to 1).",
    )


def _default_cohorts() -> list[CohortSpec]:
    # assumption: the early-2024 fleet by class, S21 / S19 XP / S19j Pro / older S19
    return [
        CohortSpec(name="class-18jth", efficiency_j_per_th=18.0, hashrate_fraction=0.10),
        CohortSpec(name="class-22jth", efficiency_j_per_th=22.0, hashrate_fraction=0.25),
        CohortSpec(name="class-30jth", efficiency_j_per_th=30.0, hashrate_fraction=0.45),
        CohortSpec(name="class-38jth", efficiency_j_per_th=38.0, hashrate_fraction=0.20),
    ]


class EconomicNetworkSpec(Section):
    """The world's miners: who runs at the current hashprice, who buys new machines."""

    cohorts: list[CohortSpec] = Field(
        default_factory=_default_cohorts,
        min_length=1,
        max_length=50,
        description="Efficiency classes of the network's installed hashrate at start_utc; "
        "their running hashrate matches start_ehs (or the start difficulty's).",
    )
    power_cost_median_usd_per_mwh: float = Field(
        37.7,
        gt=0,
        le=1_000,
        description="Median power cost of the world's miners (USD/MWh); costs are lognormal "
        "across miners and the same in every cohort.",
    )
    power_cost_sigma: float = Field(
        1.5,
        ge=0,
        le=3,
        description="Sigma of log power cost across miners (log units; 0 = every miner pays "
        "the median, so a cohort runs wholly or not at all; below ≈1.5 the retarget loop can "
        "oscillate when most machines are under water, docs/model.md §2.8).",
    )
    capex_usd_per_th: float = Field(
        20.0,
        gt=0,
        le=10_000,
        description="Price of one TH/s of new machines, installed (USD/TH).",
    )
    payback_days: float = Field(
        1_000.0,
        gt=0,
        le=3_650,
        description="Investors buy when today's margin of a new machine repays its price "
        "within this many days (d).",
    )
    entry_rate_per_year: float = Field(
        0.44,
        ge=0,
        le=100,
        description="Orders per year, as a fraction of the installed hashrate, per unit of "
        "(margin·payback / capex − 1) (1/year).",
    )
    lag_days: float = Field(
        90.0,
        ge=1,
        le=730,
        description="Time from order to hashing: ASIC delivery and site build-out (d).",
    )
    best_efficiency_j_per_th: float = Field(
        17.5,
        gt=0,
        le=1_000,
        description="Efficiency of machines ordered at start_utc (J/TH).",
    )
    efficiency_gain_per_year: float = Field(
        0.15,
        ge=0,
        lt=1,
        description="Yearly fall of the efficiency of new machines (fraction; J/TH × (1 − "
        "gain) per year).",
    )
    retirement_per_year: float = Field(
        0.05,
        ge=0,
        le=10,
        description="Installed hashrate that fails or is scrapped, per year (1/year).",
    )
    vintage_days: float = Field(
        91.0,
        ge=1,
        le=3_650,
        description="Orders placed in each window of this length form one new cohort, at the "
        "window's starting efficiency (d).",
    )
    entry_noise_sigma: float = Field(
        0.0,
        ge=0,
        le=3,
        description="Sigma of a mean-one lognormal factor on each vintage's orders (log "
        "units; stream network_entry): lumpy ASIC shipments.",
    )

    @field_validator("cohorts")
    @classmethod
    def _fractions_add_up(cls, value: list[CohortSpec]) -> list[CohortSpec]:
        total = sum(cohort.hashrate_fraction for cohort in value)
        if abs(total - 1.0) > FRACTION_SUM_TOLERANCE:
            raise ValueError(f"hashrate_fraction values must add up to 1 (got {total:g})")
        names = [cohort.name for cohort in value]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"names {', '.join(repeated)} more than once")
        return value
