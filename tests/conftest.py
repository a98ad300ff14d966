"""Pytest fixtures; plain helpers live in helpers.py (importable as ``helpers``)."""

from __future__ import annotations

import os

import pytest
from helpers import make_scenario
from hypothesis import settings

# Property tests draw the same examples on every run (CI must not pass or fail by luck) and
# have no deadline (shared machines are noisy). HYPOTHESIS_PROFILE=explore draws new ones.
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.register_profile("explore", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture
def scenario_factory():
    return make_scenario
