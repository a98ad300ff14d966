"""The economics stage: every money rule, computed from the run records the model hands over.

The package owns its input types (:mod:`sim.economics.inputs`) and imports no model code:
the model fills the records, and its policy and SLA bookkeeping use the same rules.
"""
