"""Facility columns: ambient, IT and cooling power, PUE, hall temperatures, cooling cost, 4CP.

All heat is IT power: a hall's heat is the wall power of the hardware in it; its cooling
power is its cooling factor (from the ambient) × that heat (:mod:`sim.model.records`), so
site power = IT + cooling holds exactly at every instant and over every bin.
"""

from __future__ import annotations

import numpy as np

from sim.economics.facility import FacilityMoney
from sim.economics.inputs import FacilityRecord
from sim.record.ai_tables import bin_sum
from sim.units import SECONDS_PER_HOUR


def facility_columns(
    facility: FacilityRecord, money: FacilityMoney, edges_s: np.ndarray
) -> dict[str, np.ndarray]:
    """Site facility columns over bins, then each hall's columns."""
    it_kwh = facility.it_power_kw.integrate(edges_s) / SECONDS_PER_HOUR
    cooling_kwh = facility.cooling_power_kw.integrate(edges_s) / SECONDS_PER_HOUR
    hours = np.diff(edges_s) / SECONDS_PER_HOUR
    columns = {
        "ambient_temp_c": facility.ambient_c.mean(edges_s),
        "it_power_kw": it_kwh / hours,
        "cooling_power_kw": cooling_kwh / hours,
        "site_power_kw": (it_kwh + cooling_kwh) / hours,
        "pue": np.divide(
            it_kwh + cooling_kwh, it_kwh, out=np.full(it_kwh.size, np.nan), where=it_kwh > 0
        ),
        "cooling_energy_kwh": cooling_kwh,
        "cooling_energy_cost_usd": money.cooling_energy_cost_usd(edges_s),
        "throttled_hours": facility.throttled.integrate(edges_s) / SECONDS_PER_HOUR,
        "four_cp_charge_usd": bin_sum(
            np.array([c.peak_start_s for c in money.four_cp]),
            edges_s,
            np.array([c.charge_usd for c in money.four_cp]),
        ),
    }
    for hall in facility.halls:
        columns[f"{hall.name}_inlet_temp_c"] = hall.inlet_c.mean(edges_s)
        columns[f"{hall.name}_heat_kw"] = hall.heat_kw.mean(edges_s)
        columns[f"{hall.name}_cooling_capacity_kw"] = hall.capacity_kw.mean(edges_s)
        columns[f"{hall.name}_cooling_power_kw"] = hall.cooling_kw.mean(edges_s)
    return columns
