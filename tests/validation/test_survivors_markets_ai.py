"""Validation tests that kill mutants the rest of the suite let survive: the law of the GBM
paths (BTC price, network hashrate), solo rewards with fees, the solo share rule and the
stationary start of the spot price's Ornstein–Uhlenbeck deviation.

Each test names the mutation it kills (file:line at commit b2c2644, before → after).
Statistical tolerances are a number of standard errors derived from the exact law being
checked; seeds are fixed, so every test is deterministic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from helpers import make_scenario
from scipy import stats

from sim import run_one
from sim.model.markets import btc_price_path, energy_price_path
from sim.model.network import network_hashrate_path
from sim.rng import RandomStreams
from sim.scenario.schema import Scenario
from sim.units import SECONDS_PER_YEAR

Z = 4.0  # standard errors allowed: two-sided P(|N(0,1)| > 4) = 6e-5 per check
P_MIN = 1e-4  # smallest p-value (χ², KS) accepted under the model's law


def log_paths(build, scenario: Scenario, seeds: int) -> tuple[np.ndarray, np.ndarray]:
    """(grid times in years, log values per seed × step) of the path ``build`` draws."""
    paths = [build(scenario, RandomStreams(seed)) for seed in range(seeds)]
    times = paths[0].times_s
    assert all(np.array_equal(p.times_s, times) for p in paths)
    return times / SECONDS_PER_YEAR, np.log(np.array([p.values for p in paths]))


def check_gbm_law(
    t_years: np.ndarray, log_x: np.ndarray, start: float, mu: float, sigma: float
) -> None:
    """E[X(t)] = start·e^{μt} and log increments i.i.d. N((μ − σ²/2)Δt, σ²Δt)."""
    seeds = log_x.shape[0]
    assert np.allclose(log_x[:, 0], np.log(start), rtol=0, atol=1e-12)
    dt = float(np.diff(t_years)[0])
    assert np.allclose(np.diff(t_years), dt, rtol=1e-12)
    # Mean at the last grid time: X(T) is lognormal, Var = m²(e^{σ²T} − 1) with m = start·e^{μT}.
    t_end = float(t_years[-1])
    m = start * np.exp(mu * t_end)
    se = m * np.sqrt(np.expm1(sigma**2 * t_end) / seeds)
    assert np.exp(log_x[:, -1]).mean() == pytest.approx(m, abs=Z * se)
    # Log increments: the mean is exactly normal with SE σ√Δt/√n; n·s²/σ²Δt is χ²(n − 1).
    inc = np.diff(log_x, axis=1).ravel()
    n = inc.size
    assert inc.mean() == pytest.approx((mu - sigma**2 / 2) * dt, abs=Z * sigma * np.sqrt(dt / n))
    chi2 = (n - 1) * inc.var(ddof=1) / (sigma**2 * dt)
    assert stats.chi2.sf(chi2, n - 1) > P_MIN / 2 and stats.chi2.cdf(chi2, n - 1) > P_MIN / 2
    # The standardised increments are N(0, 1) as a whole law, not just in two moments.
    standard = (inc - (mu - sigma**2 / 2) * dt) / (sigma * np.sqrt(dt))
    assert stats.kstest(standard, "norm").pvalue > P_MIN


def test_btc_price_is_a_gbm_with_mean_start_times_exp_mu_t() -> None:
    """bitcoin.price: E[S(t)] = S₀·e^{μt}; log increments N((μ − σ²/2)Δt, σ²Δt).

    4,000 one-year daily paths, μ = 0.3, σ = 0.5. The mean of S(1 y) has relative SE
    √(e^{0.25} − 1)/√4000 = 0.84 %; without the −σ²/2 correction it is e^{σ²/2} − 1 = 13.3 %
    too high (≈16 SE), and the mean log increment shifts by σ²Δt/2 (≈16 SE of 1.46 M
    increments).

    Kills: sim/model/paths.py:33 gbm_steps, ``(drift_per_year - 0.5 * volatility_per_year**2)
    * dt_years`` → ``drift_per_year * dt_years``.
    """
    mu, sigma, start = 0.3, 0.5, 44_150.0
    scenario = make_scenario(
        end_utc="2025-01-01T00:00:00Z",
        bitcoin={
            "price": {
                "start_usd": start,
                "drift_per_year": mu,
                "volatility_per_year": sigma,
                "update_interval_s": 86_400,
            }
        },
    )
    t_years, log_x = log_paths(btc_price_path, scenario, 4_000)
    assert log_x.shape[1] == 366  # days 0 … 365 of the leap year 2024
    check_gbm_law(t_years, log_x, start, mu, sigma)


def test_network_hashrate_is_a_gbm_with_mean_growing_by_one_plus_g_per_year() -> None:
    """bitcoin.network_hashrate: E[H(t)] = H₀·(1 + g)^t, so μ = ln(1 + g) in the GBM law.

    2,000 hourly 30-day paths, g = 0.44, σ = 2 (the step may not exceed 1 h, so a large σ
    makes the σ²/2 term visible in a short run): the mean of H(30 d) has relative SE
    √(e^{σ²T} − 1)/√2000 = 1.4 %, against a 17.9 % bias without the −σ²/2 correction (≈13 SE).

    With σ = 0 the path is exactly H₀·(1 + g)^t on the grid.

    Kills: the same mutation as above (sim/model/paths.py:33, drift without −σ²/2);
    the exact σ = 0 check also kills ``float(np.log1p(spec.growth_per_year))`` →
    ``spec.growth_per_year`` in sim/model/network.py:49 network_hashrate_path.
    """
    growth, sigma, start_ehs = 0.44, 2.0, 500.0

    def month(volatility: float) -> Scenario:
        hashrate = {
            "start_ehs": start_ehs,
            "growth_per_year": growth,
            "volatility_per_year": volatility,
            "update_interval_s": 3_600,
        }
        return make_scenario(end_utc="2024-01-31T00:00:00Z", bitcoin={"network_hashrate": hashrate})

    t_years, log_x = log_paths(network_hashrate_path, month(sigma), 2_000)
    assert log_x.shape[1] == 30 * 24
    check_gbm_law(t_years, log_x, start_ehs * 1e18, np.log1p(growth), sigma)
    path = network_hashrate_path(month(0.0), RandomStreams(0))
    expected = start_ehs * 1e18 * (1 + growth) ** (path.times_s / SECONDS_PER_YEAR)
    np.testing.assert_allclose(path.values, expected, rtol=1e-12)


def test_spot_price_deviation_at_t0_has_the_stationary_variance() -> None:
    """The OU deviation starts stationary: X₀ ~ N(0, s²), not 0 nor N(0, s²(1 − φ²)).

    X₀ = p₀ − (p₀ of the same hour with s = 0), spikes off and bounds far away, over 2,000
    seeds. With mean 0 known, Σ X₀²/s² is exactly χ²(2000); its 1e-4 two-sided band is about
    ±12 % of s². The mutant's variance is s²(1 − e^{−2κ}) = 0.26 s² at κ = 0.15/h.

    Kills: sim/model/energy_price.py:83 ou_deviation, ``shocks[1:] *= np.sqrt(...)`` →
    ``shocks *= np.sqrt(...)`` (the first hour scaled like an innovation).
    """
    sd, kappa, seeds = 12.0, 0.15, 2_000
    energy = {
        "model": "spot",
        "mean_usd_per_mwh": 40.0,
        "reversion_per_hour": kappa,
        "volatility_usd_per_mwh": sd,
        "spike_rate_per_year": 0.0,
        "price_floor_usd_per_mwh": -1e6,
        "price_cap_usd_per_mwh": 1e6,
    }
    day = {"end_utc": "2024-01-02T00:00:00Z"}
    calm = make_scenario(site={"energy": {**energy, "volatility_usd_per_mwh": 0.0}}, **day)
    shape0 = energy_price_path(calm, RandomStreams(0)).values[0]
    noisy = make_scenario(site={"energy": energy}, **day)
    x0 = np.array([energy_price_path(noisy, RandomStreams(s)).values[0] for s in range(seeds)])
    x0 -= shape0
    chi2 = float(np.sum((x0 / sd) ** 2))
    assert stats.chi2.sf(chi2, seeds) > P_MIN / 2 and stats.chi2.cdf(chi2, seeds) > P_MIN / 2
    assert x0.mean() == pytest.approx(0.0, abs=Z * sd / np.sqrt(seeds))


# --------------------------------------------------------------------------- solo mining

NETWORK_EHS = 0.008  # 8 PH/s: a tiny network, so a small site holds half of it
D_SMALL = 1e9  # one block every ≈537 s at 8 PH/s
START_HEIGHT = 840_672  # first block of an epoch after the 2024 halving: subsidy 3.125 BTC
PRICE_USD = 60_000.0


def solo_site(units: int, seed: int, fees: dict, days: int = 7) -> Scenario:
    """Constant network hashrate and price; ``units`` S21s (200 TH/s each) mining solo."""
    end = pd.Timestamp("2024-06-01T00:00:00Z") + pd.Timedelta(days=days)
    return make_scenario(
        start_utc="2024-06-01T00:00:00Z",
        end_utc=end.isoformat(),
        seed=seed,
        bitcoin={
            "start_height": START_HEIGHT,
            "start_difficulty": D_SMALL,
            "epoch_start_utc": "2024-06-01T00:00:00Z",
            "network_hashrate": {
                "start_ehs": NETWORK_EHS,
                "growth_per_year": 0.0,
                "volatility_per_year": 0.0,
            },
            "fees": fees,
            "price": {"start_usd": PRICE_USD, "volatility_per_year": 0.0},
        },
        mining={"payout": "solo", "groups": [{"model": "Antminer S21", "count": units}]},
        site={"grid_capacity_kw": 1e9},
    )


def test_solo_reward_is_subsidy_plus_realised_fees_of_the_sites_blocks() -> None:
    """Solo: BTC mined = Σ over the site's blocks of (subsidy + realised fees), exactly.

    Noisy fees (σ = 0.5, so realised ≠ expected fees) and a 20-block spike of 2 BTC at a
    known height, with h = H/2 so the site finds half the blocks. Exact up to summation
    order (rel 1e-12).

    Kills (first planted in sim/record/tables.py ``mining_series``, now
    sim/economics/mining.py ``solo_reward_btc``): ``subsidy_sat(...) / 1e8 + fees_btc`` →
    ``subsidy_sat(...) / 1e8`` (solo credited without fees).
    """
    fees = {
        "btc_per_block": 0.25,
        "noise_sigma": 0.5,
        "spikes": [{"start_height": START_HEIGHT + 100, "blocks": 20, "btc_per_block": 2.0}],
    }
    result = run_one(solo_site(20, 7, fees))
    blocks = result.blocks
    mine = blocks[blocks["found_by_site"]]
    spike = mine["height"].between(START_HEIGHT + 100, START_HEIGHT + 119)
    assert spike.sum() >= 5 and (mine.loc[spike, "fees_btc"] == 2.0).all()
    assert mine.loc[~spike, "fees_btc"].nunique() > 100  # noisy: each block its own fees
    assert (mine["subsidy_btc"] == 3.125).all()
    expected_btc = float((mine["subsidy_btc"] + mine["fees_btc"]).sum())
    assert expected_btc > 1.05 * 3.125 * len(mine)  # the fees are a visible part of it
    summary = result.summary.iloc[0]
    assert summary["btc_mined"] == pytest.approx(expected_btc, rel=1e-12)
    assert result.timeseries["btc_mined"].sum() == pytest.approx(expected_btc, rel=1e-12)
    assert result.daily["btc_mined"].sum() == pytest.approx(expected_btc, rel=1e-12)
    usd = expected_btc * PRICE_USD  # constant price: each block valued at the same S
    assert summary["mining_revenue_usd"] == pytest.approx(usd, rel=1e-12)
    assert result.groups["revenue_usd"].sum() == pytest.approx(usd, rel=1e-12)


def test_solo_share_is_site_over_network_hashrate() -> None:
    """Block k is the site's iff U_k < h/H (docs/model.md §3.2), with H the whole network.

    20 S21s = 4 PH/s on an 8 PH/s network: h/H = 0.5, while h/(H + h) = 1/3. Exact part:
    the U_k are the ``solo_luck`` stream's draws, one per block in order. Statistical part:
    over N ≈ 1,100 blocks the share found has SE √(0.25/N) ≈ 0.015; h/(H + h) is ≈11 SE away.

    Kills (first planted in sim/record/tables.py ``mining_series``, now
    sim/economics/mining.py ``site_found``): the share ``h / H`` → ``h / (H + h)``.
    """
    seed = 3
    result = run_one(solo_site(20, seed, {"btc_per_block": 0.0, "noise_sigma": 0.0}))
    blocks = result.blocks
    site_hs = result.timeseries["site_hashrate_ths"].to_numpy() * 1e12
    assert np.all(site_hs == 4e15)  # all 20 units run from t = 0 to the horizon
    network_hs = blocks["network_hashrate_ehs"].to_numpy() * 1e18
    np.testing.assert_allclose(network_hs, 8e15, rtol=1e-12)
    share = 4e15 / network_hs
    luck = RandomStreams(seed).get("solo_luck").random(len(blocks))
    np.testing.assert_array_equal(blocks["found_by_site"].to_numpy(), luck < share)
    n = len(blocks)
    assert n > 900
    assert blocks["found_by_site"].mean() == pytest.approx(0.5, abs=Z * np.sqrt(0.25 / n))
