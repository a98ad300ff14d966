"""What faults cost the run itself: energy not served and the mining revenue it would have made.

A run has no fault-free twin, so these are estimates from the run (docs/model.md §10.8); a
sweep of the same scenario with and without faults on the same seeds measures the whole
difference, queues and policy included (``scenarios/sweeps/fault_cost.yaml``).

- A group's units out of service (failed, or in a hall that is dark or shut for
  maintenance) would have run like its units in service: each would have drawn the
  group's power per unit in service ``p̄_g(t) = P_g(t) / S_g(t)`` and hashed its hashrate
  per unit in service; where none is in service the level just before holds.
  ``N_g − S_g = F_g·(1 − O_g) + N_g·O_g`` (F failed, O the hall off), so the loss splits
  exactly between the unit failures and the hall's windows.
- In a curtailment order the site's IT power and hashrate just before it are what it
  would have kept drawing and hashing.
- Cooling failures take no unit out of service: what they cost is heat throttling, in the
  thermal columns (``heat_lost_revenue_usd``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.economics.inputs import AiRecord, FaultRecord, MiningRecord
from sim.economics.mining import expected_keep
from sim.steps import StepSeries, product, total_from_zero
from sim.units import HASHES_PER_THS, SECONDS_PER_HOUR

ZERO = StepSeries.constant(0.0)


@dataclass(frozen=True)
class FaultLosses:
    """Rates over the run, and per fault of ``FaultRecord.rows``."""

    not_served_kw: StepSeries  # IT power the faults kept from the hardware
    mining_lost_usd_rate: StepSeries  # expected mining revenue lost (USD/s, net of pool fee)
    energy_not_served_kwh: np.ndarray  # per fault (NaN for cooling failures)
    jobs_interrupted: np.ndarray  # per fault: preemptions at the instants it took nodes away
    lost_gpu_hours: np.ndarray  # per fault: their work lost since the last checkpoint × GPUs


def per_unit_in_service(level: StepSeries, in_service: StepSeries) -> StepSeries:
    """``level / in_service``, the value before held where nothing is in service (0 at first)."""
    times = np.union1d(level.times_s, in_service.times_s)
    serving = in_service.at(times)
    ratio = np.where(serving > 0, level.at(times) / np.where(serving > 0, serving, 1.0), np.nan)
    # hold the last defined value over stretches with nothing in service
    last = np.where(np.isnan(ratio), 0, np.arange(times.size))
    np.maximum.accumulate(last, out=last)
    held = np.where(np.isnan(ratio[last]), 0.0, ratio[last])
    return StepSeries(times, held)


def _window_loss(series: StepSeries, start: float, end: float) -> StepSeries:
    """``(series just before start − series)⁺`` on ``[start, end)``, 0 elsewhere."""
    step = np.searchsorted(series.times_s, start, side="left") - 1  # the step just before
    before = float(series.values[step] if step >= 0 else series.at(np.array([start]))[0])
    inside = series.times_s[(series.times_s > start) & (series.times_s < end)]
    times = np.concatenate(([0.0, start], inside, [end]))
    values = np.concatenate(([0.0], np.maximum(before - series.at(times[1:-1]), 0.0), [0.0]))
    keep = np.append(times[1:] != times[:-1], True)
    return StepSeries(times[keep], values[keep])


def _between(series: StepSeries, start_s: np.ndarray, end_s: np.ndarray) -> np.ndarray:
    """The integral of ``series`` over each ``[start_s[i], end_s[i])``."""
    return series.cumulative_at(end_s) - series.cumulative_at(start_s)


def fault_losses(
    faults: FaultRecord,
    mining: MiningRecord,
    usd_per_hash: StepSeries,
    ai: AiRecord,
    it_power_kw: StepSeries,
    preempt_t: np.ndarray,
    preempt_lost_gpu_s: np.ndarray,
    horizon_s: float,
) -> FaultLosses:
    """Energy not served, mining revenue and GPU work lost to the run's faults.

    ``preempt_t`` and ``preempt_lost_gpu_s``: every preemption's time and the work it lost
    times the GPUs its job held.
    """
    rows = faults.rows
    if not rows.event.size:
        return no_losses(0)
    groups = mining.groups
    asics = len(groups.names)
    lost_units = [
        StepSeries(s.times_s, n - s.values)
        for s, n in zip(faults.in_service, faults.units_installed.tolist(), strict=True)
    ]
    # an ASIC group's units out of service × the share of its units in service that run
    # (effective units: throttling included), once for both its power and its hashrate
    running = [
        per_unit_in_service(
            StepSeries(groups.times_s, groups.effective[:, g]), faults.in_service[g]
        )
        for g in range(asics)
    ]
    lost_running = [
        product(lost, share) for lost, share in zip(lost_units[:asics], running, strict=True)
    ]
    unit_kw = [
        share.scaled(float(watts) / 1_000.0)
        for share, watts in zip(running, groups.unit_power_w.tolist(), strict=True)
    ] + [
        per_unit_in_service(group.power_kw, s)
        for group, s in zip(ai.groups, faults.in_service[asics:], strict=True)
    ]
    orders = np.flatnonzero(rows.event == "curtailment_order")
    order_kw = [_window_loss(it_power_kw, rows.start_s[i], rows.end_s[i]) for i in orders]
    not_served = total_from_zero(
        [
            units.scaled(float(watts) / 1_000.0)
            for units, watts in zip(lost_running, groups.unit_power_w.tolist(), strict=True)
        ]
        + [product(lost, kw) for lost, kw in zip(lost_units[asics:], unit_kw[asics:], strict=True)]
        + order_kw
    )
    order_hs = [_window_loss(mining.hashrate_hs, rows.start_s[i], rows.end_s[i]) for i in orders]
    lost_hs = total_from_zero(
        [
            units.scaled(float(ths) * HASHES_PER_THS)
            for units, ths in zip(lost_running, groups.unit_hashrate_ths.tolist(), strict=True)
        ]
        + order_hs
    )
    keep = expected_keep(mining.mining)
    jobs, lost_gpu_s = _preemptions_of_faults(
        rows.instant_row, rows.instant_s, preempt_t, preempt_lost_gpu_s, rows.event.size
    )
    return FaultLosses(
        not_served_kw=not_served,
        mining_lost_usd_rate=product(lost_hs, usd_per_hash).scaled(keep),
        energy_not_served_kwh=_per_fault_kwh(faults, unit_kw, order_kw, horizon_s),
        jobs_interrupted=jobs,
        lost_gpu_hours=lost_gpu_s / SECONDS_PER_HOUR,
    )


def _per_fault_kwh(
    faults: FaultRecord, unit_kw: list[StepSeries], order_kw: list[StepSeries], horizon_s: float
) -> np.ndarray:
    """Each fault's share of the energy not served (kWh).

    A failed unit: ``∫ p̄_g·(1 − O_g)`` while it is down; a window: ``∫ Σ N_g·O_g·p̄_g`` over
    the groups it takes off; an order: its own loss. Overlapping windows each count theirs.
    """
    rows = faults.rows
    kwh = np.zeros(rows.event.size)
    end = np.minimum(rows.end_s, horizon_s)
    for g, (kw, off) in enumerate(zip(unit_kw, faults.hall_off, strict=True)):
        mine = np.flatnonzero(rows.group == g)
        if mine.size:
            on = StepSeries(off.times_s, 1.0 - off.values)
            kwh[mine] = _between(product(kw, on), rows.start_s[mine], end[mine])
        windows = np.flatnonzero(rows.scope[:, g])
        if windows.size:
            hall_kw = product(kw, off).scaled(float(faults.units_installed[g]))
            kwh[windows] += _between(hall_kw, rows.start_s[windows], end[windows])
    orders = np.flatnonzero(rows.event == "curtailment_order")
    for i, loss in zip(orders.tolist(), order_kw, strict=True):
        kwh[i] = float(_between(loss, rows.start_s[i : i + 1], end[i : i + 1])[0])
    kwh[rows.event == "cooling_failure"] = np.nan
    return kwh / SECONDS_PER_HOUR


def _preemptions_of_faults(
    instant_row: np.ndarray,
    instant_s: np.ndarray,
    preempt_t: np.ndarray,
    lost_gpu_s: np.ndarray,
    faults: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per fault: the preemptions at the instants it took GPU nodes away, and their lost work."""
    order = np.argsort(preempt_t, kind="stable")
    stops = preempt_t[order]
    lost_before = np.concatenate(([0.0], np.cumsum(lost_gpu_s[order])))
    first = np.searchsorted(stops, instant_s, side="left")
    last = np.searchsorted(stops, instant_s, side="right")
    jobs = np.bincount(instant_row, weights=last - first, minlength=faults).astype(np.int64)
    lost = np.bincount(
        instant_row, weights=lost_before[last] - lost_before[first], minlength=faults
    )
    return jobs, lost


def no_losses(faults: int) -> FaultLosses:
    """A run without faults."""
    return FaultLosses(
        ZERO, ZERO, np.zeros(faults), np.zeros(faults, dtype=np.int64), np.zeros(faults)
    )
