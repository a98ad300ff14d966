"""Site power policies: pure functions from a snapshot of the site to grants.

A policy sees, for a batch of control ticks, every load group of the site (ASIC groups, then
GPU groups), what each earns per MWh, the energy price, any demand-response credit for load
kept off, the grid interconnect, and each hall's cooling capacity and cooling overhead. It
returns the units (ASICs) or nodes (GPUs) each group may run at each tick. A unit costs its
power in its hall's cooling budget and its power × (1 + cooling overhead) in the grid budget,
so cooling power comes out of the same interconnect. Policies have no state and no SimPy:
they are tested on their own, and the control process (:mod:`sim.model.control`) feeds them
and applies their grants.

The policies fill budgets greedily, group by group in their order. Most ticks have room for
everything: those are granted what they want outright, and the group-by-group loop runs only
where a budget may run short, by columns when the order is the same at every tick and hall by
hall when only cooling is short. The grants are those of the plain loop, bit for bit (see
``_room`` for why). That loop, with each policy as docs/model.md §5 states it, is the
specification, :mod:`sim.model.policy_spec`; ``tests/property/test_policy.py`` checks these
policies against it.

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
    """What a policy sees at T control ticks for L load groups in H halls.

    Policies work load by load over the ticks, so the control loop lays the (T, L) arrays
    out with each load's ticks contiguous (Fortran order); any layout gives the same grants.
    """

    energy_price_usd_per_mwh: np.ndarray  # (T,)
    revenue_usd_per_mwh: np.ndarray  # (T, L) expected, after pool fees
    units_available: np.ndarray  # (T, L) installed units, or GPU nodes under a planned cap
    unit_power_kw: np.ndarray  # (L,) ASIC unit, or GPU node at peak
    serves_tenants: np.ndarray  # (L,) bool: runs customers' work (GPU nodes)
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
    # computed groups × ticks: each group's ticks contiguous, as PowerSnapshot lays them out
    return (np.asarray(hashprice_net_usd_per_ph_day)[None, :] / mwh_per_ph_day[:, None]).T


_SLACK = 1e-9
"""A tick has room for everything when its demand is within ``1 - _SLACK`` of each budget."""

_MAX_LOADS = 100_000
"""Above this many loads + halls, rounding could eat ``_SLACK``: every tick runs the fill."""

_MAX_ORDERS = 4
"""Ticks left to the fill are grouped by order when they have at most this many orders."""

_TINY = float(np.finfo(float).tiny)  # np.finfo costs more than the checks that use it


@dataclass
class Budgets:
    """What is left of the grid (n,) and of each hall's cooling (n, H + 1) during a fill.

    ``n`` is the number of ticks filled: all the snapshot's, or the rows picked by ``of``.
    """

    grid_kw: np.ndarray
    hall_kw: np.ndarray  # the last column (no hall) is unlimited
    overhead: np.ndarray  # (n, H + 1) cooling kW per kW of heat; 0 without a hall

    @classmethod
    def of(cls, snapshot: PowerSnapshot, rows: np.ndarray | slice = slice(None)) -> Budgets:
        """The full budgets of a snapshot, at the ticks ``rows`` (all by default)."""
        capacity = snapshot.hall_capacity_kw[rows]
        ticks = capacity.shape[0]
        return cls(
            grid_kw=snapshot.grid_kw[rows].astype(float),
            hall_kw=np.hstack((capacity, np.full((ticks, 1), np.inf))),
            overhead=np.hstack((snapshot.cooling_kw_per_kw[rows], np.zeros((ticks, 1)))),
        )

    def fill(self, snapshot: PowerSnapshot, groups: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """Grant ``wanted`` (n, L) to ``groups`` (n, k), one rank at a time, as budgets last.

        A group that does not fit whole takes what fits, and the next groups the rest, so a
        big group never blocks smaller ones behind it. Returns the grants (n, k).
        """
        ticks = np.arange(groups.shape[0])
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

    def fill_ranked(
        self, snapshot: PowerSnapshot, order: np.ndarray, wanted: np.ndarray
    ) -> np.ndarray:
        """``fill`` with the same ``order`` (k,) at every tick; returns the grants (n, k).

        Each rank has one group, hall and unit power, so it works on rows of transposed
        copies instead of gathering and scattering per tick. Every value goes through the
        same float operations as in ``fill``: the grants and the budgets left are identical.
        """
        per_kw = np.ascontiguousarray((1.0 + self.overhead).T)  # (H + 1, n), as in fill
        hall_kw = self.hall_kw.T.copy()
        wanted_t = np.ascontiguousarray(wanted.T)
        grants = np.zeros((order.size, wanted.shape[0]))
        for rank, group in enumerate(order):
            hall = snapshot.hall[group]
            unit_kw = snapshot.unit_power_kw[group]
            grid_unit_kw = unit_kw * per_kw[hall]
            fits = np.minimum(
                np.floor(np.maximum(self.grid_kw, 0.0) / grid_unit_kw),
                np.floor(np.maximum(hall_kw[hall], 0.0) / unit_kw),
            )
            granted = np.minimum(wanted_t[group], fits)
            grants[rank] = granted
            self.grid_kw -= granted * grid_unit_kw
            hall_kw[hall] -= granted * unit_kw
        self.hall_kw[...] = hall_kw.T
        return grants.T


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of equal consecutive values."""
    if not values.size:
        return []
    starts = [0, *(np.flatnonzero(values[1:] != values[:-1]) + 1).tolist()]
    return list(zip(starts, [*starts[1:], values.size], strict=True))


