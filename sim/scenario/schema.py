"""Scenario schema: every field with its unit, default and one-line description.

This module is the single place where configuration is declared (CONVENTIONS §2). Model
code reads the validated, frozen :class:`Scenario` and never supplies defaults of its own.
Cross-field checks that need several sections at once live in :mod:`sim.scenario.checks`.
"""

from __future__ import annotations

import typing
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from sim.scenario.ai import AiSpec, GpuNodeTypeSpec
from sim.scenario.ambient import AmbientSpec
from sim.scenario.catalog import CoolingType
from sim.scenario.facility import HallSpec
from sim.scenario.faults import (
    CurtailmentOrderSpec,
    GridOutagesSpec,
    RepairCrewSpec,
    SparesSpec,
    age_at_start_days_field,
    annual_failure_rate_field,
    spares_field,
    weibull_shape_field,
)
from sim.scenario.fields import INT64_MAX, Name, Section, UtcDatetime
from sim.scenario.grid import GridProgramsSpec
from sim.scenario.hashrate_supply import EconomicNetworkSpec
from sim.scenario.inputs import InputFiles

# Far beyond the last halving (height 6,930,000), yet heights plus any run's blocks stay
# well inside 64-bit integers.
MAX_HEIGHT = 1_000_000_000

TableName = Literal[
    "timeseries", "daily", "groups", "blocks", "jobs", "events", "summary", "network"
]
TABLE_NAMES: tuple[TableName, ...] = typing.get_args(TableName)
# network.csv is asked for by name: only an economic network fills it
DEFAULT_TABLES: tuple[TableName, ...] = TABLE_NAMES[:-1]


class OutputSpec(Section):
    """What the run records and in which file format."""

    sample_interval_s: int = Field(
        3_600, ge=60, le=86_400, description="Length of one timeseries.csv row (s)."
    )
    tables: list[TableName] = Field(
        list(DEFAULT_TABLES),
        min_length=1,
        description="Tables written to the output folder, each at most once (blocks is about "
        "two thirds of a baseline run's bytes); manifest.json is always written. network "
        "(the economic network's cohorts) is written only when listed.",
    )
    format: Literal["csv", "parquet"] = Field(
        "csv",
        description="'csv': text with a documented precision per column; 'parquet': typed "
        "columns with full-precision floats (read with pandas.read_parquet).",
    )

    @field_validator("tables")
    @classmethod
    def _each_table_once(cls, value: list[TableName]) -> list[TableName]:
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return value


class NetworkHashrateSpec(Section):
    """The whole network's hashrate (the site's hashrate is part of it)."""

    model: Literal["gbm", "csv", "economic"] = Field(
        "gbm",
        description="'gbm': growth plus volatility; 'csv': replay a file; 'economic': miners "
        "run while hashprice covers their power and buy machines when it pays (see economic).",
    )
    start_ehs: float | None = Field(
        None,
        gt=0,
        description="Network hashrate at start_utc (EH/s); null = implied by the start "
        "difficulty, D·2^32/600 s.",
    )
    growth_per_year: float = Field(
        0.44, gt=-1, description="Expected growth of the hashrate per year (fraction, gbm)."
    )
    volatility_per_year: float = Field(
        0.10, ge=0, le=3, description="Volatility of log hashrate per sqrt(year) (gbm)."
    )
    update_interval_s: int = Field(
        3_600,
        ge=60,
        le=3_600,
        description="Hashrate path is piecewise constant over this step (s); economic: "
        "miners decide once a step.",
    )
    csv_path: str | None = Field(
        None,
        description="CSV with columns timestamp_utc, network_hashrate_ehs (model 'csv'); "
        "relative to the scenario file.",
    )
    halving_drop_fraction: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Fraction of the network's hashrate unplugged at each halving block "
        "(0 = no response; gbm and csv only: economic miners respond by themselves).",
    )
    halving_recovery_days: float = Field(
        30.0, gt=0, description="Time constant of the exponential recovery after the drop (days)."
    )
    economic: EconomicNetworkSpec = Field(default_factory=EconomicNetworkSpec)


class FeeLevelSpec(Section):
    """A change of the typical fee per block from a given time on."""

    from_utc: UtcDatetime = Field(description="When this level takes over (UTC).")
    btc_per_block: float = Field(ge=0, description="Mean fees per block from then on (BTC).")


class FeeSpikeSpec(Section):
    """Fees fixed by height, e.g. the fee rush at the halving block."""

    start_height: int = Field(
        ge=0, le=MAX_HEIGHT, description="First block height of the spike (at most 10^9)."
    )
    blocks: int = Field(1, ge=1, description="Number of consecutive blocks in the spike.")
    btc_per_block: float = Field(ge=0, description="Fees of each block in the spike (BTC).")


