"""Grid programs' money: demand-response credits."""

from __future__ import annotations

from sim.economics.energy import usd_rate
from sim.steps import StepSeries


def dr_credit_rate(curtailed_kw: StepSeries, credit_usd_per_mwh: StepSeries) -> StepSeries:
    """USD per second the grid pays for load kept off: curtailed kW × paid credit."""
    return usd_rate(curtailed_kw, credit_usd_per_mwh)
