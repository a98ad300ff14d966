"""Grid programs' money: demand-response credits and the 4CP transmission charge."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from sim.economics.energy import usd_rate
from sim.economics.inputs import FourCpPeak
from sim.scenario.grid import FourCpSpec
from sim.steps import StepSeries


def dr_credit_rate(curtailed_kw: StepSeries, credit_usd_per_mwh: StepSeries) -> StepSeries:
    """USD per second the grid pays for load kept off: curtailed kW × paid credit."""
    return usd_rate(curtailed_kw, credit_usd_per_mwh)


class FourCpCharge(NamedTuple):
    """One month's share of the transmission charge (a row of a 4CP table)."""

    month: str
    peak_start_s: float
    site_power_kw: float  # mean over the peak interval
    charge_usd: float


def four_cp_charges(
    spec: FourCpSpec, site_power_kw: StepSeries, peaks: Sequence[FourCpPeak]
) -> list[FourCpCharge]:
    """Each month's charge: mean site power in its peak interval × rate / number of months.

    ``site_power_kw`` is the site's whole grid draw (kW), defined over the peaks; the mean
    over each 15-minute interval is exact (:meth:`StepSeries.integrate`). A year's charge is
    the sum over its months. Which interval is the peak is the grid programs' (the model's).
    """
    if not peaks:
        return []
    edges = np.array([[p.start_s, p.end_s] for p in peaks]).reshape(-1)
    duration = np.array([p.end_s - p.start_s for p in peaks])
    power = site_power_kw.integrate(edges)[::2] / duration  # odd bins lie between peaks
    usd_per_kw = spec.rate_usd_per_kw_year / len(spec.months)
    return [
        FourCpCharge(p.month, p.start_s, float(kw), float(kw) * usd_per_kw)
        for p, kw in zip(peaks, power, strict=True)
    ]
