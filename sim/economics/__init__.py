"""The economics stage: every money rule, computed from the run record the model hands over.

The package owns its input types (:mod:`sim.economics.inputs`) and imports no model code:
the model fills the record, and the site's policy prices hashes with the same rules.
"""
