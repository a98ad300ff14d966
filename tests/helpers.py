"""Shared test helpers: scenario builders on the real loader (no mocks)."""

from __future__ import annotations

import csv
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


def csv_without_wall_times(path: Path) -> list[list[str]]:
    """The CSV file's cells as written, its wall_s column (a measured time) left out."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    keep = [i for i, name in enumerate(rows[0]) if name != "wall_s"]
    return [[row[i] for i in keep] for row in rows]


def assert_same_sweep_files(one: Path, other: Path) -> None:
    """Both folders hold the same files, byte for byte; runs.csv but for its wall times."""
    names = sorted(p.name for p in one.iterdir())
    assert sorted(p.name for p in other.iterdir()) == names
    for name in names:
        if name == "runs.csv":
            assert csv_without_wall_times(one / name) == csv_without_wall_times(other / name)
        elif name != "manifest.json":  # it records timings, the executor and the command
            assert (one / name).read_bytes() == (other / name).read_bytes(), name
