"""TEMPORARY: step series moved to :mod:`sim.steps`.

Only sim/model/cluster.py still imports this path; delete this file once its import reads
``from sim.steps import ...``.
"""

from sim.steps import StepSeries, from_changes, product, spread_over_spans, total

__all__ = ["StepSeries", "from_changes", "product", "spread_over_spans", "total"]
