"""dcsim: discrete-event simulation of datacenter sites that mine Bitcoin and host AI/HPC.

Notebook use::

    from sim import load_scenario, run_one
    result = run_one(load_scenario("scenarios/baseline.yaml"))
    result.daily.plot(x="date", y="mining_revenue_usd")

    from sim import run_sweep
    sweep = run_sweep("scenarios/sweeps/energy_price.yaml")   # docs/sweeps.md
    sweep.paired  # each variant against the base, replication by replication

Names are imported on first use, so ``dcsim validate`` does not pay for pandas.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "load_scenario": "sim.scenario",
    "Scenario": "sim.scenario",
    "run_one": "sim.runner",
    "run_sweep": "sim.sweep",
    "SweepResult": "sim.sweep",
    "RunResult": "sim.result",
    "ScenarioError": "sim.errors",
    "SimulationError": "sim.errors",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
