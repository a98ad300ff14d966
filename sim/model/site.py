"""The site: wires the SimPy environment, random streams, markets, network and fleet."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import simpy
from simpy.core import BoundClass

from sim.errors import SimulationError
from sim.eventlog import EventLog
from sim.model.ambient import ambient_steps
from sim.model.backup import SiteSupply, site_supply
from sim.model.cluster import GpuCluster
from sim.model.control import SiteControl
from sim.model.drivers import ScheduledChanges
from sim.model.facility import Facility
from sim.model.faults import (
    NO_OUTAGES,
    Outages,
    SiteFaults,
    draw_site_faults,
    planned_windows,
    union,
)
from sim.model.fleet import AsicFleet
from sim.model.grid_programs import (
    GridPlan,
    curtail_credit,
    paid_credit,
    plan_event_rows,
    plan_grid_programs,
    scheduled_spans,
)
from sim.model.hosting import AiHosting
from sim.model.loads import ASIC, GPU, Load, Loads
from sim.model.markets import btc_price_path, energy_price_path
from sim.model.network import BitcoinNetwork, network_hashrate_path
from sim.rng import RandomStreams
from sim.scenario.catalog import known_asics
from sim.scenario.schema import Scenario, input_files
from sim.steps import StepSeries
from sim.units import SECONDS_PER_DAY, unix_seconds

# DCSIM_AI_LOOP=python runs the AI job loop in Python (the readable reference) instead of
# compiled (sim.model.compiled_ai); the outputs are the same, bit for bit
AI_LOOP_VARIABLE = "DCSIM_AI_LOOP"

PROGRESS_STEPS = 100  # stops of the run at which progress is reported


class CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes (for the manifest)."""

    def __init__(self) -> None:
        super().__init__()
        self.events_processed = 0
        # SimPy binds env.timeout, env.event, … early only for its own class's attributes
        for name, attribute in vars(simpy.Environment).items():
            if isinstance(attribute, BoundClass):
                setattr(self, name, getattr(self, name))

    def step(self) -> None:
        """Process the next event and count it."""
        self.events_processed += 1
        super().step()


def site_faults(scenario: Scenario, streams: RandomStreams) -> SiteFaults:
    """The run's faults and planned windows (groups: the ASIC groups, then the GPU groups)."""
    asics, gpus = scenario.mining.groups, scenario.ai.groups
    start, horizon, site = scenario.start_utc, scenario.horizon_s, scenario.site
    orders, kept = planned_windows(site.curtailment_orders, start, horizon)
    drawn = draw_site_faults(
        scenario.site.grid_outages,
        [(hall.name, hall.cooling_failures) for hall in scenario.site.halls],
        scenario.site.repair_crew,
        np.array([g.count for g in asics] + [g.nodes for g in gpus], dtype=int),
        np.array(
            [g.annual_failure_rate for g in asics] + [g.annual_failure_rate for g in gpus],
            dtype=float,
        ),
        [g.spares for g in asics] + [g.spares for g in gpus],
        [g.weibull_shape for g in asics] + [g.weibull_shape for g in gpus],
        [g.age_at_start_days * SECONDS_PER_DAY for g in asics]
        + [g.age_at_start_days * SECONDS_PER_DAY for g in gpus],
        scenario.horizon_s,
        streams,
    )
    return replace(
        drawn,
        maintenance=[planned_windows(hall.maintenance, start, horizon)[0] for hall in site.halls],
        orders=orders,
        order_share=np.array([o.grid_share for o in site.curtailment_orders], dtype=float)[kept],
    )


def _fail_gpu_nodes(
    env: simpy.Environment,
    faults: SiteFaults,
    loads: Loads,
    hosting: AiHosting,
    streams: RandomStreams,
) -> None:
    """Tell each GPU cluster which node fails at each of its failures (stream failed_nodes).

    The failed node is drawn uniformly among the installed ones, so a failure stops the jobs
    on a busy node with probability busy / installed; the cluster's cap falls at the same
    instant through the loads' availability.
    """
    history = faults.failures
    gpu_loads = loads.of_kind(GPU).tolist()
    hits = np.isin(history.group, gpu_loads)
    if not hits.any():
        return
    draws = streams.get("failed_nodes").random(int(hits.sum()))
    for t_s, group, u in zip(
        history.failed_s[hits].tolist(), history.group[hits].tolist(), draws.tolist(), strict=True
    ):
        cluster = hosting.clusters[gpu_loads.index(group)]
        event = env.timeout(t_s)
        event.callbacks.append(partial(_node_fails, cluster, int(u * cluster.spec.nodes)))


