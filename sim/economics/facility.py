"""Facility money: the cooling's energy cost and the 4CP charge on the site's power.

Cooling power is the model's (physics); what it costs is priced here like any power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.economics.energy import energy_cost_usd
from sim.economics.grid import FourCpCharge, four_cp_charges
from sim.economics.inputs import FacilityRecord, FaultRecord, HallRecord
from sim.steps import StepSeries, product
from sim.units import SECONDS_PER_HOUR


@dataclass(frozen=True)
class FacilityMoney:
    """What the facility costs beyond the IT energy."""

    cooling_kw_price: StepSeries  # cooling power × energy price (kW·USD/MWh)
    four_cp: list[FourCpCharge]  # one per 4CP month in the run

    def cooling_energy_cost_usd(self, edges_s: np.ndarray) -> np.ndarray:
        """The cooling's energy cost over each bin (USD)."""
        return energy_cost_usd(self.cooling_kw_price.integrate(edges_s))


def generator_energy_kwh(halls: list[HallRecord], faults: FaultRecord) -> np.ndarray:
    """Energy each generator window carried: its hall's heat (IT) plus cooling (kWh)."""
    kwh = np.zeros(faults.generator_start_s.size)
    for i, (start, end, h) in enumerate(
        zip(
            faults.generator_start_s.tolist(),
            faults.generator_end_s.tolist(),
            faults.generator_hall.tolist(),
            strict=True,
        )
    ):
        edges = np.array([start, end])
        hall = halls[h]
        kwh[i] = float(hall.heat_kw.integrate(edges)[0] + hall.cooling_kw.integrate(edges)[0])
    return kwh / SECONDS_PER_HOUR


def generator_fuel_usd(halls: list[HallRecord], faults: FaultRecord) -> tuple[float, float]:
    """(energy in MWh, fuel cost in USD) of every generator window of the run."""
    kwh = generator_energy_kwh(halls, faults)
    price = faults.fuel_cost_usd_per_mwh[faults.generator_hall]
    return float(kwh.sum()) / 1_000.0, float((kwh / 1_000.0 * price).sum())


def facility_money(record: FacilityRecord, energy_price_usd_per_mwh: StepSeries) -> FacilityMoney:
    """Cooling energy cost and 4CP charges of a finished run."""
    spec = record.four_cp
    return FacilityMoney(
        cooling_kw_price=product(record.cooling_power_kw, energy_price_usd_per_mwh),
        four_cp=four_cp_charges(spec, record.site_power_kw(), record.four_cp_peaks)
        if spec is not None
        else [],
    )
