"""Scenario files: schema, loading with overrides, cross-field checks, hardware catalog."""

from sim.scenario.loader import load_scenario, scenario_from_mapping
from sim.scenario.schema import Scenario

__all__ = ["Scenario", "load_scenario", "scenario_from_mapping"]