def _most_heat_kw(
    wanted: np.ndarray, units: np.ndarray, hall: np.ndarray, places: int
) -> tuple[np.ndarray, np.ndarray]:
    """Heat of ``ceil(wanted)`` (T, L) units per place (places, T), and wants with a sign bit.

    Returns the per-place sums (floats, in any order) and which ticks want some negative or
    −0 units (T,). It works on loads × ticks, one place's loads at a time, so temporaries
    stay small and each sum adds whole rows of ticks, products and sums in one pass
    (``einsum``: ``reduceat`` over a few columns is slower, and threaded BLAS spins and
    stalls on a busy machine); the snapshot's arrays are laid out that way already (see
    ``PowerSnapshot``).
    """
    per_load = wanted.T
    heat = np.zeros((places, per_load.shape[1]))
    signed = np.zeros(per_load.shape[1], dtype=bool)
    if (hall[1:] >= hall[:-1]).all():  # loads listed place by place, as sites build them
        blocks: list[slice | np.ndarray] = [slice(*run) for run in _runs(hall)]
    else:
        blocks = [np.flatnonzero(hall == place) for place in np.unique(hall)]
    for loads in blocks:
        ceiled = np.ceil(per_load[loads], order="C")  # keeps the sign bit: ceil(-0.5) is -0.0
        signed |= ceiled.view(np.int64).min(axis=0) < 0
        np.einsum("lt,l->t", ceiled, units[loads], out=heat[hall[loads][0]])
    return heat, signed


def _grid_kw_per_kw(snapshot: PowerSnapshot) -> np.ndarray:
    """Grid kW per kW of IT (1 + cooling overhead) in each hall (H + 1, T); last: no hall."""
    per_kw = np.ones((snapshot.hall_capacity_kw.shape[1] + 1, snapshot.ticks))
    per_kw[:-1] += snapshot.cooling_kw_per_kw.T
    return per_kw


