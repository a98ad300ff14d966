"""The compiled AI job loop gives the Python loop's outputs, bit for bit.

Runs use ``sim.model.compiled_ai`` (the job loop in machine code); ``DCSIM_AI_LOOP=python``
selects the Python loop (``AiHosting``, ``GpuCluster``, ``AiClock``), the readable reference
that the rest of the suite checks against queueing theory and by hand. Every table of a run
must be identical between the two, and so must the count of events processed:

- the shipped scenarios with GPUs: contracts and bursts beyond them, patience, gang jobs,
  node caps from the site's power and cooling and planned maintenance, thermal throttling
  in the heat wave, GPU node failures and repairs, trace replay;
- small random clusters under heavy random load, with random node-cap plans and frequent
  node failures, where ties, preemptions and requeues are common.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model.site import AI_LOOP_VARIABLE
from sim.result import RunResult
from sim.runner import run_one
from sim.scenario import load_scenario
from tests.helpers import REPO


def run_with(loop: str, monkeypatch: pytest.MonkeyPatch, path: str, sets: list[str]) -> RunResult:
    monkeypatch.setenv(AI_LOOP_VARIABLE, loop)
    return run_one(load_scenario(REPO / "scenarios" / path, sets))


def assert_same_outputs(python: RunResult, compiled: RunResult) -> None:
    assert compiled.events_processed == python.events_processed
    for name, table in python.tables().items():
        pd.testing.assert_frame_equal(compiled.tables()[name], table, check_exact=True, obj=name)
    assert len(python.jobs) > 0


@pytest.mark.parametrize(
    ("path", "sets"),
    [
        ("ai_only.yaml", ["end_utc=2025-04-01T00:00:00Z"]),
        ("ai_trace.yaml", []),
        ("heatwave.yaml", []),
        ("hybrid.yaml", ["end_utc=2024-06-01T00:00:00Z"]),
        ("outages.yaml", []),
        ("quick.yaml", []),
    ],
)
def test_shipped_scenarios_give_the_python_loops_tables(
    path: str, sets: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    python = run_with("python", monkeypatch, path, sets)
    compiled = run_with("compiled", monkeypatch, path, sets)
    assert_same_outputs(python, compiled)


@st.composite
def small_sites(draw: st.DrawFn) -> list[str]:
    """Overrides of ai_only.yaml: a few nodes, a heavy load, caps and failures."""
    nodes = draw(st.integers(2, 12))
    load = draw(st.sampled_from([0.5, 2.0, 6.0]))  # arrivals per hour, times the file's
    sets = [
        "end_utc=2025-01-21T00:00:00Z",
        f"ai.groups[0].nodes={nodes}",
        f"ai.backfill_depth={draw(st.sampled_from([0, 1, 3, 100]))}",
        f"ai.reserved[0].gpus={8 * draw(st.integers(1, nodes))}",
        f"ai.groups[0].annual_failure_rate={draw(st.sampled_from([0.0, 20.0, 80.0]))}",
        "ai.job_classes[0].gpus={values: [4, 8, 16]}",
        f"ai.job_classes[1].gpus={{values: [9, 16, {8 * nodes}]}}",  # gang jobs, one of all nodes
        f"ai.job_classes[0].arrivals_per_hour={0.8 * load}",
        f"ai.job_classes[1].arrivals_per_hour={0.36 * load}",
        f"ai.job_classes[2].arrivals_per_hour={3 * load}",
        f"ai.job_classes[3].arrivals_per_hour={7 * load}",
    ]
    caps = draw(st.lists(st.tuples(st.integers(1, 19), st.integers(0, nodes)), max_size=4))
    plan = ", ".join(
        f"{{from_utc: 2025-01-{day:02d}T{6 * (i % 4):02d}:00:00Z, nodes: {cap}}}"
        for i, (day, cap) in enumerate(sorted(caps))
    )
    return [*sets, f"ai.groups[0].node_cap_schedule=[{plan}]"]


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(small_sites())
def test_random_small_sites_give_the_python_loops_tables(
    monkeypatch: pytest.MonkeyPatch, sets: list[str]
) -> None:
    python = run_with("python", monkeypatch, "ai_only.yaml", sets)
    compiled = run_with("compiled", monkeypatch, "ai_only.yaml", sets)
    assert_same_outputs(python, compiled)
