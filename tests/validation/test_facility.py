"""The facility against analytic results: first-order thermal response, throttling, trips,
and the energy balance site = IT + cooling.

Ambient paths are hourly CSV files, so every expected value is computed by hand from the
model's equations (docs/model.md §6) and compared at float precision. The fast thermal paths
are checked against the plain stepper of those equations, :mod:`sim.model.thermal_spec`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import SCENARIOS, make_scenario

from sim import load_scenario, run_one
from sim.model.thermal import (
    ExpSeries,
    HallLimits,
    HallThermal,
    TickBatch,
    _relax,
    advance_nominal,
    full_targets,
    throttle_factor,
)
from sim.model.thermal_spec import PlainHall, relax

START = pd.Timestamp("2024-07-01T00:00:00Z")
S21_KW = 3.5
S21_THS = 200.0


def ambient_csv(tmp_path: Path, hours: int, temp_at: dict[int, float]) -> str:
    """An hourly ambient CSV from START: ``temp_at[h]`` holds from hour h on."""
    temps, current = [], None
    for h in range(hours):
        current = temp_at.get(h, current)
        temps.append(current)
    stamps = pd.date_range(START, periods=hours, freq="h").strftime("%Y-%m-%dT%H:%M:%SZ")
    path = tmp_path / "ambient.csv"
    pd.DataFrame({"timestamp_utc": stamps, "ambient_temp_c": temps}).to_csv(path, index=False)
    return str(path)


def hall_site(tmp_path: Path, hours: int, temp_at: dict[int, float], **hall: object):
    """One air hall of 1,000 S21s (3.5 MW) on a CSV ambient, fixed price, static policy."""
    spec = {"name": "h1", "cooling": "air", "heat_rejection_kw": 7_000.0, **hall}
    return make_scenario(
        start_utc=START.isoformat(),
        end_utc=(START + pd.Timedelta(hours=hours)).isoformat(),
        site={
            "grid_capacity_kw": 20_000,
            "ambient": {"model": "csv", "csv_path": ambient_csv(tmp_path, hours, temp_at)},
            "halls": [spec],
        },
        mining={"groups": [{"model": "Antminer S21", "count": 1000, "hall": "h1"}]},
    )


def test_exp_series_integrates_the_exponential_exactly() -> None:
    series = ExpSeries(np.array([0.0, 100.0]), np.array([10.0, 30.0]), np.array([20.0, 5.0]), 50.0)
    # value: 20 − 10 e^{−t/50} on [0, 100), then 5 + 25 e^{−(t−100)/50}
    assert series.at(np.array([50.0]))[0] == pytest.approx(20 - 10 * math.exp(-1), rel=1e-12)
    first = 20 * 100 - 10 * 50 * (1 - math.exp(-2))
    second = 5 * 60 + 25 * 50 * (1 - math.exp(-60 / 50))
    assert series.integrate(np.array([0.0, 100.0, 160.0])) == pytest.approx(
        [first, second], rel=1e-12
    )


def test_thermal_step_response_matches_the_first_order_solution(tmp_path: Path) -> None:
    tau, rise = 1_800.0, 3.0
    scenario = hall_site(
        tmp_path,
        24,
        {0: 20.0, 10: 30.0},
        time_constant_s=tau,
        load_rise_c=rise,
        asic_throttle_temp_c=60.0,
        asic_shutdown_temp_c=70.0,
    )
    result = run_one(scenario)
    ts = result.timeseries
    load = 1_000 * S21_KW / 7_000.0  # heat over capacity (no derate below 30 °C design)
    start, before, after = 22.0, 22.0 + rise * load, 32.0 + rise * load
    step_s = 10 * 3_600.0

    def integral(t0: float, t1: float) -> float:
        """∫ T dt of the analytic solution: from `start` towards `before`, then `after`."""
        total = 0.0
        at_step = before + (start - before) * math.exp(-step_s / tau)
        for a, b, t_ref, t_init, target in (
            (t0, min(t1, step_s), 0.0, start, before),
            (max(t0, step_s), t1, step_s, at_step, after),
        ):
            if b > a:
                gap = t_init - target
                total += target * (b - a) + gap * tau * (
                    math.exp(-(a - t_ref) / tau) - math.exp(-(b - t_ref) / tau)
                )
        return total

    expected = [integral(t, t + 3_600.0) / 3_600.0 for t in ts["time_s"]]
    np.testing.assert_allclose(ts["h1_inlet_temp_c"], expected, rtol=1e-10)
    assert (ts["throttled_hours"] == 0).all()


def test_a_heat_wave_throttles_hashrate_and_power_exactly_as_the_curve_says(
    tmp_path: Path,
) -> None:
    # 42 °C outside + 2 °C approach, no load rise: the inlet sits at 44 °C from the start,
    # so the S21s run at f = (47 − 44)/(47 − 40) = 3/7 of full hashrate and power.
    scenario = hall_site(
        tmp_path, 48, {0: 42.0}, load_rise_c=0.0, design_ambient_c=45.0, ambient_approach_c=2.0
    )
    result = run_one(scenario)
    ts = result.timeseries
    f = throttle_factor(44.0, 40.0, 47.0)
    assert f == pytest.approx(3 / 7)
    np.testing.assert_allclose(ts["h1_inlet_temp_c"], 44.0, rtol=1e-12)
    np.testing.assert_allclose(ts["site_hashrate_ths"], 1_000 * S21_THS * f, rtol=1e-12)
    np.testing.assert_allclose(ts["asic_power_kw"], 1_000 * S21_KW * f, rtol=1e-12)
    np.testing.assert_allclose(ts["throttled_hashrate_ths"], 1_000 * S21_THS * (1 - f), rtol=1e-12)
    # revenue lost to heat is what the throttled 4/7 would have earned: 4/3 of what 3/7 did
    np.testing.assert_allclose(
        ts["heat_lost_revenue_usd"], ts["mining_revenue_usd"] * (1 - f) / f, rtol=1e-9
    )
    assert ts["throttled_hours"].sum() == pytest.approx(48.0)
    assert (ts["curtailed_kw"] == 0).all()  # the cooling had room: the loss is heat, not policy


def test_a_trip_happens_at_the_exact_crossing_time_and_restart_waits_for_a_cool_tick(
    tmp_path: Path,
) -> None:
    tau = 600.0
    scenario = hall_site(
        tmp_path,
        16,
        {0: 20.0, 5: 50.0, 10: 20.0},
        time_constant_s=tau,
        load_rise_c=0.0,
        design_ambient_c=55.0,
    )
    result = run_one(scenario)
    events = result.events.set_index("event")
    # inlet relaxes from 22 °C towards 52 °C from 5 h: it reaches 47 °C at τ·ln(30/5)
    trip = events.loc["thermal_trip", "time_s"]
    assert trip == pytest.approx(5 * 3_600 + tau * math.log(30 / 5), rel=1e-12)
    # the first tick (every 900 s) after 5 h had the inlet at 52 − 30·e^{−1.5}: throttled
    throttle = events.loc["thermal_throttle"]
    assert throttle["time_s"] == 5 * 3_600 + 900
    assert throttle["value"] == pytest.approx(
        throttle_factor(52 - 30 * math.exp(-900 / tau), 40.0, 47.0), rel=1e-12
    )
    # from 10 h it cools towards 22 °C and is at 40 °C after τ·ln(30/18) ≈ 306 s: the units
    # restart at the next tick, 10 h + 900 s (the inlet held 52 °C while they were off)
    assert events.loc["thermal_recover", "time_s"] == 10 * 3_600 + 900
    ts = result.timeseries.set_index("time_s")
    assert ts.loc[6 * 3_600 : 9 * 3_600, "site_hashrate_ths"].eq(0).all()
    assert ts.loc[11 * 3_600 :, "site_hashrate_ths"].eq(1_000 * S21_THS).all()
    assert result.summary["thermal_trips"].iloc[0] == 1


@pytest.fixture(scope="module")
def heatwave() -> pd.DataFrame:
    """The heat-wave scenario over its heat wave, with spot prices."""
    overrides = [
        "start_utc=2024-07-14T00:00:00Z",
        "end_utc=2024-07-24T00:00:00Z",
        "site.energy.model=spot",
    ]
    return run_one(load_scenario(SCENARIOS / "heatwave.yaml", overrides)).timeseries


def test_site_energy_is_it_plus_cooling_and_cost_is_energy_times_price(
    heatwave: pd.DataFrame,
) -> None:
    ts = heatwave
    assert ts["throttled_hours"].sum() > 0  # the wave bites
    # bins are differences of running integrals (≈10^11 kW·s here): float precision is
    # ≈2^-52 · 10^11 / 3,600 s ≈ 10^-8 kW per row
    close = {"rtol": 1e-12, "atol": 1e-6}
    np.testing.assert_allclose(
        ts["site_power_kw"], ts["it_power_kw"] + ts["cooling_power_kw"], **close
    )
    np.testing.assert_allclose(ts["it_power_kw"], ts["asic_power_kw"] + ts["gpu_power_kw"], **close)
    halls = [c for c in ts.columns if c.endswith("_cooling_power_kw")]
    np.testing.assert_allclose(ts["cooling_power_kw"], ts[halls].sum(axis=1), **close)
    # hourly rows and hourly spot prices: each row's cost is its energy × its price
    energy_kwh = ts["asic_energy_kwh"] + ts["gpu_energy_kwh"] + ts["cooling_energy_kwh"]
    np.testing.assert_allclose(
        ts["energy_cost_usd"], energy_kwh * ts["energy_price_usd_per_mwh"] / 1_000, rtol=1e-9
    )
    pue = ts["site_power_kw"] / ts["it_power_kw"]
    np.testing.assert_allclose(ts["pue"], pue, rtol=1e-12)
    assert (ts["pue"] >= 1.0).all()


def test_the_policy_keeps_every_halls_heat_within_its_cooling(heatwave: pd.DataFrame) -> None:
    for hall in ("hall-a", "hall-b", "hall-h", "hall-ai"):
        heat, capacity = heatwave[f"{hall}_heat_kw"], heatwave[f"{hall}_cooling_capacity_kw"]
        # hourly means of the heat stay within the (hourly constant) capacity
        assert (heat <= capacity * (1 + 1e-9)).all(), hall


def test_a_nominal_day_advances_as_the_plain_stepper_steps() -> None:
    """The vectorised stretches give the temperatures of the specification, tick by tick."""
    limits = HallLimits(900.0, 3.0, np.array([40.0]), np.array([47.0]))
    ticks = np.arange(0.0, 86_400.0, 900.0)
    rng = np.random.default_rng(5)
    supply = 25.0 + rng.normal(0, 3, ticks.size)
    capacity = np.full(ticks.size, 1_000.0)
    heat = np.full((ticks.size, 1), 800.0)
    fast = HallThermal(limits, 25.0)
    fast.advance(ticks, 86_400.0, supply, capacity, heat)
    plain = PlainHall(limits, 25.0)
    plain.advance(ticks, 86_400.0, supply, capacity, heat)
    assert fast.change_count == 0  # nominal all day: no Python step
    edges = np.arange(0.0, 86_401.0, 3_600.0)
    np.testing.assert_allclose(fast.series().mean(edges), plain.series().mean(edges), rtol=1e-12)


def stepped(limits: HallLimits, temp_c: float, ticks, end_s, supply, capacity, heat) -> PlainHall:
    """The reference: the specification, every tick in turn."""
    plain = PlainHall(limits, temp_c)
    plain.advance(ticks, end_s, supply, capacity, heat)
    return plain


def hot_week(seed: int, classes: int):
    """A hall with random constants and a hot, noisy week of inputs, cut by a horizon.

    The time constant spans 1 min to 2 h, the band 3–10 °C; grants switch on and off, the
    cooling sometimes has no capacity, and the last tick is cut short.
    """
    rng = np.random.default_rng(seed)
    throttle = rng.uniform(35.0, 45.0, classes)
    limits = HallLimits(
        float(np.exp(rng.uniform(np.log(60.0), np.log(7_200.0)))),
        float(rng.uniform(2.0, 8.0)),
        throttle,
        throttle + rng.uniform(3.0, 10.0, classes),
    )
    ticks = np.arange(0.0, 7 * 86_400.0, 900.0)
    end_s = ticks[-1] + float(rng.uniform(1.0, 900.0))
    day = np.sin(2 * np.pi * ticks / 86_400.0)
    supply = throttle.min() - 10.0 + 9.0 * day + rng.normal(0.0, 1.5, ticks.size)
    capacity = np.where(rng.random(ticks.size) < 0.02, 0.0, 1_000.0)
    on = rng.random((ticks.size, classes)) < 0.85
    heat = np.where(on, rng.uniform(400.0, 1_500.0, (ticks.size, classes)), 0.0)
    return limits, ticks, end_s, supply, capacity, heat, rng


def assert_same_thermal(
    got: HallThermal, want: HallThermal | PlainHall, end_s: float, rtol: float
) -> None:
    a, b = got.changes(), want.changes()
    assert a.cls.tolist() == b.cls.tolist()
    assert a.tripped.tolist() == b.tripped.tolist()
    np.testing.assert_allclose(a.t_s, b.t_s, rtol=rtol)
    np.testing.assert_allclose(a.factor, b.factor, rtol=rtol, atol=rtol)
    edges = np.append(np.arange(0.0, end_s, 900.0), end_s)
    np.testing.assert_allclose(got.series().mean(edges), want.series().mean(edges), rtol=rtol)


@pytest.mark.parametrize("classes", [1, 2])
@pytest.mark.parametrize("seed", range(12))
def test_every_path_agrees_with_stepping_each_tick(classes: int, seed: int) -> None:
    """Nominal stretches, the throttled loop (with and without heat), trips and restarts.

    A hot week (``hot_week``) drives a hall in and out of its throttle band and over its
    shutdown temperature, advanced in batches cut at random ticks; the batch advance must
    give the same inlet and the same throttle changes as the specification
    (:class:`~sim.model.thermal_spec.PlainHall`) stepping each tick. Both compute every tick
    from the same formulas, so they differ only by rounding (the vectorised stretches sum in
    another order): 1e-9 relative.
    """
    limits, ticks, end_s, supply, capacity, heat, rng = hot_week(seed, classes)
    batch = HallThermal(limits, 25.0)
    cuts = np.sort(rng.choice(np.arange(1, ticks.size), size=rng.integers(2, 8), replace=False))
    for part in np.split(np.arange(ticks.size), cuts):  # several batches, as the site does
        last = ticks[part[-1] + 1] if part[-1] + 1 < ticks.size else end_s
        batch.advance(ticks[part], last, supply[part], capacity[part], heat[part])
    reference = stepped(limits, 25.0, ticks, end_s, supply, capacity, heat)
    changes = reference.changes()
    assert changes.tripped.any() and (changes.factor[~changes.tripped] < 1.0).any()  # hot
    assert_same_thermal(batch, reference, end_s, rtol=1e-9)


@pytest.mark.parametrize("classes", [1, 2])
@pytest.mark.parametrize("seed", range(4))
def test_the_general_step_alone_agrees_with_the_plain_stepper(classes: int, seed: int) -> None:
    """The batch advance's slow path, taken at every tick of a hot week, is the specification.

    The batch advance steps only some ticks through it; here it takes them all.
    """
    limits, ticks, end_s, supply, capacity, heat, _ = hot_week(seed, classes)
    general = HallThermal(limits, 25.0)
    steps = np.diff(np.append(ticks, end_s))
    for k, t in enumerate(ticks):
        general._step(float(t), float(steps[k]), supply[k], capacity[k], heat[k].tolist())
    reference = stepped(limits, 25.0, ticks, end_s, supply, capacity, heat)
    assert_same_thermal(general, reference, end_s, rtol=1e-9)


def test_halls_starting_together_advance_as_each_alone() -> None:
    """The facility's joint first stretch of several halls equals each hall's own advance."""
    weeks = [hot_week(seed, 1) for seed in range(5)]
    ticks, end_s = weeks[0][1], weeks[0][2]
    alone, together = [], []
    for limits, _, _, supply, capacity, heat, _ in weeks:
        hall = HallThermal(limits, 25.0)
        hall.advance(ticks, end_s, supply, capacity, heat)
        alone.append(hall)
        together.append(HallThermal(limits, 25.0))
    batch = TickBatch(ticks, end_s)
    targets = np.array(
        [full_targets(w[3], w[4], w[5].sum(axis=1), w[0].load_rise_c) for w in weeks]
    )
    stops = advance_nominal(together, 0, batch, targets)
    for hall, stop, w, target in zip(together, stops, weeks, targets, strict=True):
        hall.advance_batch(batch, w[3], w[4], w[5], target, stop)
    for hall, own in zip(together, alone, strict=True):
        assert_same_thermal(hall, own, end_s, rtol=1e-12)


def test_groups_sharing_a_shutdown_temperature_trip_together() -> None:
    """Once the first trips at its limit the inlet is at the second one's limit too."""
    limits = HallLimits(600.0, 0.0, np.array([40.0, 40.0]), np.array([47.0, 47.0]))
    thermal = HallThermal(limits, 22.0)
    ticks = np.array([0.0])
    thermal.advance(ticks, 3_600.0, np.array([52.0]), np.array([1e6]), np.array([[1.0, 1.0]]))
    changes = thermal.changes()
    expected = 600.0 * math.log(30 / 5)
    assert changes.cls[changes.tripped].tolist() == [0, 1]
    assert changes.t_s[changes.tripped] == pytest.approx([expected, expected], rel=1e-12)


