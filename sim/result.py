"""The outputs of one run: its tables as DataFrames, plus what the manifest needs.

:func:`sim.runner.run_one` builds a :class:`RunResult`; :mod:`sim.record.writer` writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class RunResult:
    """The outputs of one run as DataFrames, plus what the manifest needs."""

    scenario: Scenario
    seed: int
    timeseries: pd.DataFrame
    daily: pd.DataFrame
    groups: pd.DataFrame
    blocks: pd.DataFrame
    jobs: pd.DataFrame
    events: pd.DataFrame
    summary: pd.DataFrame
    network: pd.DataFrame
    events_processed: int
    random_streams: list[str]
    wall_time_s: float

    def tables(self) -> dict[str, pd.DataFrame]:
        """Table name (the file name without its extension) → table."""
        return {
            "timeseries": self.timeseries,
            "daily": self.daily,
            "groups": self.groups,
            "blocks": self.blocks,
            "jobs": self.jobs,
            "events": self.events,
            "summary": self.summary,
            "network": self.network,
        }

    def write(self, out_dir: str | Path, command: list[str] | None = None) -> Path:
        """Write the scenario's chosen tables and the manifest to ``out_dir``; return it.

        Only files of an earlier dcsim run are replaced (see :mod:`sim.record.outdir`).
        ``command`` is recorded in the manifest (default: ``sys.argv``).
        """
        # the writer depends on RunResult, not the other way round: this convenience for
        # notebooks is the one import of the writer from here, made when it is called
        from sim.record.writer import write_run

        return write_run(self, Path(out_dir), command)
