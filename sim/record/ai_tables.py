"""AI hosting columns of the output tables, and jobs.csv, from a finished run."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import chain
from operator import attrgetter

import numpy as np
import pandas as pd

from sim.economics.energy import binned_energy_cost_usd
from sim.model.cluster import JobRecord
from sim.model.hosting import AiHosting
from sim.record.columns import JOB_COLUMNS, check_columns
from sim.steps import StepSeries, total
from sim.units import KWH_PER_MWH, SECONDS_PER_HOUR


@dataclass(frozen=True)
class AiSeries:
    """Site-wide AI levels (step series) and point events, ready to bin."""

    nodes_powered: StepSeries
    busy_gpus: StepSeries
    queue: StepSeries
    power_kw: StepSeries
    on_demand_usd_rate: StepSeries  # USD per second
    billed_gpu_rate: StepSeries  # GPU-seconds billed per second
    reserved_usd_rate: StepSeries
    reserved_gpus: float
    installed_gpus: int
    installed_peak_kw: float
    penalty_t: np.ndarray
    penalty_usd: np.ndarray
    submit_t: np.ndarray
    start_t: np.ndarray
    wait_s: np.ndarray  # of the jobs that started, aligned with start_t
    complete_t: np.ndarray
    abandon_t: np.ndarray
    preempt_t: np.ndarray


def ai_series(hosting: AiHosting, jobs: pd.DataFrame) -> AiSeries:
    """Aggregate every GPU group of the site; ``jobs`` is its :func:`jobs_table`."""
    clusters = hosting.clusters
    zero = StepSeries.constant(0.0)
    logs = [c.log for c in clusters]
    reserved_usd_h = sum(c.gpus * c.price_usd_per_gpu_hour for c in hosting.contracts)
    submit = jobs["submit_time_s"].to_numpy(dtype=float)
    first_start = jobs["start_time_s"].to_numpy(dtype=float)
    end = jobs["end_time_s"].to_numpy(dtype=float)
    status = jobs["status"].to_numpy()
    started = ~np.isnan(first_start)
    penalties = [p for p in hosting.sla if p.penalty_usd > 0]

    def site_total(series: list[StepSeries]) -> StepSeries:
        # One cluster's series from time 0 is its own total (0 + x = x exactly, and its times
        # are increasing), which spares a merge of ≈200,000 steps per series.
        if len(series) == 1 and series[0].times_s[0] == 0.0:
            return series[0]
        return total(zero, *series)

    return AiSeries(
        nodes_powered=site_total([c.nodes_powered() for c in clusters]),
        busy_gpus=site_total([c.busy_gpus() for c in clusters]),
        queue=site_total([c.queue_length() for c in clusters]),
        power_kw=site_total([c.power_kw() for c in clusters]),
        on_demand_usd_rate=site_total([c.on_demand_usd_rate() for c in clusters]),
        billed_gpu_rate=site_total([c.billed_gpu_rate() for c in clusters]),
        reserved_usd_rate=StepSeries.constant(reserved_usd_h / SECONDS_PER_HOUR),
        reserved_gpus=float(sum(c.gpus for c in hosting.contracts)),
        installed_gpus=sum(c.installed_gpus for c in clusters),
        installed_peak_kw=hosting.peak_power_kw,
        penalty_t=np.array([p.end_s for p in penalties]),
        penalty_usd=np.array([p.penalty_usd for p in penalties]),
        submit_t=submit,
        start_t=first_start[started],
        wait_s=first_start[started] - submit[started],
        complete_t=end[status == "completed"],
        abandon_t=end[status == "abandoned"],
        preempt_t=np.concatenate([np.asarray(log.preempt_t) for log in logs] + [np.empty(0)]),
    )


def bin_index(times_s: np.ndarray, edges_s: np.ndarray) -> np.ndarray:
    """Bin of each point event; an event at the very end belongs to the last bin."""
    idx = np.searchsorted(edges_s, times_s, side="right") - 1
    return np.minimum(idx, edges_s.size - 2)


def bin_sum(
    times_s: np.ndarray, edges_s: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Sum of ``weights`` (or count) of point events per bin."""
    bins = edges_s.size - 1
    return np.bincount(bin_index(times_s, edges_s), weights=weights, minlength=bins)[:bins]


