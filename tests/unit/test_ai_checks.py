"""Cross-field checks of the AI sections: every problem at once, each with its path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sim.errors import ScenarioError
from sim.scenario import scenario_from_mapping


def problems(ai: dict[str, Any], **extra: Any) -> dict[str, str]:
    """Path → message(s) of every problem reported (several at one path joined by ' | ')."""
    raw = {"name": "t", "mining": {"groups": []}, "ai": ai, **extra}
    with pytest.raises(ScenarioError) as err:
        scenario_from_mapping(raw)
    found: dict[str, str] = {}
    for issue in err.value.issues:
        found[issue.path] = " | ".join(filter(None, [found.get(issue.path), issue.message]))
    return found


H100 = {"node_type": "HGX H100 8-GPU", "nodes": 2}


def test_references_and_sizes_are_checked_together() -> None:
    found = problems(
        {
            "groups": [H100, {"name": "b", "node_type": "DGX Z9", "nodes": 1}],
            "reserved": [
                {"name": "c", "group": "b", "gpus": 4, "price_usd_per_gpu_hour": 1},
                {"name": "big", "gpus": 32, "price_usd_per_gpu_hour": 1},
            ],
            "job_classes": [
                {"name": "a", "arrivals_per_hour": 1, "gpus": {"values": [64]}},
                {"name": "a", "arrivals_per_hour": 1, "group": "nowhere"},
                {"name": "r", "arrivals_per_hour": 1, "contract": "c"},
                {"name": "s", "arrivals_per_hour": 1, "contract": "missing"},
            ],
        }
    )
    assert found["ai.groups[1].node_type"].startswith(
        "unknown node type 'DGX Z9'; known node types:"
    )
    assert "HGX H100 8-GPU" in found["ai.groups[1].node_type"]
    assert found["ai.job_classes[0].gpus.values"] == "64 GPUs exceed the 16 installed"
    assert found["ai.job_classes[1].name"] == "duplicate job class 'a'"
    assert found["ai.job_classes[1].group"].startswith("unknown GPU group 'nowhere'")
    assert "hosted in 'b'" in found["ai.job_classes[2].group"]
    assert found["ai.job_classes[3].contract"] == "unknown contract 'missing'; c, big"
    assert found["ai.reserved[1].gpus"] == "32 GPUs exceed the 16 installed"


def test_node_cap_schedule_and_grid_capacity() -> None:
    found = problems(
        {
            "groups": [
                {
                    **H100,
                    "node_cap_schedule": [
                        {"from_utc": "2024-02-01T00:00:00Z", "nodes": 3},
                        {"from_utc": "2024-01-15T00:00:00Z", "nodes": 1},
                    ],
                }
            ]
        },
        site={"grid_capacity_kw": 10},
    )
    assert found["ai.groups[0].node_cap_schedule"] == "from_utc must be strictly increasing"
    assert found["ai.groups[0].node_cap_schedule[0].nodes"] == "3 exceeds the group's 2 nodes"
    assert "GPU nodes 20 kW" in found["site.grid_capacity_kw"]  # 2 × 10.2 kW peak


def test_classes_need_a_group_and_traces_are_read(tmp_path: Path) -> None:
    trace = tmp_path / "t.csv"
    trace.write_text("submit_time_s,gpus,duration_s,job_class\n0,4,60,ghost\n10,99,60,\n")
    found = problems(
        {
            "groups": [H100],
            "trace": {"csv_path": str(trace), "job_class": "a"},
            "job_classes": [{"name": "a", "arrivals_per_hour": 0}],
        }
    )
    assert found["ai.trace.csv_path"] == (
        "unknown job_class values: ghost | a job of class 'a' needs 99 GPUs; its group has 16"
    )
    no_group = problems({"job_classes": [{"name": "a", "arrivals_per_hour": 1}]})
    assert no_group["ai.job_classes[0].group"].startswith("no GPU group to run on")
    bad_type = problems({"gpu_node_types": []} | {"groups": [H100]}, gpu_node_types=[
        {"name": "HGX H100 8-GPU", "gpus_per_node": 8, "gpu_power_w": 1, "host_power_w": 1,
         "idle_power_w": 1}
    ])  # fmt: skip
    assert bad_type["gpu_node_types[0].name"] == "'HGX H100 8-GPU' is a built-in node type"
