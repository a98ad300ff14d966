"""A sweep's tables and manifest, and writing them into an output folder (docs/sweeps.md).

``runs`` and ``bands`` are CSV or Parquet (the sweep file's ``format``); the others CSV.

- ``runs.csv``: one row per run, in plan order (variant, then replication): ``run_id``,
  ``variant``, one column per swept dotted path (the value the run had), ``replication``,
  ``seed``, ``status`` (ok or failed), ``error``, ``wall_s`` and the KPI columns (empty
  for a failed run).
- ``aggregate.csv``: one row per variant and KPI over its successful runs: ``n``, ``mean``,
  ``std`` (sample, ddof = 1), ``se`` (std/√n), ``ci95_low``/``ci95_high`` (mean ± Student's
  t·se), ``p5``, ``p50``, ``p95`` (linear interpolation, numpy's default), ``min``, ``max``.
- ``paired.csv``: one row per variant other than the reference (``base``, else the first
  variant) and KPI, over the replications where both ran: the paired difference
  variant − reference: ``n``, ``mean_diff``, ``se_diff``, its 95 % interval, ``p5_diff``,
  ``p50_diff``, ``p95_diff``, and ``share_above`` / ``share_below``.
- ``bands.csv`` (with ``bands``): per variant, series and day, P5 … P95 across runs.
- ``sensitivity.csv`` (with ``variants.sensitivity``): :mod:`sim.sweep.sensitivity`.
- ``failures.log`` (when a run failed): each failed run and its traceback.
- ``manifest.json``: the resolved sweep, the seeds, package versions, counts, failures,
  the executor and the sweep's wall time.

Apart from runs.csv's ``wall_s`` (measured) and the manifest, the same sweep gives
byte-identical files however many workers or which executor ran it, in whatever order its
runs finished, and whether or not it was interrupted and resumed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.record.outdir import MANIFEST, OutputFolder
from sim.record.tables import day_edges
from sim.record.writer import package_versions, write_parquet
from sim.scenario.schema import Scenario, input_files
from sim.sweep.outcome import OK, RunOutcome
from sim.sweep.plan import SweepPlan
from sim.sweep.spec import BASE_VARIANT, FORMATS
from sim.units import as_utc

AGGREGATE, PAIRED = "aggregate.csv", "paired.csv"
SENSITIVITY, FAILURES = "sensitivity.csv", "failures.log"
RUNS, BANDS = "runs", "bands"  # .csv or .parquet: the sweep file's format
SWEEP_FILES = [
    *(f"{table}.{fmt}" for table in (RUNS, BANDS) for fmt in FORMATS),
    AGGREGATE,
    PAIRED,
    SENSITIVITY,
    FAILURES,
    MANIFEST,
]
# runs.csv: these, the parameter columns, these, the KPIs
RUN_ID_COLUMNS = ("run_id", "variant")
RUN_STATUS_COLUMNS = ("replication", "seed", "status", "error", "wall_s")
BAND_PERCENTILES = (5, 25, 50, 75, 95)
AGGREGATE_STATS = (
    "n",
    "mean",
    "std",
    "se",
    "ci95_low",
    "ci95_high",
    "p5",
    "p50",
    "p95",
    "min",
    "max",
)
PAIRED_STATS = (
    "n",
    "mean_diff",
    "se_diff",
    "ci95_low_diff",
    "ci95_high_diff",
    "p5_diff",
    "p50_diff",
    "p95_diff",
    "share_above",
    "share_below",
)


def runs_table(plan: SweepPlan, outcomes: Sequence[RunOutcome]) -> pd.DataFrame:
    """One row per run, in plan order; integer KPIs stay integers (empty when failed)."""
    kpis = plan.spec.kpis
    parameters = {v.name: v.parameters(plan.parameters) for v in plan.variants}
    rows = [
        {
            "run_id": run.index,
            "variant": run.variant,
            **parameters[run.variant],
            "replication": run.replication,
            "seed": run.seed,
            "status": outcome.status,
            "error": outcome.error,
            "wall_s": round(outcome.wall_time_s, 3),
            **{name: outcome.kpis.get(name) for name in kpis},
        }
        for run, outcome in zip(plan.runs, outcomes, strict=True)
    ]
    columns = [*RUN_ID_COLUMNS, *plan.parameters, *RUN_STATUS_COLUMNS, *kpis]
    frame = pd.DataFrame(rows, columns=columns)
    frame["run_id"] = frame["run_id"].astype("int64")
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
    mean = float(np.mean(values))
    std = float(np.std(values, ddof=1)) if n > 1 else math.nan
    se = std / math.sqrt(n)
    # Student's t: the 95 % interval of the mean is honest for few replications too
    half = float(stats.t.ppf(0.975, n - 1)) * se if n > 1 else math.nan
    p5, p50, p95 = (float(v) for v in np.percentile(values, [5, 50, 95]))
    return {
        "n": n,
        "mean": mean,
        "std": std,
        "se": se,
        "ci95_low": mean - half,
        "ci95_high": mean + half,
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
            summary = _stats(diff)
            n = len(diff)
            rows.append(
                {
                    "variant": variant,
                    "reference": reference,
                    "kpi": kpi,
                    "n": n,
                    "mean_diff": summary["mean"],
                    "se_diff": summary["se"],
                    "ci95_low_diff": summary["ci95_low"],
                    "ci95_high_diff": summary["ci95_high"],
                    "p5_diff": summary["p5"],
                    "p50_diff": summary["p50"],
                    "p95_diff": summary["p95"],
                    "share_above": float(np.mean(diff > 0)) if n else math.nan,
                    "share_below": float(np.mean(diff < 0)) if n else math.nan,
                }
            )
    frame = pd.DataFrame(rows, columns=["variant", "reference", "kpi", *PAIRED_STATS])
    return frame.astype({"n": "int64"})


def day_starts(scenario: Scenario) -> pd.DatetimeIndex:
    """The UTC day of each row of the scenario's daily table."""
    start = pd.Timestamp(as_utc(scenario.start_utc))
    edges = pd.to_timedelta(day_edges(scenario)[:-1], unit="s")
    return (start + edges).floor("D")


