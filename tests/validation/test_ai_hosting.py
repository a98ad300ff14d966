"""Validation of AI demand, preemption, billing, SLA penalties and GPU energy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import SCENARIOS, make_scenario
from scipy import stats

from sim import load_scenario, run_one

HOUR = 3_600.0
H100_PEAK_W, H100_IDLE_W = 10_200.0, 3_060.0  # catalog: HGX H100 8-GPU


def test_arrivals_per_hour_of_day_follow_the_diurnal_profile() -> None:
    profile = [1 + 0.8 * np.sin(2 * np.pi * h / 24) for h in range(24)]
    days, base = 60, 6.0
    scenario = make_scenario(
        end_utc="2024-03-01T00:00:00Z",  # 60 days from 2024-01-01
        mining={"groups": []},
        ai={
            "groups": [{"node_type": "HGX H100 8-GPU", "nodes": 100}],
            "job_classes": [
                {
                    "name": "svc",
                    "arrivals_per_hour": base,
                    "diurnal_profile": profile,
                    "duration": {"distribution": "constant", "mean_s": 60},
                }
            ],
        },
    )
    submit = run_one(scenario).jobs["submit_time_s"].to_numpy()
    observed = np.bincount((submit // HOUR % 24).astype(int), minlength=24)
    expected = base * np.array(profile) / np.mean(profile) * days
    # 24 independent Poisson counts with known means (the total is not fixed): χ²(24)
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert chi2 < stats.chi2.ppf(1 - 1e-4, 24)


def test_weekly_profile_growth_gpu_weights_and_lognormal_run_times() -> None:
    """The rest of a job class's draws (model.md §4.2), over 52 weeks from a Monday.

    - Arrivals: λ(t) = base · w[weekday]/mean(w) · (1 + g)^{t_h/year} per UTC hour, so the
      counts per (weekday, 13-week quarter) are 28 independent Poisson counts with known
      means: Pearson's χ² below the 1 − 1e-4 quantile of χ²(28).
    - GPUs per job: multinomial with the weights: χ²(3) at 1e-4.
    - Run times (uncontended, so run_s is the draw): lognormal with the given mean, its mean
      within 4·mean·√(e^σ² − 1)/√n and ln(run_s) ~ N(ln(mean) − σ²/2, σ²) by KS at 1e-4.
    """
    weekly, growth, base = [1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 0.5], 0.5, 2.0
    values, weights, mean_s, sigma = [1, 2, 4, 8], [4.0, 3.0, 2.0, 1.0], 1_800.0, 0.7
    scenario = make_scenario(
        start_utc="2024-01-01T00:00:00Z",  # a Monday
        end_utc="2024-12-30T00:00:00Z",  # 52 weeks
        mining={"groups": []},
        ai={
            "groups": [{"node_type": "HGX H100 8-GPU", "nodes": 200}],
            "job_classes": [
                {
                    "name": "mixed",
                    "arrivals_per_hour": base,
                    "weekly_profile": weekly,
                    "growth_per_year": growth,
                    "gpus": {"values": values, "weights": weights},
                    "duration": {"distribution": "lognormal", "mean_s": mean_s, "sigma": sigma},
                }
            ],
        },
    )
    jobs = run_one(scenario).jobs
    hours = np.arange(52 * 7 * 24)
    weekday, quarter = hours // 24 % 7, hours // (13 * 7 * 24)
    rate = base * np.array(weekly)[weekday] / np.mean(weekly)
    expected = rate * (1 + growth) ** (hours * HOUR / (365.25 * 86_400))  # per hour bin
    submit_h = (jobs["submit_time_s"].to_numpy() // HOUR).astype(int)
    cells = weekday * 4 + quarter
    observed = np.bincount(cells[submit_h], minlength=28)
    mean = np.bincount(cells, weights=expected, minlength=28)
    assert ((observed - mean) ** 2 / mean).sum() < stats.chi2.ppf(1 - 1e-4, 28)

    counts = jobs["gpus"].value_counts().reindex(values, fill_value=0).to_numpy()
    share = np.array(weights) / sum(weights) * counts.sum()
    assert ((counts - share) ** 2 / share).sum() < stats.chi2.ppf(1 - 1e-4, 3)

    done = jobs[(jobs["status"] == "completed") & (jobs["submit_time_s"] < 360 * 86_400)]
    assert (done["preemptions"] == 0).all() and (done["wait_s"] == 0).all()  # uncontended
    run = done["run_s"].to_numpy()
    se = mean_s * np.sqrt(np.expm1(sigma**2)) / np.sqrt(run.size)
    assert run.mean() == pytest.approx(mean_s, abs=4 * se)
    log_law = stats.norm(loc=np.log(mean_s) - sigma**2 / 2, scale=sigma)
    assert stats.kstest(np.log(run), log_law.cdf).pvalue > 1e-4


def test_constant_and_empirical_run_times_and_constant_patience() -> None:
    """Run times and patience that are not random in size (model.md §4.2), exactly.

    On a 1-node (8-GPU) hall overloaded by 8-GPU jobs: constant 3 h jobs run exactly 3 h;
    empirical jobs run one of their listed times, each equally likely (χ², 2 degrees of
    freedom, at 1e-4); a customer with constant patience who never starts leaves exactly
    2 h after submitting, and one who starts waited less than 2 h. "Exactly" is up to the
    rounding of end − start on times of up to 5·10⁶ s (ulp ≈ 1e-9 s): atol 1e-6 s.
    """
    exact = {"rel": 0.0, "abs": 1e-6}
    listed = [600.0, 1_800.0, 5_400.0]
    scenario = make_scenario(
        end_utc="2024-03-01T00:00:00Z",
        mining={"groups": []},
        ai={
            "groups": [{"node_type": "HGX H100 8-GPU", "nodes": 1}],
            "job_classes": [
                {
                    "name": "fixed",
                    "arrivals_per_hour": 0.5,
                    "gpus": {"values": [8]},
                    "duration": {"distribution": "constant", "mean_s": 3 * HOUR},
                    "patience": {"distribution": "constant", "mean_s": 2 * HOUR},
                },
                {
                    "name": "replayed",
                    "arrivals_per_hour": 0.5,
                    "gpus": {"values": [8]},
                    "duration": {"distribution": "empirical", "values_s": listed},
                    "patience": {"distribution": "constant", "mean_s": 2 * HOUR},
                },
            ],
        },
    )
    jobs = run_one(scenario).jobs
    done = jobs[jobs["status"] == "completed"]
    fixed = done[done["job_class"] == "fixed"]
    assert len(fixed) > 50
    assert fixed["run_s"].to_numpy() == pytest.approx(3 * HOUR, **exact)
    replayed = done.loc[done["job_class"] == "replayed", "run_s"].to_numpy()
    nearest = np.array(listed)[np.abs(replayed[:, None] - np.array(listed)).argmin(axis=1)]
    assert replayed == pytest.approx(nearest, **exact)
    counts = np.array([(nearest == value).sum() for value in listed])
    spread = ((counts - counts.mean()) ** 2 / counts.mean()).sum()
    assert spread < stats.chi2.ppf(1 - 1e-4, 2)
    left = jobs[jobs["status"] == "abandoned"]
    assert len(left) > 50
    assert left["wait_s"].to_numpy() == pytest.approx(2 * HOUR, **exact)
    assert (jobs.loc[jobs["start_time_s"].notna(), "wait_s"] < 2 * HOUR).all()


def test_trace_replay_reproduces_submit_times_exactly() -> None:
    scenario = load_scenario(SCENARIOS / "ai_trace.yaml")
    jobs = run_one(scenario).jobs
    trace = pd.read_csv(SCENARIOS / "data" / "ai_trace_example.csv")
    inside = trace[trace["submit_time_s"] < scenario.horizon_s]
    assert len(jobs) == len(inside) > 1_000
    np.testing.assert_array_equal(jobs["submit_time_s"].to_numpy(), inside["submit_time_s"])
    np.testing.assert_array_equal(jobs["gpus"].to_numpy(), inside["gpus"])
    assert jobs["job_class"].tolist() == inside["job_class"].tolist()
    done = jobs[jobs["status"] == "completed"]
    run = done["run_s"].to_numpy()
    np.testing.assert_allclose(run, inside.loc[done.index, "duration_s"].to_numpy(), rtol=1e-9)


def one_job_scenario(tmp_path: Path, checkpoint_s: float | None, **ai: object):
    """One 8-GPU, 10-hour job at t = 0 on one node whose cap is 0 from 2.5 h to 4 h."""
    trace = tmp_path / "trace.csv"
    trace.write_text("submit_time_s,gpus,duration_s\n0,8,36000\n")
    job_class = {"name": "train", "arrivals_per_hour": 0, "price_usd_per_gpu_hour": 2.0}
    if checkpoint_s is not None:
        job_class["checkpoint_interval_s"] = checkpoint_s
    return make_scenario(
        end_utc="2024-01-02T00:00:00Z",
        site={"policy": {"ramp_s": 0}},  # the node is back at once when the cap lifts
        mining={"groups": []},
        ai={
            "groups": [
                {
                    "node_type": "HGX H100 8-GPU",
                    "nodes": 1,
                    "node_cap_schedule": [
                        {"from_utc": "2024-01-01T02:30:00Z", "nodes": 0},
                        {"from_utc": "2024-01-01T04:00:00Z", "nodes": 1},
                    ],
                }
            ],
            "trace": {"csv_path": str(trace), "job_class": "train"},
            "job_classes": [job_class],
            **ai,
        },
    )


@pytest.mark.parametrize(
    ("checkpoint_h", "lost_h"), [(1.0, 0.5), (0.75, 0.25), (None, 2.5)], ids=str
)
def test_preemption_loses_exactly_the_work_since_the_last_checkpoint(
    tmp_path: Path, checkpoint_h: float | None, lost_h: float
) -> None:
    scenario = one_job_scenario(tmp_path, None if checkpoint_h is None else checkpoint_h * HOUR)
    result = run_one(scenario)
    job = result.jobs.iloc[0]
    assert job["preemptions"] == 1
    assert job["status"] == "completed"
    assert job["lost_work_s"] == pytest.approx(lost_h * HOUR)
    assert job["run_s"] == pytest.approx((10 + lost_h) * HOUR)
    # restarted at 4 h with the work it kept: 10 h − (2.5 h − lost)
    assert job["end_time_s"] == pytest.approx((4 + 10 - (2.5 - lost_h)) * HOUR)
    # billed: only GPU-hours whose work was kept, 8 GPUs × 10 h × $2
    assert job["revenue_usd"] == pytest.approx(8 * 10 * 2.0)
    assert result.summary["ai_on_demand_revenue_usd"].iloc[0] == pytest.approx(160.0)
    assert result.timeseries["jobs_preempted"].sum() == 1


def test_gpu_energy_follows_idle_and_peak_power_and_the_node_cap(tmp_path: Path) -> None:
    result = run_one(one_job_scenario(tmp_path, HOUR))
    busy_h = 10.5  # 2.5 h before the cut, then 8 h after it
    idle_h = 24 - 1.5 - busy_h  # powered but idle; off while the cap is 0
    expected_kwh = (H100_PEAK_W * busy_h + H100_IDLE_W * idle_h) / 1_000
    daily = result.daily.iloc[0]
    assert daily["gpu_energy_kwh"] == pytest.approx(expected_kwh, rel=1e-12)
    assert daily["gpu_energy_cost_usd"] == pytest.approx(expected_kwh / 1_000 * 35.0, rel=1e-12)
    ts = result.timeseries.set_index("time_s")
    assert ts.loc[3 * HOUR, "gpu_power_kw"] == 0.0
    assert ts.loc[5 * HOUR, "gpu_power_kw"] == pytest.approx(H100_PEAK_W / 1_000)
    assert ts.loc[20 * HOUR, "gpu_power_kw"] == pytest.approx(H100_IDLE_W / 1_000)
    # energy balance: the site total is ASIC + GPU, and cost = Σ energy × price
    assert (result.daily["energy_cost_usd"] == result.daily["gpu_energy_cost_usd"]).all()


def test_sla_penalty_for_capacity_cut_below_the_target(tmp_path: Path) -> None:
    contract = {
        "name": "tenant",
        "gpus": 8,
        "price_usd_per_gpu_hour": 1.5,
        "sla_availability": 0.99,
        "penalty_usd_per_gpu_hour": 4.0,
    }
    result = run_one(one_job_scenario(tmp_path, HOUR, reserved=[contract], sla_period_days=1))
    summary = result.summary.iloc[0]
    shortfall_gpu_h = 8 * 1.5  # no GPUs for 1.5 h; availability 1 − 12/192 = 93.75 % < 99 %
    assert summary["sla_penalty_usd"] == pytest.approx(shortfall_gpu_h * 4.0)
    assert summary["ai_reserved_revenue_usd"] == pytest.approx(8 * 24 * 1.5)
    event = result.events[result.events["event"] == "sla_penalty"].iloc[0]
    assert event["entity"] == "tenant"
    assert "93.7500%" in event["detail"]
    lenient = dict(contract, sla_availability=0.9)  # 93.75 % meets a 90 % target
    result = run_one(one_job_scenario(tmp_path, HOUR, reserved=[lenient], sla_period_days=1))
    assert result.summary["sla_penalty_usd"].iloc[0] == 0.0


def test_tenant_work_beyond_the_contracted_gpus_is_on_demand(tmp_path: Path) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text("submit_time_s,gpus,duration_s\n0,8,3600\n0,8,3600\n7200,8,3600\n")
    scenario = make_scenario(
        end_utc="2024-01-02T00:00:00Z",
        mining={"groups": []},
        ai={
            "groups": [{"node_type": "HGX H100 8-GPU", "nodes": 2}],
            "reserved": [{"name": "tenant", "gpus": 8, "price_usd_per_gpu_hour": 1.5}],
            "trace": {"csv_path": str(trace), "job_class": "tenant-jobs"},
            "job_classes": [
                {
                    "name": "tenant-jobs",
                    "contract": "tenant",
                    "arrivals_per_hour": 0,
                    "price_usd_per_gpu_hour": 3.0,
                }
            ],
        },
    )
    jobs = run_one(scenario).jobs
    # the first job fills the 8 contracted GPUs; the second bursts beyond them, on demand;
    # the third comes after the first has finished, so the contract has room again
    assert jobs["contract"].tolist() == ["tenant", "", "tenant"]
    assert jobs["revenue_usd"].tolist() == pytest.approx([0.0, 8 * 1 * 3.0, 0.0])
