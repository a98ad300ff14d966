"""Validation of the economic network (docs/model.md §2.8) against history and its own equations.

The network is simulated alone (block arrivals, retargets and the miners' cohorts, no site)
except on the baseline. Each tolerance says where it comes from; seeds are fixed, so every
test is deterministic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import simpy
from helpers import SCENARIOS, make_scenario

from sim import consensus as rules
from sim import load_scenario, run_one
from sim.eventlog import EventLog
from sim.model.hashrate_supply import MWH_PER_PH_DAY_PER_J_PER_TH, normal_cdf
from sim.model.markets import btc_price_path
from sim.model.network import BitcoinNetwork
from sim.model.site import Site
from sim.rng import RandomStreams
from sim.scenario import Scenario
from sim.units import SECONDS_PER_DAY, SECONDS_PER_YEAR

D0 = 80e12
SUBSIDY = 3.125
FEE = 0.1
START = pd.Timestamp("2024-06-01T00:00:00Z")
STEP_S = 3_600.0
# one retarget's relative error: the epoch's 2015 intervals are Gamma(2015), sd 1/√2015
EPOCH_SD = 1 / np.sqrt(2015)
# 2024–2025 difficulty in force on the 1st (T), docs/sources.md#chain-state [P]
HISTORY_T = {
    "2024-01-01": 72.01,
    "2024-04-01": 83.13,
    "2024-07-01": 83.68,
    "2024-10-01": 88.40,
    "2025-01-01": 109.78,
    "2025-04-01": 113.76,
    "2025-07-01": 116.96,
    "2025-10-01": 142.34,
    "2025-12-01": 149.30,
}


def run_network(scenario: Scenario, seed: int | None = None) -> BitcoinNetwork:
    """The scenario's network alone, run to the horizon."""
    env = simpy.Environment()
    streams = RandomStreams(scenario.seed if seed is None else seed)
    network = BitcoinNetwork(
        env,
        scenario.bitcoin,
        scenario.start_utc,
        scenario.horizon_s,
        None,
        streams,
        EventLog(),
        btc_price_path(scenario, streams),
    )
    env.process(network.find_blocks())
    env.run(until=scenario.horizon_s)
    return network


def price_csv(tmp_path: Path, rows: list[tuple[float, float]]) -> str:
    """A BTC price file with a price from each given day after START on."""
    lines = ["timestamp_utc,btc_price_usd"]
    for day, usd in rows:
        moment = START + pd.Timedelta(days=day)
        lines.append(f"{moment.strftime('%Y-%m-%dT%H:%M:%SZ')},{usd}")
    path = tmp_path / f"price_{len(list(tmp_path.iterdir()))}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def synthetic(
    days: float,
    price: dict[str, Any],
    difficulty: float = D0,
    start_ehs: float | None = None,
    **economic: Any,
) -> Scenario:
    """A network from the first block of an epoch at ``difficulty``, fixed fee level."""
    return make_scenario(
        start_utc=START.isoformat(),
        end_utc=(START + pd.Timedelta(days=days)).isoformat(),
        seed=3,
        bitcoin={
            "start_height": 840_672,
            "start_difficulty": difficulty,
            "epoch_start_utc": START.isoformat(),
            "network_hashrate": {
                "model": "economic",
                "start_ehs": start_ehs,
                "economic": economic,
            },
            "fees": {"btc_per_block": FEE, "noise_sigma": 0.0},
            "price": price,
        },
    )


def fixed_price(usd: float) -> dict[str, Any]:
    return {"start_usd": usd, "drift_per_year": 0.0, "volatility_per_year": 0.0}


def hashprice(difficulty: float, price_usd: float) -> float:
    return float(rules.hashprice_usd_per_ph_day(difficulty, SUBSIDY, FEE, price_usd))


ONE_CLASS = [{"name": "only", "efficiency_j_per_th": 20.0, "hashrate_fraction": 1.0}]
TWO_CLASSES = [
    {"name": "efficient", "efficiency_j_per_th": 20.0, "hashrate_fraction": 0.5},
    {"name": "old", "efficiency_j_per_th": 40.0, "hashrate_fraction": 0.5},
]


