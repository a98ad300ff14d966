"""Errors raised to users: scenario problems (with field paths) and simulation failures."""

from __future__ import annotations

from dataclasses import dataclass


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
    """The model reached a state it cannot continue from (a bug or an impossible input)."""
