"""Passive log of discrete events (halvings, difficulty adjustments, later outages …).

The model adds to it as things happen; :mod:`sim.record.tables` turns it into events.csv.
"""

from __future__ import annotations

from typing import NamedTuple


class EventRow(NamedTuple):
    """One row of ``events.csv``."""

    time_s: float
    event: str
    entity: str
    value: float
    unit: str
    detail: str


class EventLog:
    """Append-only list of :class:`EventRow`; components add, the recorder reads."""

    def __init__(self) -> None:
        self.rows: list[EventRow] = []

    def add(
        self, time_s: float, event: str, entity: str, value: float, unit: str, detail: str
    ) -> None:
        """Record that ``event`` happened to ``entity`` at ``time_s``."""
        self.rows.append(EventRow(float(time_s), event, entity, float(value), unit, detail))

    def sorted_rows(self) -> list[EventRow]:
        """Rows in time order (stable for equal times)."""
        return sorted(self.rows, key=lambda row: row.time_s)

    def of_kind(self, event: str) -> list[EventRow]:
        """The rows of one kind of event, in time order."""
        return sorted((row for row in self.rows if row.event == event), key=lambda row: row.time_s)