class FeeSpec(Section):
    """Transaction fees per block: a level, lognormal noise and scheduled spikes."""

    btc_per_block: float = Field(0.05, ge=0, description="Mean fees per block at start_utc (BTC).")
    schedule: list[FeeLevelSpec] = Field(
        default_factory=list, description="Later changes of the mean fee level, in time order."
    )
    noise_sigma: float = Field(
        0.5, ge=0, le=5, description="Sigma of the mean-one lognormal noise per block (log units)."
    )
    spikes: list[FeeSpikeSpec] = Field(
        default_factory=list, description="Blocks whose fees are set by height (override noise)."
    )


class BtcPriceSpec(Section):
    """BTC/USD price: geometric Brownian motion or replay of a CSV."""

    model: Literal["gbm", "csv"] = Field("gbm", description="'gbm' or 'csv' (replay).")
    start_usd: float = Field(44_150.0, gt=0, description="Price at start_utc (USD, gbm).")
    drift_per_year: float = Field(
        0.0, ge=-5, le=5, description="GBM drift mu: E[price(t)] = start·exp(mu·t) (1/year)."
    )
    volatility_per_year: float = Field(
        0.5, ge=0, le=5, description="GBM volatility per sqrt(year)."
    )
    update_interval_s: int = Field(
        3_600, ge=60, le=86_400, description="Price path is piecewise constant over this step (s)."
    )
    csv_path: str | None = Field(
        None,
        description="CSV with columns timestamp_utc (or date), btc_price_usd; each price holds "
        "until the next row (model 'csv'); relative to the scenario file.",
    )


class BitcoinSpec(Section):
    """The Bitcoin network's state at start_utc and its stochastic drivers."""

    start_height: int = Field(
        823_803,
        ge=0,
        le=MAX_HEIGHT,
        description="Height of the next block to be found after start_utc (at most 10^9).",
    )
    start_difficulty: float = Field(
        72_006_146_478_567.0, ge=1, description="Difficulty of the epoch in force at start_utc."
    )
    epoch_start_utc: UtcDatetime = Field(
        datetime.fromisoformat("2023-12-23T07:06:00+00:00"),
        description="Timestamp of the first block of the epoch in force at start_utc (UTC).",
    )
    network_hashrate: NetworkHashrateSpec = Field(default_factory=NetworkHashrateSpec)
    fees: FeeSpec = Field(default_factory=FeeSpec)
    price: BtcPriceSpec = Field(default_factory=BtcPriceSpec)


class AsicModelSpec(Section):
    """A user-defined ASIC model (adds to the built-in catalog)."""

    name: Name = Field(description="Model name, used by asic groups.")
    hashrate_ths: float = Field(gt=0, description="Nominal hashrate per unit (TH/s).")
    power_w: float = Field(gt=0, description="Nominal wall power per unit (W).")
    cooling: CoolingType = Field("air", description="Cooling type: air, hydro or immersion.")


class AsicGroupSpec(Section):
    """Identical ASIC units of one model, simulated as one group with a count."""

    name: Name | None = Field(None, description="Group name in outputs; null = the model name.")
    model: str = Field(description="Catalog or user-defined model name (see `dcsim catalog`).")
    count: int = Field(ge=0, description="Number of units installed.")
    hall: str | None = Field(
        None, description="Hall the units stand in (site.halls); null when the site has none."
    )
    annual_failure_rate: float = annual_failure_rate_field("unit")
    weibull_shape: float = weibull_shape_field()
    age_at_start_days: float = age_at_start_days_field()
    spares: SparesSpec | None = spares_field()

    @property
    def label(self) -> str:
        """The name used in outputs."""
        return self.name or self.model


class MiningSpec(Section):
    """The site's ASIC fleet and how it is paid."""

    payout: Literal["fpps", "solo"] = Field(
        "fpps", description="'fpps': pool pays expected value per hash; 'solo': lumpy blocks."
    )
    pool_fee_fraction: float = Field(
        0.02, ge=0, lt=1, description="Pool fee as a fraction of FPPS earnings (fpps only)."
    )
    groups: list[AsicGroupSpec] = Field(
        default_factory=list, description="ASIC groups installed at the site."
    )


# Relative spot price by local hour, mean 1: low at night, a shallow midday (solar) dip and an
# evening peak as solar fades. An assumption shaped like ERCOT hub averages, not fitted data.
ERCOT_LIKE_DIURNAL = [
    0.86, 0.81, 0.78, 0.77, 0.79, 0.86, 0.96, 1.01, 0.96, 0.89, 0.85, 0.84,
    0.86, 0.91, 0.98, 1.06, 1.16, 1.31, 1.46, 1.46, 1.31, 1.16, 1.01, 0.94,
]  # fmt: skip