def _node_fails(cluster: GpuCluster, node: int, _: simpy.Event) -> None:
    cluster.fail_node(node)


def _hosting_class(scenario: Scenario) -> type[AiHosting]:
    """The compiled AI loop, unless the run has no GPUs or ``DCSIM_AI_LOOP=python``."""
    if not scenario.ai.groups or os.environ.get(AI_LOOP_VARIABLE) == "python":
        return AiHosting
    # imported here: numba takes ≈0.6 s to import, which a run without GPUs need not pay
    from sim.model.compiled_ai import CompiledHosting

    return CompiledHosting


def site_loads(
    scenario: Scenario, hosting: AiHosting, faults: SiteFaults, supply: SiteSupply | None
) -> Loads:
    """The site's loads: its ASIC groups, then its GPU clusters, as the scenario lists them.

    An ASIC group has its units available less those failed; a GPU cluster its nodes under
    the planned node-cap schedule, less those failed. No load is available while its hall
    is dark in a grid outage (no backup, or none left), nor outside halls in one.
    """
    start = unix_seconds(scenario.start_utc)
    asics = known_asics(scenario.asic_models)
    out = iter(faults.failures.out)
    loads = [
        Load(
            g.label,
            ASIC,
            g.hall,
            asics[g.model][1] / 1_000.0,
            _less(StepSeries.constant(g.count), next(out)),
        )
        for g in scenario.mining.groups
    ]
    for cluster in hosting.clusters:
        plan = cluster.spec.node_cap_schedule
        planned = StepSeries(
            np.array([0.0] + [max(c.from_utc.timestamp() - start, 0.0) for c in plan]),
            np.array([cluster.spec.nodes] + [c.nodes for c in plan], dtype=float),
        )
        available = _less(planned, next(out))
        power_kw = cluster.node.peak_power_w / 1_000.0
        loads.append(Load(cluster.name, GPU, cluster.spec.hall, power_kw, available))
    built = Loads(loads, [hall.name for hall in scenario.site.halls])
    for h, off in enumerate(off_windows(faults, supply)):
        mine = np.flatnonzero(built.hall == h)
        for begin, end in zip(off.start_s.tolist(), off.end_s.tolist(), strict=True):
            built.limit(begin, end, mine, 0.0)
    return built


def off_windows(faults: SiteFaults, supply: SiteSupply | None) -> list[Outages]:
    """When each hall (and, last, the hardware outside halls) is off.

    Off: dark in a grid outage (no backup, or none left) or shut for maintenance.
    """
    halls = len(faults.cooling)
    dark = [hall.dark for hall in supply.halls] if supply is not None else [NO_OUTAGES] * halls
    return [
        *(union(d, m) for d, m in zip(dark, faults.maintenance, strict=True)),
        faults.outages,
    ]


def _less(available: StepSeries, failed: StepSeries) -> StepSeries:
    """Units available less those failed (never below 0); ``available`` when none fail."""
    if failed.times_s.size == 1 and failed.values[0] == 0.0:
        return available
    times = np.union1d(available.times_s, failed.times_s)
    return StepSeries(times, np.maximum(available.at(times) - failed.at(times), 0.0))


