"""Faults against analytic results: repair-crew availability, Poisson outages, no power out.

Tolerances are four standard errors of the estimate, from the model's own variance (a
two-state Markov chain's time average, a compound Poisson total) or, where no closed form
is at hand, from batch means of the simulated path.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml
from scipy import stats

from sim.model.faults import draw_failures, draw_outages
from sim.model.site import Site
from sim.scenario import Scenario, scenario_from_mapping
from sim.scenario.faults import FaultDurationSpec, GridOutagesSpec, RepairCrewSpec
from sim.units import SECONDS_PER_DAY, SECONDS_PER_YEAR
from tests.helpers import SCENARIOS

DAY = SECONDS_PER_DAY


def _crew(technicians: int, mttr_s: float) -> RepairCrewSpec:
    repair = FaultDurationSpec(distribution="exponential", mean_s=mttr_s)
    return RepairCrewSpec(technicians=technicians, repair_time=repair)


def test_with_a_crew_for_every_unit_availability_is_mtbf_over_mtbf_plus_mttr() -> None:
    units, mtbf_d, mttr_d, years = 100, 30.0, 3.0, 20.0
    horizon = years * SECONDS_PER_YEAR
    history = draw_failures(
        np.array([units]),
        np.array([SECONDS_PER_YEAR / (mtbf_d * DAY)]),
        _crew(units, mttr_d * DAY),
        horizon,
        np.random.default_rng(11),
        np.random.default_rng(12),
    )
    out = history.out[0]
    unavailable = float(out.mean(np.array([0.0, horizon]))[0]) / units
    expected = mttr_d / (mtbf_d + mttr_d)
    # each unit is a two-state Markov chain (rates λ = 1/MTBF, μ = 1/MTTR); the time average
    # of its down indicator has asymptotic variance 2λμ / ((λ+μ)³ T), and units are independent
    lam, mu, t_days = 1 / mtbf_d, 1 / mttr_d, horizon / DAY
    se = math.sqrt(2 * lam * mu / ((lam + mu) ** 3 * t_days) / units)
    assert abs(unavailable - expected) < 4 * se
    assert out.values.min() >= 0 and out.values.max() <= units


def _machine_repair_mean_down(units: int, rho: float) -> float:
    """E[units down] of the finite-source M/M/1//N queue: p_n ∝ N!/(N−n)! ρⁿ."""
    weights = np.array([math.perm(units, n) * rho**n for n in range(units + 1)])
    return float(np.arange(units + 1) @ weights / weights.sum())


def test_with_one_technician_units_down_match_the_machine_repair_model() -> None:
    units, mtbf_d, mttr_d, years = 10, 20.0, 5.0, 40.0
    horizon = years * SECONDS_PER_YEAR
    history = draw_failures(
        np.array([units]),
        np.array([SECONDS_PER_YEAR / (mtbf_d * DAY)]),
        _crew(1, mttr_d * DAY),
        horizon,
        np.random.default_rng(21),
        np.random.default_rng(22),
    )
    batches = history.out[0].mean(np.linspace(0.0, horizon, 41))
    expected = _machine_repair_mean_down(units, mttr_d / mtbf_d)
    se = batches.std(ddof=1) / math.sqrt(batches.size)  # batch means of a year each
    assert abs(batches.mean() - expected) < 4 * se
    # a crew of one is the bottleneck: far more down than with a technician per unit
    unlimited = units * mttr_d / (mtbf_d + mttr_d)
    assert batches.mean() > unlimited + 10 * se


def test_repairs_wait_for_a_technician_and_last_their_repair_time() -> None:
    history = draw_failures(
        np.array([50]),
        np.array([5.0]),
        _crew(2, 2 * DAY),
        5 * SECONDS_PER_YEAR,
        np.random.default_rng(31),
        np.random.default_rng(32),
    )
    done = np.isfinite(history.repaired_s)
    down = history.repaired_s[done] - history.failed_s[done]
    assert np.all(down > 0)
    # at most two repairs in progress: the (k+2)-th repair ends after the k-th
    ends = np.sort(history.repaired_s[done])
    assert np.all(ends[2:] >= ends[:-2])
    # units out never exceed those failed and not yet back
    out = history.out[0]
    for t in out.times_s[::50]:
        failed = np.sum(history.failed_s <= t) - np.sum(history.repaired_s <= t)
        assert out.at(t) == failed


def test_outages_per_run_are_poisson_and_downtime_is_rate_times_mean_duration() -> None:
    rate, years, runs = 3.0, 10.0, 400
    spec = GridOutagesSpec(rate_per_year=rate, duration=FaultDurationSpec(mean_s=7_200.0))
    horizon = years * SECONDS_PER_YEAR
    drawn = [draw_outages(spec, horizon, np.random.default_rng(seed)) for seed in range(runs)]
    counts = np.array([o.count for o in drawn])
    # dispersion index Σ(x − x̄)²/x̄ ~ χ²(runs − 1) for Poisson counts
    dispersion = float(((counts - counts.mean()) ** 2).sum() / counts.mean())
    low, high = stats.chi2.ppf([0.0005, 0.9995], runs - 1)
    assert low < dispersion < high
    assert abs(counts.mean() - rate * years) < 4 * math.sqrt(rate * years / runs)
    # total downtime per run is compound Poisson: mean rT·m, variance rT·E[D²] (lognormal
    # E[D²] = m²·e^σ²); merging overlaps shortens it by far less than its standard error
    totals = np.array([float((o.end_s - o.start_s).sum()) for o in drawn])
    mean_s, sigma = 7_200.0, 1.0
    se = math.sqrt(rate * years * mean_s**2 * math.exp(sigma**2) / runs)
    assert abs(totals.mean() - rate * years * mean_s) < 4 * se


