"""Site power policies: pure functions from a snapshot of the site to power grants.

A policy sees, for a batch of control ticks, the energy price, any demand-response credit
for load kept off, what each ASIC group would earn per MWh it burns, and the power the
ASICs may draw; it returns the units each group
runs at each tick. Policies have no state and no SimPy: they are tested on their own, and
the control process (:mod:`sim.model.control`) feeds them and applies their grants.

Revenue per MWh of a group with efficiency ``e`` (J/TH): 1 PH/s for a day burns
``e · 10^3 TH · 86,400 s / 3.6·10^9 J/MWh = 0.024·e`` MWh, so
``revenue_per_mwh = hashprice_net / (0.024 · e)`` where ``hashprice_net`` is the hashprice
(USD per PH/s per day) after the pool fee.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MWH_PER_PH_DAY_PER_J_PER_TH = 1e3 * 86_400 / 3.6e9  # = 0.024


@dataclass(frozen=True)
class PowerSnapshot:
    """What a policy sees at T control ticks for G ASIC groups."""

    energy_price_usd_per_mwh: np.ndarray  # (T,)
    asic_revenue_usd_per_mwh: np.ndarray  # (T, G) expected, after pool fees
    units_installed: np.ndarray  # (G,)
    unit_power_kw: np.ndarray  # (G,)
    asic_budget_kw: np.ndarray  # (T,) power the ASICs may draw
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


def fill_budget(snapshot: PowerSnapshot, eligible: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Units per group (T, G): eligible groups, in ``order``, take whole units from the budget.

    A group that does not fit whole takes what fits, and the next groups the rest, so a big
    group never blocks smaller ones behind it. One vectorised step per group.
    """
    ticks = np.arange(snapshot.ticks)
    remaining = snapshot.asic_budget_kw.astype(float).copy()
    wanted = np.where(eligible, snapshot.units_installed[None, :], 0.0)
    grants = np.zeros_like(wanted)
    for rank in range(wanted.shape[1]):
        group = order[:, rank]
        unit_kw = snapshot.unit_power_kw[group]
        fitted = np.minimum(wanted[ticks, group], np.floor(np.maximum(remaining, 0.0) / unit_kw))
        grants[ticks, group] = fitted
        remaining -= fitted * unit_kw
    return grants


def static(snapshot: PowerSnapshot) -> np.ndarray:
    """Run every unit regardless of prices, in listed group order while the budget lasts."""
    shape = (snapshot.ticks, snapshot.units_installed.size)
    order = np.broadcast_to(np.arange(shape[1]), shape)
    return fill_budget(snapshot, np.ones(shape, dtype=bool), order)


def profit(snapshot: PowerSnapshot) -> np.ndarray:
    """Run only groups that earn at least what a MWh costs, best earners first.

    A MWh burnt costs its price plus, during a demand-response event, the credit forgone.
    """
    revenue = snapshot.asic_revenue_usd_per_mwh
    cost = snapshot.energy_price_usd_per_mwh + snapshot.curtail_credit_usd_per_mwh
    eligible = revenue >= cost[:, None]
    order = np.argsort(-revenue, axis=1, kind="stable")
    return fill_budget(snapshot, eligible, order)


POLICIES: dict[str, Policy] = {"static": static, "profit": profit}
