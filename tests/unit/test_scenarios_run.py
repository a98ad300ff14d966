"""Every shipped scenario validates and runs a short horizon."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SCENARIOS

from sim import load_scenario, run_one


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_scenario_runs_a_short_horizon(path: Path) -> None:
    scenario = load_scenario(path)
    end = scenario.start_utc.replace(microsecond=0) + (scenario.end_utc - scenario.start_utc) / 20
    short = load_scenario(path, [f"end_utc={end.replace(microsecond=0).isoformat()}"])
    result = run_one(short)
    summary = result.summary.iloc[0]
    assert len(result.blocks) > 0
    assert (summary["btc_mined"] > 0) == bool(scenario.mining.groups)
    assert (summary["jobs_submitted"] > 0) == bool(scenario.ai.job_classes)
    site_kw = result.timeseries["asic_power_kw"] + result.timeseries["gpu_power_kw"]
    assert site_kw.max() <= scenario.site.grid_capacity_kw
