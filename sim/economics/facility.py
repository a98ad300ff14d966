"""Facility money: the cooling's energy cost and the 4CP charge on the site's power.

Cooling power is the model's (physics); what it costs is priced here like any power.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.economics.energy import energy_cost_usd
from sim.economics.grid import FourCpCharge, four_cp_charges
from sim.economics.inputs import FacilityRecord
from sim.steps import StepSeries, product


@dataclass(frozen=True)
class FacilityMoney:
    """What the facility costs beyond the IT energy."""

    cooling_kw_price: StepSeries  # cooling power × energy price (kW·USD/MWh)
    four_cp: list[FourCpCharge]  # one per 4CP month in the run

    def cooling_energy_cost_usd(self, edges_s: np.ndarray) -> np.ndarray:
        """The cooling's energy cost over each bin (USD)."""
        return energy_cost_usd(self.cooling_kw_price.integrate(edges_s))


def facility_money(record: FacilityRecord, energy_price_usd_per_mwh: StepSeries) -> FacilityMoney:
    """Cooling energy cost and 4CP charges of a finished run."""
    spec = record.four_cp
    return FacilityMoney(
        cooling_kw_price=product(record.cooling_power_kw, energy_price_usd_per_mwh),
        four_cp=four_cp_charges(spec, record.site_power_kw(), record.four_cp_peaks)
        if spec is not None
        else [],
    )
