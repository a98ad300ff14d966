"""Faults against analytic results: repair-crew availability, Poisson outages, no power out.

Tolerances are four standard errors of the estimate, from the model's own variance (a
two-state Markov chain's time average, a compound Poisson total) or, where no closed form
is at hand, from batch means of the simulated path.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.model.backup import hall_supply
from sim.model.faults import FailureHistory, Outages, draw_failures, draw_outages
from sim.model.site import Site
from sim.rng import RandomStreams
from sim.runner import run_one
from sim.scenario import Scenario, load_scenario, scenario_from_mapping
from sim.scenario.faults import (
    BackupSpec,
    FaultDurationSpec,
    GridOutagesSpec,
    RepairCrewSpec,
    SparesSpec,
)
from sim.steps import StepSeries, product
from sim.units import SECONDS_PER_DAY, SECONDS_PER_YEAR
from tests.helpers import SCENARIOS

DAY = SECONDS_PER_DAY


def _crew(technicians: int, mttr_s: float) -> RepairCrewSpec:
    repair = FaultDurationSpec(distribution="exponential", mean_s=mttr_s)
    return RepairCrewSpec(technicians=technicians, repair_time=repair)


def _one_group(
    units: int, mtbf_d: float, crew: RepairCrewSpec, horizon_s: float, seed: int, **options: Any
) -> FailureHistory:
    """The failures of one group (streams seeded ``seed`` and ``seed + 1``)."""
    return draw_failures(
        np.array([units]),
        np.array([SECONDS_PER_YEAR / (mtbf_d * DAY)]),
        crew,
        horizon_s,
        np.random.default_rng(seed),
        np.random.default_rng(seed + 1),
        **options,
    )


def test_with_a_crew_for_every_unit_availability_is_mtbf_over_mtbf_plus_mttr() -> None:
    units, mtbf_d, mttr_d, years = 100, 30.0, 3.0, 20.0
    horizon = years * SECONDS_PER_YEAR
    history = _one_group(units, mtbf_d, _crew(units, mttr_d * DAY), horizon, 11)
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
    history = _one_group(units, mtbf_d, _crew(1, mttr_d * DAY), horizon, 21)
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
    # a failure on a busy node stops its jobs at that instant
    hits = [row.time_s for row in faulty_site.events.of_kind("node_failure")]
    assert hits and set(hits) <= set(gpu_failures.tolist())


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


# --------------------------------------------------------------------------- backup power


@settings(max_examples=80, deadline=None)
@given(
    ups_kw=st.floats(0.0, 5_000.0),
    ups_kwh=st.floats(0.0, 2_000.0),
    generator_kw=st.floats(0.0, 5_000.0),
    delay_s=st.floats(0.0, 3_600.0),
    failure=st.sampled_from([0.0, 0.3, 1.0]),
    seed=st.integers(0, 2**32),
)
def test_backup_never_overdraws_the_ups_and_the_generator_waits_for_its_start(
    ups_kw: float, ups_kwh: float, generator_kw: float, delay_s: float, failure: float, seed: int
) -> None:
    backup = BackupSpec(
        ups_power_kw=ups_kw,
        ups_energy_kwh=ups_kwh,
        generator_kw=generator_kw,
        generator_start_delay_s=delay_s,
        generator_start_failure_probability=failure,
    )
    outages = draw_outages(
        GridOutagesSpec(rate_per_year=50.0, duration=FaultDurationSpec(mean_s=7_200.0)),
        SECONDS_PER_YEAR,
        np.random.default_rng(seed),
    )
    supply = hall_supply(outages, backup, "h", RandomStreams(seed))
    power = supply.power_kw
    for start, end in zip(outages.start_s, outages.end_s, strict=True):
        inside = np.unique(
            np.concatenate(
                ([start], power.times_s[(power.times_s > start) & (power.times_s < end)])
            )
        )
        caps = power.at(inside)
        assert np.all(np.isfinite(caps)) and np.all(caps >= 0.0)
        assert power.at(end) == np.inf  # the grid is back
        # before the generator can run, only the UPS feeds the hall, and it never gives
        # more energy than it holds (drawn at its rated power for at most its autonomy)
        bridge = inside < start + delay_s
        ups_s = np.diff(np.append(inside, end))[bridge & (caps > 0)].sum()
        assert np.all(caps[bridge] <= ups_kw)
        assert ups_s * ups_kw / 3_600.0 <= ups_kwh * (1 + 1e-9) + 1e-9
    # a start that always fails leaves the hall dark once the UPS is empty
    if failure == 1.0 and outages.count:
        assert supply.generator.count == 0 and supply.failed_starts == outages.count
        autonomy = ups_kwh / ups_kw * 3_600.0 if ups_kw else 0.0
        late = outages.start_s + autonomy + 1e-6 < outages.end_s
        assert np.all(power.at(outages.start_s[late] + autonomy + 1e-6) == 0.0)
    if failure == 0.0 and generator_kw > 0:
        assert supply.failed_starts == 0
        carried = outages.start_s + delay_s < outages.end_s
        assert supply.generator.count == int(carried.sum())
        assert np.all(supply.generator.start_s == outages.start_s[carried] + delay_s)


def _backed(failure_probability: float) -> Scenario:
    """quick.yaml in two halls; only the GPU hall has a UPS (10 min) and a generator (30 s)."""
    raw = yaml.safe_load((SCENARIOS / "quick.yaml").read_text())
    backup = {
        "ups_power_kw": 500.0,
        "ups_energy_kwh": 500.0 / 6,
        "generator_kw": 500.0,
        "generator_start_delay_s": 30.0,
        "generator_start_failure_probability": failure_probability,
        "fuel_cost_usd_per_mwh": 300.0,
    }
    raw["site"]["halls"] = [
        {"name": "asics", "heat_rejection_kw": 20_000},
        {"name": "gpus", "chilled": True, "heat_rejection_kw": 400, "backup": backup},
    ]
    raw["site"]["grid_outages"] = {"rate_per_year": 30.0}
    raw["mining"]["groups"][0]["hall"] = "asics"
    raw["ai"]["groups"][0]["hall"] = "gpus"
    return scenario_from_mapping(raw, source="<test>")


def test_a_backed_hall_runs_through_an_outage_on_fuel_and_the_grid_bills_nothing() -> None:
    result = run_one(_backed(0.0))
    site = Site.build(_backed(0.0), 7)
    site.run()
    outages = site.faults.outages
    assert outages.count >= 2
    edges = np.ravel(np.column_stack((outages.start_s, outages.end_s)))
    gpu_kwh = site.hosting.clusters[0].power_kw().integrate(edges)[::2]
    asic_kwh = site.fleet.power_kw().integrate(edges)[::2]
    assert np.all(asic_kwh == 0.0)  # the ASIC hall has no backup
    assert np.all(gpu_kwh > 0.0)  # the GPU hall rides through
    # the GPUs' energy bill counts grid energy only: none in an outage, though they ran
    power = site.hosting.clusters[0].power_kw()
    ends = np.array([0.0, site.scenario.horizon_s])
    price = site.energy_price_usd_per_mwh
    grid_only = product(power, price, StepSeries(*_up(outages))).integrate(ends)[0] / 3.6e6
    everything = product(power, price).integrate(ends)[0] / 3.6e6
    s = result.summary.iloc[0]
    assert s["gpu_energy_cost_usd"] == pytest.approx(grid_only, rel=1e-9)
    assert everything - grid_only > 1.0  # dollars the outages' energy would have cost
    assert s["failed_generator_starts"] == 0 and s["generator_energy_mwh"] > 0
    assert s["generator_fuel_cost_usd"] == pytest.approx(300.0 * s["generator_energy_mwh"])
    gpu_rows = result.groups[result.groups["kind"] == "gpu"]
    assert (gpu_rows["units_in_service"] == 16).all()  # backed: never out of service


def _up(outages: Outages) -> tuple[np.ndarray, np.ndarray]:
    down = outages.down()
    return down.times_s, 1.0 - down.values


def test_a_failed_generator_start_leaves_the_hall_dark_once_the_ups_is_empty() -> None:
    site = Site.build(_backed(1.0), 7)
    site.run()
    outages = site.faults.outages
    power = site.hosting.clusters[0].power_kw()
    autonomy = 600.0
    long = outages.end_s - outages.start_s > autonomy + 60.0
    assert long.any()
    for start, end in zip(outages.start_s[long], outages.end_s[long], strict=True):
        on_ups = power.integrate(np.array([start, start + autonomy]))[0]
        after = power.integrate(np.array([start + autonomy, end]))[0]
        assert on_ups > 0.0 and after == 0.0
    assert site.supply is not None and site.supply.halls[1].failed_starts == outages.count


def test_an_outage_soon_after_another_finds_the_ups_only_partly_recharged() -> None:
    # 600 kW for 10 minutes (100 kWh), recharged at the default 10 % (60 kW): emptied in
    # the first outage, it holds 60 kWh (6 min) an hour later and is full again after a day
    backup = BackupSpec(
        ups_power_kw=600.0,
        ups_energy_kwh=100.0,
        generator_kw=600.0,
        generator_start_failure_probability=1.0,
    )
    hour = 3_600.0
    starts = np.array([10 * hour, 12 * hour, 40 * hour])
    outages = Outages(starts, starts + hour)
    supply = hall_supply(outages, backup, "hall", RandomStreams(3))
    dark = supply.dark
    np.testing.assert_allclose(dark.start_s - starts, [600.0, 360.0, 600.0])
    np.testing.assert_allclose(dark.end_s, starts + hour)
    # the generator taking over stops the drain: with starts that never fail the UPS gives
    # only the 10 s start delay at 600 kW each time and never runs out
    carried = hall_supply(
        outages,
        backup.model_copy(update={"generator_start_failure_probability": 0.0}),
        "hall",
        RandomStreams(3),
    )
    assert carried.dark.count == 0


def _spares_chain_mean_down(units: int, lam: float, mu: float, nu: float, stock: int) -> float:
    """E[units down] with base-stock spares, a technician per unit, exponential everything.

    State (r, w, o): units in repair, units waiting for a part, parts on order. A failure
    orders a part at once and takes one from the shelf (stock = S − o + w) if there is one,
    else waits; an order arrives at rate o·ν and goes to a waiting unit first; a repair ends
    at rate r·μ. The stationary law solves πQ = 0 exactly (a small linear system).
    """
    states = [
        (r, w, o)
        for r in range(units + 1)
        for w in range(units + 1 - r)
        for o in range(stock + units + 1)
        if stock - o + w >= 0 and (w == 0 or stock - o + w == 0)
    ]
    index = {s: i for i, s in enumerate(states)}
    q = np.zeros((len(states), len(states)))
    for (r, w, o), i in index.items():
        moves = []
        if units - r - w:
            shelf = stock - o + w > 0
            moves.append(((r + shelf, w + (not shelf), o + 1), (units - r - w) * lam))
        if o:
            moves.append(((r + 1, w - 1, o - 1) if w else (r, w, o - 1), o * nu))
        if r:
            moves.append(((r - 1, w, o), r * mu))
        for target, rate in moves:
            q[i, index[target]] += rate
            q[i, i] -= rate
    a = np.vstack((q.T, np.ones(len(states))))
    b = np.zeros(len(states) + 1)
    b[-1] = 1.0
    pi = np.linalg.lstsq(a, b, rcond=None)[0]
    return float(sum(p * (r + w) for p, (r, w, _) in zip(pi, states, strict=True)))


def test_with_spares_and_lead_times_units_down_match_the_exact_markov_chain() -> None:
    units, mtbf_d, mttr_d, lead_d, stock, years = 10, 20.0, 2.0, 10.0, 1, 60.0
    horizon = years * SECONDS_PER_YEAR
    lead = FaultDurationSpec(distribution="exponential", mean_s=lead_d * DAY)
    history = _one_group(
        units,
        mtbf_d,
        _crew(units, mttr_d * DAY),
        horizon,
        41,
        spares=[SparesSpec(stock=stock, lead_time=lead)],
        lead_rng=np.random.default_rng(43),
    )
    batches = history.out[0].mean(np.linspace(0.0, horizon, 61))
    expected = _spares_chain_mean_down(units, 1 / mtbf_d, 1 / mttr_d, 1 / lead_d, stock)
    se = batches.std(ddof=1) / math.sqrt(batches.size)  # one-year batch means
    assert abs(batches.mean() - expected) < 4 * se
    # parts are the bottleneck: far more down than with parts always at hand
    assert batches.mean() > units * mttr_d / (mtbf_d + mttr_d) + 10 * se


def test_faults_switched_off_reproduce_the_fault_free_run_exactly() -> None:
    """Zero rates, a crew and backup that never act: every table equals the plain run's."""
    plain = run_one(load_scenario(SCENARIOS / "quick.yaml"))
    off = run_one(
        load_scenario(
            SCENARIOS / "quick.yaml",
            [
                "site.grid_outages={rate_per_year: 0}",
                "site.repair_crew.technicians=1",
                "mining.groups[0].annual_failure_rate=0",
                "mining.groups[0].spares={stock: 0}",
                "ai.groups[0].annual_failure_rate=0",
            ],
        )
    )
    for name, table in plain.tables().items():
        pd.testing.assert_frame_equal(table, off.tables()[name], check_exact=True, obj=name)