def bands_table(plan: SweepPlan, outcomes: Sequence[RunOutcome]) -> pd.DataFrame:
    """Per variant, band series and day: n and the percentiles across successful runs."""
    names = [f"p{q}" for q in BAND_PERCENTILES]
    frames = []
    for variant in plan.variants:
        done = [
            o
            for run, o in zip(plan.runs, outcomes, strict=True)
            if run.variant == variant.name and o.status == OK
        ]
        days = day_starts(variant.scenario).strftime("%Y-%m-%d")
        for series in plan.spec.bands:
            frame = pd.DataFrame({"variant": variant.name, "series": series, "date": days})
            frame["n"] = len(done)
            stacked = np.vstack([o.series[series] for o in done]) if done else None
            for name, q in zip(names, BAND_PERCENTILES, strict=True):
                frame[name] = (
                    np.nan if stacked is None else np.nanpercentile(stacked, q, axis=0)
                )
            frames.append(frame)
    columns = ["variant", "series", "date", "n", *names]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def failures_log(plan: SweepPlan, outcomes: Sequence[RunOutcome]) -> str:
    """Each failed run's identity and traceback, in plan order."""
    entries = [
        f"run {run.index}: variant {run.variant!r}, replication {run.replication}, "
        f"seed {run.seed}\n{o.traceback or o.error}\n"
        for run, o in zip(plan.runs, outcomes, strict=True)
        if o.status != OK
    ]
    return "\n".join(entries)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """CSV (every float as the shortest text that reads back as the same double) or Parquet."""
    if path.suffix == ".parquet":
        write_parquet(frame, path)
    else:
        frame.to_csv(path, index=False, lineterminator="\n")


def sweep_manifest(
    plan: SweepPlan,
    runs: pd.DataFrame,
    files: dict[str, int],
    command: list[str],
    workers: int,
    executor: str,
    wall_time_s: float,
    resumed: int,
) -> dict[str, Any]:
    """What was swept, with what, and how it went."""
    spec = plan.spec
    base = plan.variants[0].scenario
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
        "parameters": list(plan.parameters),
        "variants": [{"name": v.name, "set": list(v.overrides)} for v in plan.variants],
        "reference_variant": reference_variant(plan),
        "counts": {
            "runs": len(runs),
            "ok": int((runs["status"] == OK).sum()),
            "failed": len(failed),
            "resumed": resumed,
        },
        "failures": [
            {
                "run_id": int(r.run_id),
                "variant": r.variant,
                "replication": int(r.replication),
                "seed": int(r.seed),
                "error": r.error,
            }
            for r in failed.itertuples()
        ],
        "executor": executor,
        "workers": workers,
        "wall_time_s": round(wall_time_s, 3),
        "complete": True,
        "files": files,
        "inputs": input_files(base).digests(),
        "sweep": spec.model_dump(mode="json", by_alias=True),
    }


def write_sweep(
    folder: OutputFolder,
    tables: dict[str, pd.DataFrame],
    manifest: dict[str, Any],
    texts: dict[str, str],
) -> Path:
    """Stage the tables and text files, then move them and ``manifest`` into the folder."""
    staging = folder.staging()
    for name, frame in tables.items():
        write_table(frame, staging / name)
    for name, text in texts.items():
        (staging / name).write_text(text, encoding="utf-8")
    return folder.commit(manifest)
