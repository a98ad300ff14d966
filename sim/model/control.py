"""The site's control loop: every control interval the policy grants power and cooling.

The policy's inputs are exogenous to the site and piecewise constant (energy price, BTC
price, the chain's value per hash, the ambient temperature, the loads' availability), so the
loop does not wake every 15 minutes: it decides every tick up to the earliest horizon of its
drivers (:mod:`sim.model.drivers`; in practice the chain the network has drawn, an epoch
ahead), plus any instant a driver announces a change at, with one vectorised policy call
per batch, then waits for the drivers that stopped it. The loads are
:class:`~sim.model.loads.Loads`. The halls' thermal states follow the grants
(:mod:`sim.model.facility`); ASIC groups get their units and heat throttle factors as step
series, and GPU clusters get node caps and clock speeds as SimPy events at their exact
times (trips happen between ticks).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Generator
from functools import partial

import numpy as np
import simpy

from sim.economics.mining import expected_keep
from sim.errors import SimulationError
from sim.eventlog import EventLog
from sim.model.backup import SiteSupply
from sim.model.drivers import NO_TIMES, Driver, NetworkDriver
from sim.model.facility import Facility
from sim.model.fleet import AsicFleet
from sim.model.hosting import AiHosting
from sim.model.loads import ASIC, GPU, Loads, as_slice
from sim.model.network import BitcoinNetwork
from sim.model.policy import POLICIES, REVENUE_BLIND, PowerSnapshot, revenue_per_mwh
from sim.model.thermal import ThrottleChanges
from sim.scenario.schema import Scenario
from sim.steps import StepSeries, piece_over
from sim.units import HASHES_PER_PHS, SECONDS_PER_DAY

# inputs computed for the whole run before it starts, read at control's ticks
KNOWN_IN_ADVANCE = (
    "BTC price",
    "energy price",
    "ambient",
    "grid programs",
    "planned node caps",
)
NO_THROTTLING = ThrottleChanges(np.zeros(0), np.zeros(0, int), np.zeros(0), np.zeros(0, bool))


class RampedCaps:
    """The node caps a GPU cluster is meant to have, and the caps applied after the ramp.

    A node runs at t only if it was wanted throughout [t − ramp, t]: switching on takes the
    ramp, switching off is immediate (as :meth:`AsicFleet.running_units`; here trips between
    ticks can bring changes closer than the ramp, so the whole window counts). The site is
    running at t = 0: no ramp then. Points are evaluated only up to the end of the batch
    decided so far, so a later batch can still shorten a ramp that runs into it.
    """

    def __init__(self, nodes: float, ramp_s: float) -> None:
        self.ramp_s = ramp_s
        self._times = [0.0]
        self._caps = [nodes]
        self._applied = nodes
        self._pending: list[float] = []

    def _running(self, t_s: float) -> float:
        """Nodes wanted throughout [t − ramp, t]: the least cap wanted in that window."""
        first = max(bisect_right(self._times, t_s - self.ramp_s) - 1, 0)
        last = max(bisect_right(self._times, t_s) - 1, 0)
        return min(self._caps[first : last + 1])

    def want(self, t_s: float, cap: float) -> None:
        """From ``t_s`` on the cluster is meant to have ``cap`` nodes."""
        if cap == self._caps[-1]:
            return
        if self._times[-1] == t_s:
            self._caps[-1] = cap
        else:
            self._times.append(t_s)
            self._caps.append(cap)
        self._pending += [t_s, t_s + self.ramp_s]

    def due(self, until_s: float) -> list[tuple[float, float]]:
        """Changes of the applied cap before ``until_s``: (time, nodes), in time order."""
        points = sorted(set(self._pending))
        self._pending = [t for t in points if t >= until_s]
        changes = []
        for t_s in (t for t in points if t < until_s):
            cap = self._running(t_s)
            if cap != self._applied:
                self._applied = cap
                changes.append((t_s, cap))
        return changes


def gpu_value_usd_per_mwh(scenario: Scenario, hosting: AiHosting) -> np.ndarray:
    """What a GPU node of each cluster earns per MWh at full load (for ranking loads).

    The best price per GPU-hour among the job classes and contracts it serves, times its
    GPUs, over its peak power; 0 for a cluster nobody uses.
    """
    names = [cluster.name for cluster in hosting.clusters]
    best = np.zeros(len(names))
    terms = [(c.group, c.price_usd_per_gpu_hour) for c in scenario.ai.job_classes]
    terms += [(c.group, c.price_usd_per_gpu_hour) for c in scenario.ai.reserved]
    for group, price in terms:
        i = names.index(group) if group else 0
        best[i] = max(best[i], price)
    per_node_mwh = np.array([c.node.peak_power_w / 1e6 for c in hosting.clusters])
    gpus = np.array([c.node.gpus_per_node for c in hosting.clusters])
    return best * gpus / per_node_mwh if names else np.zeros(0)


def _by_load(
    ticks: int, loads: int, blocks: list[tuple[np.ndarray | slice, np.ndarray]]
) -> np.ndarray:
    """Each kind's values (broadcast to ticks × its loads) at its loads' columns (T, L).

    Each load's ticks are contiguous: the policies work load by load over the ticks, so this
    layout spares them a transposed copy. One kind for every load gives a read-only view.
    """
    blocks = [(columns, block) for columns, block in blocks if block.shape[-1]]
    if len(blocks) == 1 and blocks[0][1].shape[-1] == loads:  # one kind: a view, no copy
        return np.broadcast_to(blocks[0][1], (ticks, loads))
    out = np.empty((ticks, loads), order="F")
    for columns, block in blocks:
        out[:, columns] = block
    return out


class SiteControl:
    """Runs the scenario's power policy over the ASIC fleet and the GPU clusters."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        network: BitcoinNetwork,
        fleet: AsicFleet,
        hosting: AiHosting,
        loads: Loads,
        facility: Facility,
        markets: dict[str, StepSeries],
        events: EventLog,
        supply: SiteSupply | None = None,
    ) -> None:
        """``supply``: backup power through grid outages (None: the grid never fails)."""
        spec = scenario.site.policy
        self.env = env
        self.events = events
        self.policy = POLICIES[spec.name]
        self._reads_revenue = spec.name not in REVENUE_BLIND
        self.interval_s = float(spec.control_interval_s)
        self.ramp_s = spec.ramp_s
        self.horizon_s = scenario.horizon_s
        self.grid_kw = scenario.site.grid_capacity_kw
        self.supply = supply
        self.network = network
        self.fleet = fleet
        self.clusters = hosting.clusters
        self.facility = facility
        self.btc_price = markets["btc_price_usd"]
        self.energy_price = markets["energy_price_usd_per_mwh"]
        self.dr_credit = markets["dr_credit_usd_per_mwh"]
        self.keep = expected_keep(scenario.mining)
        self.efficiency = fleet.unit_power_w / fleet.unit_hashrate_ths
        self.loads = loads
        self.unit_kw = loads.unit_kw
        self.asics = as_slice(loads.of_kind(ASIC))  # the fleet's groups, in its order
        self.gpus = as_slice(loads.of_kind(GPU))  # the clusters, in hosting's order
        self.gpu_class = facility.load_class[loads.of_kind(GPU)]
        self.asic_class = np.array([kind == ASIC for kind in facility.class_kind], dtype=bool)
        self.gpu_value = gpu_value_usd_per_mwh(scenario, hosting)
        # what each GPU cluster was last told: (node cap granted, tripped, speed, in service)
        self._gpu_state = [
            (float(c.spec.nodes), False, 1.0, float(c.spec.nodes)) for c in self.clusters
        ]
        self._gpu_loads = loads.of_kind(GPU).tolist()
        self._cap_plans = [RampedCaps(float(c.spec.nodes), self.ramp_s) for c in self.clusters]
        self._decided_s = 0.0  # every point before it is decided
        self.drivers: list[Driver] = [NetworkDriver(env, network)] + [
            Driver(env, name) for name in KNOWN_IN_ADVANCE
        ]
        self._full_speed: dict[int, bool] = {}  # per heat class, for throttle events
        # the pieces of its inputs the last steady batch saw, and its grants at one tick
        self._steady: tuple[tuple[int, ...], np.ndarray] | None = None

    def snapshot(
        self, ticks_s: np.ndarray, ambient_c: np.ndarray, capacity_kw: np.ndarray
    ) -> PowerSnapshot:
        """The policy's view at ``ticks_s`` (all within the chain drawn so far).

        ``ambient_c`` is the ambient temperature at those ticks and ``capacity_kw`` the heat
        each hall can reject then. In a grid outage the site's budget is what its backups
        can give, and a hall's IT may use no more than its own backup leaves after cooling.
        """
        cooling = self.facility.cooling_kw_per_kw(ambient_c)
        grid_kw = np.full(ticks_s.size, self.grid_kw)
        if self.supply is not None:
            grid_kw = self.supply.grid_kw.at(ticks_s)
            capacity_kw = np.minimum(
                capacity_kw, self.supply.hall_power_kw(ticks_s) / (1.0 + cooling)
            )
        return PowerSnapshot(
            energy_price_usd_per_mwh=self.energy_price.at(ticks_s),
            revenue_usd_per_mwh=self._revenue(ticks_s),
            units_available=self.loads.available_at(ticks_s),
            unit_power_kw=self.unit_kw,
            serves_tenants=self.loads.serves_tenants,
            hall=self.loads.hall,
            grid_kw=grid_kw,
            hall_capacity_kw=capacity_kw,
            cooling_kw_per_kw=cooling,
            curtail_credit_usd_per_mwh=self.dr_credit.at(ticks_s),
        )

    def _revenue(self, ticks_s: np.ndarray) -> np.ndarray:
        """What each load earns per MWh at ``ticks_s`` (T, L).

        NaN for a policy that never reads it (see ``REVENUE_BLIND``).
        """
        n = ticks_s.size
        if not self._reads_revenue:
            return np.broadcast_to(np.nan, (n, len(self.loads)))
        hashprice = (
            self.network.value_per_hash_at(ticks_s)
            * self.btc_price.at(ticks_s)
            * HASHES_PER_PHS
            * SECONDS_PER_DAY
        )
        asic_revenue = revenue_per_mwh(hashprice * self.keep, self.efficiency)
        return _by_load(
            n, len(self.loads), [(self.asics, asic_revenue), (self.gpus, self.gpu_value)]
        )

    def add_driver(self, driver: Driver) -> None:
        """Decide only as far as ``driver`` knows, and at the changes it announces."""
        self.drivers.append(driver)

    def _batch(self) -> tuple[np.ndarray, float] | None:
        """The points to decide now and the end of the last one's interval, if any.

        The points are every tick of the grid before the drivers' earliest horizon, every
        change a driver announces there, and the end of the previous batch (a grid tick, or
        a change that cut it). The last point holds until the next tick or known change.
        """
        start = self._decided_s
        announced = min(d.announced_until_s() for d in self.drivers)
        until = min(min(d.horizon_s() for d in self.drivers), announced, self.horizon_s)
        if start >= until:
            return None
        step = self.interval_s
        grid_from = math.ceil(start / step) * step
        ticks = np.arange(grid_from, until, step)
        later = grid_from + step * ticks.size  # the first grid tick not in this batch
        changes = [d.change_times(start, later) for d in self.drivers]
        moments = np.concatenate(changes) if any(c.size for c in changes) else NO_TIMES
        if grid_from != start or moments.size:
            ticks = np.union1d(np.union1d(ticks, [start]), moments[moments < until])
        last = float(ticks[-1])
        end_s = min(last + step if last == later - step else later, announced, self.horizon_s)
        after = moments[moments > last]
        return ticks, min(end_s, float(after.min())) if after.size else end_s

    def decide(self) -> None:
        """Grant every point up to the drivers' horizon, and follow the halls' heat."""
        batch = self._batch()
        if batch is None:
            return
        ticks, end_s = batch
        self._decided_s = end_s
        if not self.unit_kw.size:
            return
        if self.facility.halls:
            ambient = self.facility.ambient_c.at(ticks)
            capacity_kw = self.facility.capacity_kw(ambient, ticks)
        else:  # the ambient acts only through halls: a site without any need not look it up
            ambient, capacity_kw = np.zeros(ticks.size), np.zeros((ticks.size, 0))
        steady = self._steady_inputs(ticks)
        if steady is not None and self._steady is not None and self._steady[0] == steady:
            # every tick sees what the last steady batch saw: its grants (read-only)
            grants = np.broadcast_to(self._steady[1], (ticks.size, self.unit_kw.size))
        else:
            grants = self.policy(self.snapshot(ticks, ambient, capacity_kw))
            self._steady = None if steady is None else (steady, grants[:1].copy())
        if self.fleet.groups:
            self._log(*self.fleet.set_running(ticks, grants[:, self.asics]))
        throttles = NO_THROTTLING
        if self.facility.halls:  # else there is no thermal state to follow
            heat_kw = self.facility.class_heat_kw(grants, self.unit_kw)
            throttles = self.facility.advance(ticks, end_s, ambient, capacity_kw, heat_kw)
            self._log_heat(throttles)
            on_asics = self.asic_class[throttles.cls]
            self.fleet.set_throttle(
                throttles.t_s[on_asics], throttles.cls[on_asics], throttles.factor[on_asics]
            )
        self._command_gpus(ticks, end_s, grants[:, self.gpus], throttles)

    def _steady_inputs(self, ticks: np.ndarray) -> tuple[int, ...] | None:
        """The pieces of the energy price, credit and availability in force over ``ticks``.

        None unless every input of the policy holds one value over them: the policy never
        reads revenue (``REVENUE_BLIND``), there are no halls (no ambient, cooling or
        capacity), the grid is the interconnect's (no backup supply), and no series or
        limit changes between the first tick and the last. A policy grants each tick from
        that tick's inputs alone (the plain fill of :mod:`sim.model.policy_spec` goes tick
        by tick, and the policies match it bit for bit), so a steady batch with the pieces
        of the last one is granted its row at every tick without a snapshot or a policy
        call: the baseline calls its policy once, not once per drawn epoch.
        """
        if self._reads_revenue or self.facility.halls or self.supply is not None:
            return None
        span = (float(ticks[0]), float(ticks[-1]))
        price = piece_over(self.energy_price.times_s, *span)
        credit = piece_over(self.dr_credit.times_s, *span)
        row = self.loads.steady_row(*span)
        if price is None or credit is None or row is None:
            return None
        return price, credit, row

    def _command_gpus(
        self,
        ticks: np.ndarray,
        end_s: float,
        grants: np.ndarray,
        throttles: ThrottleChanges,
    ) -> None:
        """Schedule node caps and clock speeds for each GPU cluster at their exact times."""
        for i, cluster in enumerate(self.clusters):
            changed = np.flatnonzero(np.diff(grants[:, i], prepend=self._gpu_state[i][0]))
            moments = [(float(ticks[k]), 0, float(grants[k, i])) for k in changed]
            mine = throttles.cls == self.gpu_class[i]
            factors = np.where(throttles.tripped[mine], 0.0, throttles.factor[mine])
            times = throttles.t_s[mine].tolist()
            moments += [(t, 1, f) for t, f in zip(times, factors.tolist(), strict=True)]
            # nodes failing or back from repair between ticks
            times, nodes = self.loads.changes(self._gpu_loads[i], float(ticks[0]), end_s)
            moments += [(t, 2, n) for t, n in zip(times, nodes, strict=True)]
            granted, tripped, speed, in_service = self._gpu_state[i]
            plan = self._cap_plans[i]
            for t_s, kind, value in sorted(moments):
                if kind == 0:
                    granted = value
                elif kind == 2:
                    in_service = value
                else:
                    tripped = value == 0.0
                    if value > 0.0 and value != speed:
                        speed = value
                        self._at(t_s, partial(cluster.set_speed, speed))
                plan.want(t_s, 0.0 if tripped else min(granted, in_service))
            for t_s, cap in plan.due(end_s):
                self._at(t_s, partial(cluster.set_node_cap, int(cap)))
            self._gpu_state[i] = (granted, tripped, speed, in_service)

    def _at(self, t_s: float, action: Callable[[], None]) -> None:
        """Run ``action`` at simulation time ``t_s`` (not before now)."""
        self.env.timeout(max(t_s - self.env.now, 0.0)).callbacks.append(lambda _: action())

    def _log(self, times_s: np.ndarray, before: np.ndarray, after: np.ndarray) -> None:
        """One ``asic_grant`` event per tick at which the policy changed some group's units.

        The value is the units granted at the site; the detail counts the groups that
        changed and shows the first (per-group grants by day are in groups.csv).
        """
        if not times_s.size:
            return
        moved = before != after
        first = np.argmax(moved, axis=1)
        rows = np.arange(times_s.size)
        columns = zip(
            times_s.tolist(),
            after.sum(axis=1).tolist(),
            moved.sum(axis=1).tolist(),
            first.tolist(),
            before[rows, first].tolist(),
            after[rows, first].tolist(),
            strict=True,
        )
        names = [group.name for group in self.fleet.groups]
        for t_s, total, count, g, was, now in columns:
            detail = f"{names[g]} {int(was)} → {int(now)}"
            if count > 1:
                detail += f" and {count - 1} more group(s)"
            self.events.add(t_s, "asic_grant", "asics", total, "units", detail)

    def _log_heat(self, changes: ThrottleChanges) -> None:
        """Per class: trips, the start of throttling and the return to full speed."""
        names = self.facility.class_names
        for t_s, cls, factor, tripped in zip(
            changes.t_s.tolist(),
            changes.cls.tolist(),
            changes.factor.tolist(),
            changes.tripped.tolist(),
            strict=True,
        ):
            was_full = self._full_speed.get(cls, True)
            full = factor == 1.0
            self._full_speed[cls] = full
            if tripped:
                self.events.add(t_s, "thermal_trip", names[cls], 0.0, "factor", "shutdown temp")
            elif was_full and not full:
                self.events.add(t_s, "thermal_throttle", names[cls], factor, "factor", "")
            elif full and not was_full:
                self.events.add(t_s, "thermal_recover", names[cls], 1.0, "factor", "")

    def run(self) -> Generator[simpy.Event, None, None]:
        """SimPy process: decide each batch of points as the drivers come to know them."""
        while True:
            self.decide()
            if self._decided_s >= self.horizon_s:
                return
            waiting = [d.grown for d in self.drivers if self._limits(d)]
            if not waiting:
                raise SimulationError("control", self._decided_s, "no driver to wait for")
            yield waiting[0] if len(waiting) == 1 else simpy.AnyOf(self.env, waiting)

    def _limits(self, driver: Driver) -> bool:
        """Whether ``driver`` keeps control from deciding its next point."""
        return min(driver.horizon_s(), driver.announced_until_s()) <= self._decided_s