def test_maintenance_and_a_curtailment_order_act_exactly_over_their_windows() -> None:
    raw = yaml.safe_load((SCENARIOS / "quick.yaml").read_text())
    raw["site"]["halls"] = [
        {
            "name": "a",
            "heat_rejection_kw": 20_000,
            "maintenance": [
                {"start_utc": "2024-03-05T10:07:00Z", "end_utc": "2024-03-06T02:53:00Z"}
            ],
        },
        {"name": "b", "chilled": True, "heat_rejection_kw": 400},
    ]
    raw["site"]["curtailment_orders"] = [
        {"start_utc": "2024-03-10T17:10:00Z", "end_utc": "2024-03-10T21:40:00Z", "grid_share": 0.5}
    ]
    raw["mining"]["groups"][0]["hall"] = "a"
    raw["ai"]["groups"][0]["hall"] = "b"
    scenario = scenario_from_mapping(raw, source="<test>")
    site = Site.build(scenario, 7)
    site.run()
    start, end = site.faults.maintenance[0].start_s[0], site.faults.maintenance[0].end_s[0]
    o_start, o_end = site.faults.orders.start_s[0], site.faults.orders.end_s[0]
    assert start % 900 and end % 900  # between control ticks
    asics = site.fleet.power_kw()
    assert asics.integrate(np.array([start, end]))[0] == 0.0
    assert asics.at(start - 1.0) > 0.0 and asics.at(end + 600.0) > 0.0  # back after the ramp
    gpus = site.hosting.clusters[0].power_kw()
    assert gpus.integrate(np.array([start, end]))[0] > 0.0  # the other hall runs on
    # in the order the site draws at most half its interconnect, IT and cooling together
    site_kw = site.fleet.power_kw().at(np.linspace(o_start, o_end, 50, endpoint=False))
    site_kw = site_kw + gpus.at(np.linspace(o_start, o_end, 50, endpoint=False))
    assert site_kw.max() <= 0.5 * scenario.site.grid_capacity_kw + 1e-6
    assert asics.at(o_start - 1.0) > 0.5 * scenario.site.grid_capacity_kw  # it had to shed
    result = run_one(scenario)
    a = result.groups[result.groups["group"] == "Antminer S21"].set_index("date")
    off_s = 13 * 3_600.0 + 53 * 60.0  # 10:07 to midnight on 2024-03-05
    day = pd.Timestamp("2024-03-05", tz="UTC")
    assert a.loc[day, "units_in_service"] == pytest.approx(3_000 * (1 - off_s / 86_400.0))
    kinds = set(result.events["event"])
    assert {"maintenance", "maintenance_end", "curtailment_order", "curtailment_order_end"} <= kinds


