"""Bitcoin consensus rules against docs/sources.md#consensus and known chain history."""

from __future__ import annotations

import numpy as np
import pytest

from sim import consensus as rules


def test_subsidy_at_every_height_matches_the_reference_formula() -> None:
    heights = np.arange(0, 64 * 210_000 + 10, 997, dtype=np.int64)
    heights = np.concatenate((heights, np.arange(1, 70) * 210_000 - 1, np.arange(1, 70) * 210_000))
    expected = [0 if h // 210_000 >= 64 else (50 * 10**8) >> (h // 210_000) for h in heights]
    np.testing.assert_array_equal(rules.subsidy_sat(heights), expected)
    assert rules.subsidy_sat(839_999) == 625_000_000
    assert rules.subsidy_sat(840_000) == 312_500_000
    assert rules.subsidy_sat(1_050_000) == 156_250_000


def test_total_issuance_is_20999999_9769_btc() -> None:
    per_era = rules.subsidy_sat(np.arange(70, dtype=np.int64) * 210_000)
    assert int(per_era.sum()) * 210_000 == 2_099_999_997_690_000
    assert int(per_era[per_era > 0][-1]) == 1  # the last non-zero subsidy is 1 sat


def test_difficulty_of_the_halving_epoch_from_its_bits() -> None:
    # Block 840,000: nBits 0x17034219, difficulty 86,388,558,925,171 [P]
    # (docs/sources.md#halving-2024).
    assert rules.difficulty_of(0x17034219) == pytest.approx(86_388_558_925_171, abs=1)
    assert rules.bits_for_difficulty(86_388_558_925_171.0) == 0x17034219


def test_compact_round_trip_and_pow_limit() -> None:
    assert rules.encode_compact(rules.POW_LIMIT) == 0x1D00FFFF
    assert rules.difficulty_of(0x1D00FFFF) == 1.0
    for bits in (0x1D00FFFF, 0x1B0404CB, 0x17034219, 0x1703E8B3):
        assert rules.encode_compact(rules.decode_compact(bits)) == bits
    assert rules.encode_compact(0x80) == 0x02008000  # sign bit forces one more byte


def test_first_retarget_in_history() -> None:
    # Height 32,256: the epoch from 30,240 took 1,022,578 s → bits 0x1d00d86a (difficulty 1.18).
    assert rules.next_bits(0x1D00FFFF, 0, 1_022_578) == 0x1D00D86A


def test_retarget_clamps_and_never_goes_below_difficulty_one() -> None:
    bits = rules.bits_for_difficulty(1e12)
    fast = rules.next_bits(bits, 0, 1)  # measured ~0 s: clamp to timespan / 4
    assert rules.difficulty_of(fast) / 1e12 == pytest.approx(4.0, rel=1e-4)
    slow = rules.next_bits(bits, 0, 10**9)  # clamp to 4 × timespan
    assert rules.difficulty_of(slow) / 1e12 == pytest.approx(0.25, rel=1e-4)
    assert rules.next_bits(0x1D00FFFF, 0, 10**9) == 0x1D00FFFF  # minimum difficulty 1


def test_hashprice_formula() -> None:
    # 2024-04-01: D = 83.13 T, subsidy 6.25, ≈0.2 BTC fees, ≈$69.7k → ≈$108.6/PH/day (REF §2).
    value = rules.hashprice_usd_per_ph_day(83.13e12, 6.25, 0.2, 69_700.0)
    assert value == pytest.approx(108.6, rel=0.01)