def test_history_2024_2025_difficulty_within_ten_percent_and_halving_epoch_falls() -> None:
    """The calibrated defaults on the month-end prices and fee levels of 2024–2025.

    The 10 % band is the issue's acceptance criterion; the sampling noise is far inside it
    (one retarget is ±2.2 %, the mean of four seeds ±1.1 %), so a miss is the model's. The
    retarget at 842,688 closed the first whole epoch after the halving: −5.6 % in 2024. Its
    simulated value must be negative in every seed; a mean of −5.6 % with the 2.2 %·√2
    sd of a difference of two epochs puts a positive draw beyond 1.8 sd for any fit that
    reproduces at least a −4.5 % fall.
    """
    scenario = load_scenario(
        SCENARIOS / "history_2024_2025.yaml",
        ["bitcoin.network_hashrate.model=economic", "bitcoin.network_hashrate.csv_path=null"],
    )
    months = np.array(
        [
            (pd.Timestamp(m, tz="UTC") - pd.Timestamp(scenario.start_utc)).total_seconds()
            for m in HISTORY_T
        ]
    )
    simulated, changes = [], []
    for seed in (1, 2, 3, 4):
        chain = run_network(scenario, seed).chain_steps()
        simulated.append(chain["difficulty"].at(months) / 1e12)
        first = chain["difficulty"].times_s[np.searchsorted(chain["height"].values, 842_688)]
        changes.append(chain["difficulty"].at(first) / chain["difficulty"].at(first - 1) - 1)
    ratio = np.mean(simulated, axis=0) / np.array(list(HISTORY_T.values()))
    assert np.all(np.abs(ratio - 1) < 0.10), dict(zip(HISTORY_T, ratio.round(3), strict=True))
    assert max(changes) < 0, changes


def test_fixed_price_converges_to_the_free_entry_equilibrium() -> None:
    """Entry stops when orders replace retirements: a·(m·P/K − 1) = δ, so the new machine's
    margin is m* = K·(1 + δ/a)/P per TH·day and the hashprice h* = b + 1000·m*, b the new
    machine's breakeven. Hashprice is 86,400·10^15·R·S/(D·2^32), so the difficulty settles
    at D* = 86,400·10^15·R·S/(2^32·h*) whatever the power-cost spread.

    Retirement is fast (δ/a = 0.2 moves D* by 13 %) and the loop gain a·h*·P/(1000·K)
    ≈ 4.2/year gives a time constant of ≈12 weeks, so the second year is settled. Its mean
    log difficulty carries the retarget noise (2.2 % per epoch) over 26 epochs correlated
    over ≈6 (the time constant): SE ≈ 2.2 %/√(26/6) ≈ 1.1 %; the tolerance is 4 SE ≈ 4.2 %.
    """
    price, k, payback, a, delta, efficiency, median = 120_000.0, 20.0, 500.0, 2.5, 0.5, 20.0, 40.0
    scenario = synthetic(
        730,
        fixed_price(price),
        cohorts=ONE_CLASS,
        power_cost_median_usd_per_mwh=median,
        power_cost_sigma=0.3,
        capex_usd_per_th=k,
        payback_days=payback,
        entry_rate_per_year=a,
        lag_days=14,
        best_efficiency_j_per_th=efficiency,
        efficiency_gain_per_year=0.0,
        retirement_per_year=delta,
    )
    breakeven = MWH_PER_PH_DAY_PER_J_PER_TH * efficiency * median
    equilibrium_hashprice = breakeven + 1_000 * k * (1 + delta / a) / payback
    equilibrium_d = hashprice(1.0, price) / equilibrium_hashprice
    assert abs(np.log(D0 / equilibrium_d)) > 0.25  # it starts well away from it
    difficulty = run_network(scenario).chain_steps()["difficulty"]
    second_year = np.arange(365, 730) * SECONDS_PER_DAY
    error = np.mean(np.log(difficulty.at(second_year))) - np.log(equilibrium_d)
    assert abs(error) < 4 * EPOCH_SD / np.sqrt(26 / 6), error