def test_a_hot_liquid_cooled_gpu_hall_slows_every_job_by_the_throttle_factor(
    tmp_path: Path,
) -> None:
    # 40 °C outside + 8 °C approach, no load rise: coolant at 48 °C from the start, so GPUs
    # (hydro limits 45 → 55 °C) run at f = (55 − 48)/10 = 0.7 of full clock throughout
    hours = 72
    scenario = make_scenario(
        start_utc=START.isoformat(),
        end_utc=(START + pd.Timedelta(hours=hours)).isoformat(),
        site={
            "grid_capacity_kw": 5_000,
            "ambient": {"model": "csv", "csv_path": ambient_csv(tmp_path, hours, {0: 40.0})},
            "halls": [
                {
                    "name": "dlc",
                    "cooling": "hydro",
                    "heat_rejection_kw": 1_000.0,
                    "load_rise_c": 0.0,
                    "design_ambient_c": 45.0,
                }
            ],
        },
        mining={"groups": []},
        gpu_node_types=[
            {
                "name": "dlc-node",
                "gpus_per_node": 8,
                "gpu_power_w": 700,
                "host_power_w": 4_600,
                "idle_power_w": 3_060,
                "cooling": "hydro",
            }
        ],
        ai={
            "groups": [{"name": "gpus", "node_type": "dlc-node", "nodes": 16, "hall": "dlc"}],
            "job_classes": [
                {
                    "name": "jobs",
                    "arrivals_per_hour": 4,
                    "gpus": {"values": [8]},
                    "duration": {"distribution": "constant", "mean_s": 7_200},
                    "price_usd_per_gpu_hour": 2.0,
                }
            ],
        },
    )
    result = run_one(scenario)
    f = throttle_factor(48.0, 45.0, 55.0)
    assert f == pytest.approx(0.7)
    done = result.jobs[result.jobs["status"] == "completed"]
    assert len(done) > 100
    # every job needs 2 h of work and gets 0.7 of it per hour: 2/0.7 h of wall time
    np.testing.assert_allclose(done["run_s"], 7_200 / f, rtol=1e-9)
    # customers pay for work: 8 GPUs × 2 h × $2 per job, however long it took
    np.testing.assert_allclose(done["revenue_usd"], 8 * 2 * 2.0, rtol=1e-9)
    # a busy GPU draws its load share × the clock speed; idle power is unchanged
    ts = result.timeseries
    share_kw = (8 * 700 + 4_600 - 3_060) / 8 / 1_000
    expected = 16 * 3.060 + ts["gpus_busy"] * share_kw * f
    np.testing.assert_allclose(ts["gpu_power_kw"], expected, rtol=1e-9)


