"""Pytest fixtures; plain helpers live in helpers.py (importable as ``helpers``)."""

from __future__ import annotations

import os

import pytest
from helpers import SCENARIOS, make_scenario
from hypothesis import settings

from sim.runner import run_one
from sim.scenario import load_scenario

# Property tests draw the same examples on every run (CI must not pass or fail by luck) and
# have no deadline (shared machines are noisy). HYPOTHESIS_PROFILE=explore draws new ones.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture
def scenario_factory():
    return make_scenario


@pytest.fixture(scope="session", autouse=True)
def compiled_ai_loop() -> None:
    """Compile the AI job loop here, once, before any test runs a site with GPUs elsewhere.

    numba keeps the machine code in a cache beside the source. In a fresh checkout, without
    this, the first tests to run GPUs in subprocesses (the CLI's, a sweep's workers) would
    each compile it at the same time, about a minute apiece. These two short runs reach
    every entry point of the loop: arrivals, caps, node failures, throttling, the horizon.
    """
    run_one(
        load_scenario(
            SCENARIOS / "heatwave.yaml",
            [
                "start_utc=2024-07-14T00:00:00Z",
                "end_utc=2024-07-18T00:00:00Z",
                "bitcoin.epoch_start_utc=2024-07-10T00:00:00Z",
            ],
        )
    )
    run_one(
        load_scenario(
            SCENARIOS / "outages.yaml",
            ["end_utc=2024-01-15T00:00:00Z", "ai.groups[0].annual_failure_rate=50"],
        )
    )
