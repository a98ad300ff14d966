"""The site: wires the SimPy environment, random streams, markets, network and fleet."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy
from simpy.core import BoundClass

from sim.errors import SimulationError
from sim.eventlog import EventLog
from sim.model.ambient import ambient_steps
from sim.model.control import SiteControl
from sim.model.facility import Facility
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
from sim.model.markets import btc_price_path, energy_price_path
from sim.model.network import BitcoinNetwork, network_hashrate_path
from sim.rng import RandomStreams
from sim.scenario.schema import Scenario, input_files
from sim.steps import StepSeries

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
    facility: Facility
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
        hosting = AiHosting(env, scenario, streams, events)
        facility = Facility(
            list(site.halls),
            ambient_steps(
                site.ambient,
                scenario.start_utc,
                scenario.horizon_s,
                streams.get("ambient"),
                input_files(scenario),
            ),
            [g.hall for g in scenario.mining.groups] + [g.hall for g in scenario.ai.groups],
            np.arange(len(scenario.mining.groups) + len(scenario.ai.groups))
            >= len(scenario.mining.groups),
        )
        fleet = AsicFleet(scenario, facility.load_class[: len(scenario.mining.groups)])
        markets = {
            "btc_price_usd": btc_price,
            "energy_price_usd_per_mwh": energy_price,
            # what the policy weighs: paid credits plus the expected 4CP saving in alerts
            "dr_credit_usd_per_mwh": curtail_credit(
                programs, scheduled, plan.price_windows, plan.alerts
            ),
        }
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
            facility=facility,
            control=SiteControl(env, scenario, network, fleet, hosting, facility, markets, events),
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
