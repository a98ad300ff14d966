"""Facility outputs: ambient, IT and cooling power, PUE, hall temperatures, heat losses.

All heat is IT power: a hall's heat is the wall power of the hardware in it; its cooling
power is its cooling factor (from the ambient) × that heat, so site power = IT + cooling
holds exactly at every instant and over every bin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.economics.energy import binned_energy_cost_usd
from sim.model.grid_programs import FourCpCharge, four_cp_charges
from sim.model.site import Site
from sim.model.thermal import ExpSeries
from sim.record.ai_tables import bin_sum
from sim.steps import StepSeries, product, total
from sim.units import SECONDS_PER_HOUR

ZERO = StepSeries.constant(0.0)


@dataclass(frozen=True)
class HallSeries:
    """One hall over the run."""

    name: str
    inlet_c: ExpSeries
    heat_kw: StepSeries
    capacity_kw: StepSeries
    cooling_kw: StepSeries


@dataclass(frozen=True)
class FacilitySeries:
    """Site-level facility series and each hall's."""

    ambient_c: StepSeries
    it_power_kw: StepSeries
    cooling_power_kw: StepSeries
    halls: list[HallSeries]
    throttled: StepSeries  # 1 while some hardware runs throttled or tripped, else 0
    four_cp: list[FourCpCharge]  # one per 4CP month in the run


def facility_series(
    site: Site, asic_power_kw: StepSeries, gpu_power_kw: StepSeries
) -> FacilitySeries:
    """Derive the facility series of a finished run."""
    facility, fleet, clusters = site.facility, site.fleet, site.hosting.clusters
    times, _, working = fleet.effective_units()  # ASIC groups share their change times
    unit_kw = fleet.unit_power_w / 1_000.0
    asics = len(fleet.groups)
    halls = []
    for h, hall in enumerate(facility.halls):
        members = facility.members[h]
        mine = members[members < asics]
        parts = [clusters[i - asics].power_kw() for i in members[members >= asics]]
        if mine.size:  # the hall's ASIC groups in one sum
            parts.append(StepSeries(times, np.einsum("tg,g->t", working[:, mine], unit_kw[mine])))
        heat = total(ZERO, *parts)
        halls.append(
            HallSeries(
                name=hall.name,
                inlet_c=facility.inlet_c(h),
                heat_kw=heat,
                capacity_kw=facility.capacity_series_kw(h),
                cooling_kw=product(heat, facility.cooling_factor(h)),
            )
        )
    it_power = total(asic_power_kw, gpu_power_kw)
    cooling_power = total(ZERO, *(hall.cooling_kw for hall in halls))
    four_cp = site.scenario.site.grid_programs.four_cp
    return FacilitySeries(
        ambient_c=facility.ambient_c,
        it_power_kw=it_power,
        cooling_power_kw=cooling_power,
        halls=halls,
        throttled=facility.throttled_any(),
        four_cp=four_cp_charges(four_cp, total(it_power, cooling_power), site.grid_plan.peaks)
        if four_cp is not None
        else [],
    )


def facility_columns(
    series: FacilitySeries, energy_price: StepSeries, edges_s: np.ndarray
) -> dict[str, np.ndarray]:
    """Site facility columns over bins, then each hall's columns."""
    it_kwh = series.it_power_kw.integrate(edges_s) / SECONDS_PER_HOUR
    cooling_kwh = series.cooling_power_kw.integrate(edges_s) / SECONDS_PER_HOUR
    hours = np.diff(edges_s) / SECONDS_PER_HOUR
    columns = {
        "ambient_temp_c": series.ambient_c.mean(edges_s),
        "it_power_kw": it_kwh / hours,
        "cooling_power_kw": cooling_kwh / hours,
        "site_power_kw": (it_kwh + cooling_kwh) / hours,
        "pue": np.divide(
            it_kwh + cooling_kwh, it_kwh, out=np.full(it_kwh.size, np.nan), where=it_kwh > 0
        ),
        "cooling_energy_kwh": cooling_kwh,
        "cooling_energy_cost_usd": binned_energy_cost_usd(
            series.cooling_power_kw, energy_price, edges_s
        ),
        "throttled_hours": series.throttled.integrate(edges_s) / SECONDS_PER_HOUR,
        "four_cp_charge_usd": bin_sum(
            np.array([c.peak_start_s for c in series.four_cp]),
            edges_s,
            np.array([c.charge_usd for c in series.four_cp]),
        ),
    }
    for hall in series.halls:
        columns[f"{hall.name}_inlet_temp_c"] = hall.inlet_c.mean(edges_s)
        columns[f"{hall.name}_heat_kw"] = hall.heat_kw.mean(edges_s)
        columns[f"{hall.name}_cooling_capacity_kw"] = hall.capacity_kw.mean(edges_s)
        columns[f"{hall.name}_cooling_power_kw"] = hall.cooling_kw.mean(edges_s)
    return columns
