"""AI hosting money: on-demand billing, reserved (take-or-pay) revenue, SLA penalties, energy.

- On-demand work is billed per GPU-hour of work kept (a preempted job's lost work is not)
  at its class's price; a reserved tenant's work within its contract is not billed apart.
- A reserved contract pays its GPUs × price every hour, used or not (take-or-pay).
- In each SLA period whose availability falls below the contract's target the provider
  pays the penalty for every GPU-hour short, booked at the end of the period (docs/model.md
  §4.5). What the group could deliver is the model's (:mod:`sim.model.contracts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.economics.energy import energy_cost_usd
from sim.economics.inputs import AiRecord, BillingSpans
from sim.scenario.ai import ReservedContractSpec
from sim.steps import StepSeries, product, spread_over_spans, total_from_zero
from sim.units import SECONDS_PER_HOUR


def gpu_hours_usd(gpu_s: np.ndarray, usd_per_gpu_hour: np.ndarray) -> np.ndarray:
    """Money of GPU-seconds of work billed at a price per GPU-hour (USD)."""
    return gpu_s / SECONDS_PER_HOUR * usd_per_gpu_hour


def reserved_usd_per_hour(contracts: Sequence[ReservedContractSpec]) -> float:
    """What the contracts pay per hour, used or not: Σ GPUs × price per GPU-hour."""
    return sum(c.gpus * c.price_usd_per_gpu_hour for c in contracts)


def sla_penalties_usd(
    spec: ReservedContractSpec, shortfall_gpu_h: np.ndarray, availability: np.ndarray
) -> np.ndarray:
    """Per SLA period: every GPU-hour short × the penalty if availability missed the target."""
    missed = availability < spec.sla_availability
    return np.where(missed, shortfall_gpu_h * spec.penalty_usd_per_gpu_hour, 0.0)


def billing_rates(spans: BillingSpans) -> tuple[StepSeries, StepSeries]:
    """On-demand revenue (USD/s) and GPU-seconds billed per second, each span's spread over it."""
    usd = gpu_hours_usd(spans.gpu_s, spans.usd_per_gpu_hour)
    usd_rate, gpu_rate = spread_over_spans(spans.start_s, spans.end_s, usd, spans.gpu_s)
    return usd_rate, gpu_rate


@dataclass(frozen=True)
class GpuGroupMoney:
    """One GPU group's revenue and energy cost."""

    on_demand_usd_rate: StepSeries  # USD per second
    reserved_usd_per_hour: float  # its contracts' take-or-pay
    energy_kw_price: StepSeries  # its power × the energy price (kW·USD/MWh)

    def revenue_usd(self, edges_s: np.ndarray) -> np.ndarray:
        """On-demand plus reserved revenue over each bin (USD)."""
        on_demand = self.on_demand_usd_rate.integrate(edges_s)
        return on_demand + self.reserved_usd_per_hour * np.diff(edges_s) / SECONDS_PER_HOUR

    def energy_cost_usd(self, edges_s: np.ndarray) -> np.ndarray:
        """Its energy cost over each bin (USD)."""
        return energy_cost_usd(self.energy_kw_price.integrate(edges_s))


@dataclass(frozen=True)
class AiMoney:
    """The AI side's money: site-wide rates, per-group money, per-job revenue, penalties."""

    on_demand_usd_rate: StepSeries  # USD per second
    billed_gpu_rate: StepSeries  # on-demand GPU-seconds billed per second
    reserved_usd_rate: StepSeries  # USD per second, take-or-pay
    energy_kw_price: StepSeries  # GPU power × energy price (kW·USD/MWh)
    groups: list[GpuGroupMoney]
    job_revenue_usd: np.ndarray  # per job, as in AiRecord.jobs
    penalty_t: np.ndarray  # the penalties > 0: when booked …
    penalty_usd: np.ndarray  # … and how much

    def energy_cost_usd(self, edges_s: np.ndarray) -> np.ndarray:
        """The GPUs' energy cost over each bin (USD)."""
        return energy_cost_usd(self.energy_kw_price.integrate(edges_s))


def ai_money(record: AiRecord, energy_price_usd_per_mwh: StepSeries) -> AiMoney:
    """The revenue, penalty and energy cost of a finished run's AI side."""
    contracts = record.contracts
    rates = [billing_rates(group.billing) for group in record.groups]
    # penalties in booking order: group by group, each group's contracts as listed
    booked = [c for g in range(len(record.groups)) for c in contracts if c.group == g]
    penalties = [sla_penalties_usd(c.spec, c.shortfall_gpu_h, c.availability) for c in booked]
    penalty_t = np.concatenate([c.end_s for c in booked] + [np.empty(0)])
    penalty_usd = np.concatenate([*penalties, np.empty(0)])
    paid = penalty_usd > 0
    jobs = record.jobs
    return AiMoney(
        on_demand_usd_rate=total_from_zero([usd for usd, _ in rates]),
        billed_gpu_rate=total_from_zero([gpu_s for _, gpu_s in rates]),
        reserved_usd_rate=StepSeries.constant(
            reserved_usd_per_hour([c.spec for c in contracts]) / SECONDS_PER_HOUR
        ),
        energy_kw_price=product(record.power_kw, energy_price_usd_per_mwh),
        groups=[
            GpuGroupMoney(
                on_demand_usd_rate=usd,
                reserved_usd_per_hour=reserved_usd_per_hour(
                    [c.spec for c in contracts if c.group == g]
                ),
                energy_kw_price=product(group.power_kw, energy_price_usd_per_mwh),
            )
            for g, (group, (usd, _)) in enumerate(zip(record.groups, rates, strict=True))
        ],
        job_revenue_usd=gpu_hours_usd(jobs.billed_gpu_s, jobs.price_usd_per_gpu_hour),
        penalty_t=penalty_t[paid],
        penalty_usd=penalty_usd[paid],
    )
