"""The typed records of a finished run that the economics stage is computed from.

The model fills them once (:mod:`sim.model.records`), so money is computed from plain data
and never from the model's objects; the tables of :mod:`sim.record` read them too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from sim.scenario.ai import ReservedContractSpec
from sim.scenario.grid import FourCpSpec
from sim.scenario.schema import MiningSpec
from sim.steps import StepSeries, total


@dataclass(frozen=True)
class BlockColumns:
    """One entry per network block found in the run, in order."""

    times_s: np.ndarray
    heights: np.ndarray  # int64
    bits: np.ndarray  # int64, compact target
    fees_btc: np.ndarray  # realised fees
    network_hashrate_hs: np.ndarray  # H at the block's time
    luck: np.ndarray  # U(0,1) from ``solo_luck``: whose block it is


@dataclass(frozen=True)
class AsicGroups:
    """The ASIC groups' ratings and their units over time (rows: change times; columns: groups)."""

    names: list[str]
    models: list[str]
    units_installed: np.ndarray
    unit_hashrate_ths: np.ndarray
    unit_power_w: np.ndarray
    times_s: np.ndarray
    running: np.ndarray  # units granted and running
    effective: np.ndarray  # running × heat throttle factor


@dataclass(frozen=True)
class CohortPaths:
    """The economic network's cohorts over the run, on the network hashrate's change times."""

    names: list[str]
    efficiency_j_per_th: np.ndarray  # (C,)
    breakeven_usd_per_ph_day: np.ndarray  # (C,) at the median power cost
    first_arrival_s: np.ndarray  # (C,) when the cohort first hashes (inf: not in the run)
    times_s: np.ndarray  # (T,)
    hashprice_usd_per_ph_day: np.ndarray  # (T,) what the miners saw
    installed_hs: np.ndarray  # (T, C)
    running_hs: np.ndarray  # (T, C) installed × running share


@dataclass(frozen=True)
class MiningRecord:
    """What the run produced on the mining side, and the market series it ran under."""

    mining: MiningSpec  # payout scheme and pool fee
    chain: dict[str, StepSeries]  # the block being worked on: height, difficulty, …
    blocks: BlockColumns
    network_hashrate_hs: StepSeries
    groups: AsicGroups
    hashrate_hs: StepSeries  # site, after heat throttling
    throttled_hashrate_hs: StepSeries  # granted hashrate lost to heat throttling and trips
    power_kw: StepSeries
    curtailed_kw: StepSeries  # nameplate power of installed units not running
    units: StepSeries  # units granted
    btc_price_usd: StepSeries
    energy_price_usd_per_mwh: StepSeries
    dr_credit_usd_per_mwh: StepSeries  # paid by the grid per MWh of ASIC load kept off
    # what a MWh costs the site: the energy price, or 0 in a grid outage (backups carry it)
    paid_energy_price_usd_per_mwh: StepSeries
    # the economic network's cohorts (None for gbm and csv), built only if a table asks:
    # a sweep's run never does
    network_cohorts: Callable[[], CohortPaths | None]


# --------------------------------------------------------------------------- AI hosting


@dataclass(frozen=True)
class JobColumns:
    """One entry per job submitted, in job_id order (NaN times: not yet reached)."""

    job_id: np.ndarray  # int64
    job_class: np.ndarray  # class name (object)
    group: np.ndarray  # GPU group name (object)
    contract: np.ndarray  # the reserved contract whose GPUs it used; "" for on-demand work
    submit_s: np.ndarray
    first_start_s: np.ndarray
    end_s: np.ndarray  # completion or abandonment
    gpus: np.ndarray  # int64, asked for
    allocated_gpus: np.ndarray  # int64, whole nodes for a gang job
    nodes: np.ndarray  # int64
    run_s: np.ndarray  # wall seconds run
    lost_work_s: np.ndarray  # work lost to preemptions (s at full clock)
    preemptions: np.ndarray  # int64
    status: np.ndarray  # object: completed, abandoned, running, queued
    billed_gpu_s: np.ndarray  # on-demand work kept × allocated GPUs (GPU-seconds)
    price_usd_per_gpu_hour: np.ndarray  # the job class's on-demand price


@dataclass(frozen=True)
class BillingSpans:
    """The kept part of each run segment of a GPU group, with what it bills at which price."""

    start_s: np.ndarray
    end_s: np.ndarray
    gpu_s: np.ndarray  # on-demand GPU-seconds billed (0 for reserved work)
    usd_per_gpu_hour: np.ndarray  # the job's price


@dataclass(frozen=True)
class GpuGroup:
    """One GPU group's ratings and levels over the run."""

    name: str
    hardware: str  # node type
    nodes: int
    node_peak_power_w: float
    nodes_powered: StepSeries  # within the node cap
    busy_gpus: StepSeries
    queue: StepSeries
    power_kw: StepSeries
    billing: BillingSpans
    preempt_t: np.ndarray
    preempt_lost_gpu_s: np.ndarray  # per preemption: the work it lost × the GPUs held


