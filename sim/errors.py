"""Errors raised to users: scenario problems (with field paths) and simulation failures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class Issue:
    """One problem in a scenario: where it is and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ScenarioError(Exception):
    """A scenario file or override is invalid; carries every issue found, not just the first."""

    def __init__(self, source: str, issues: list[Issue]) -> None:
        self.source = source
        self.issues = list(issues)
        super().__init__(self.render())

    def render(self) -> str:
        """Human-readable report: the file, then one line per issue."""
        count = len(self.issues)
        noun = "problem" if count == 1 else "problems"
        lines = [f"{self.source}: {count} {noun}"]
        lines += [f"  - {issue}" for issue in self.issues]
        return "\n".join(lines)


class SimulationError(Exception):
    """The model reached a state it cannot continue from (a bug or an impossible input).

    Names the part of the model that found it (``component``: "thermal", "scheduler",
    "tables", …) and the simulated time ``t_s`` (seconds since ``start_utc``; None for a
    failure outside simulated time, such as writing the outputs); with ``start_utc`` known,
    the message also gives the UTC time. ``str()`` is one line, e.g.
    ``thermal at t=12,345 s (2024-01-01T03:25:45Z): hall 'A' temperature is NaN``.
    """

    def __init__(
        self,
        component: str,
        t_s: float | None,
        message: str,
        start_utc: datetime | None = None,
    ) -> None:
        super().__init__(component, t_s, message, start_utc)  # args: picklable, reconstructible
        self.component = component
        self.t_s = t_s
        self.message = message
        self.start_utc = start_utc

    def dated(self, start_utc: datetime) -> SimulationError:
        """Fill in ``start_utc`` if the raiser did not know it (components work in seconds)."""
        if self.start_utc is None:
            self.start_utc = start_utc
            self.args = (self.component, self.t_s, self.message, start_utc)
        return self

    def __str__(self) -> str:
        if self.t_s is None:
            return f"{self.component}: {self.message}"
        when = f"t={self.t_s:,.3f}".rstrip("0").rstrip(".") + " s"
        if self.start_utc is not None and math.isfinite(self.t_s):
            start = self.start_utc
            start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
            moment = start + timedelta(seconds=math.floor(self.t_s))  # whole seconds, as outputs
            when += f" ({moment:%Y-%m-%dT%H:%M:%SZ})"
        return f"{self.component} at {when}: {self.message}"