@pytest.mark.parametrize("ticks", [1, 31, 32, 33, 1_000, 2_048, 2_049, 5_000])
def test_the_blocked_relaxation_is_the_recurrence(ticks: int) -> None:
    """T_{i+1} = a·T_i + (1 − a)·x_i, per hall with its own a, for any length.

    Lengths straddle the 32-tick blocks and the 2,048-tick span after which the scan
    continues from its last value; 900-s ticks with time constants from 1 s (a = e^−900) to
    9·10⁶ s (a ≈ e^−10⁻⁴). The expected values are the specification's relaxation
    (:func:`~sim.model.thermal_spec.relax`), tick by tick. Each step rounds once there and a
    few times in the scan: 1e-12 relative.
    """
    taus = (600.0, 3_600.0, 1.0, 9e6)
    decay = tuple(math.exp(-900.0 / tau) for tau in taus)
    rng = np.random.default_rng(ticks)
    targets = 30.0 + 10.0 * rng.standard_normal((len(decay), ticks))
    start = np.array([25.0, 45.0, -5.0, 30.0])
    expected = np.empty_like(targets)
    for h, tau in enumerate(taus):
        temp = float(start[h])
        for i, x in enumerate(targets[h].tolist()):
            temp = relax(temp, x, 900.0, tau)
            expected[h, i] = temp
    np.testing.assert_allclose(_relax(decay, start, targets), expected, rtol=1e-12)