def _wait_stats(ai: AiSeries, edges_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 95th percentile wait of the jobs that first started in each bin."""
    bins = edges_s.size - 1
    frame = pd.DataFrame({"bin": bin_index(ai.start_t, edges_s), "wait": ai.wait_s})
    grouped = frame.groupby("bin")["wait"]
    index = np.arange(bins)
    mean = grouped.mean().reindex(index).to_numpy()
    p95 = grouped.quantile(0.95).reindex(index).to_numpy()
    return mean, p95


def ai_columns(
    ai: AiSeries, energy_price: StepSeries, edges_s: np.ndarray
) -> dict[str, np.ndarray]:
    """The AI columns of INTERVAL_COLUMNS for bins ``[edges_s[i], edges_s[i+1])``."""
    busy = ai.busy_gpus.mean(edges_s)
    on_demand = ai.on_demand_usd_rate.integrate(edges_s)
    reserved = ai.reserved_usd_rate.integrate(edges_s)
    penalty = bin_sum(ai.penalty_t, edges_s, ai.penalty_usd)
    cost = binned_energy_cost_usd(ai.power_kw, energy_price, edges_s)
    sold = (ai.billed_gpu_rate.integrate(edges_s) + ai.reserved_gpus * np.diff(edges_s)) / 3_600
    mean_wait, p95_wait = _wait_stats(ai, edges_s)
    revenue = on_demand + reserved
    return {
        "gpu_nodes_powered": ai.nodes_powered.mean(edges_s),
        "gpus_busy": busy,
        "gpu_utilization": busy / ai.installed_gpus if ai.installed_gpus else busy * np.nan,
        "queue_length": ai.queue.mean(edges_s),
        "jobs_submitted": bin_sum(ai.submit_t, edges_s).astype(np.int64),
        "jobs_started": bin_sum(ai.start_t, edges_s).astype(np.int64),
        "jobs_completed": bin_sum(ai.complete_t, edges_s).astype(np.int64),
        "jobs_abandoned": bin_sum(ai.abandon_t, edges_s).astype(np.int64),
        "jobs_preempted": bin_sum(ai.preempt_t, edges_s).astype(np.int64),
        "mean_wait_s": mean_wait,
        "p95_wait_s": p95_wait,
        "gpu_hours_sold": sold,
        "gpu_power_kw": ai.power_kw.mean(edges_s),
        "gpu_energy_kwh": ai.power_kw.integrate(edges_s) / SECONDS_PER_HOUR,
        "ai_on_demand_revenue_usd": on_demand,
        "ai_reserved_revenue_usd": reserved,
        "sla_penalty_usd": penalty,
        "ai_revenue_usd": revenue,
        "gpu_energy_cost_usd": cost,
        "ai_margin_usd": revenue - penalty - cost,
    }


# JobRecord fields of jobs.csv, read in one pass per type (much faster than one per field)
_FLOAT_FIELDS = attrgetter(
    "submit_s", "first_start_s", "end_s", "run_s", "lost_s", "billed_gpu_s",
    "price_usd_per_gpu_hour",
)  # fmt: skip
_INT_FIELDS = attrgetter("job_class", "gpus", "allocated_gpus", "nodes", "preemptions")


def jobs_table(hosting: AiHosting, horizon_s: float) -> pd.DataFrame:
    """One row per job submitted, with JOB_COLUMNS, in job_id order."""
    records: list[JobRecord] = []
    job_ids: list[int] = []
    groups: list[str] = []
    for cluster in hosting.clusters:
        records += cluster.jobs.values()
        job_ids += cluster.jobs  # keyed by job_id
        groups += [cluster.name] * len(cluster.jobs)
    n = len(records)
    floats = np.fromiter(chain.from_iterable(map(_FLOAT_FIELDS, records)), float, n * 7)
    submit, first_start, end, run, lost, billed_gpu_s, price = floats.reshape(n, 7).T
    ints = np.fromiter(chain.from_iterable(map(_INT_FIELDS, records)), np.int64, n * 5)
    job_class, gpus, allocated, nodes, preemptions = ints.reshape(n, 5).T
    names = np.array([c.name for c in hosting.classes] or [""], dtype=object)
    # waited until the first start, else until abandonment, else until the end of the run
    waited = np.where(np.isnan(first_start), np.where(np.isnan(end), horizon_s, end), first_start)
    table = {
        "job_id": np.fromiter(job_ids, dtype=np.int64, count=n),
        "job_class": names[job_class],
        "group": np.array(groups, dtype=object),
        "contract": np.array([r.contract for r in records], dtype=object),
        "submit_time_s": submit,
        "start_time_s": first_start,
        "end_time_s": end,
        "gpus": gpus,
        "allocated_gpus": allocated,
        "nodes": nodes,
        "wait_s": waited - submit,
        "run_s": run,
        "lost_work_s": lost,
        "preemptions": preemptions,
        "status": np.array([r.status for r in records], dtype=object),
        "revenue_usd": billed_gpu_s / SECONDS_PER_HOUR * price,
    }
    start_utc = datetime.fromtimestamp(hosting.start_unix_s, UTC)
    check_columns("jobs.csv", table, JOB_COLUMNS, horizon_s, start_utc)
    frame = pd.DataFrame(table)
    if len(hosting.clusters) > 1:  # each cluster's jobs are in job_id order already
        frame = frame.sort_values("job_id", kind="stable").reset_index(drop=True)
    return frame


def ai_summary(ai: AiSeries, daily: pd.DataFrame, years: float) -> dict[str, float | int]:
    """The AI KPIs of SUMMARY_COLUMNS."""
    started = ai.wait_s.size
    abandoned = ai.abandon_t.size
    horizon_s = float(daily["duration_s"].sum())
    busy_gpu_s = ai.busy_gpus.integrate(np.array([0.0, horizon_s]))[0]
    revenue = float(daily["ai_revenue_usd"].sum())
    penalty = float(daily["sla_penalty_usd"].sum())
    sold = float(daily["gpu_hours_sold"].sum())
    cost = float(daily["gpu_energy_cost_usd"].sum())
    nan = float("nan")
    return {
        "gpus_installed": ai.installed_gpus,
        "installed_gpu_power_kw": ai.installed_peak_kw,
        "jobs_submitted": int(ai.submit_t.size),
        "jobs_completed": int(ai.complete_t.size),
        "jobs_abandoned": abandoned,
        "abandonment_rate": abandoned / (started + abandoned) if started + abandoned else nan,
        "jobs_preempted": int(ai.preempt_t.size),
        "gpu_utilization": busy_gpu_s / (ai.installed_gpus * horizon_s)
        if ai.installed_gpus
        else nan,
        "mean_wait_s": float(ai.wait_s.mean()) if started else nan,
        "p95_wait_s": float(np.quantile(ai.wait_s, 0.95)) if started else nan,
        "gpu_hours_sold": sold,
        "ai_on_demand_revenue_usd": float(daily["ai_on_demand_revenue_usd"].sum()),
        "ai_reserved_revenue_usd": float(daily["ai_reserved_revenue_usd"].sum()),
        "sla_penalty_usd": penalty,
        "ai_revenue_usd": revenue,
        "gpu_energy_mwh": float(daily["gpu_energy_kwh"].sum()) / KWH_PER_MWH,
        "gpu_energy_cost_usd": cost,
        "ai_margin_usd": revenue - penalty - cost,
        "ai_revenue_per_gpu_hour_usd": revenue / sold if sold else nan,
        "ai_revenue_usd_per_mw_year": (
            revenue / (ai.installed_peak_kw / 1_000.0 * years) if ai.installed_peak_kw else nan
        ),
    }
