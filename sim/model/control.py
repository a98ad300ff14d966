"""The site's control loop: every control interval the policy grants power to ASIC groups.

Inputs that the policy reads are piecewise constant and, for ASICs, exogenous to the site
(energy price, BTC price, the chain's value per hash), so the loop does not wake every
15 minutes: it waits until the network has drawn more blocks and then decides every tick up
to the chain it knows, with one vectorised policy call per batch. GPU groups reserve their
peak power (``ai_first``-style: GPUs get what they need); the ASICs share the rest of the
grid interconnect.
"""

from __future__ import annotations

from collections.abc import Generator

import numpy as np
import simpy

from sim.model.fleet import AsicFleet
from sim.model.network import BitcoinNetwork
from sim.model.policy import POLICIES, PowerSnapshot, revenue_per_mwh
from sim.model.steps import StepSeries
from sim.record.events import EventLog
from sim.scenario.schema import Scenario
from sim.units import SECONDS_PER_DAY

PH = 1e15


class SiteControl:
    """Runs the scenario's power policy over the ASIC fleet."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        network: BitcoinNetwork,
        fleet: AsicFleet,
        btc_price_usd: StepSeries,
        energy_price_usd_per_mwh: StepSeries,
        gpu_reserved_kw: float,
        dr_credit_usd_per_mwh: StepSeries,
        events: EventLog,
    ) -> None:
        spec = scenario.site.policy
        self.env = env
        self.events = events
        self.policy = POLICIES[spec.name]
        self.interval_s = float(spec.control_interval_s)
        self.horizon_s = scenario.horizon_s
        self.network = network
        self.fleet = fleet
        self.btc_price = btc_price_usd
        self.energy_price = energy_price_usd_per_mwh
        self.dr_credit = dr_credit_usd_per_mwh
        mining = scenario.mining
        self.keep = 1.0 - mining.pool_fee_fraction if mining.payout == "fpps" else 1.0
        self.asic_budget_kw = scenario.site.grid_capacity_kw - gpu_reserved_kw
        self.efficiency = fleet.unit_power_w / fleet.unit_hashrate_ths
        self._next_tick_s = 0.0

    def snapshot(self, ticks_s: np.ndarray) -> PowerSnapshot:
        """The policy's view at ``ticks_s`` (all within the chain drawn so far)."""
        hashprice = (
            self.network.value_per_hash_at(ticks_s)
            * self.btc_price.at(ticks_s)
            * PH
            * SECONDS_PER_DAY
        )
        return PowerSnapshot(
            energy_price_usd_per_mwh=self.energy_price.at(ticks_s),
            asic_revenue_usd_per_mwh=revenue_per_mwh(hashprice * self.keep, self.efficiency),
            units_installed=self.fleet.units_installed,
            unit_power_kw=self.fleet.unit_power_w / 1_000.0,
            asic_budget_kw=np.full(ticks_s.size, self.asic_budget_kw),
            curtail_credit_usd_per_mwh=self.dr_credit.at(ticks_s),
        )

    def decide(self) -> None:
        """Grant every tick up to the chain drawn so far."""
        until = min(self.network.drawn_until_s, self.horizon_s)
        ticks = np.arange(self._next_tick_s, until, self.interval_s)
        if until >= self.horizon_s:
            ticks = ticks[ticks < self.horizon_s]
        if ticks.size and self.fleet.groups:
            self._log(*self.fleet.set_running(ticks, self.policy(self.snapshot(ticks))))
        if ticks.size:
            self._next_tick_s = float(ticks[-1] + self.interval_s)

    def _log(self, times_s: np.ndarray, before: np.ndarray, after: np.ndarray) -> None:
        """One ``asic_grant`` event per group whose running units changed."""
        for t_s, old, new in zip(times_s, before, after, strict=True):
            for group, was, now in zip(self.fleet.groups, old, new, strict=True):
                if was != now:
                    detail = f"{int(was)} → {int(now)} of {group.count} units"
                    self.events.add(t_s, "asic_grant", group.name, now, "units", detail)

    def run(self) -> Generator[simpy.Event, None, None]:
        """SimPy process: decide each batch of ticks as the chain becomes known."""
        while self._next_tick_s < self.horizon_s:
            self.decide()
            if self.network.drawn_until_s >= self.horizon_s:
                return
            # wait for the network to draw its next blocks
            yield self.network.progress