def _first_lives(
    units: int, mttf_d: float, shape: float, horizon_d: float, seed: int, age_d: float = 0.0
) -> np.ndarray:
    """Failure times of Weibull units aged ``age_d`` at the start, none back from repair."""
    never = RepairCrewSpec(
        technicians=1, repair_time=FaultDurationSpec(distribution="constant", mean_s=3e7)
    )
    history = _one_group(
        units,
        mttf_d,
        never,
        horizon_d * DAY,
        seed,
        weibull_shape=[shape],
        aging_rng=np.random.default_rng(seed + 2),
        age_s=[age_d * DAY],
    )
    return history.failed_s


def test_weibull_first_lives_fail_as_the_weibull_law_says() -> None:
    # no repair comes back within the run, so failures by t count the first lives that
    # ended: Binomial(N, F(t)) with F(t) = 1 − exp(−(t/η)^k), η = MTTF / Γ(1 + 1/k)
    units, mttf_d, shape = 2_000, 60.0, 2.5
    failed_s = _first_lives(units, mttf_d, shape, 200.0, 51)
    scale_d = mttf_d / math.gamma(1 + 1 / shape)
    for t_d in (20.0, 45.0, 60.0, 90.0):
        p = 1 - math.exp(-((t_d / scale_d) ** shape))
        failed = int(np.sum(failed_s <= t_d * DAY))
        assert abs(failed - units * p) < 4 * math.sqrt(units * p * (1 - p)), t_d


