"""A sweep's tables and manifest, and writing them into an output folder.

- ``runs.csv``: one row per run, in plan order (variant, then replication): ``variant``,
  ``replication``, ``seed``, ``status`` (ok or failed), ``error`` and the KPI columns
  (empty for a failed run).
- ``aggregate.csv``: one row per variant and KPI over its successful runs: ``n``, ``mean``,
  ``std`` (sample, ddof = 1), ``se`` (std/√n), ``p5``, ``p50``, ``p95`` (linear
  interpolation, numpy's default), ``min``, ``max``.
- ``paired.csv``: one row per variant other than the reference (``base``, else the first
  variant) and KPI, over the replications where both ran: the paired difference
  variant − reference: ``n``, ``mean_diff``, ``se_diff``, ``p5_diff``, ``p50_diff``,
  ``p95_diff``, and ``share_above`` / ``share_below``, the share of those replications
  where the variant's value is above / below the reference's.
- ``manifest.json``: the resolved sweep, the seeds, package versions, counts, failures and
  wall times.

The CSV files hold no wall times, so the same sweep gives byte-identical CSV files however
many workers ran it and in whatever order its runs finished.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.record.outdir import MANIFEST, OutputFolder
from sim.record.writer import package_versions
from sim.scenario.schema import input_files
from sim.sweep.outcome import OK, RunOutcome
from sim.sweep.plan import SweepPlan
from sim.sweep.spec import BASE_VARIANT

RUNS, AGGREGATE, PAIRED = "runs.csv", "aggregate.csv", "paired.csv"
SWEEP_FILES = [RUNS, AGGREGATE, PAIRED, MANIFEST]
RUN_COLUMNS = ("variant", "replication", "seed", "status", "error")
AGGREGATE_STATS = ("n", "mean", "std", "se", "p5", "p50", "p95", "min", "max")
PAIRED_STATS = (
    "n",
    "mean_diff",
    "se_diff",
    "p5_diff",
    "p50_diff",
    "p95_diff",
    "share_above",
    "share_below",
)


def runs_table(plan: SweepPlan, outcomes: Sequence[RunOutcome]) -> pd.DataFrame:
    """One row per run, in plan order; integer KPIs stay integers (empty when failed)."""
    kpis = plan.spec.kpis
    rows = [
        {
            "variant": run.variant,
            "replication": run.replication,
            "seed": run.seed,
            "status": outcome.status,
            "error": outcome.error,
            **{name: outcome.kpis.get(name) for name in kpis},
        }
        for run, outcome in zip(plan.runs, outcomes, strict=True)
    ]
    frame = pd.DataFrame(rows, columns=[*RUN_COLUMNS, *kpis])
    frame["replication"] = frame["replication"].astype("int64")
    frame["seed"] = frame["seed"].astype("int64")
    frame["variant"] = frame["variant"].astype(object)
    frame["error"] = frame["error"].astype(object)
    for name in kpis:
        values = [o.kpis[name] for o in outcomes if o.status == OK]
        integral = bool(values) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in values
        )
        frame[name] = frame[name].astype("Int64" if integral else "float64")
    return frame


def _stats(values: np.ndarray) -> dict[str, float]:
    n = len(values)
    if n == 0:
        return {"n": 0, **{k: math.nan for k in AGGREGATE_STATS[1:]}}
    std = float(np.std(values, ddof=1)) if n > 1 else math.nan
    p5, p50, p95 = (float(v) for v in np.percentile(values, [5, 50, 95]))
    return {
        "n": n,
        "mean": float(np.mean(values)),
        "std": std,
        "se": std / math.sqrt(n),
        "p5": p5,
        "p50": p50,
        "p95": p95,
        "min": float(np.min(values)),
        "max": float(np.max(values)),
    }


def _values(runs: pd.DataFrame, variant: str, kpi: str) -> pd.Series:
    """The variant's successful values of ``kpi`` as floats, indexed by replication."""
    rows = runs[(runs["variant"] == variant) & (runs["status"] == OK)]
    return rows.set_index("replication")[kpi].astype("float64").dropna()


