"""The typed record of a finished run that the economics stage is computed from.

The model fills it once (``Site.mining_record``), so money is computed from plain data and
never from the model's objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import MiningSpec
from sim.steps import StepSeries


@dataclass(frozen=True)
class BlockColumns:
    """One entry per network block found in the run, in order."""

    times_s: np.ndarray
    heights: np.ndarray  # int64
    bits: np.ndarray  # int64, compact target
    fees_btc: np.ndarray  # realised fees
    network_hashrate_hs: np.ndarray  # H at the block's time
    luck: np.ndarray  # U(0,1) from ``solo_luck``: whose block it is


@dataclass(frozen=True)
class AsicGroups:
    """The ASIC groups' ratings and their units over time (rows: change times; columns: groups)."""

    names: list[str]
    models: list[str]
    units_installed: np.ndarray
    unit_hashrate_ths: np.ndarray
    unit_power_w: np.ndarray
    times_s: np.ndarray
    running: np.ndarray  # units granted and running
    effective: np.ndarray  # running × heat throttle factor


@dataclass(frozen=True)
class MiningRecord:
    """What the run produced on the mining side, and the market series it ran under."""

    mining: MiningSpec  # payout scheme and pool fee
    chain: dict[str, StepSeries]  # the block being worked on: height, difficulty, …
    blocks: BlockColumns
    network_hashrate_hs: StepSeries
    groups: AsicGroups
    hashrate_hs: StepSeries  # site, after heat throttling
    throttled_hashrate_hs: StepSeries  # granted hashrate lost to heat throttling and trips
    power_kw: StepSeries
    curtailed_kw: StepSeries  # nameplate power of installed units not running
    units: StepSeries  # units granted
    btc_price_usd: StepSeries
    energy_price_usd_per_mwh: StepSeries
    dr_credit_usd_per_mwh: StepSeries  # paid by the grid per MWh of ASIC load kept off