def test_price_step_arrives_one_lag_later_as_the_order_equation_says(tmp_path: Path) -> None:
    """Every miner runs (σ = 0, far above breakeven), so until the first order placed at
    the new price arrives, the two networks are the same to the last bit; at that step the
    difference is that order, a·Δt·I(t0)·(max(x₂ − 1, 0) − max(x₁ − 1, 0)) with
    x = (h − b)·P/(1000·K), at the difficulty in force at t0.
    """
    step_day, lag_days, a, k, payback = 40.0, 30.0, 2.0, 20.0, 500.0
    economic = {
        "cohorts": ONE_CLASS,
        "power_cost_median_usd_per_mwh": 20.0,
        "power_cost_sigma": 0.0,
        "capex_usd_per_th": k,
        "payback_days": payback,
        "entry_rate_per_year": a,
        "lag_days": lag_days,
        "best_efficiency_j_per_th": 20.0,
        "efficiency_gain_per_year": 0.0,
        "retirement_per_year": 0.05,
    }
    flat = price_csv(tmp_path, [(0, 60_000.0)])
    stepped = price_csv(tmp_path, [(0, 60_000.0), (step_day, 90_000.0)])
    before = run_network(synthetic(120, {"model": "csv", "csv_path": flat}, **economic))
    after = run_network(synthetic(120, {"model": "csv", "csv_path": stepped}, **economic))
    t0, arrival = step_day * SECONDS_PER_DAY, (step_day + lag_days) * SECONDS_PER_DAY
    grid = np.arange(0.0, arrival, 600.0)
    assert np.array_equal(before.hashrate.at(grid), after.hashrate.at(grid))
    difficulty = before.chain_steps()["difficulty"].at(t0)
    breakeven = MWH_PER_PH_DAY_PER_J_PER_TH * 20.0 * 20.0

    def excess(price: float) -> float:
        return max((hashprice(difficulty, price) - breakeven) * payback / 1_000 / k - 1, 0.0)

    installed = float(before.hashrate.at(t0))
    expected = a * STEP_S / SECONDS_PER_YEAR * installed * (excess(90_000.0) - excess(60_000.0))
    jump = float(after.hashrate.at(arrival) - before.hashrate.at(arrival))
    assert expected > 0.01 * installed * STEP_S / SECONDS_PER_YEAR
    assert jump == pytest.approx(expected, rel=1e-9)


def test_cohort_below_breakeven_stops_within_a_tick_and_returns(tmp_path: Path) -> None:
    """σ = 0: the old cohort (breakeven 38.4 USD/PH/day) runs at $60k (≈48.6), stops from
    the first decision step after the price falls to $35k (≈28, below it even after a
    retarget of the halved network), and runs again from the step the price is back."""
    drop_s, back_s = 10 * SECONDS_PER_DAY + 1_800, 20 * SECONDS_PER_DAY
    prices = price_csv(
        tmp_path, [(0, 60_000.0), (drop_s / SECONDS_PER_DAY, 35_000.0), (20, 60_000.0)]
    )
    scenario = synthetic(
        30,
        {"model": "csv", "csv_path": prices},
        cohorts=TWO_CLASSES,
        power_cost_median_usd_per_mwh=40.0,
        power_cost_sigma=0.0,
        entry_rate_per_year=0.0,
    )
    paths = run_network(scenario).cohorts()
    assert paths is not None
    share = paths.running_hs[:, :2] / paths.installed_hs[:, :2]  # the two start cohorts
    old = share[:, 1]
    at = paths.times_s
    tick = np.ceil(drop_s / STEP_S) * STEP_S  # the first decision after the drop
    assert np.all(old[at < drop_s] == 1.0)
    assert np.all(old[(at >= tick) & (at < back_s)] == 0.0)
    assert np.all(old[at >= back_s] == 1.0)
    assert np.all(share[:, 0] == 1.0)  # 28 > 19.2: the efficient cohort runs on


