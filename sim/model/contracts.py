"""Reserved-capacity contracts: the capacity each can be given, and its SLA periods.

A contract buys ``gpus`` GPUs of a group for the whole run at a price per GPU-hour, paid
whether used or not. The capacity it can be given at time t is the group's usable GPUs
(node cap × GPUs per node), served to the group's contracts in the order they are listed:
``delivered_c(t) = clip(usable(t) − Σ_{earlier} gpus, 0, gpus_c)``. Over each SLA period the
availability is ``1 − shortfall GPU-hours / contracted GPU-hours``; when it falls below the
target the provider pays ``penalty_usd_per_gpu_hour`` for every GPU-hour short, booked at
the end of the period (the money rules are in :mod:`sim.economics.ai`). Only capacity cuts
count (maintenance, and later power, cooling and outages), not queueing of the customer's
jobs behind other reserved work.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.economics.ai import sla_penalties_usd
from sim.scenario.ai import ReservedContractSpec
from sim.steps import StepSeries
from sim.units import SECONDS_PER_HOUR


class SlaPeriod(NamedTuple):
    """The SLA outcome of one contract over one period."""

    end_s: float
    contract: str
    shortfall_gpu_h: float
    availability: float
    penalty_usd: float


def sla_periods(
    contracts: list[tuple[ReservedContractSpec, StepSeries]],
    period_s: float,
    horizon_s: float,
) -> list[SlaPeriod]:
    """SLA outcomes of every contract and period.

    Parameters
    ----------
    contracts
        Each contract with the usable GPUs left for it by the group's earlier contracts.
    period_s
        Length of an SLA period (the last one may be shorter).
    horizon_s
        End of the run.
    """
    edges = np.append(np.arange(0.0, horizon_s, period_s), horizon_s)
    outcomes = []
    for spec, room in contracts:
        short = StepSeries(room.times_s, np.clip(spec.gpus - room.values, 0, spec.gpus))
        shortfall_gpu_h = short.integrate(edges) / SECONDS_PER_HOUR
        contracted_gpu_h = spec.gpus * np.diff(edges) / SECONDS_PER_HOUR
        availability = 1.0 - shortfall_gpu_h / contracted_gpu_h
        penalty = sla_penalties_usd(spec, shortfall_gpu_h, availability)
        for period in zip(edges[1:], shortfall_gpu_h, availability, penalty, strict=True):
            end, gpu_h, avail, usd = map(float, period)
            outcomes.append(SlaPeriod(end, spec.name, gpu_h, avail, usd))
    return outcomes


def contract_rooms(
    contracts: list[ReservedContractSpec], usable_gpus: StepSeries
) -> list[tuple[ReservedContractSpec, StepSeries]]:
    """Pair each of a group's contracts with the usable GPUs its predecessors leave it."""
    rooms, taken = [], 0
    for spec in contracts:
        rooms.append((spec, StepSeries(usable_gpus.times_s, usable_gpus.values - taken)))
        taken += spec.gpus
    return rooms
