"""Site power policies: pure functions from a snapshot of the site to grants.

A policy sees, for a batch of control ticks, every load group of the site (ASIC groups, then
GPU groups), what each earns per MWh, the energy price, any demand-response credit for load
kept off, the grid interconnect, and each hall's cooling capacity and cooling overhead. It
returns the units (ASICs) or nodes (GPUs) each group may run at each tick. A unit costs its
power in its hall's cooling budget and its power × (1 + cooling overhead) in the grid budget,
so cooling power comes out of the same interconnect. Policies have no state and no SimPy:
they are tested on their own, and the control process (:mod:`sim.model.control`) feeds them
and applies their grants.

Revenue per MWh of an ASIC group with efficiency ``e`` (J/TH): 1 PH/s for a day burns
``e · 10^3 TH · 86,400 s / 3.6·10^9 J/MWh = 0.024·e`` MWh, so
``revenue_per_mwh = hashprice_net / (0.024 · e)`` where ``hashprice_net`` is the hashprice
(USD per PH/s per day) after the pool fee. A GPU node earns its price per GPU-hour × GPUs per
MWh of its peak power.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MWH_PER_PH_DAY_PER_J_PER_TH = 1e3 * 86_400 / 3.6e9  # = 0.024


@dataclass(frozen=True)
class PowerSnapshot:
    """What a policy sees at T control ticks for L load groups in H halls."""

    energy_price_usd_per_mwh: np.ndarray  # (T,)
    revenue_usd_per_mwh: np.ndarray  # (T, L) expected, after pool fees
    units_available: np.ndarray  # (T, L) installed units, or GPU nodes under a planned cap
    unit_power_kw: np.ndarray  # (L,) ASIC unit, or GPU node at peak
    is_gpu: np.ndarray  # (L,) bool
    hall: np.ndarray  # (L,) index into the halls; H (one past the last) = no hall
    grid_kw: np.ndarray  # (T,) power the site may draw
    hall_capacity_kw: np.ndarray  # (T, H) heat each hall can reject
    cooling_kw_per_kw: np.ndarray  # (T, H) cooling power per kW of heat
    curtail_credit_usd_per_mwh: np.ndarray  # (T,) demand-response credit for load kept off

    @property
    def ticks(self) -> int:
        """Number of control ticks."""
        return int(self.energy_price_usd_per_mwh.size)


Policy = Callable[[PowerSnapshot], np.ndarray]


def revenue_per_mwh(
    hashprice_net_usd_per_ph_day: np.ndarray, efficiency_j_per_th: np.ndarray
) -> np.ndarray:
    """Revenue per MWh of each group (T, G) from the net hashprice (T,) and efficiencies (G,)."""
    mwh_per_ph_day = MWH_PER_PH_DAY_PER_J_PER_TH * np.asarray(efficiency_j_per_th)
    return np.asarray(hashprice_net_usd_per_ph_day)[:, None] / mwh_per_ph_day[None, :]


@dataclass
class Budgets:
    """What is left of the grid (T,) and of each hall's cooling (T, H + 1) during a fill."""

    grid_kw: np.ndarray
    hall_kw: np.ndarray  # the last column (no hall) is unlimited
    overhead: np.ndarray  # (T, H + 1) cooling kW per kW of heat; 0 without a hall

    @classmethod
    def of(cls, snapshot: PowerSnapshot) -> Budgets:
        """The full budgets of a snapshot."""
        ticks = snapshot.ticks
        return cls(
            grid_kw=snapshot.grid_kw.astype(float).copy(),
            hall_kw=np.hstack((snapshot.hall_capacity_kw, np.full((ticks, 1), np.inf))),
            overhead=np.hstack((snapshot.cooling_kw_per_kw, np.zeros((ticks, 1)))),
        )

    def fill(self, snapshot: PowerSnapshot, groups: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """Grant ``wanted`` (T, L) to ``groups`` (T, k), one rank at a time, as budgets last.

        A group that does not fit whole takes what fits, and the next groups the rest, so a
        big group never blocks smaller ones behind it. Returns the grants (T, k).
        """
        ticks = np.arange(snapshot.ticks)
        grants = np.zeros(groups.shape)
        for rank in range(groups.shape[1]):
            group = groups[:, rank]
            hall = snapshot.hall[group]
            unit_kw = snapshot.unit_power_kw[group]
            grid_unit_kw = unit_kw * (1.0 + self.overhead[ticks, hall])
            fits = np.minimum(
                np.floor(np.maximum(self.grid_kw, 0.0) / grid_unit_kw),
                np.floor(np.maximum(self.hall_kw[ticks, hall], 0.0) / unit_kw),
            )
            granted = np.minimum(wanted[ticks, group], fits)
            grants[:, rank] = granted
            self.grid_kw -= granted * grid_unit_kw
            self.hall_kw[ticks, hall] -= granted * unit_kw
        return grants


def _fill_in_order(snapshot: PowerSnapshot, eligible: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Units per group (T, L): eligible groups take whole units in ``order`` (T, L)."""
    wanted = np.where(eligible, snapshot.units_available, 0.0)
    grants = np.zeros_like(wanted)
    ranked = Budgets.of(snapshot).fill(snapshot, order, wanted)
    np.put_along_axis(grants, order, ranked, axis=1)
    return grants


def _listed(snapshot: PowerSnapshot, first: np.ndarray) -> np.ndarray:
    """Scenario order with the groups flagged ``first`` (L,) moved ahead, for every tick."""
    order = np.argsort(~first, kind="stable")
    return np.broadcast_to(order, (snapshot.ticks, order.size))


def static(snapshot: PowerSnapshot) -> np.ndarray:
    """Run everything in scenario order (ASIC groups, then GPU groups) while budgets last."""
    everyone = np.ones(snapshot.units_available.shape, dtype=bool)
    return _fill_in_order(snapshot, everyone, _listed(snapshot, ~snapshot.is_gpu))


def ai_first(snapshot: PowerSnapshot) -> np.ndarray:
    """GPU groups first; ASICs only take what is left of budgets no GPU node went short of.

    A GPU group short of nodes closes its hall's cooling budget to ASICs, and the grid budget
    too when the grid was what it lacked, so no GPU node is shed while an ASIC sharing the
    limiting budget runs.
    """
    gpus = np.flatnonzero(snapshot.is_gpu)
    asics = np.flatnonzero(~snapshot.is_gpu)
    budgets = Budgets.of(snapshot)
    ticks = np.arange(snapshot.ticks)
    grants = np.zeros(snapshot.units_available.shape)
    gpu_order = np.broadcast_to(gpus, (snapshot.ticks, gpus.size))
    grants[:, gpus] = budgets.fill(snapshot, gpu_order, snapshot.units_available)
    for group in gpus:
        short = grants[:, group] < snapshot.units_available[:, group]
        hall = snapshot.hall[group]
        grid_unit_kw = snapshot.unit_power_kw[group] * (1.0 + budgets.overhead[ticks, hall])
        budgets.hall_kw[short, hall] = 0.0
        budgets.grid_kw[short & (budgets.grid_kw < grid_unit_kw)] = 0.0
    asic_order = np.broadcast_to(asics, (snapshot.ticks, asics.size))
    grants[:, asics] = budgets.fill(snapshot, asic_order, snapshot.units_available)
    return grants


def cost_per_mwh(snapshot: PowerSnapshot) -> np.ndarray:
    """What a MWh of each load's IT power costs the site (T, L).

    Its price plus, during a demand-response event or 4CP alert, the credit forgone, both
    on the meter: a MWh of IT in a hall also draws that hall's cooling power.
    """
    ticks = snapshot.ticks
    overhead = np.hstack((snapshot.cooling_kw_per_kw, np.zeros((ticks, 1))))[:, snapshot.hall]
    per_meter_mwh = snapshot.energy_price_usd_per_mwh + snapshot.curtail_credit_usd_per_mwh
    return per_meter_mwh[:, None] * (1.0 + overhead)


def profit(snapshot: PowerSnapshot) -> np.ndarray:
    """Run loads best earners first; an ASIC group only while it earns what a MWh costs.

    GPU nodes serve customers' jobs and are never curtailed for price.
    """
    revenue = snapshot.revenue_usd_per_mwh
    eligible = (revenue >= cost_per_mwh(snapshot)) | snapshot.is_gpu[None, :]
    order = np.argsort(-revenue, axis=1, kind="stable")
    return _fill_in_order(snapshot, eligible, order)


POLICIES: dict[str, Policy] = {"static": static, "ai_first": ai_first, "profit": profit}
