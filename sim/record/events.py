"""TEMPORARY: the event log moved to :mod:`sim.eventlog`.

Only sim/model/cluster.py still imports this path; delete this file once its import reads
``from sim.eventlog import EventLog``.
"""

from sim.eventlog import EventLog

__all__ = ["EventLog"]
