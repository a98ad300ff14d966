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


# Bitcoin Core's SetCompact/GetCompact vectors (src/test/arith_uint256_tests.cpp, positive
# values; docs/sources.md#consensus): short sizes shift right, size 4 and up shift left, and
# a mantissa whose top bit would read as a sign moves one byte up.
COMPACT_VECTORS = [
    (0x01123456, 0x12, 0x01120000),
    (0x02123456, 0x1234, 0x02123400),
    (0x03123456, 0x123456, 0x03123456),
    (0x04123456, 0x12345600, 0x04123456),
    (0x05009234, 0x92340000, 0x05009234),
    (0x20123456, 0x123456 << (8 * 29), 0x20123456),
]


@pytest.mark.parametrize(("bits", "target", "canonical"), COMPACT_VECTORS)
def test_compact_encoding_matches_bitcoin_cores_vectors(bits, target, canonical) -> None:
    assert rules.decode_compact(bits) == target
    assert rules.encode_compact(target) == canonical


def test_compact_targets_below_one_byte_and_the_sign_bit() -> None:
    for bits in (0x01003456, 0x02000056, 0x03000000):  # the mantissa shifted out entirely
        assert rules.decode_compact(bits) == 0
    assert rules.encode_compact(0x80) == 0x02008000  # 0x800000 would read as negative


def test_the_easiest_bits_of_an_impossibly_high_difficulty_are_a_target_of_one() -> None:
    # DIFF1_TARGET / 1e80 < 1: the target is floored at 1, not at 0 (no block could be found)
    assert rules.bits_for_difficulty(1e80) == rules.encode_compact(1) == 0x01010000


def test_implied_hashrate_finds_one_block_per_600_s() -> None:
    difficulty = 86_388_558_925_171.0
    assert rules.implied_hashrate_hs(difficulty) == difficulty * 2**32 / 600
    assert rules.implied_hashrate_hs(difficulty) == pytest.approx(6.184e20, rel=1e-3)
