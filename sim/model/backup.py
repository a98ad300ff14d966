"""Backup power in grid outages: each hall's UPS bridging to its generator.

In an outage ``[s, e)`` a hall with backup may draw (IT + cooling):

- its UPS's power from ``s`` for the UPS's autonomy at rated power, ``charge /
  ups_power_kw`` (a conservative bound: at a lower load it would last longer), where the
  charge is ``ups_energy_kwh`` at first, falls by what each outage drew at rated power until
  the generator took over, and recharges at ``ups_recharge_kw`` between outages;
- its generator's capacity from ``s + generator_start_delay_s`` to ``e``, unless the start
  fails (probability ``generator_start_failure_probability``, one draw per outage on the
  stream ``generator_starts <hall>``); the generator takes over from the UPS when it runs;
- nothing in between, or after the UPS is empty if the start failed: the hall is dark.

A hall without backup, and hardware outside halls, is dark for the whole outage. All of it
is known once the outages are drawn, so it is drawn before the run with them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.model.faults import NO_OUTAGES, Outages
from sim.rng import RandomStreams
from sim.scenario.faults import BackupSpec
from sim.steps import StepSeries
from sim.units import SECONDS_PER_HOUR


@dataclass(frozen=True)
class HallSupply:
    """What may feed one hall over the run, and when it runs on its generator or not at all."""

    power_kw: StepSeries  # the most it may draw: inf on the grid, its backup in an outage
    generator: Outages  # windows carried by the generator (its fuel)
    dark: Outages  # windows with no power at all
    failed_starts: int
    fuel_cost_usd_per_mwh: float


def _windows(times: list[float], on: list[bool]) -> Outages:
    """The windows in which ``on`` holds, from a step function's change points."""
    starts = [
        t for t, now, before in zip(times, on, [False, *on[:-1]], strict=True) if now > before
    ]
    ends = [t for t, now, before in zip(times, on, [False, *on[:-1]], strict=True) if before > now]
    return Outages(np.array(starts, dtype=float), np.array(ends, dtype=float))


def hall_supply(
    outages: Outages, backup: BackupSpec | None, hall: str, streams: RandomStreams
) -> HallSupply:
    """A hall's supply through the run's outages (stream ``generator_starts <hall>``)."""
    if backup is None or not outages.count:
        down = outages.down()  # the grid's, or nothing, while it is out
        power = StepSeries(down.times_s, np.where(down.values > 0, 0.0, math.inf))
        return HallSupply(power, NO_OUTAGES, outages, 0, 0.0)
    rng = streams.get(f"generator_starts {hall}")
    recharge_kw = backup.ups_recharge_kw or 0.1 * backup.ups_power_kw
    charge_kwh, last_end = backup.ups_energy_kwh, 0.0
    points: list[tuple[float, float]] = [(0.0, math.inf)]
    generator: list[tuple[float, float]] = []
    failed = 0
    for start, end in zip(outages.start_s.tolist(), outages.end_s.tolist(), strict=True):
        started = bool(rng.random() >= backup.generator_start_failure_probability)
        failed += not started
        gen_on = start + backup.generator_start_delay_s
        if not started or backup.generator_kw == 0.0:
            gen_on = math.inf
        charge_kwh = min(
            backup.ups_energy_kwh, charge_kwh + recharge_kw * (start - last_end) / SECONDS_PER_HOUR
        )
        ups_s = charge_kwh / backup.ups_power_kw * SECONDS_PER_HOUR if backup.ups_power_kw else 0.0
        ups_end = min(start + ups_s, end)
        # drawn at rated power until the generator takes over, the UPS is empty or the grid is back
        charge_kwh -= backup.ups_power_kw * (min(ups_end, gen_on) - start) / SECONDS_PER_HOUR
        charge_kwh, last_end = max(charge_kwh, 0.0), end
        points.append((start, backup.ups_power_kw if ups_s > 0 else 0.0))
        if gen_on > ups_end and ups_end < end:
            points.append((ups_end, 0.0))  # the UPS is empty before the generator runs
        if gen_on < end:
            points.append((gen_on, backup.generator_kw))
            generator.append((gen_on, end))
        points.append((end, math.inf))
    times = np.array([t for t, _ in points])
    values = np.array([v for _, v in points])
    keep = np.append(times[1:] != times[:-1], True)  # of several at one time, the last
    times, values = times[keep], values[keep]
    gen = np.array(generator, dtype=float).reshape(-1, 2)
    return HallSupply(
        StepSeries(times, values),
        Outages(gen[:, 0], gen[:, 1]),
        _windows(times.tolist(), (values == 0.0).tolist()),
        failed,
        backup.fuel_cost_usd_per_mwh,
    )


@dataclass(frozen=True)
class SiteSupply:
    """What feeds the site through its outages: each hall's supply and the site's budget."""

    halls: list[HallSupply]
    grid_kw: StepSeries  # the interconnect, or in an outage the power the backups can give

    def hall_power_kw(self, t_s: np.ndarray) -> np.ndarray:
        """The most each hall may draw (T, H): inf on the grid."""
        out = np.empty((t_s.size, len(self.halls)))
        for h, hall in enumerate(self.halls):
            out[:, h] = hall.power_kw.at(t_s)
        return out

    def instants(self) -> np.ndarray:
        """Every change of a hall's supply or the site's budget: control decides there."""
        changes = [hall.power_kw.times_s[1:] for hall in self.halls] + [self.grid_kw.times_s[1:]]
        return np.unique(np.concatenate(changes))


def site_supply(
    grid_capacity_kw: float,
    outages: Outages,
    halls: list[tuple[str, BackupSpec | None]],
    orders: Outages,
    order_share: np.ndarray,
    streams: RandomStreams,
) -> SiteSupply | None:
    """The site's supply through outages and utility curtailment orders; None without any.

    ``halls`` gives each hall's (name, backup); ``order_share`` the share of the
    interconnect each order allows.
    """
    if not outages.count and not orders.count:
        return None
    supplies = [hall_supply(outages, backup, name, streams) for name, backup in halls]
    grid = orders.down()  # 1 during an order
    times = np.unique(
        np.concatenate(
            [outages.down().times_s, grid.times_s] + [s.power_kw.times_s for s in supplies]
        )
    )
    backups = np.zeros(times.size)
    for supply in supplies:
        power = supply.power_kw.at(times)
        backups += np.where(np.isfinite(power), power, 0.0)
    order = np.searchsorted(orders.start_s, times, side="right") - 1
    ordered = grid.at(times) > 0
    share = np.where(ordered, order_share[np.maximum(order, 0)] if order_share.size else 1.0, 1.0)
    down = outages.down().at(times) > 0
    budget = np.where(down, backups, grid_capacity_kw * share)
    return SiteSupply(supplies, StepSeries(times, budget))
