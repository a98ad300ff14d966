"""Shared test helpers: scenario builders on the real loader (no mocks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.scenario import Scenario, scenario_from_mapping

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"


def make_scenario(**fields: Any) -> Scenario:
    """A valid scenario from keyword sections, on top of a small default site."""
    raw: dict[str, Any] = {
        "name": "test",
        "start_utc": "2024-01-01T00:00:00Z",
        "end_utc": "2024-02-01T00:00:00Z",
        "mining": {"groups": [{"model": "Antminer S21", "count": 1000}]},
    }
    raw.update(fields)
    return scenario_from_mapping(raw, source="<test>")
