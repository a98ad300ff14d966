"""Monte Carlo sweeps: one base scenario, its variants, replications under common seeds.

``dcsim sweep SWEEP.yaml`` or :func:`run_sweep`; the sweep file is :mod:`sim.sweep.spec`
(sampled and sensitivity designs :mod:`sim.sweep.design`), the seeds and variants
:mod:`sim.sweep.plan`, one run in a worker :mod:`sim.sweep.outcome`, local processes or
Dask :mod:`sim.sweep.executors`, the sweep's loop :mod:`sim.sweep.run`, the journal behind
``--resume`` :mod:`sim.sweep.journal`, the output tables :mod:`sim.sweep.tables` and the
SALib analysis :mod:`sim.sweep.sensitivity` (docs/sweeps.md).
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
