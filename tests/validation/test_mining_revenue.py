"""Validation of mining revenue (FPPS and solo) and hashprice against their formulas."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SCENARIOS, make_scenario
from scipy import stats

from sim import load_scenario, run_one
from sim.consensus import hashprice_usd_per_ph_day

D0 = 80e12
H_D = D0 * 2**32 / 600
EPOCH_START = 840_672  # after the 2024 halving: subsidy 3.125 BTC throughout
S21_THS = 200.0


def network(days: float, seed: int, units: int, payout: str, fees: dict | None = None, **kw):
    end = np.datetime64("2024-06-01T00:00:00") + np.timedelta64(int(days * 86_400), "s")
    return make_scenario(
        start_utc="2024-06-01T00:00:00Z",
        end_utc=f"{end}Z",
        seed=seed,
        bitcoin={
            "start_height": EPOCH_START,
            "start_difficulty": D0,
            "epoch_start_utc": "2024-06-01T00:00:00Z",
            "network_hashrate": {
                "start_ehs": H_D / 1e18,
                "growth_per_year": 0.0,
                "volatility_per_year": 0.0,
            },
            "fees": fees or {"btc_per_block": 0.0, "noise_sigma": 0.0},
            "price": {"start_usd": 60_000.0, "volatility_per_year": 0.0},
        },
        mining={
            "payout": payout,
            "pool_fee_fraction": kw.get("pool_fee", 0.0),
            "groups": [{"model": "Antminer S21", "count": units}],
        },
        site={"grid_capacity_kw": 1e9},
    )


def test_fpps_revenue_is_share_times_expected_blocks_times_reward_net_of_fee() -> None:
    days, units, pool_fee, fee_level = 7, 100_000, 0.025, 0.1
    scenario = network(
        days, 3, units, "fpps", {"btc_per_block": fee_level, "noise_sigma": 0.4}, pool_fee=pool_fee
    )
    result = run_one(scenario)
    horizon = days * 86_400
    share = units * S21_THS * 1e12 / H_D
    expected_blocks = H_D * horizon / (D0 * 2**32)  # one epoch at most: D constant
    assert result.blocks["height"].max() < EPOCH_START + 2016
    expected_btc = share * expected_blocks * (3.125 + fee_level) * (1 - pool_fee)
    difficulty = result.blocks["difficulty"].iloc[0]  # D0 after compact-target rounding
    expected_btc *= D0 / difficulty
    assert result.summary["btc_mined"].iloc[0] == pytest.approx(expected_btc, rel=1e-9)
    assert result.timeseries["btc_mined"].sum() == pytest.approx(expected_btc, rel=1e-9)
    usd = result.summary["mining_revenue_usd"].iloc[0]
    assert usd == pytest.approx(expected_btc * 60_000.0, rel=1e-9)
    gross = usd / (1 - pool_fee)
    assert result.summary["pool_fee_usd"].iloc[0] == pytest.approx(gross * pool_fee, rel=1e-9)


def test_fpps_revenue_recomputed_from_blocks_across_a_halving_and_retargets() -> None:
    # Each interval (t_{k-1}, t_k] earns h·Δt·(subsidy_k + E[fees_k]) / (D_k·2^32).
    scenario = load_scenario(
        SCENARIOS / "baseline.yaml",
        ["end_utc=2024-06-01T00:00:00Z", "bitcoin.fees.noise_sigma=0", "bitcoin.fees.spikes=[]"],
    )
    result = run_one(scenario)
    blocks = result.blocks
    h = result.summary["installed_hashrate_ths"].iloc[0] * 1e12
    fees_expected = blocks["fees_btc"].to_numpy()  # no noise: realised = expected
    times = blocks["time_s"].to_numpy()
    dt = np.diff(np.concatenate(([0.0], times)))
    per_block = h * dt * (blocks["subsidy_btc"] + fees_expected) / (blocks["difficulty"] * 2**32)
    # the block still being worked on at the horizon
    tail_s = scenario.horizon_s - times[-1]
    tail = h * tail_s * (3.125 + result.timeseries["expected_fees_btc_per_block"].iloc[-1])
    tail /= result.timeseries["difficulty"].iloc[-1] * 2**32
    expected = (per_block.sum() + tail) * (1 - scenario.mining.pool_fee_fraction)
    assert result.timeseries["btc_mined"].sum() == pytest.approx(expected, rel=1e-9)
    assert (blocks["subsidy_btc"] == 3.125).any() and (blocks["subsidy_btc"] == 6.25).any()


def test_solo_revenue_has_the_fpps_mean_and_poisson_variance() -> None:
    # Constant H and D: the site's blocks are a thinned Poisson process with mean
    # λ = h·T/(D·2^32); solo BTC = subsidy × N has mean λ·subsidy and variance λ·subsidy².
    days, units, seeds = 7, 50_000, 120
    mined = []
    for seed in range(seeds):
        summary = run_one(network(days, seed, units, "solo")).summary
        mined.append(summary["btc_mined"].iloc[0])
    counts = np.array(mined) / 3.125
    assert np.allclose(counts, np.round(counts))
    fpps = run_one(network(days, 0, units, "fpps")).summary["btc_mined"].iloc[0]
    lam = fpps / 3.125
    assert counts.mean() == pytest.approx(lam, abs=4 * np.sqrt(lam / seeds))
    dispersion = ((counts - counts.mean()) ** 2).sum() / lam
    lo, hi = stats.chi2.ppf([1e-4, 1 - 1e-4], seeds - 1)
    assert lo < dispersion < hi


def test_solo_blocks_count_in_the_timeseries_and_revenue() -> None:
    result = run_one(network(7, 11, 50_000, "solo"))
    found = result.blocks["found_by_site"].sum()
    assert result.timeseries["site_blocks_found"].sum() == found
    assert result.summary["btc_mined"].iloc[0] == pytest.approx(found * 3.125)
    assert result.summary["pool_fee_usd"].iloc[0] == 0.0


def test_hashprice_column_is_the_reference_formula() -> None:
    scenario = load_scenario(SCENARIOS / "baseline.yaml", ["end_utc=2024-06-01T00:00:00Z"])
    ts = run_one(scenario).timeseries
    state = ["difficulty", "subsidy_btc", "expected_fees_btc_per_block"]
    # rows in which nothing changed: the same chain state at this row's start and the next's
    steady = (ts[state].shift(-1) == ts[state]).all(axis=1) & (ts["blocks_found"] > 0)
    rows = ts[steady]
    assert len(rows) > 0.9 * len(ts)
    formula = hashprice_usd_per_ph_day(
        rows["difficulty"],
        rows["subsidy_btc"],
        rows["expected_fees_btc_per_block"],
        rows["btc_price_usd"],
    )
    np.testing.assert_allclose(rows["hashprice_usd_per_ph_day"], formula, rtol=1e-9)
    # Independent arithmetic for one row: 86,400·10^15/(D·2^32)·(subsidy + fees)·price.
    r = rows.iloc[0]
    by_hand = (
        86_400e15
        / (r["difficulty"] * 2**32)
        * (r["subsidy_btc"] + r["expected_fees_btc_per_block"])
    )
    assert r["hashprice_usd_per_ph_day"] == pytest.approx(by_hand * r["btc_price_usd"], rel=1e-12)
