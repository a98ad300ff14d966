"""Mining money: value per hash, FPPS income and pool fee, solo rewards, heat losses.

Two shares of a hash's expected value, which differ on purpose:

- :func:`expected_keep` — what the site keeps of a hash's expected value, in expectation:
  1 − fee under FPPS, all of it solo (E[solo reward] = FPPS before fee, docs/model.md §3.2).
  The policy prices hashes with it, and the revenue lost to heat is valued with it.
- :func:`fpps_cash_share` — the share the pool pays as a steady stream: 1 − fee under FPPS,
  nothing solo, where the money comes as the site's blocks instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import consensus as rules
from sim.economics import energy
from sim.economics.grid import dr_credit_rate
from sim.economics.inputs import AsicGroups, BlockColumns, MiningRecord
from sim.scenario.schema import MiningSpec
from sim.steps import StepSeries, product
from sim.units import HASHES_PER_PHS, HASHES_PER_THS, SECONDS_PER_DAY


def expected_keep(mining: MiningSpec) -> float:
    """Share of a hash's expected value the site keeps: 1 − pool fee (FPPS), 1 (solo)."""
    return 1.0 - mining.pool_fee_fraction if mining.payout == "fpps" else 1.0


def fpps_cash_share(mining: MiningSpec) -> float:
    """Share of a hash's expected value the pool pays: 1 − pool fee (FPPS), 0 (solo)."""
    return 1.0 - mining.pool_fee_fraction if mining.payout == "fpps" else 0.0


def value_per_hash(chain: dict[str, StepSeries]) -> StepSeries:
    """Expected BTC per hash of the block being worked on, before pool fees."""
    return StepSeries(
        chain["difficulty"].times_s,
        rules.value_per_hash_btc(
            chain["height"].values.astype(np.int64),
            chain["expected_fees_btc"].values,
            chain["difficulty"].values,
        ),
    )


def site_found(blocks: BlockColumns, site_hashrate_hs: StepSeries) -> np.ndarray:
    """Which network blocks are the site's: block k iff luck_k < h(t_k)/H(t_k) (capped at 1).

    Drawn under either payout; only solo is paid by them.
    """
    share = site_hashrate_hs.at(blocks.times_s) / blocks.network_hashrate_hs
    return blocks.luck < np.minimum(share, 1.0)


def solo_reward_btc(blocks: BlockColumns, found: np.ndarray, mining: MiningSpec) -> np.ndarray:
    """Per block: subsidy + realised fees if solo and the site's, else 0 (BTC)."""
    if mining.payout != "solo":  # no block pays: spares pricing ≈260,000 subsidies
        return np.zeros(found.shape)
    return np.where(found, rules.subsidy_sat(blocks.heights) / 1e8 + blocks.fees_btc, 0.0)


def group_rewards(
    groups: AsicGroups, times_s: np.ndarray, reward_usd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each paid block's reward split by the groups' shares of the site's hashrate then.

    Returns the paid blocks' times and their USD per group (blocks × groups).
    """
    paid = np.flatnonzero(reward_usd)
    at = times_s[paid]
    row = np.searchsorted(groups.times_s, at, side="right") - 1
    hashing = groups.effective[row] * (groups.unit_hashrate_ths * HASHES_PER_THS)
    share = hashing / np.maximum(hashing.sum(axis=1), 1e-300)[:, None]
    return at, reward_usd[paid, None] * share


def heat_lost_usd_rate(
    throttled_hs: StepSeries, usd_per_hash: StepSeries, mining: MiningSpec
) -> StepSeries:
    """Expected revenue of the hashrate lost to heat (USD/s): what the site would have kept."""
    if not throttled_hs.values.any():  # nothing throttled: skip the long product
        return StepSeries.constant(0.0)
    return product(throttled_hs, usd_per_hash).scaled(expected_keep(mining))


@dataclass(frozen=True)
class MiningMoney:
    """The mining side's money: step series (rates) and per-block arrays."""

    value_per_hash: StepSeries  # expected BTC per hash, before pool fees
    usd_per_hash: StepSeries  # its value at the BTC price then (USD per hash)
    hashprice: StepSeries  # USD per PH/s per day, before pool fees
    fpps_cash_share: float  # see the module docstring
    fpps_btc_rate: StepSeries  # BTC per second, net of pool fee (0 when solo)
    fpps_usd_rate: StepSeries
    fpps_gross_usd_rate: StepSeries  # FPPS value before pool fee (USD per second)
    energy_cost_rate: StepSeries  # the ASICs' energy (USD per second)
    dr_credit_rate: StepSeries  # USD per second earned for load kept off during events
    heat_lost_usd_rate: StepSeries  # expected mining revenue lost to heat (USD per second)
    site_found: np.ndarray  # per network block
    site_reward_btc: np.ndarray  # solo rewards of the site's blocks (0 in fpps)
    site_reward_usd: np.ndarray  # valued at the BTC price when found
    group_reward_times_s: np.ndarray  # the paid blocks' times …
    group_reward_usd: np.ndarray  # … and their USD per group (blocks × groups)

    def pool_fee_usd(self, edges_s: np.ndarray) -> np.ndarray:
        """Pool fee paid over each bin ``[edges_s[i], edges_s[i+1])`` (USD)."""
        return self.fpps_gross_usd_rate.integrate(edges_s) - self.fpps_usd_rate.integrate(edges_s)


def _valued(reward_btc: np.ndarray, times_s: np.ndarray, btc_price_usd: StepSeries) -> np.ndarray:
    """Each block's reward at the BTC price when found (USD); priced only where paid.

    Under FPPS no block pays, and pricing all ≈260,000 blocks of a run cost a search each.
    """
    usd = np.zeros_like(reward_btc)
    paid = np.flatnonzero(reward_btc)
    usd[paid] = reward_btc[paid] * btc_price_usd.at(times_s[paid])
    return usd


def mining_money(record: MiningRecord) -> MiningMoney:
    """The revenue, fee, cost and credit series of a finished run's mining side."""
    mining, blocks = record.mining, record.blocks
    cash = fpps_cash_share(mining)
    per_hash = value_per_hash(record.chain)
    usd_per_hash = product(per_hash, record.btc_price_usd)
    usd_rate = product(record.hashrate_hs, usd_per_hash)
    found = site_found(blocks, record.hashrate_hs)
    reward = solo_reward_btc(blocks, found, mining)
    reward_usd = _valued(reward, blocks.times_s, record.btc_price_usd)
    reward_times, reward_by_group = group_rewards(record.groups, blocks.times_s, reward_usd)
    return MiningMoney(
        value_per_hash=per_hash,
        usd_per_hash=usd_per_hash,
        hashprice=usd_per_hash.scaled(SECONDS_PER_DAY * HASHES_PER_PHS),
        fpps_cash_share=cash,
        fpps_btc_rate=product(record.hashrate_hs, per_hash).scaled(cash),
        fpps_usd_rate=usd_rate.scaled(cash),
        fpps_gross_usd_rate=usd_rate.scaled(1.0 if mining.payout == "fpps" else 0.0),
        energy_cost_rate=energy.usd_rate(record.power_kw, record.paid_energy_price_usd_per_mwh),
        dr_credit_rate=dr_credit_rate(record.curtailed_kw, record.dr_credit_usd_per_mwh),
        heat_lost_usd_rate=heat_lost_usd_rate(record.throttled_hashrate_hs, usd_per_hash, mining),
        site_found=found,
        site_reward_btc=reward,
        site_reward_usd=reward_usd,
        group_reward_times_s=reward_times,
        group_reward_usd=reward_by_group,
    )
