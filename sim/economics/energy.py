"""Energy cost: power (kW) bought at the energy price (USD/MWh)."""

from __future__ import annotations

import numpy as np

from sim.steps import StepSeries, product
from sim.units import KWH_PER_MWH, SECONDS_PER_HOUR


def usd_rate(kw: StepSeries, usd_per_mwh: StepSeries) -> StepSeries:
    """USD per second of a power priced per MWh (kW × USD/MWh / 3.6e6)."""
    return product(kw, usd_per_mwh).scaled(1.0 / SECONDS_PER_HOUR / KWH_PER_MWH)


def energy_cost_usd(kw_s_usd_per_mwh: np.ndarray) -> np.ndarray:
    """USD of integrals of power × price (kW·s·USD/MWh), e.g. per bin and group."""
    # divided, not scaled as in usd_rate, so the binned costs keep their last bits
    return kw_s_usd_per_mwh / SECONDS_PER_HOUR / KWH_PER_MWH
