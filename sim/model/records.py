"""Fill the economics stage's run records (:mod:`sim.economics.inputs`) from a finished site.

Called once after the run: what the model's components logged becomes plain arrays and step
series, which :mod:`sim.economics` prices and :mod:`sim.record` bins into tables.
"""

from __future__ import annotations

import numpy as np

from sim.economics.inputs import (
    AiRecord,
    AsicGroups,
    BillingSpans,
    BlockColumns,
    ContractPeriods,
    FacilityRecord,
    FaultRecord,
    FaultRows,
    GpuGroup,
    HallRecord,
    MiningRecord,
)
from sim.model.cluster import GpuCluster, floats
from sim.model.faults import Outages
from sim.model.hosting import AiHosting
from sim.model.loads import ASIC, GPU
from sim.model.site import Site, off_windows
from sim.steps import StepSeries, product, total, total_from_zero

ZERO = StepSeries.constant(0.0)


def mining_record(site: Site) -> MiningRecord:
    """What the finished run produced on the mining side."""
    network, fleet, log = site.network, site.fleet, site.network.blocks
    times, running, effective = fleet.effective_units()
    return MiningRecord(
        mining=site.scenario.mining,
        chain=network.chain_steps(),
        blocks=BlockColumns(
            times_s=log.column("times_s"),
            heights=log.column("heights", np.int64),
            bits=log.column("bits", np.int64),
            fees_btc=log.column("fees_btc"),
            network_hashrate_hs=log.column("network_hashrate_hs"),
            luck=log.column("luck"),
        ),
        network_hashrate_hs=network.hashrate,
        groups=AsicGroups(
            names=[g.name for g in fleet.groups],
            models=[g.model for g in fleet.groups],
            units_installed=fleet.units_installed,
            unit_hashrate_ths=fleet.unit_hashrate_ths,
            unit_power_w=fleet.unit_power_w,
            times_s=times,
            running=running,
            effective=effective,
        ),
        hashrate_hs=fleet.hashrate_hs(),
        throttled_hashrate_hs=fleet.throttled_hashrate_hs(),
        power_kw=fleet.power_kw(),
        curtailed_kw=fleet.curtailed_kw(),
        units=fleet.units(),
        btc_price_usd=site.btc_price_usd,
        energy_price_usd_per_mwh=site.energy_price_usd_per_mwh,
        paid_energy_price_usd_per_mwh=_paid(site),
        dr_credit_usd_per_mwh=site.dr_credit_usd_per_mwh,
        network_cohorts=network.cohorts,
    )


def billing_spans(cluster: GpuCluster) -> BillingSpans:
    """The kept part of each of a cluster's run segments, with its GPU-seconds and price."""
    log = cluster.log
    return BillingSpans(
        start_s=floats(log.seg_start),
        end_s=floats(log.seg_end),
        gpu_s=floats(log.seg_billed_gpu_s),
        usd_per_gpu_hour=floats(log.seg_usd_per_gpu_hour),
    )


def _gpu_group(cluster: GpuCluster) -> GpuGroup:
    log = cluster.log
    return GpuGroup(
        name=cluster.name,
        hardware=cluster.node.name,
        nodes=cluster.spec.nodes,
        node_peak_power_w=cluster.node.peak_power_w,
        nodes_powered=cluster.nodes_powered(),
        busy_gpus=cluster.busy_gpus(),
        queue=cluster.queue_length(),
        power_kw=cluster.power_kw(),
        billing=billing_spans(cluster),
        preempt_t=floats(log.preempt_t),
        preempt_lost_gpu_s=floats(log.preempt_lost_gpu_s),
    )


