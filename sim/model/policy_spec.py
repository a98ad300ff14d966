"""The site power policies as docs/model.md §5.1–5.2 states them: the specification.

This is the plain greedy fill and the three policies, written to be read against the model's
text, not to be fast. :mod:`sim.model.policy` is an optimisation of it: it skips the fill at
ticks with room for everything, fills by columns when the order is the same at every tick and
hall by hall when only cooling is short. Its grants must be these, bit for bit;
``tests/property/test_policy.py`` checks it on random sites. The simulator never calls this
module.

Every array here is over the snapshot's T ticks, and each tick is filled on its own: an
expression on a column of ticks is that expression at each tick.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.policy import Policy, PowerSnapshot


@dataclass
class Budgets:
    """What is left, at each tick, of the grid and of each hall's cooling (§5.1).

    ``grid_kw`` (T,) is the site's interconnect. ``hall_kw`` (T, H + 1) is each hall's heat
    rejection; its last column stands for "no hall" and is unlimited. ``overhead`` (T, H + 1)
    is each hall's cooling power per kW of heat (0 without a hall): a unit of ``P_u`` kW in
    hall ``h`` costs ``P_u·(1 + k_h)`` of the grid and ``P_u`` of the hall.
    """

    grid_kw: np.ndarray
    hall_kw: np.ndarray
    overhead: np.ndarray

    @classmethod
    def full(cls, snapshot: PowerSnapshot) -> Budgets:
        """The budgets before anything is granted."""
        ticks = snapshot.ticks
        return cls(
            grid_kw=snapshot.grid_kw.astype(float).copy(),
            hall_kw=np.hstack((snapshot.hall_capacity_kw, np.full((ticks, 1), np.inf))),
            overhead=np.hstack((snapshot.cooling_kw_per_kw, np.zeros((ticks, 1)))),
        )


def fill(
    snapshot: PowerSnapshot, budgets: Budgets, order: np.ndarray, wanted: np.ndarray
) -> np.ndarray:
    """The fill of §5.1: loads take whole units one rank at a time, as budgets last.

    ``order`` (T, k) lists the loads to fill at each tick, best rank first; ``wanted`` (T, L)
    is how many units each load wants. At each rank the load takes
    ``min(wanted, ⌊grid left / (P_u·(1 + k_h))⌋, ⌊hall left / P_u⌋)`` units and both budgets
    shrink by what it took, so a load that does not fit whole takes what fits and the loads
    after it share the rest. ``budgets`` is consumed. Returns the grants (T, L), 0 for the
    loads not in ``order``.
    """
    ticks = np.arange(snapshot.ticks)
    grants = np.zeros(wanted.shape)
    for rank in range(order.shape[1]):
        load = order[:, rank]
        hall = snapshot.hall[load]
        unit_kw = snapshot.unit_power_kw[load]
        grid_unit_kw = unit_kw * (1.0 + budgets.overhead[ticks, hall])
        fits = np.minimum(
            np.floor(np.maximum(budgets.grid_kw, 0.0) / grid_unit_kw),
            np.floor(np.maximum(budgets.hall_kw[ticks, hall], 0.0) / unit_kw),
        )
        granted = np.minimum(wanted[ticks, load], fits)
        grants[ticks, load] = granted
        budgets.grid_kw -= granted * grid_unit_kw
        budgets.hall_kw[ticks, hall] -= granted * unit_kw
    return grants


def fill_eligible(snapshot: PowerSnapshot, eligible: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Fill from full budgets: each ``eligible`` (T, L) load wants all its available units.

    The others want none. The grants have the type of the units available (as floats).
    """
    wanted = np.where(eligible, snapshot.units_available, 0.0)
    return fill(snapshot, Budgets.full(snapshot), order, wanted).astype(wanted.dtype)


def at_every_tick(snapshot: PowerSnapshot, loads: np.ndarray) -> np.ndarray:
    """The same order ``loads`` (k,) at each tick (T, k)."""
    return np.broadcast_to(loads, (snapshot.ticks, loads.size))


def scenario_order(snapshot: PowerSnapshot) -> np.ndarray:
    """The loads in scenario order (L,): the ASIC groups, then the GPU groups."""
    tenants = snapshot.serves_tenants
    return np.concatenate((np.flatnonzero(~tenants), np.flatnonzero(tenants)))


def static(snapshot: PowerSnapshot) -> np.ndarray:
    """``static`` (§5.2): every load wants all its units, in scenario order; prices ignored."""
    everyone = np.ones(snapshot.units_available.shape, dtype=bool)
    return fill_eligible(snapshot, everyone, at_every_tick(snapshot, scenario_order(snapshot)))


def ai_first(snapshot: PowerSnapshot) -> np.ndarray:
    """``ai_first`` (§5.2): GPU groups fill first, ASIC groups then fill what is left.

    A GPU group granted fewer nodes than it has available at a tick closes its hall's
    cooling budget to ASICs there, and the grid budget too when less than one of its nodes'
    grid cost is left: no GPU node is shed while an ASIC sharing the limiting budget runs.
    """
    gpus = np.flatnonzero(snapshot.serves_tenants)
    asics = np.flatnonzero(~snapshot.serves_tenants)
    available = snapshot.units_available
    budgets = Budgets.full(snapshot)
    ticks = np.arange(snapshot.ticks)
    gpu_grants = fill(snapshot, budgets, at_every_tick(snapshot, gpus), available)
    for group in gpus:
        short = gpu_grants[:, group] < available[:, group]
        hall = snapshot.hall[group]
        grid_node_kw = snapshot.unit_power_kw[group] * (1.0 + budgets.overhead[ticks, hall])
        budgets.hall_kw[short, hall] = 0.0
        budgets.grid_kw[short & (budgets.grid_kw < grid_node_kw)] = 0.0
    asic_grants = fill(snapshot, budgets, at_every_tick(snapshot, asics), available)
    return np.where(snapshot.serves_tenants, gpu_grants, asic_grants)


def cost_per_mwh(snapshot: PowerSnapshot) -> np.ndarray:
    """What a MWh of each load's IT power costs at each tick (T, L), for ``profit``.

    ``(p + c)·(1 + k_h)``: the energy price plus the demand-response credit forgone, both on
    the meter, where a MWh of IT in hall ``h`` also draws ``k_h`` MWh of cooling (0 without a
    hall).
    """
    overhead = np.hstack((snapshot.cooling_kw_per_kw, np.zeros((snapshot.ticks, 1))))
    per_meter_mwh = snapshot.energy_price_usd_per_mwh + snapshot.curtail_credit_usd_per_mwh
    return per_meter_mwh[:, None] * (1.0 + overhead[:, snapshot.hall])


def profit(snapshot: PowerSnapshot) -> np.ndarray:
    """``profit`` (§5.2): best earners per MWh first (ties in scenario order).

    An ASIC group is eligible only while its revenue per MWh is at least what a MWh costs
    (:func:`cost_per_mwh`); GPU groups always are, and compete by rank for the budgets.
    """
    revenue = snapshot.revenue_usd_per_mwh
    eligible = (revenue >= cost_per_mwh(snapshot)) | snapshot.serves_tenants[None, :]
    best_first = np.argsort(-revenue, axis=1, kind="stable")
    return fill_eligible(snapshot, eligible, best_first)


POLICIES: dict[str, Policy] = {"static": static, "ai_first": ai_first, "profit": profit}
"""Each policy's specification, by the name :data:`sim.model.policy.POLICIES` gives it."""