def test_weibull_units_of_an_age_fail_as_the_conditional_weibull_law_says() -> None:
    # units of age a₀ at the start that fail by t: Binomial(N, p) with the conditional law
    # p = (F(a₀ + t) − F(a₀)) / (1 − F(a₀)); worn units (k = 3, a₀ = MTTF) fail far sooner
    units, mttf_d, shape, age_d = 2_000, 60.0, 3.0, 60.0
    failed_s = _first_lives(units, mttf_d, shape, 100.0, 61, age_d)
    scale_d = mttf_d / math.gamma(1 + 1 / shape)

    def survival(d: float) -> float:
        return math.exp(-((d / scale_d) ** shape))

    for t_d in (5.0, 15.0, 30.0, 60.0):
        p = 1 - survival(age_d + t_d) / survival(age_d)
        failed = int(np.sum(failed_s <= t_d * DAY))
        assert abs(failed - units * p) < 4 * math.sqrt(units * p * (1 - p)), t_d
    # new units would have lost only 1 − S(15 d) ≈ 1.6 % by day 15, these ≈ 27 %
    assert np.sum(failed_s <= 15 * DAY) > 10 * units * (1 - survival(15.0))


def test_with_weibull_lives_availability_is_still_mttf_over_mttf_plus_mttr() -> None:
    # renewal-reward: the long-run share up is E[life] / (E[life] + E[repair]) whatever the
    # life's law; batch means over one-year batches after a year of warm-up give the SE
    units, mttf_d, mttr_d, years, shape = 100, 30.0, 3.0, 31.0, 3.0
    horizon = years * SECONDS_PER_YEAR
    history = _one_group(
        units,
        mttf_d,
        _crew(units, mttr_d * DAY),
        horizon,
        61,
        weibull_shape=[shape],
        aging_rng=np.random.default_rng(63),
    )
    batches = history.out[0].mean(np.linspace(SECONDS_PER_YEAR, horizon, 31)) / units
    se = batches.std(ddof=1) / math.sqrt(batches.size)
    assert abs(batches.mean() - mttr_d / (mttf_d + mttr_d)) < 4 * se