def _faulty(outages: bool = True, failures: bool = True) -> Scenario:
    raw = yaml.safe_load((SCENARIOS / "quick.yaml").read_text())
    if outages:
        raw["site"]["grid_outages"] = {"rate_per_year": 20.0}
    if failures:
        raw["mining"]["groups"][0]["annual_failure_rate"] = 2.0
        raw["ai"]["groups"][0]["annual_failure_rate"] = 6.0
    return scenario_from_mapping(raw, source="<test>")


@pytest.fixture(scope="module")
def faulty_site() -> Site:
    site = Site.build(_faulty(), 7)
    site.run()
    return site


def test_no_power_is_drawn_during_an_outage_and_control_decides_at_its_ends(
    faulty_site: Site,
) -> None:
    outages = faulty_site.faults.outages
    assert outages.count >= 1
    edges = np.ravel(np.column_stack((outages.start_s, outages.end_s)))
    asic_kwh = faulty_site.fleet.power_kw().integrate(edges)[::2]
    gpu_kwh = [c.power_kw().integrate(edges)[::2] for c in faulty_site.hosting.clusters]
    assert np.all(asic_kwh == 0.0) and all(np.all(kwh == 0.0) for kwh in gpu_kwh)
    # the grants change at the outages' own instants, which are not control ticks
    times, _ = faulty_site.fleet.granted_units()
    assert set(outages.start_s.tolist()) <= set(times.tolist())


def test_failed_units_never_run_and_gpu_caps_follow_failures_between_ticks(
    faulty_site: Site,
) -> None:
    fleet, loads = faulty_site.fleet, faulty_site.loads
    times, running = fleet.running_units()
    available = loads.available_series(0)
    assert np.all(running[:, 0] <= available.at(times))
    assert faulty_site.faults.failures.failed_s.size > 10
    cluster = faulty_site.hosting.clusters[0]
    gpu = loads.available_series(1)
    cap_t, caps = np.array(cluster.log.cap_t), np.array(cluster.log.cap_nodes, dtype=float)
    probe = np.union1d(cap_t, gpu.times_s)
    last = np.searchsorted(cap_t, probe, side="right") - 1
    assert np.all(caps[last] <= gpu.at(probe))
    # some GPU node failed between control ticks, and the cap dropped right then
    gpu_failures = faulty_site.faults.failures.failed_s[faulty_site.faults.failures.group == 1]
    between = gpu_failures[gpu_failures % 900.0 != 0.0]
    assert np.intersect1d(between, cap_t).size > 0


def test_each_fault_kind_has_its_own_streams() -> None:
    both = Site.build(_faulty(), 7)
    outages_only = Site.build(_faulty(failures=False), 7)
    failures_only = Site.build(_faulty(outages=False), 7)
    assert np.array_equal(both.faults.outages.start_s, outages_only.faults.outages.start_s)
    assert np.array_equal(both.faults.failures.failed_s, failures_only.faults.failures.failed_s)
    # and the rest of the run draws what it drew without faults
    plain = Site.build(_faulty(outages=False, failures=False), 7)
    assert np.array_equal(plain.btc_price_usd.values, both.btc_price_usd.values)
    assert "failures" not in plain.streams.names and "grid_outages" not in plain.streams.names


def test_a_cooling_failure_raises_the_inlet_along_the_thermal_models_step_response() -> None:
    # a chilled hall (supply = setpoint whatever the ambient, no derating below 60 °C) with a
    # steady load of 40 % of its capacity; a failure halves the capacity, so the
    # equilibrium inlet moves from T0 = s + r·0.4 to T1 = s + r·0.8 and the inlet follows
    # T(t) = T1 + (T0 − T1)·exp(−(t − t0)/τ) exactly (a first-order step response)
    hall = {
        "name": "h",
        "cooling": "air",
        "chilled": True,
        "heat_rejection_kw": 8_750.0,  # 1,000 S21 at 3.5 kW = 40 %
        "design_ambient_c": 60.0,
        "load_rise_c": 10.0,
        "time_constant_s": 1_800.0,
        "cooling_failures": {
            "rate_per_year": 50.0,  # ≈8 in the 60 days
            "duration": {"distribution": "constant", "mean_s": 6 * 3_600.0},
            "capacity_lost_fraction": 0.5,
        },
    }
    raw = yaml.safe_load((SCENARIOS / "quick.yaml").read_text())
    raw["site"]["halls"] = [hall]
    raw["mining"]["groups"] = [{"model": "Antminer S21", "count": 1_000, "hall": "h"}]
    del raw["ai"]
    site = Site.build(scenario_from_mapping(raw, source="<test>"), 7)
    site.run()
    spec = site.scenario.site.halls[0]
    tau, setpoint, rise = spec.time_constant_s, spec.setpoint_c, spec.load_rise_c
    windows = site.faults.cooling[0]
    assert windows.count >= 1
    start, end = float(windows.start_s[0]), float(windows.end_s[0])
    assert start > 10 * tau and end - start >= 6 * 3_600.0 - 1e-6  # at equilibrium before
    t0, t1 = setpoint + rise * 0.4, setpoint + rise * 0.8
    inlet = site.facility.inlet_c(0)
    elapsed = np.array([0.0, 0.5, 1.0, 3.0]) * tau
    expected = t1 + (t0 - t1) * np.exp(-elapsed / tau)
    np.testing.assert_allclose(inlet.at(start + elapsed), expected, rtol=0, atol=1e-9)
    # the capacity the outputs report halves over exactly that window
    capacity = site.facility.capacity_series_kw(0)
    assert capacity.at(start - 1.0) == 8_750.0 and capacity.at(start) == 4_375.0
    assert capacity.at(end) == 8_750.0