def _room(snapshot: PowerSnapshot, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where ``Budgets.fill`` would never run short: the grid (T,), and each hall (T, H).

    A tick's grid entry is true only if, filling ``wanted`` (T, L) in any order, the grid
    fits every group whole at every rank; a hall's entry (where the grid's is true) only if
    that hall's cooling does. A tick true everywhere is granted ``wanted`` exactly, bit for
    bit, without the fill; on a tick true for the grid alone, each hall fills on its own.

    Why, for one budget ``B`` (the grid, or a hall's cooling) that ranks ``r = 0 … n-1`` draw
    from at ``k_r`` kW per unit (``unit × (1 + overhead)`` for the grid, ``unit`` for a
    hall), with ``c_r = ceil(w_r)`` whole units wanted. The fill grants
    ``g_r = min(w_r, fits_r)`` and sets ``B_{r+1} = fl(B_r − fl(g_r·k_r))`` (fl: rounded to
    double, relative error ≤ u = 2⁻⁵³). If ``B_r ≥ c_r·k_r`` (exactly), then
    ``fl(max(B_r, 0)/k_r) ≥ c_r`` because rounding is monotone and ``c_r`` is a double, so
    ``floor`` of it is ≥ ``c_r`` ≥ ``w_r``: every budget's fit is ≥ ``w_r``, and
    ``np.minimum(w_r, fits)`` returns ``w_r`` itself, or an equal ``fits`` (never −0, as
    ``np.maximum(±0, 0.0)`` is +0) that has the same bits when ``w_r`` has no sign bit.
    With ``0 ≤ g_s ≤ c_s`` and ``A = Σ c_r·k_r`` (exact), an induction gives
    ``B_r ≥ B_0 − (1 + u)·Σ_{s<r} c_s·k_s − r·u·(1 + u)^r·B_0``, so ``B_r ≥ c_r·k_r`` at
    every rank whenever ``A ≤ B_0·(1 − 2·n·u)``. The demand below is summed in floats from
    non-negative terms (``c·unit`` summed per hall, then one product and sum over halls),
    each step rounding down by at most a factor ``1 − u``: it is ≥ ``A·(1 − u)^(L + H + 4)``.
    So "computed demand ≤ fl(B_0·fl(1 − _SLACK))" implies ``A ≤ B_0·(1 − 2·n·u)`` as long
    as ``3·(L + H + 6)·u < _SLACK``, which ``_MAX_LOADS`` ensures with a wide margin. An
    unlimited budget stays ``inf`` (``inf − finite``), which fits anything finite.

    The bound needs what the checks below make sure of, else the tick is left to the fill:
    ``w`` without a sign bit (no negative or −0 wants), a finite total (no inf or NaN),
    unit powers and ``1 + overhead`` positive and ``k`` a normal, finite double (no
    underflow or overflow), and no NaN hall capacity: a tight hall filled on its own grants
    ``0 ≤ g_r ≤ w_r`` then, so the grid bound holds there too. Loads with no hall draw only
    from the grid.
    """
    ticks, loads = wanted.shape
    halls = snapshot.hall_capacity_kw.shape[1]
    nowhere = (np.zeros(ticks, dtype=bool), np.zeros((ticks, halls), dtype=bool))
    if not loads:
        return np.ones(ticks, dtype=bool), np.ones((ticks, halls), dtype=bool)
    units = np.asarray(snapshot.unit_power_kw, dtype=float)
    if (
        wanted.dtype != np.float64
        or loads + halls > _MAX_LOADS
        or not np.isfinite(units).all()
        or units.min() < _TINY
    ):
        return nowhere
    hall = np.arange(halls + 1)[snapshot.hall]
    per_kw = _grid_kw_per_kw(snapshot)
    keep = 1.0 - _SLACK
    with np.errstate(all="ignore"):
        heat, signed = _most_heat_kw(wanted, units, hall, halls + 1)
        draw = (heat * per_kw).sum(axis=0)
        sane = (
            ~signed
            & np.isfinite(draw)
            & (units.min() * per_kw.min(axis=0) >= _TINY)
            & (units.max() * per_kw.max(axis=0) < np.inf)
            & ~np.isnan(snapshot.hall_capacity_kw).any(axis=1)  # a NaN fit would spread
        )
        grid = sane & (draw <= snapshot.grid_kw.astype(float) * keep)
        each_hall = snapshot.hall_capacity_kw * keep >= heat[:halls].T
    return grid, each_hall


def _fill_halls(
    snapshot: PowerSnapshot,
    rows: np.ndarray,
    order: np.ndarray,
    roomy: np.ndarray,
    grants: np.ndarray,
) -> None:
    """The fill at ``rows`` where the grid has room for all: each hall alone, in place.

    There every grid fit is ≥ what a group wants (see ``_room``), so ``Budgets.fill``'s
    ``min(wanted, min(grid fit, hall fit))`` is ``min(wanted, hall fit)``, bit for bit, and a
    hall's cooling is drawn only by its own groups, in ``order`` (L,). Halls with room
    (``roomy`` (T, H)) at every row keep ``grants``; the others are filled side by side, their
    k-th groups at the k-th step (a hall with room at a row gets what it wants there too).
    """
    hall = np.arange(snapshot.hall_capacity_kw.shape[1] + 1)[snapshot.hall]
    tight = np.flatnonzero(~roomy[rows].all(axis=0))
    ranked = [order[hall[order] == h] for h in tight]
    depth = max((r.size for r in ranked), default=0)
    if not depth:
        return
    padding = np.ones((depth, tight.size), dtype=bool)  # after a hall's last group
    columns = np.zeros((depth, tight.size), dtype=int)
    unit_kw = np.ones((depth, tight.size, 1))
    for j, groups in enumerate(ranked):
        padding[: groups.size, j] = False
        columns[: groups.size, j] = groups
        unit_kw[: groups.size, j, 0] = snapshot.unit_power_kw[groups]
    block = grants[rows]  # (rows, L); np.ix_ indexing of grants itself is slower
    # (depth, halls, rows): the k-th groups of the tight halls, contiguous at each step
    wanted = np.moveaxis(np.take(block, columns.ravel(), axis=1), 0, -1)
    wanted = np.where(padding[:, :, None], 0.0, wanted.reshape(depth, tight.size, rows.size))
    hall_kw = np.array(snapshot.hall_capacity_kw[np.ix_(rows, tight)].T, dtype=float)
    got = np.empty(wanted.shape)
    fits = np.empty(hall_kw.shape)
    for k in range(depth):
        np.floor(np.divide(np.maximum(hall_kw, 0.0, out=fits), unit_kw[k], out=fits), out=fits)
        np.minimum(wanted[k], fits, out=got[k])
        hall_kw -= got[k] * unit_kw[k]
    block[:, columns[~padding]] = got[~padding].T
    grants[rows] = block


def _fill(
    snapshot: PowerSnapshot, wanted: np.ndarray, orders: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Grant ``wanted`` (T, L), consumed, in each tick's order, as budgets last.

    ``orders(rows)`` gives the order at the ticks ``rows``: (len(rows), L), or (L,) for the
    same at each. Identical, bit for bit, to ``Budgets.of(snapshot).fill`` over all ticks
    with each grant put back at its group, but the rank loop runs only on ticks where some
    budget may run short (see ``_room``), and only over tight halls where the grid has room.
    """
    grants = wanted
    grid, each_hall = _room(snapshot, wanted)
    tight = np.flatnonzero(~(grid & each_hall.all(axis=1)))
    if not tight.size:
        return grants
    ranked = orders(tight)
    if ranked.ndim == 1 or (ranked == ranked[0]).all():
        distinct, which = np.atleast_2d(ranked)[:1], np.zeros(tight.size, dtype=int)
    else:
        distinct, which = np.unique(ranked, axis=0, return_inverse=True)
    if len(distinct) > _MAX_ORDERS:
        got = np.zeros((tight.size, grants.shape[1]), dtype=grants.dtype)
        filled = Budgets.of(snapshot, tight).fill(snapshot, ranked, grants[tight])
        np.put_along_axis(got, ranked, filled, axis=1)
        grants[tight] = got
        return grants
    for k, order in enumerate(distinct):
        rows = tight[which.reshape(-1) == k]
        short_grid = rows[~grid[rows]]
        if short_grid.size:
            block = grants[short_grid]
            block[:, order] = Budgets.of(snapshot, short_grid).fill_ranked(snapshot, order, block)
            grants[short_grid] = block
        if short_grid.size < rows.size:
            _fill_halls(snapshot, rows[grid[rows]], order, each_hall, grants)
    return grants


def static(snapshot: PowerSnapshot) -> np.ndarray:
    """Run everything in scenario order (ASIC groups, then GPU groups) while budgets last."""
    order = np.argsort(snapshot.serves_tenants, kind="stable")
    available = snapshot.units_available
    wanted = np.array(available, dtype=np.result_type(available, 0.0))  # as np.where would
    return _fill(snapshot, wanted, lambda rows: order)


def ai_first(snapshot: PowerSnapshot) -> np.ndarray:
    """GPU groups first; ASICs only take what is left of budgets no GPU node went short of.

    A GPU group short of nodes closes its hall's cooling budget to ASICs, and the grid budget
    too when the grid was what it lacked, so no GPU node is shed while an ASIC sharing the
    limiting budget runs.
    """
    gpus = np.flatnonzero(snapshot.serves_tenants)
    asics = np.flatnonzero(~snapshot.serves_tenants)
    grants = np.array(snapshot.units_available, dtype=float)
    if not gpus.size:  # the ASIC fill alone, from full budgets
        return _fill(snapshot, grants, lambda rows: asics)
    # a tick with room for every group grants all: no GPU group is short, no budget closes
    grid, each_hall = _room(snapshot, grants)
    tight = np.flatnonzero(~(grid & each_hall.all(axis=1)))
    if not tight.size:
        return grants
    available = snapshot.units_available[tight]
    budgets = Budgets.of(snapshot, tight)
    got = np.zeros(available.shape)
    got[:, gpus] = budgets.fill_ranked(snapshot, gpus, available)
    for group in gpus:
        short = got[:, group] < available[:, group]
        hall = snapshot.hall[group]
        grid_unit_kw = snapshot.unit_power_kw[group] * (1.0 + budgets.overhead[:, hall])
        budgets.hall_kw[short, hall] = 0.0
        budgets.grid_kw[short & (budgets.grid_kw < grid_unit_kw)] = 0.0
    got[:, asics] = budgets.fill_ranked(snapshot, asics, available)
    grants[tight] = got
    return grants


def _cost_per_hall(snapshot: PowerSnapshot) -> np.ndarray:
    """What a MWh of IT power costs in each hall (H + 1, T); the last row is no hall.

    Its price plus, during a demand-response event or 4CP alert, the credit forgone, both
    on the meter: a MWh of IT in a hall also draws that hall's cooling power.
    """
    per_meter_mwh = snapshot.energy_price_usd_per_mwh + snapshot.curtail_credit_usd_per_mwh
    return per_meter_mwh * _grid_kw_per_kw(snapshot)


def _earning(snapshot: PowerSnapshot) -> np.ndarray:
    """Whether each load earns what a MWh of its IT power costs (T, L).

    Compared load by load over the ticks (the snapshot's layout, see ``PowerSnapshot``):
    each load's revenue with its hall's cost.
    """
    cost = _cost_per_hall(snapshot)
    hall = np.arange(cost.shape[0])[snapshot.hall]
    revenue = snapshot.revenue_usd_per_mwh.T
    earning = np.empty(revenue.shape, dtype=bool)
    if np.all(hall[1:] >= hall[:-1]):  # loads listed hall by hall, as sites build them
        for start, end in _runs(hall):
            np.greater_equal(revenue[start:end], cost[hall[start]], out=earning[start:end])
    else:
        np.greater_equal(revenue, cost[hall], out=earning)
    return earning.T


def _by_revenue(revenue: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Best earners first at ``rows``, ties in scenario order: the stable argsort of -revenue.

    (L,) when one order, the first row's, sorts every row by (-revenue, index), as it is
    then each row's stable argsort; (len(rows), L) otherwise.
    """
    key = -revenue[rows]
    order = np.argsort(key[0], kind="stable")
    ranked = key[:, order]
    ahead, behind = ranked[:, :-1], ranked[:, 1:]
    if np.all((ahead < behind) | ((ahead == behind) & (order[:-1] < order[1:]))):
        return order
    return np.argsort(key, axis=1, kind="stable")


def _or_zero(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.where(mask, values, 0.0)`` for float64 ``values``, bit for bit, in half the time.

    Each value's bits are ANDed with all ones where ``mask`` is true and with zeros (the
    bits of +0.0) where it is false; ``np.where`` is not vectorised as well here.
    """
    bits = np.subtract(0, mask, dtype=np.int64)  # −1 (all ones) where true, 0 where false
    bits &= np.asarray(values, dtype=np.float64).view(np.int64)
    return bits.view(np.float64)


def profit(snapshot: PowerSnapshot) -> np.ndarray:
    """Run loads best earners first; an ASIC group only while it earns what a MWh costs.

    GPU nodes serve customers' jobs and are never curtailed for price.
    """
    eligible = _earning(snapshot)
    if snapshot.serves_tenants.any():
        eligible |= snapshot.serves_tenants[None, :]
    wanted = _or_zero(eligible, snapshot.units_available)
    revenue = snapshot.revenue_usd_per_mwh
    return _fill(snapshot, wanted, lambda rows: _by_revenue(revenue, rows))


POLICIES: dict[str, Policy] = {"static": static, "ai_first": ai_first, "profit": profit}

REVENUE_BLIND = frozenset({"static", "ai_first"})
"""Policies whose grants never depend on ``revenue_usd_per_mwh``: control need not price
the chain for them (a third of a baseline batch's cost); it gives them NaN revenue, so a
policy that starts reading it fails loudly (``tests/property/test_policy.py`` checks)."""