@dataclass
class Site:
    """Everything one run simulates; built fresh for each (scenario, seed)."""

    scenario: Scenario
    seed: int
    env: CountingEnvironment
    streams: RandomStreams
    events: EventLog
    btc_price_usd: StepSeries
    energy_price_usd_per_mwh: StepSeries
    dr_credit_usd_per_mwh: StepSeries  # paid by the grid per MWh of ASIC load kept off
    grid_plan: GridPlan
    network: BitcoinNetwork
    fleet: AsicFleet
    hosting: AiHosting
    loads: Loads
    facility: Facility
    faults: SiteFaults
    supply: SiteSupply | None  # backup power through the outages; None without any
    control: SiteControl

    @classmethod
    def build(cls, scenario: Scenario, seed: int) -> Site:
        """Create the components of ``scenario`` with root seed ``seed``."""
        env = CountingEnvironment()
        streams = RandomStreams(seed)
        events = EventLog()
        btc_price = btc_price_path(scenario, streams)
        network = BitcoinNetwork(
            env,
            scenario.bitcoin,
            scenario.start_utc,
            scenario.horizon_s,
            network_hashrate_path(scenario, streams),
            streams,
            events,
            btc_price,
        )
        energy_price = energy_price_path(scenario, streams)
        site = scenario.site
        scheduled = scheduled_spans(site.demand_response, scenario.start_utc, scenario.horizon_s)
        programs = site.grid_programs
        plan = plan_grid_programs(
            programs, energy_price, scenario.start_utc, scenario.horizon_s, streams
        )
        for row in plan_event_rows(programs, scheduled, plan, scenario.start_utc):
            events.add(*row)
        hosting = _hosting_class(scenario)(env, scenario, streams, events)
        faults = site_faults(scenario, streams)
        supply = site_supply(
            site.grid_capacity_kw,
            faults.outages,
            [(hall.name, hall.backup) for hall in site.halls],
            faults.orders,
            faults.order_share,
            streams,
        )
        loads = site_loads(scenario, hosting, faults, supply)
        for fault in faults.event_rows(loads.names, [hall.name for hall in site.halls]):
            events.add(*fault)
        facility = Facility(
            list(site.halls),
            ambient_steps(
                site.ambient,
                scenario.start_utc,
                scenario.horizon_s,
                streams.get("ambient"),
                input_files(scenario),
            ),
            loads,
            [faults.capacity_factor(h) for h in range(len(site.halls))],
        )
        fleet = AsicFleet(scenario, facility.load_class[loads.of_kind(ASIC)], loads)
        markets = {
            "btc_price_usd": btc_price,
            "energy_price_usd_per_mwh": energy_price,
            # what the policy weighs: paid credits plus the expected 4CP saving in alerts
            "dr_credit_usd_per_mwh": curtail_credit(
                programs, scheduled, plan.price_windows, plan.alerts
            ),
        }
        control = SiteControl(
            env, scenario, network, fleet, hosting, loads, facility, markets, events, supply
        )
        instants = faults.instants()
        if supply is not None:  # the UPS running out, the generator taking over
            instants = np.union1d(instants, supply.instants())
        if instants.size:  # control decides as each fault or window starts and ends
            control.add_driver(ScheduledChanges(env, "faults and planned windows", instants))
        _fail_gpu_nodes(env, faults, loads, hosting, streams)
        return cls(
            scenario=scenario,
            seed=seed,
            env=env,
            streams=streams,
            events=events,
            btc_price_usd=btc_price,
            energy_price_usd_per_mwh=energy_price,
            dr_credit_usd_per_mwh=paid_credit(programs, scheduled, plan.price_windows),
            grid_plan=plan,
            network=network,
            fleet=fleet,
            hosting=hosting,
            loads=loads,
            facility=facility,
            faults=faults,
            supply=supply,
            control=control,
        )

    def run(self, progress: Callable[[float], None] | None = None) -> None:
        """Start every process and run to the horizon.

        ``progress`` is called with the share of the horizon simulated, PROGRESS_STEPS
        times. The run always stops at those times, shown or not, so a progress bar never
        changes a run (its stops add PROGRESS_STEPS events to ``events_processed``).

        Raises
        ------
        SimulationError
            If a component reaches a state it cannot continue from; dated in UTC here, as
            components work in seconds.
        """
        try:
            self.env.process(self.network.find_blocks())
            self.env.process(self.control.run())
            self.hosting.start()
            horizon_s = self.scenario.horizon_s
            for step in range(1, PROGRESS_STEPS + 1):
                self.env.run(
                    until=horizon_s if step == PROGRESS_STEPS else horizon_s * step / PROGRESS_STEPS
                )
                if progress is not None:
                    progress(step / PROGRESS_STEPS)
            self.hosting.close(self.events)
        except SimulationError as exc:
            raise exc.dated(self.scenario.start_utc) from None  # the same error, dated