def test_hashrate_never_negative_and_stops_and_restarts_with_the_price(tmp_path: Path) -> None:
    """At $100 nobody covers the power cost (σ = 0): the network stops, finds no block, and
    hashes again when the price returns."""
    prices = price_csv(tmp_path, [(0, 60_000.0), (5, 100.0), (12, 60_000.0)])
    scenario = synthetic(
        30, {"model": "csv", "csv_path": prices}, cohorts=TWO_CLASSES, power_cost_sigma=0.0
    )
    network = run_network(scenario)
    hashrate = network.hashrate
    assert np.all(hashrate.values >= 0)
    off = (hashrate.times_s >= 6 * SECONDS_PER_DAY) & (hashrate.times_s < 12 * SECONDS_PER_DAY)
    assert np.all(hashrate.values[off] == 0)
    times = network.blocks.column("times_s")
    assert not np.any((times > 5.1 * SECONDS_PER_DAY) & (times < 12 * SECONDS_PER_DAY))
    assert np.any(times > 13 * SECONDS_PER_DAY)
    paths = network.cohorts()
    assert paths is not None and np.all(paths.installed_hs >= 0)


def test_seeded_paths_reproduce_and_other_streams_do_not_move() -> None:
    """The entry noise comes from its own stream: the same seed gives the same network
    bit for bit, another seed another one, and the price path is the gbm network's."""
    overrides = [
        "bitcoin.network_hashrate.model=economic",
        "bitcoin.network_hashrate.halving_drop_fraction=0",
        "bitcoin.network_hashrate.economic.entry_noise_sigma=0.5",
        "end_utc=2024-09-01T00:00:00Z",
    ]
    economic = load_scenario(SCENARIOS / "baseline.yaml", overrides)
    gbm = load_scenario(
        SCENARIOS / "baseline.yaml",
        ["bitcoin.network_hashrate.model=gbm", "end_utc=2024-09-01T00:00:00Z"],
    )
    first, again, other = (run_network(economic, seed).hashrate for seed in (5, 5, 6))
    assert np.array_equal(first.times_s, again.times_s)
    assert np.array_equal(first.values, again.values)
    assert not np.array_equal(first.at(np.array([2e7])), other.at(np.array([2e7])))
    site_economic, site_gbm = Site.build(economic, 5), Site.build(gbm, 5)
    assert "network_entry" in site_economic.streams.names
    assert np.array_equal(site_economic.btc_price_usd.values, site_gbm.btc_price_usd.values)


def test_baseline_2028_hashprice_stays_above_the_best_cohorts_breakeven() -> None:
    """After the 2028 halving the network sheds the cohorts it no longer pays, so the mean
    2028 hashprice stays at or above the breakeven of the most efficient cohort with
    machines (the fixed +44 %/year path drove it to ≈$2.7, below every cohort's). The run
    ends on 2029-01-01, so 2028 is the whole 2028–2029 part of it."""
    result = run_one(load_scenario(SCENARIOS / "baseline.yaml"))
    days = result.daily[result.daily["date"].dt.year == 2028]
    cohorts = result.network[result.network["date"].dt.year == 2028]
    best = cohorts.groupby("date")["breakeven_hashprice_usd_per_ph_day"].min()
    assert len(days) == 366 and len(best) == 366
    assert days["hashprice_usd_per_ph_day"].mean() >= best.mean()


def test_normal_cdf_is_within_its_stated_error_of_scipys() -> None:
    """The running share's Φ (Abramowitz & Stegun 26.2.17, numpy only) against scipy."""
    from scipy.special import ndtr

    x = np.concatenate([np.linspace(-40, 40, 400_001), [np.inf, -np.inf, 0.0]])
    assert np.max(np.abs(normal_cdf(x) - ndtr(x))) < 7.5e-8
    assert normal_cdf(np.array([np.inf, -np.inf])).tolist() == [1.0, 0.0]


