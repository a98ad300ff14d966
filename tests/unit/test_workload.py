"""The work estimate printed before long runs, against what runs really produce."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

from sim import load_scenario, run_one
from sim.workload import estimate

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_rows_are_exact_and_blocks_and_jobs_match_a_real_run() -> None:
    scenario = load_scenario(SCENARIOS / "quick.yaml")
    work = estimate(scenario)
    result = run_one(scenario)
    for name in ("timeseries", "daily", "groups", "summary"):
        assert work.rows[name] == len(result.tables()[name]), name
    # blocks: the estimate assumes 600 s blocks; a growing network finds them a little faster
    assert 0.9 < len(result.blocks) / work.blocks < 1.15
    # jobs: the estimate is the expected number of Poisson arrivals; 4 standard deviations
    assert abs(len(result.jobs) - work.jobs) < 4 * math.sqrt(work.jobs)


def test_growth_of_arrivals_is_averaged_over_the_horizon() -> None:
    classes = len(load_scenario(SCENARIOS / "ai_only.yaml").ai.job_classes)

    def with_growth(growth: float) -> int:
        sets = [f"ai.job_classes[{i}].growth_per_year={growth}" for i in range(classes)]
        return estimate(load_scenario(SCENARIOS / "ai_only.yaml", sets)).jobs

    years = load_scenario(SCENARIOS / "ai_only.yaml").horizon_s / (365.25 * 86_400)
    expected = (2**years - 1) / (years * math.log(2))  # mean of 2^t over [0, years]
    assert math.isclose(with_growth(1.0) / with_growth(0.0), expected, rel_tol=1e-3)


def test_memory_of_a_forty_year_run_and_a_run_of_thousands_of_years_refused() -> None:
    forty = ["end_utc=2064-01-01T00:00:00Z", "bitcoin.network_hashrate.model=gbm"]
    long = load_scenario(SCENARIOS / "baseline.yaml", forty)
    # peak RSS measured 1.27 GB (docs/performance.md, "Work estimate")
    assert 1.0e9 < estimate(long).memory_bytes < 1.6e9
    # the economic network's cohorts add 48 B per cohort and hourly step: 350,641 steps ×
    # (4 + 161) cohorts ≈ 2.8 GB more
    economic = load_scenario(SCENARIOS / "baseline.yaml", forty[:1])
    extra = estimate(economic).memory_bytes - estimate(long).memory_bytes
    assert extra == 48.0 * 350_641 * (4 + 161)
    assert not estimate(load_scenario(SCENARIOS / "baseline.yaml")).large
    began = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sim",
            "run",
            SCENARIOS / "baseline.yaml",
            "--out",
            "/nonexistent-x",
            "--set",
            "end_utc=9000-01-01T00:00:00Z",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "end_utc: a run of 6,976 years would need" in proc.stderr
    assert time.perf_counter() - began < 20  # refused at once, not after filling the memory
    assert not Path("/nonexistent-x").exists()