def ai_record(hosting: AiHosting) -> AiRecord:
    """What the finished run produced on the AI side (after ``AiHosting.close``)."""
    groups = [_gpu_group(cluster) for cluster in hosting.clusters]
    periods: dict[str, list[tuple[float, float, float]]] = {c.name: [] for c in hosting.contracts}
    for period in hosting.sla:
        periods[period.contract].append((period.end_s, period.shortfall_gpu_h, period.availability))
    contracts = []
    for spec, group in zip(hosting.contracts, hosting.contract_cluster, strict=True):
        end, short, available = np.array(periods[spec.name], dtype=float).reshape(-1, 3).T
        contracts.append(ContractPeriods(spec, group, end, short, available))
    return AiRecord(
        jobs=hosting.job_columns(),
        groups=groups,
        contracts=contracts,
        installed_gpus=sum(c.installed_gpus for c in hosting.clusters),
        peak_power_kw=hosting.peak_power_kw,
        nodes_powered=total_from_zero([g.nodes_powered for g in groups]),
        busy_gpus=total_from_zero([g.busy_gpus for g in groups]),
        queue=total_from_zero([g.queue for g in groups]),
        power_kw=total_from_zero([g.power_kw for g in groups]),
    )


def _paid(site: Site) -> StepSeries:
    """What a MWh costs the site: the energy price, 0 in a grid outage (backups carry it)."""
    price = site.energy_price_usd_per_mwh
    if not site.faults.outages.count:
        return price
    down = site.faults.outages.down()
    return product(price, StepSeries(down.times_s, 1.0 - down.values))


def fault_record(site: Site) -> FaultRecord:
    """Outages, failures and each group's units in service over the finished run.

    A unit is in service while it is installed, not failed, not shut for maintenance and
    its hall has power (the grid, or backup left in an outage).
    """
    faults, scenario, supply = site.faults, site.scenario, site.supply
    installed = [g.count for g in scenario.mining.groups] + [g.nodes for g in scenario.ai.groups]
    off = off_windows(faults, supply)  # per hall, then outside halls
    in_service, hall_off = [], []
    for g, (units, out) in enumerate(zip(installed, faults.failures.out, strict=True)):
        working = StepSeries(out.times_s, units - out.values)
        windows = off[int(site.loads.hall[g])]
        down = windows.down()
        if windows.count:
            working = product(working, StepSeries(down.times_s, 1.0 - down.values))
        in_service.append(working)
        hall_off.append(down)
    halls = supply.halls if supply is not None else []
    on_generator = [
        (h, start, end)
        for h, hall in enumerate(halls)
        for start, end in zip(
            hall.generator.start_s.tolist(), hall.generator.end_s.tolist(), strict=True
        )
    ]
    generator = np.array(on_generator, dtype=float).reshape(-1, 3)
    gpu_halls = {int(site.loads.hall[i]) for i in site.loads.of_kind(GPU)}
    gpu_groups = np.flatnonzero(site.loads.serves_tenants)
    gpu_fault_s = np.unique(
        np.concatenate(
            [faults.failures.failed_s[np.isin(faults.failures.group, gpu_groups)]]
            + [off[h].start_s for h in sorted(gpu_halls)]
        )
    )
    return FaultRecord(
        outage_start_s=faults.outages.start_s,
        outage_end_s=faults.outages.end_s,
        grid_down=faults.outages.down(),
        failed_s=faults.failures.failed_s,
        failed_group=faults.failures.group,
        repaired_s=faults.failures.repaired_s,
        group_names=site.loads.names,
        kinds=np.array([kind.name for kind in site.loads.kinds()]),
        units_installed=np.array(installed, dtype=float),
        in_service=in_service,
        cooling_failures=sum(windows.count for windows in faults.cooling),
        cooling_failure_s=float(sum((w.end_s - w.start_s).sum() for w in faults.cooling)),
        generator_start_s=generator[:, 1],
        generator_end_s=generator[:, 2],
        generator_hall=generator[:, 0].astype(int),
        fuel_cost_usd_per_mwh=np.array([hall.fuel_cost_usd_per_mwh for hall in halls]),
        failed_generator_starts=sum(hall.failed_starts for hall in halls),
        gpu_fault_s=gpu_fault_s,
        hall_off=hall_off,
        rows=_fault_rows(site, off),
    )


