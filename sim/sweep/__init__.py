"""Monte Carlo sweeps: one base scenario, its variants, replications under common seeds.

``dcsim sweep SWEEP.yaml`` or :func:`run_sweep`; the sweep file is :mod:`sim.sweep.spec`,
the seeds and variants :mod:`sim.sweep.plan`, the worker processes :mod:`sim.sweep.run`,
the output tables :mod:`sim.sweep.tables` (docs/sweeps.md).
"""

from __future__ import annotations

from sim.sweep.plan import PlannedRun, SweepPlan, Variant, plan_sweep, replication_seed
from sim.sweep.run import SweepResult, execute, run_plan, run_sweep
from sim.sweep.spec import SweepSpec, read_sweep, sweep_from_mapping

__all__ = [
    "PlannedRun",
    "SweepPlan",
    "SweepResult",
    "SweepSpec",
    "Variant",
    "execute",
    "plan_sweep",
    "read_sweep",
    "replication_seed",
    "run_plan",
    "run_sweep",
    "sweep_from_mapping",
]
