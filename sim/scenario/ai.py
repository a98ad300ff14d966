"""Scenario sections for AI/HPC hosting: GPU node types and groups, job demand, contracts."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from sim.scenario.catalog import CoolingType
from sim.scenario.faults import (
    SparesSpec,
    age_at_start_days_field,
    annual_failure_rate_field,
    spares_field,
    weibull_shape_field,
)
from sim.scenario.fields import Name, Section, UtcDatetime

# Each node is tracked on its own; a million 8-GPU nodes is beyond any cluster built so far.
MAX_NODES = 1_000_000


class GpuNodeTypeSpec(Section):
    """A user-defined GPU server type (adds to the built-in catalog)."""

    name: Name = Field(description="Node type name, used by GPU groups.")
    gpu: str = Field("custom", description="GPU model, for reports.")
    gpus_per_node: int = Field(ge=1, le=64, description="GPUs in one node.")
    gpu_power_w: float = Field(gt=0, description="Board power of one GPU at full load (W).")
    host_power_w: float = Field(ge=0, description="Host (CPU, memory, network, fans) at load (W).")
    idle_power_w: float = Field(ge=0, description="Whole node powered on with no job (W).")
    cooling: CoolingType = Field("air", description="Cooling type: air, hydro or immersion.")

    @model_validator(mode="after")
    def _idle_below_peak(self) -> GpuNodeTypeSpec:
        peak = self.host_power_w + self.gpus_per_node * self.gpu_power_w
        if self.idle_power_w > peak:
            raise ValueError(f"idle_power_w {self.idle_power_w:g} exceeds peak {peak:g} W")
        return self


class NodeCapChangeSpec(Section):
    """From a time on, at most this many nodes of a group may run (maintenance, go-live)."""

    from_utc: UtcDatetime = Field(description="When the cap takes effect (UTC).")
    nodes: int = Field(ge=0, description="Nodes usable from then on.")


class GpuGroupSpec(Section):
    """Identical GPU nodes of one type, scheduled as one cluster."""

    name: Name | None = Field(None, description="Group name in outputs; null = the node type.")
    node_type: str = Field(description="Catalog or user-defined node type (see `dcsim catalog`).")
    nodes: int = Field(ge=1, le=MAX_NODES, description="Nodes installed (at most 1,000,000).")
    hall: str | None = Field(
        None, description="Hall the nodes stand in (site.halls); null when the site has none."
    )
    node_cap_schedule: list[NodeCapChangeSpec] = Field(
        default_factory=list,
        description="Planned changes of usable nodes (time order); running jobs above the cap "
        "are preempted.",
    )
    annual_failure_rate: float = annual_failure_rate_field("node")
    weibull_shape: float = weibull_shape_field()
    age_at_start_days: float = age_at_start_days_field()
    spares: SparesSpec | None = spares_field()

    @property
    def label(self) -> str:
        """The name used in outputs."""
        return self.name or self.node_type


class GpuCountSpec(Section):
    """GPUs per job: a discrete distribution."""

    values: list[int] = Field([1], min_length=1, description="Possible GPU counts (each ≥ 1).")
    weights: list[float] | None = Field(
        None, description="Relative probability of each value; null = equally likely."
    )

    @model_validator(mode="after")
    def _consistent(self) -> GpuCountSpec:
        if any(v < 1 for v in self.values):
            raise ValueError("values must all be ≥ 1")
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("weights must have one entry per value")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be ≥ 0 with a positive sum")
        return self


class DurationSpec(Section):
    """Run time a job needs at full speed."""

    distribution: Literal["exponential", "lognormal", "constant", "empirical"] = Field(
        "exponential", description="Distribution of run times."
    )
    mean_s: float = Field(3_600.0, gt=0, description="Mean run time (s; not used by empirical).")
    sigma: float = Field(1.0, gt=0, le=5, description="Log-sd of the lognormal (log units).")
    values_s: list[float] = Field(
        default_factory=list, description="Observed run times sampled uniformly (empirical)."
    )

    @model_validator(mode="after")
    def _empirical_has_values(self) -> DurationSpec:
        if self.distribution == "empirical" and not self.values_s:
            raise ValueError("values_s is required with distribution 'empirical'")
        if any(v <= 0 for v in self.values_s):
            raise ValueError("values_s must all be > 0")
        return self


class PatienceSpec(Section):
    """How long a customer waits in the queue before leaving."""

    distribution: Literal["exponential", "constant"] = Field(
        "exponential", description="Distribution of patience."
    )
    mean_s: float = Field(gt=0, description="Mean patience (s).")


class JobClassSpec(Section):
    """A stream of similar jobs: arrivals, size, run time, price and behaviour."""

    name: Name = Field(description="Class name, in jobs.csv.")
    group: str | None = Field(None, description="GPU group that runs it; null = the first group.")
    contract: str | None = Field(
        None,
        description="Reserved contract whose customer submits these jobs (run first, paid by "
        "the contract); null = on-demand, paid per GPU-hour run.",
    )
    arrivals_per_hour: float = Field(
        ge=0, le=100_000, description="Mean arrival rate at start_utc (1/h; at most 100,000)."
    )
    diurnal_profile: list[float] = Field(
        [1.0] * 24,
        min_length=24,
        max_length=24,
        description="Relative rate per UTC hour of day (normalised to mean 1).",
    )
    weekly_profile: list[float] = Field(
        [1.0] * 7,
        min_length=7,
        max_length=7,
        description="Relative rate per day, Monday first (normalised to mean 1).",
    )
    growth_per_year: float = Field(0.0, gt=-1, description="Growth of the arrival rate per year.")
    gpus: GpuCountSpec = Field(default_factory=GpuCountSpec)
    duration: DurationSpec = Field(default_factory=DurationSpec)
    price_usd_per_gpu_hour: float = Field(
        2.0, ge=0, description="On-demand price per GPU-hour run (USD)."
    )
    patience: PatienceSpec | None = Field(
        None, description="Customers leave after waiting this long; null = they never leave."
    )
    checkpoint_interval_s: float | None = Field(
        None, gt=0, description="Run time between checkpoints; null = no checkpoints (s)."
    )

    @model_validator(mode="after")
    def _profiles(self) -> JobClassSpec:
        for name in ("diurnal_profile", "weekly_profile"):
            profile = getattr(self, name)
            if any(v < 0 for v in profile) or sum(profile) <= 0:
                raise ValueError(f"{name} must be ≥ 0 with a positive sum")
        return self


class TraceSpec(Section):
    """Replay of a job trace CSV: submit_time_s, gpus, duration_s[, job_class]."""

    csv_path: str = Field(description="Trace file; relative to the scenario file.")
    job_class: str = Field(
        description="Class (price, patience, checkpoints, group) of rows without a job_class."
    )


class ReservedContractSpec(Section):
    """Take-or-pay capacity: GPUs paid for whether used or not, with an availability SLA."""

    name: Name = Field(description="Contract name.")
    group: str | None = Field(None, description="GPU group that hosts it; null = the first.")
    gpus: int = Field(ge=1, description="GPUs contracted.")
    price_usd_per_gpu_hour: float = Field(ge=0, description="Price per contracted GPU-hour.")
    sla_availability: float = Field(
        0.99, gt=0, le=1, description="Share of contracted GPU-hours that must be deliverable."
    )
    penalty_usd_per_gpu_hour: float = Field(
        0.0, ge=0, description="Penalty per GPU-hour short, in SLA periods that miss the target."
    )


class AiSpec(Section):
    """AI/HPC hosting at the site."""

    groups: list[GpuGroupSpec] = Field(default_factory=list, description="GPU groups installed.")
    job_classes: list[JobClassSpec] = Field(
        default_factory=list, description="Synthetic job demand."
    )
    trace: TraceSpec | None = Field(None, description="Job trace to replay; null = none.")
    reserved: list[ReservedContractSpec] = Field(
        default_factory=list, description="Reserved-capacity contracts."
    )
    backfill_depth: int = Field(
        100, ge=0, description="Queued jobs the scheduler considers for backfill per event."
    )
    sla_period_days: float = Field(
        30.0, ge=1, description="SLA measurement period (days; at least 1)."
    )
