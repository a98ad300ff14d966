"""Pytest fixtures; plain helpers live in helpers.py (importable as ``helpers``)."""

from __future__ import annotations

import pytest
from helpers import make_scenario


@pytest.fixture
def scenario_factory():
    return make_scenario