class EnergySpec(Section):
    """How the site pays for electricity: a fixed price, an hourly spot model or a CSV."""

    price_usd_per_mwh: float = Field(
        35.0,
        ge=0,
        description="Fixed energy price, e.g. a PPA (USD/MWh; model 'fixed'); also the spot "
        "mean when mean_usd_per_mwh is null.",
    )
    model: Literal["fixed", "spot", "csv"] = Field(
        "fixed",
        description="'fixed': price_usd_per_mwh; 'spot': hourly mean-reverting price with "
        "daily, weekly and seasonal shape and spikes; 'csv': replay a file.",
    )
    mean_usd_per_mwh: float | None = Field(
        None,
        ge=0,
        description="Spot: mean price without spikes (USD/MWh); null = price_usd_per_mwh.",
    )
    diurnal_profile: list[Annotated[float, Field(ge=0)]] = Field(
        ERCOT_LIKE_DIURNAL,
        min_length=24,
        max_length=24,
        description="Spot: relative price per local hour of day, 0 = midnight (each ≥ 0, "
        "normalised to mean 1).",
    )
    utc_offset_hours: float = Field(
        -6.0,
        ge=-12,
        le=14,
        description="Spot: local time = UTC + this, for hours, weekends and seasons (h; fixed, "
        "no daylight saving; −6 = US Central Standard Time).",
    )
    weekend_factor: float = Field(
        0.9,
        gt=0,
        description="Spot: Saturday and Sunday price level relative to weekdays (the weekly "
        "mean stays 1).",
    )
    seasonal_amplitude_usd_per_mwh: float = Field(
        8.0, ge=0, description="Spot: amplitude of the annual cosine added to the price (USD/MWh)."
    )
    seasonal_peak_day: float = Field(
        213.0,
        ge=1,
        lt=367,
        description="Spot: local day of the year when the annual cosine peaks (1 = 1 January).",
    )
    reversion_per_hour: float = Field(
        0.15,
        gt=0,
        le=100,
        description="Spot: mean-reversion rate κ of the Ornstein–Uhlenbeck deviation (1/h; "
        "half-life ln 2/κ).",
    )
    volatility_usd_per_mwh: float = Field(
        12.0,
        ge=0,
        description="Spot: stationary standard deviation of the Ornstein–Uhlenbeck deviation "
        "(USD/MWh).",
    )
    spike_rate_per_year: float = Field(
        20.0,
        ge=0,
        le=8_760,
        description="Spot: mean number of price spikes per year (Poisson, 1/year; at most one "
        "an hour).",
    )
    spike_mean_usd_per_mwh: float = Field(
        600.0,
        ge=0,
        description="Spot: mean price added while a spike lasts (exponential, USD/MWh).",
    )
    spike_mean_duration_h: float = Field(
        2.0,
        gt=0,
        le=8_760,
        description="Spot: mean duration of a spike (exponential, h; at most a year).",
    )
    price_floor_usd_per_mwh: float = Field(
        -250.0,
        description="Spot: hourly prices are clipped to at least this, below the cap (USD/MWh); "
        "ERCOT's offer floor is −250.",
    )
    price_cap_usd_per_mwh: float = Field(
        5_000.0,
        description="Spot: hourly prices are clipped to at most this (USD/MWh); ERCOT's "
        "system-wide offer cap is 5,000 since 2022.",
    )
    csv_path: str | None = Field(
        None,
        description="CSV with columns timestamp_utc (or date), price_usd_per_mwh; each price "
        "holds until the next row (model 'csv'); relative to the scenario file.",
    )

    @property
    def spot_mean_usd_per_mwh(self) -> float:
        """Mean of the spot price without spikes (USD/MWh)."""
        return self.price_usd_per_mwh if self.mean_usd_per_mwh is None else self.mean_usd_per_mwh


class DemandResponseSpec(Section):
    """A demand-response event: the grid pays for load the site keeps off during it."""

    start_utc: UtcDatetime = Field(description="Start of the event (UTC).")
    end_utc: UtcDatetime = Field(description="End of the event (UTC).")
    credit_usd_per_mwh: float = Field(
        gt=0, description="Credit per MWh of ASIC load kept off during the event (USD/MWh)."
    )


