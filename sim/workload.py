"""How much work a run is, estimated from its scenario before it starts.

The CLI prints the estimate for large runs and refuses a run whose memory would exceed the
machine's. Rows follow from the horizon and the scenario's rates; bytes and memory are
linear fits to runs measured on 2026-12-01 (docs/performance.md, "Work estimate"), good to
a factor of about 1.5: enough to tell a long run from an impossible one.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from sim.consensus import TARGET_SPACING_S
from sim.scenario.schema import Scenario
from sim.units import SECONDS_PER_DAY, SECONDS_PER_HOUR, SECONDS_PER_YEAR

# CSV bytes per row, measured on the shipped scenarios; a hall adds ≈75 bytes to the rows
# of timeseries.csv and daily.csv.
CSV_BYTES_PER_ROW = {
    "timeseries": 560,
    "daily": 630,
    "groups": 150,
    "blocks": 132,
    "jobs": 150,
    "summary": 2_100,
    "network": 75,
}
CSV_BYTES_PER_HALL_COLUMNS = 75
# Peak resident memory: the interpreter and libraries, then per block and per job held.
BASE_MEMORY_BYTES = 200e6
MEMORY_BYTES_PER_BLOCK = 520.0
MEMORY_BYTES_PER_JOB = 1_400.0
# the economic network holds each cohort's machines and running share per decision step,
# and the tables expand them once more: +46 MB over 5 years, +338 MB over 15 against gbm,
# whose runs also hold ≈15 % more blocks (≈40–47 B per cohort and step)
MEMORY_BYTES_PER_COHORT_STEP = 48.0
LARGE_OUTPUT_BYTES = 500e6  # estimates above these are printed before the run
LARGE_MEMORY_BYTES = 2e9


@dataclass(frozen=True)
class Workload:
    """Estimated size of one run."""

    blocks: int
    jobs: int
    rows: dict[str, int]  # table → rows (events.csv is left out: it depends on the run)
    output_bytes: float  # of the tables the scenario writes, as CSV
    memory_bytes: float

    @property
    def large(self) -> bool:
        """Worth telling the user before they wait for it."""
        return self.output_bytes > LARGE_OUTPUT_BYTES or self.memory_bytes > LARGE_MEMORY_BYTES

    def describe(self) -> str:
        """One line: what the run will simulate and write."""
        rows = sum(self.rows.values())
        return (
            f"≈{self.blocks:,} blocks, {self.jobs:,} jobs, {rows:,} table rows, "
            f"≈{_size(self.output_bytes)} of output, ≈{_size(self.memory_bytes)} of memory"
        )


def _size(n_bytes: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:,.1f} {unit}"
    return f"{n_bytes / 1e3:,.0f} kB"


def _mean_growth(growth_per_year: float, years: float) -> float:
    """Mean of (1 + g)^t over t in [0, years]: the average multiple of the start rate."""
    rate = math.log1p(growth_per_year)
    if years <= 0 or abs(rate * years) < 1e-12:
        return 1.0
    return math.expm1(rate * years) / (rate * years)


def estimate(scenario: Scenario) -> Workload:
    """The work of running ``scenario``, from its horizon and rates alone."""
    horizon_s = scenario.horizon_s
    years = horizon_s / SECONDS_PER_YEAR
    blocks = round(horizon_s / TARGET_SPACING_S)
    jobs = round(
        sum(
            c.arrivals_per_hour
            * horizon_s
            / SECONDS_PER_HOUR
            * _mean_growth(c.growth_per_year, years)
            for c in scenario.ai.job_classes
        )
    )
    days = math.ceil(horizon_s / SECONDS_PER_DAY)
    groups = len(scenario.mining.groups) + len(scenario.ai.groups)
    cohort_steps, cohorts = _economic_network_size(scenario)
    rows = {
        "timeseries": math.ceil(horizon_s / scenario.output.sample_interval_s),
        "daily": days,
        "groups": days * groups,
        "blocks": blocks,
        "jobs": jobs,
        "summary": 1,
        "network": days * cohorts,  # at most: a vintage appears when its machines arrive
    }
    hall_bytes = CSV_BYTES_PER_HALL_COLUMNS * len(scenario.site.halls)
    written = [name for name in scenario.output.tables if name in rows]
    output_bytes = sum(
        rows[name]
        * (CSV_BYTES_PER_ROW[name] + (hall_bytes if name in ("timeseries", "daily") else 0))
        for name in written
    )
    memory = (
        BASE_MEMORY_BYTES
        + MEMORY_BYTES_PER_BLOCK * blocks
        + MEMORY_BYTES_PER_JOB * jobs
        + MEMORY_BYTES_PER_COHORT_STEP * cohort_steps
    )
    return Workload(blocks, jobs, {n: rows[n] for n in written}, output_bytes, memory)


def _economic_network_size(scenario: Scenario) -> tuple[int, int]:
    """(cohorts × decision steps held, cohorts) of an economic network; (0, 0) otherwise."""
    spec = scenario.bitcoin.network_hashrate
    if spec.model != "economic":
        return 0, 0
    steps = math.ceil(scenario.horizon_s / spec.update_interval_s) + 1
    vintage_s = spec.economic.vintage_days * SECONDS_PER_DAY
    cohorts = len(spec.economic.cohorts) + math.ceil(scenario.horizon_s / vintage_s)
    return steps * cohorts, cohorts


def machine_memory_bytes() -> float | None:
    """Physical memory of this machine, or None where the platform does not say."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None