def aggregate_table(plan: SweepPlan, runs: pd.DataFrame) -> pd.DataFrame:
    """Per variant (plan order) and KPI (spec order): n, mean, std, se, percentiles, range."""
    rows = [
        {"variant": v.name, "kpi": kpi, **_stats(_values(runs, v.name, kpi).to_numpy())}
        for v in plan.variants
        for kpi in plan.spec.kpis
    ]
    frame = pd.DataFrame(rows, columns=["variant", "kpi", *AGGREGATE_STATS])
    return frame.astype({"n": "int64"})


def reference_variant(plan: SweepPlan) -> str:
    """The variant the others are compared with: ``base``, else the first one."""
    return BASE_VARIANT if plan.spec.include_base else plan.variants[0].name


def paired_table(plan: SweepPlan, runs: pd.DataFrame) -> pd.DataFrame:
    """Per other variant and KPI: statistics of variant − reference, replication by replication."""
    reference = reference_variant(plan)
    rows = []
    for variant in (v.name for v in plan.variants if v.name != reference):
        for kpi in plan.spec.kpis:
            pairs = pd.concat(
                [_values(runs, variant, kpi), _values(runs, reference, kpi)],
                axis=1,
                join="inner",
            )
            diff = (pairs.iloc[:, 0] - pairs.iloc[:, 1]).to_numpy()
            stats = _stats(diff)
            n = len(diff)
            rows.append(
                {
                    "variant": variant,
                    "reference": reference,
                    "kpi": kpi,
                    "n": n,
                    "mean_diff": stats["mean"],
                    "se_diff": stats["se"],
                    "p5_diff": stats["p5"],
                    "p50_diff": stats["p50"],
                    "p95_diff": stats["p95"],
                    "share_above": float(np.mean(diff > 0)) if n else math.nan,
                    "share_below": float(np.mean(diff < 0)) if n else math.nan,
                }
            )
    frame = pd.DataFrame(rows, columns=["variant", "reference", "kpi", *PAIRED_STATS])
    return frame.astype({"n": "int64"})


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """CSV with every float as the shortest text that reads back as the same double."""
    frame.to_csv(path, index=False, lineterminator="\n")


def sweep_manifest(
    plan: SweepPlan,
    runs: pd.DataFrame,
    outcomes: Sequence[RunOutcome],
    files: dict[str, int],
    command: list[str],
    workers: int,
    wall_time_s: float,
) -> dict[str, Any]:
    """What was swept, with what, and how it went."""
    spec = plan.spec
    base = plan.scenario(plan.variants[0].name)
    failed = runs[runs["status"] != OK]
    return {
        "sweep_name": spec.name,
        "scenario_name": base.name,  # the output folder's rules know a dcsim folder by it
        "kind": "sweep",
        "command": command,
        "versions": package_versions(),
        "root_seed": spec.seed,
        "replications": spec.replications,
        "replication_seeds": [
            int(s) for s in runs.drop_duplicates("replication").sort_values("replication")["seed"]
        ],
        "seed_derivation": "seed_r = SeedSequence(root_seed, spawn_key=(r,))"
        ".generate_state(1, uint64)[0] >> 1",
        "variants": [{"name": v.name, "set": list(v.overrides)} for v in plan.variants],
        "reference_variant": reference_variant(plan),
        "counts": {
            "runs": len(runs),
            "ok": int((runs["status"] == OK).sum()),
            "failed": len(failed),
        },
        "failures": [
            {
                "variant": r.variant,
                "replication": int(r.replication),
                "seed": int(r.seed),
                "error": r.error,
            }
            for r in failed.itertuples()
        ],
        "workers": workers,
        "wall_time_s": round(wall_time_s, 3),
        "run_wall_time_s": [round(o.wall_time_s, 3) for o in outcomes],
        "complete": True,
        "files": files,
        "inputs": input_files(base).digests(),
        "sweep": spec.model_dump(mode="json", by_alias=True),
    }


def write_sweep(
    folder: OutputFolder,
    tables: dict[str, pd.DataFrame],
    manifest: dict[str, Any],
) -> Path:
    """Stage the tables, then move them and ``manifest`` into the folder."""
    staging = folder.staging()
    for name, frame in tables.items():
        write_table(frame, staging / name)
    return folder.commit(manifest)