class PolicySpec(Section):
    """How the site divides its power among hardware groups (see docs/model.md)."""

    name: Literal["static", "ai_first", "profit"] = Field(
        "static",
        description="'static': every group runs all it can, in scenario order (ASIC groups, "
        "then GPU groups), within the grid and cooling budgets; 'ai_first': GPU groups first, "
        "ASICs are the flexible load; 'profit': loads ranked by revenue per MWh, and an ASIC "
        "group runs only while it earns at least the energy price (plus any demand-response "
        "credit) per MWh.",
    )
    control_interval_s: int = Field(
        900, ge=60, le=86_400, description="Time between the policy's decisions (s)."
    )
    ramp_s: float = Field(
        300.0,
        ge=0,
        description="Time a unit or GPU node takes from switch-on to full work (boot, fans, "
        "clocks); switching off is immediate. At most control_interval_s. Assumption: a few "
        "minutes for ASICs and GPU servers alike.",
    )

    @model_validator(mode="after")
    def _ramp_within_interval(self) -> PolicySpec:
        if self.ramp_s > self.control_interval_s:
            raise ValueError(
                f"ramp_s ({self.ramp_s:g}) must not exceed control_interval_s "
                f"({self.control_interval_s})"
            )
        return self


class SiteSpec(Section):
    """The physical site."""

    grid_capacity_kw: float = Field(100_000.0, gt=0, description="Grid interconnect capacity (kW).")
    energy: EnergySpec = Field(default_factory=EnergySpec)
    ambient: AmbientSpec = Field(default_factory=AmbientSpec)
    halls: list[HallSpec] = Field(
        default_factory=list,
        description="Halls with their cooling; without halls no cooling or thermal state is "
        "modelled (cooling power 0, PUE 1).",
    )
    policy: PolicySpec = Field(default_factory=PolicySpec)
    demand_response: list[DemandResponseSpec] = Field(
        default_factory=list,
        description="Demand-response events (time order, no overlap); the profit policy "
        "takes the credit when it beats running.",
    )
    grid_programs: GridProgramsSpec = Field(default_factory=GridProgramsSpec)
    grid_outages: GridOutagesSpec | None = Field(
        None, description="Utility outages; null = the grid never fails."
    )
    curtailment_orders: list[CurtailmentOrderSpec] = Field(
        default_factory=list,
        description="Utility orders to draw at most a share of the interconnect (time order, "
        "no overlap).",
    )
    repair_crew: RepairCrewSpec = Field(
        default_factory=RepairCrewSpec,
        description="Who repairs failed hardware (groups' annual_failure_rate).",
    )


class Scenario(Section):
    """A complete, validated scenario."""

    name: Name = Field(description="Scenario name; default output folder outputs/<name>/.")
    description: str = Field("", description="Free text shown in reports.")
    start_utc: UtcDatetime = Field(
        datetime.fromisoformat("2024-01-01T00:00:00+00:00"), description="Start of the run (UTC)."
    )
    end_utc: UtcDatetime = Field(
        datetime.fromisoformat("2025-01-01T00:00:00+00:00"), description="End of the run (UTC)."
    )
    seed: int = Field(
        0,
        ge=0,
        le=INT64_MAX,
        description="Root seed of all random streams (0 to 2^63 − 1: outputs store it as a "
        "64-bit integer).",
    )
    output: OutputSpec = Field(default_factory=OutputSpec)
    bitcoin: BitcoinSpec = Field(default_factory=BitcoinSpec)
    site: SiteSpec = Field(default_factory=SiteSpec)
    asic_models: list[AsicModelSpec] = Field(
        default_factory=list, description="User-defined ASIC models."
    )
    mining: MiningSpec = Field(default_factory=MiningSpec)
    gpu_node_types: list[GpuNodeTypeSpec] = Field(
        default_factory=list, description="User-defined GPU node types."
    )
    ai: AiSpec = Field(default_factory=AiSpec)
    # its input files, as read while loading; travels with copies and pickles, and two
    # scenarios are equal only if their files' digests are
    _input_files: InputFiles = PrivateAttr(default_factory=InputFiles)

    @field_validator("start_utc", "end_utc")
    @classmethod
    def _whole_seconds(cls, value: datetime) -> datetime:
        if value.microsecond:
            raise ValueError("must be a whole second")
        return value

    @property
    def horizon_s(self) -> float:
        """Simulated time from start_utc to end_utc (s)."""
        return (self.end_utc - self.start_utc).total_seconds()


def input_files(scenario: Scenario) -> InputFiles:
    """The input files of ``scenario``.

    A scenario from :func:`sim.scenario.load_scenario` (or ``scenario_from_mapping``) holds
    every file it names, read while it was checked; one validated some other way reads each
    file on first use.
    """
    files: InputFiles = scenario._input_files
    return files