def _fault_rows(site: Site, off: list[Outages]) -> FaultRows:
    """Every fault, in the order of the event log's rows that start them.

    The instants a fault took GPU nodes away: its start, and for a grid outage each start
    of a hall going dark in it (a UPS running empty after a failed generator start).
    """
    faults, halls = site.faults, [hall.name for hall in site.scenario.site.halls]
    groups = len(site.loads)
    in_hall = [site.loads.hall == h for h in range(len(halls))]
    nobody = np.zeros(groups, dtype=bool)
    everyone = np.ones(groups, dtype=bool)
    rows: list[tuple[str, str, float, float, int, np.ndarray]] = []

    def windows(event: str, entity: str, spans: Outages, scope: np.ndarray) -> None:
        for start, end in zip(spans.start_s.tolist(), spans.end_s.tolist(), strict=True):
            rows.append((event, entity, start, end, -1, scope))

    for h, hall in enumerate(halls):  # the event log's order (SiteFaults.event_rows)
        windows("maintenance", hall, faults.maintenance[h], in_hall[h])
    windows("curtailment_order", "grid", faults.orders, nobody)
    for h, hall in enumerate(halls):
        windows("cooling_failure", hall, faults.cooling[h], nobody)
    windows("grid_outage", "grid", faults.outages, everyone)
    history = faults.failures
    for start, group, end in zip(
        history.failed_s.tolist(), history.group.tolist(), history.repaired_s.tolist(), strict=True
    ):
        rows.append(("hardware_failure", site.loads.names[group], start, end, group, nobody))
    gpu = site.loads.serves_tenants
    dark_starts = np.unique(np.concatenate([w.start_s for w in off]))
    instant_row, instant_s = [], []
    for i, (event, _, start, end, group, _) in enumerate(rows):
        instants = [start] if group < 0 or gpu[group] else []
        if event == "grid_outage":
            inside = dark_starts[(dark_starts > start) & (dark_starts < end)]
            instants += inside.tolist()
        instant_row += [i] * len(instants)
        instant_s += instants
    return FaultRows(
        event=np.array([r[0] for r in rows], dtype=object),
        entity=np.array([r[1] for r in rows], dtype=object),
        start_s=np.array([r[2] for r in rows], dtype=float),
        end_s=np.array([r[3] for r in rows], dtype=float),
        group=np.array([r[4] for r in rows], dtype=int),
        scope=np.array([r[5] for r in rows], dtype=bool).reshape(-1, groups),
        instant_row=np.array(instant_row, dtype=int),
        instant_s=np.array(instant_s, dtype=float),
    )


def facility_record(site: Site, mining: MiningRecord, ai: AiRecord) -> FacilityRecord:
    """The facility's physics over the finished run: heat, cooling, inlets, 4CP peaks."""
    facility, groups = site.facility, mining.groups
    times, working = groups.times_s, groups.effective  # ASIC groups share their change times
    unit_kw = groups.unit_power_w / 1_000.0
    # each load's place among its kind: the fleet's groups, hosting's clusters
    place = np.empty(len(site.loads), dtype=int)
    for kind in (ASIC, GPU):
        place[site.loads.of_kind(kind)] = np.arange(site.loads.of_kind(kind).size)
    kinds = site.loads.kinds()
    halls = []
    for h, hall in enumerate(facility.halls):
        members = facility.members[h]
        mine = np.array([place[i] for i in members if kinds[i] == ASIC], dtype=int)
        parts = [ai.groups[place[i]].power_kw for i in members if kinds[i] == GPU]
        if mine.size:  # the hall's ASIC groups in one sum
            parts.append(StepSeries(times, np.einsum("tg,g->t", working[:, mine], unit_kw[mine])))
        heat = total(ZERO, *parts)
        halls.append(
            HallRecord(
                name=hall.name,
                inlet_c=facility.inlet_c(h),
                heat_kw=heat,
                capacity_kw=facility.capacity_series_kw(h),
                cooling_kw=product(heat, facility.cooling_factor(h)),
            )
        )
    return FacilityRecord(
        ambient_c=facility.ambient_c,
        it_power_kw=total(mining.power_kw, ai.power_kw),
        cooling_power_kw=total(ZERO, *(hall.cooling_kw for hall in halls)),
        halls=halls,
        throttled=facility.throttled_any(),
        four_cp=site.scenario.site.grid_programs.four_cp,
        four_cp_peaks=site.grid_plan.peaks,
    )