@pytest.mark.parametrize("start", ["2024-03-01T00:00:00Z", "2024-03-01T00:30:00Z"])
def test_network_csv_cohorts_add_up_to_the_network_hashrate_each_day(start: str) -> None:
    """Both are exact daily integrals of the same step series (also when midnights fall
    between decision steps), so they agree to float rounding."""
    overrides = [
        "bitcoin.network_hashrate.model=economic",
        f"start_utc={start}",
        "output.tables=[daily,network]",
    ]
    result = run_one(load_scenario(SCENARIOS / "quick.yaml", overrides))
    by_day = result.network.groupby("date")["running_hashrate_ehs"].sum()
    daily = result.daily.set_index("date")["network_hashrate_ehs"]
    assert by_day.index.equals(daily.index)
    np.testing.assert_allclose(by_day.to_numpy(), daily.to_numpy(), rtol=1e-9)
    shares = result.network["running_share"]
    assert shares.between(0, 1).all()


@pytest.mark.parametrize(("sigma", "stable"), [(1.5, True), (0.3, False)])
def test_retarget_loop_is_stable_exactly_when_the_elasticity_is_below_one(
    sigma: float, stable: bool
) -> None:
    """No entry or retirement, fixed price: at the fixed point D* half of one cohort runs
    (h(D*) = its breakeven). An error e in ln D comes back as −ε·e, ε the running share's
    elasticity φ(0)/(σ·Φ(0)) = 0.80/σ: 0.53 for σ = 1.5 (the default), 2.7 for σ = 0.3.
    From e₀ = ln 1.2, the stable loop shrinks the first error and then stays within the
    retarget noise of D*: stationary sd 2.2 %/√(1 − ε²) ≈ 2.6 %, 4 sd bounding the RMS of
    epochs 10–20. The unstable one flips the error's sign and more than doubles it.
    """
    d_star, breakeven = 80e12, MWH_PER_PH_DAY_PER_J_PER_TH * 20.0 * 40.0
    price = breakeven / hashprice(d_star, 1.0)  # h(D*) = breakeven
    installed_hs = 2 * d_star * 2**32 * 2015 / 1_209_600  # half runs at D*: one block / 600.3 s
    d0 = 1.2 * d_star
    start_share = float(normal_cdf(np.array(np.log(d_star / d0) / sigma)))
    scenario = synthetic(
        400,
        fixed_price(price),
        difficulty=d0,
        start_ehs=installed_hs * start_share / 1e18,
        cohorts=ONE_CLASS,
        power_cost_median_usd_per_mwh=40.0,
        power_cost_sigma=sigma,
        entry_rate_per_year=0.0,
        retirement_per_year=0.0,
    )
    difficulty = run_network(scenario).chain_steps()["difficulty"].values
    per_epoch = difficulty[np.r_[0, np.flatnonzero(np.diff(difficulty)) + 1]]
    errors = np.log(per_epoch / d_star)
    if stable:
        assert abs(errors[1]) < abs(errors[0])
        rms = np.sqrt(np.mean(errors[10:21] ** 2))
        assert rms < 4 * EPOCH_SD / np.sqrt(1 - (0.8 / sigma) ** 2), errors.round(3)
    else:
        assert errors[1] * errors[0] < 0 and abs(errors[1]) > 2 * abs(errors[0]), errors


@pytest.mark.parametrize("retirement", [0.0, 0.05, 0.3])
def test_a_chunks_decay_powers_are_those_it_would_compute_itself(retirement: float) -> None:
    # the supply computes decay^1 … decay^lag once; every chunk's slice must be the very
    # numbers decay ** arange(1, n + 1) gives (outputs stay identical, bit for bit)
    scenario = synthetic(30, fixed_price(60_000), retirement_per_year=retirement)
    supply = run_network(scenario)._supply
    assert supply is not None
    for n in range(1, supply.lag_steps + 1):
        assert np.array_equal(supply._decay_powers[:n], supply.decay ** np.arange(1, n + 1))
