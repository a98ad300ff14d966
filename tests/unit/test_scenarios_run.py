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
    assert len(result.blocks) > 0
    assert result.summary["btc_mined"].iloc[0] > 0
    assert result.timeseries["asic_power_kw"].max() <= scenario.site.grid_capacity_kw
