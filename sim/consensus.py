"""Bitcoin consensus rules (docs/sources.md#consensus, Bitcoin Core [P]).

Pure functions and constants of the protocol, shared by the scenario checks and the model.

Targets are exact 256-bit integers in compact ("nBits") form, as in ``src/pow.cpp`` and
``arith_uint256``; difficulty is ``DIFF1_TARGET / target`` and never falls below 1.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

TARGET_SPACING_S = 600
RETARGET_INTERVAL_BLOCKS = 2_016
TARGET_TIMESPAN_S = 14 * 24 * 3_600  # 1,209,600 s
HALVING_INTERVAL_BLOCKS = 210_000
INITIAL_SUBSIDY_SAT = 50 * 100_000_000
HASHES_PER_DIFFICULTY = 2**32  # expected hashes per block = difficulty × 2^32
DIFF1_TARGET = 0xFFFF * 2**208  # compact 0x1d00ffff
POW_LIMIT = 2**224 - 1  # mainnet powLimit; compacts to 0x1d00ffff


# the subsidy after 0 … 63 halvings, then 0: one lookup instead of shifting a scalar by
# an array of counts and masking (≈25 % less time on a run's 260,000 heights)
_SUBSIDY_BY_HALVINGS = np.append(np.right_shift(np.int64(INITIAL_SUBSIDY_SAT), np.arange(64)), 0)


def subsidy_sat(height: np.ndarray | int) -> np.ndarray:
    """Block subsidy in satoshis at ``height`` ≥ 0 (``GetBlockSubsidy``): 50 BTC >> halvings."""
    halvings = np.asarray(height, dtype=np.int64) // HALVING_INTERVAL_BLOCKS
    return np.asarray(_SUBSIDY_BY_HALVINGS[np.minimum(halvings, 64)])


def decode_compact(bits: int) -> int:
    """Target encoded by compact ``bits`` (``arith_uint256::SetCompact``, positive only)."""
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        return word >> (8 * (3 - size))
    return word << (8 * (size - 3))


def encode_compact(target: int) -> int:
    """Compact ``bits`` of ``target`` (``arith_uint256::GetCompact``); truncates to 23 bits."""
    size = (target.bit_length() + 7) // 8
    compact = target << (8 * (3 - size)) if size <= 3 else target >> (8 * (size - 3))
    if compact & 0x00800000:  # keep the sign bit clear
        compact >>= 8
        size += 1
    return compact | (size << 24)


def difficulty_of(bits: int) -> float:
    """Difficulty of compact ``bits``: DIFF1_TARGET / target."""
    return DIFF1_TARGET / decode_compact(bits)


def difficulties_of(bits: np.ndarray) -> np.ndarray:
    """Difficulty of each compact ``bits`` (computed once per distinct value)."""
    unique_bits, which = np.unique(bits, return_inverse=True)
    return np.array([difficulty_of(int(b)) for b in unique_bits], dtype=float)[which]


def value_per_hash_btc(
    height: np.ndarray | int, expected_fees_btc: np.ndarray | float, difficulty: np.ndarray | float
) -> np.ndarray:
    """Expected BTC per hash of work on a block: (subsidy + expected fees) / (D · 2^32)."""
    reward = subsidy_sat(height) / 1e8 + np.asarray(expected_fees_btc)
    return reward / (np.asarray(difficulty) * HASHES_PER_DIFFICULTY)


def bits_for_difficulty(difficulty: float) -> int:
    """Compact bits whose target is DIFF1_TARGET / difficulty (rounded down, then compacted)."""
    target = int(Fraction(DIFF1_TARGET) / Fraction(difficulty))
    return encode_compact(min(max(target, 1), POW_LIMIT))


def clamp_timespan(actual_s: int) -> int:
    """Measured epoch timespan clamped to [timespan/4, timespan×4]."""
    return min(max(actual_s, TARGET_TIMESPAN_S // 4), TARGET_TIMESPAN_S * 4)


def next_bits(old_bits: int, first_block_time: int, last_block_time: int) -> int:
    """Bits of the next epoch (``CalculateNextWorkRequired``).

    ``first_block_time`` and ``last_block_time`` are the integer timestamps of the epoch's
    first and last blocks: 2015 intervals, Bitcoin's well-known off-by-one.
    """
    actual = clamp_timespan(last_block_time - first_block_time)
    target = decode_compact(old_bits) * actual // TARGET_TIMESPAN_S
    return encode_compact(min(target, POW_LIMIT))


def implied_hashrate_hs(difficulty: float) -> float:
    """Network hashrate that finds blocks every 600 s on average at ``difficulty`` (H/s)."""
    return difficulty * HASHES_PER_DIFFICULTY / TARGET_SPACING_S


def hashprice_usd_per_ph_day(
    difficulty: np.ndarray | float,
    subsidy_btc: np.ndarray | float,
    fees_btc_per_block: np.ndarray | float,
    btc_price_usd: np.ndarray | float,
) -> np.ndarray:
    """Expected revenue of 1 PH/s for one day (docs/sources.md#hashprice [D])."""
    blocks_per_ph_day = 86_400 * 1e15 / (np.asarray(difficulty) * HASHES_PER_DIFFICULTY)
    return blocks_per_ph_day * (np.asarray(subsidy_btc) + fees_btc_per_block) * btc_price_usd