@dataclass(frozen=True)
class ContractPeriods:
    """One reserved contract and what its group could deliver in each SLA period."""

    spec: ReservedContractSpec
    group: int  # index of the GPU group that hosts it
    end_s: np.ndarray  # each period's end
    shortfall_gpu_h: np.ndarray  # contracted GPU-hours the group could not deliver
    availability: np.ndarray  # 1 − shortfall / contracted GPU-hours


@dataclass(frozen=True)
class AiRecord:
    """What the run produced on the AI side: jobs, GPU groups and contracts."""

    jobs: JobColumns
    groups: list[GpuGroup]
    contracts: list[ContractPeriods]  # as listed in the scenario
    installed_gpus: int
    peak_power_kw: float  # every GPU node at full load
    # site totals of the groups' levels
    nodes_powered: StepSeries
    busy_gpus: StepSeries
    queue: StepSeries
    power_kw: StepSeries


# --------------------------------------------------------------------------- facility


class Levels(Protocol):
    """A level over the run with exact means over bins (a step series, an inlet path)."""

    def mean(self, edges_s: np.ndarray) -> np.ndarray:
        """Time-weighted mean over each bin ``[edges_s[i], edges_s[i+1])``."""
        ...


class FourCpPeak(NamedTuple):
    """The actual 15-minute 4CP interval of one month (local month label ``YYYY-MM``)."""

    month: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class HallRecord:
    """One hall over the run."""

    name: str
    inlet_c: Levels
    heat_kw: StepSeries  # wall power of the hardware in it
    capacity_kw: StepSeries  # heat it can reject
    cooling_kw: StepSeries  # power its cooling draws


@dataclass(frozen=True)
class FacilityRecord:
    """Site-level facility physics and each hall's, and the 4CP peaks of the run."""

    ambient_c: StepSeries
    it_power_kw: StepSeries
    cooling_power_kw: StepSeries
    halls: list[HallRecord]
    throttled: StepSeries  # 1 while some hardware runs throttled or tripped, else 0
    four_cp: FourCpSpec | None
    four_cp_peaks: list[FourCpPeak]  # one per 4CP month in the run

    def site_power_kw(self) -> StepSeries:
        """The site's whole grid draw: IT + cooling (kW)."""
        return total(self.it_power_kw, self.cooling_power_kw)


# --------------------------------------------------------------------------- faults


@dataclass(frozen=True)
class FaultRows:
    """Every fault of the run, one entry each, as the event log's rows that start them.

    ``scope`` says which groups a fault takes off as a whole (a grid outage: those in halls
    that go dark; maintenance: its hall's); a hardware failure takes one unit of ``group``.
    """

    event: np.ndarray  # object: grid_outage, maintenance, curtailment_order, …
    entity: np.ndarray  # object: grid, a hall or a group
    start_s: np.ndarray
    end_s: np.ndarray  # inf: not over by the horizon
    group: np.ndarray  # int: the failed unit's group, −1 for the other faults
    scope: np.ndarray  # bool (faults × groups)
    instant_row: np.ndarray  # int: the fault …
    instant_s: np.ndarray  # … and each instant it took GPU nodes away (or started)


@dataclass(frozen=True)
class FaultRecord:
    """The run's grid outages and hardware failures, and each group's units in service.

    Groups are the ASIC groups, then the GPU groups, in scenario order.
    """

    outage_start_s: np.ndarray
    outage_end_s: np.ndarray
    grid_down: StepSeries  # 1 while the grid is out, else 0
    failed_s: np.ndarray  # each failure's time …
    failed_group: np.ndarray  # … its group …
    repaired_s: np.ndarray  # … and when the unit was back (inf: not by the horizon)
    group_names: list[str]
    kinds: np.ndarray  # "asic" or "gpu", per group
    units_installed: np.ndarray
    in_service: list[StepSeries]  # installed, not failed, with grid power
    cooling_failures: int  # failures of the halls' cooling plants (overlaps counted once)
    cooling_failure_s: float  # hall-seconds with a cooling plant failed
    generator_start_s: np.ndarray  # windows on a hall's generator …
    generator_end_s: np.ndarray
    generator_hall: np.ndarray  # … its hall (index into the facility's halls)
    fuel_cost_usd_per_mwh: np.ndarray  # per hall
    failed_generator_starts: int
    gpu_fault_s: np.ndarray  # instants a fault took GPU nodes away (failures, halls going off)
    hall_off: list[StepSeries]  # per group: 1 while its hall is off (dark or maintenance)
    rows: FaultRows
