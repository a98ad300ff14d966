"""The sweep's journal: each finished run appended as it finishes, so none is lost.

The journal is a JSON-lines file beside the output folder, ``.<folder name>.journal.jsonl``
(like the folder's lock and staging folder, outside it, so the folder itself is never
half-written). Its first line names the plan it belongs to (:func:`plan_digest`); each
further line is one finished run: its ``run_id`` and outcome (KPIs, daily band series,
wall time, error and traceback). Python's JSON writes every float as the shortest text
that reads back as the same double, so a run read back is the run that finished.

``--resume`` reads the journal of the same plan, keeps its successful runs and runs the
rest (failed runs again); a line cut short by a kill is ignored (that run runs again).
Once the sweep's files are in the folder the journal is deleted, unless some run failed:
then ``--resume`` runs just those again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import IO, Any

import numpy as np

from sim.scenario.schema import input_files
from sim.sweep.outcome import OK, RunOutcome
from sim.sweep.plan import SweepPlan

KIND = "dcsim sweep journal"


class JournalError(Exception):
    """The journal cannot be used (another plan's, or not a journal); the message says why."""


def journal_path(out_dir: Path) -> Path:
    """Where the journal of the sweep writing into ``out_dir`` lives."""
    return out_dir.with_name(f".{out_dir.name}.journal.jsonl")


def plan_digest(plan: SweepPlan) -> str:
    """SHA-256 of what decides the runs' results: the sweep, variants, inputs and seeds."""
    base = plan.variants[0].scenario
    identity = {
        "sweep": plan.spec.model_dump(mode="json", by_alias=True),
        "base": base.model_dump(mode="json", by_alias=True),
        "inputs": input_files(base).digests(),
        "variants": [[v.name, list(v.overrides)] for v in plan.variants],
        "runs": [[r.index, r.variant, r.replication, r.seed] for r in plan.runs],
    }
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _line(run_id: int, outcome: RunOutcome) -> str:
    record: dict[str, Any] = {
        "run_id": run_id,
        "status": outcome.status,
        "error": outcome.error,
        "wall_s": outcome.wall_time_s,
        "kpis": outcome.kpis,
        "series": {name: values.tolist() for name, values in outcome.series.items()},
        "traceback": outcome.traceback,
    }
    return json.dumps(record, allow_nan=True) + "\n"


def _outcome(record: dict[str, Any]) -> RunOutcome:
    series = {k: np.asarray(v, dtype=np.float64) for k, v in record["series"].items()}
    return RunOutcome(
        record["status"],
        record["error"],
        record["kpis"],
        record["wall_s"],
        series,
        record["traceback"],
    )


def read_journal(path: Path, digest: str) -> dict[int, RunOutcome]:
    """The successful runs in the journal at ``path`` (none if there is no journal).

    Raises
    ------
    JournalError
        The journal belongs to another plan (the sweep file, its base scenario or an input
        changed) or is not a journal.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise JournalError(f"cannot read {path}: {exc}") from exc
    try:
        header = json.loads(lines[0]) if lines else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("kind") != KIND:
        raise JournalError(f"{path} is not a dcsim sweep journal; move it away")
    if header.get("plan") != digest:
        raise JournalError(
            f"{path} is the journal of another sweep (the sweep file, its base scenario or "
            "an input file changed since): delete it to start over"
        )
    done: dict[int, RunOutcome] = {}
    for text in lines[1:]:
        try:
            outcome = _outcome(record := json.loads(text))
        except (ValueError, KeyError, TypeError):  # cut short by a kill: run it again
            continue
        if outcome.status == OK:  # a failed run runs again
            done[int(record["run_id"])] = outcome
    return done


class Journal:
    """The journal, appended to while the sweep runs (created with the first finished run)."""

    def __init__(self, path: Path, digest: str, resume: bool) -> None:
        if path.exists() and not resume:
            raise JournalError(
                f"{path} holds the finished runs of a sweep that was interrupted or had "
                "failed runs: add --resume to run only the others, or delete it to start over"
            )
        self.path = path
        self._digest = digest
        self._file: IO[str] | None = None

    def append(self, run_id: int, outcome: RunOutcome) -> None:
        """Record one finished run; in the OS's hands on return, so a killed sweep keeps it."""
        if self._file is None:
            exists = self.path.exists()
            self._file = self.path.open("a" if exists else "w", encoding="utf-8")
            if not exists:
                self._file.write(json.dumps({"kind": KIND, "plan": self._digest}) + "\n")
        self._file.write(_line(run_id, outcome))
        self._file.flush()

    def close(self) -> None:
        """Stop appending (the file stays)."""
        if self._file is not None:
            self._file.close()

    def remove(self) -> None:
        """Delete the journal: the sweep's files now hold every run."""
        self.path.unlink(missing_ok=True)
