"""The sweep's 95 % confidence interval of a mean covers the truth about 95 % of the time.

The KPI: network blocks found in one day at constant hashrate and difficulty (no growth,
no volatility, the hashrate implied by the difficulty, an epoch that cannot retarget within
the day), so blocks_found ~ Poisson(86,400 s / 600 s) and its expectation is 144 exactly.
One sweep of 400 replications is cut into 40 independent sweeps of 10 replications (seeds
do not depend on each other); each one's ``aggregate.csv`` interval comes from the same
``aggregate_table`` a sweep writes. If the intervals are right, the number that cover 144
is Binomial(40, 0.95): at most 32 of 40 has probability 0.07 %, the test's threshold.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import yaml

from sim.sweep import plan_sweep, run_plan, sweep_from_mapping
from sim.sweep.tables import aggregate_table

TRUE_BLOCKS = 86_400 / 600
GROUPS, PER_GROUP = 40, 10
MIN_COVERED = 33  # P(Binomial(40, 0.95) ≤ 32) = 0.0007

SCENARIO = {
    "name": "one-day",
    "start_utc": "2024-03-01T00:00:00Z",
    "end_utc": "2024-03-02T00:00:00Z",
    "bitcoin": {
        "start_height": 838656,  # an epoch's first block: 2,016 blocks to the next retarget
        "start_difficulty": 79351228131136,
        "epoch_start_utc": "2024-03-01T00:00:00Z",
        "network_hashrate": {"growth_per_year": 0, "volatility_per_year": 0},
        "fees": {"btc_per_block": 0.2, "noise_sigma": 0},
    },
    "mining": {"groups": [{"model": "Antminer S21", "count": 100}]},
}


def test_the_mean_interval_covers_the_expected_block_count(tmp_path: Path) -> None:
    (tmp_path / "day.yaml").write_text(yaml.safe_dump(SCENARIO), encoding="utf-8")
    spec = sweep_from_mapping(
        {
            "name": "coverage",
            "base": str(tmp_path / "day.yaml"),
            "replications": GROUPS * PER_GROUP,
            "seed": 2,
            "kpis": ["blocks_found", "difficulty_end", "halvings"],
        }
    )
    result = run_plan(plan_sweep(spec), workers=2)
    runs = result.runs
    assert (runs["status"] == "ok").all()
    # the premises: constant difficulty, no halving, so the count is Poisson(144)
    assert runs["difficulty_end"].nunique() == 1 and (runs["halvings"] == 0).all()

    covered = 0
    for group in range(GROUPS):
        rows = runs[runs["replication"] // PER_GROUP == group]
        plan = replace(result.plan, runs=tuple(result.plan.runs[i] for i in rows.index))
        row = aggregate_table(plan, rows).set_index("kpi").loc["blocks_found"]
        assert row["n"] == PER_GROUP
        covered += bool(row["ci95_low"] <= TRUE_BLOCKS <= row["ci95_high"])
    assert covered >= MIN_COVERED, covered

    whole = result.aggregate.set_index("kpi").loc["blocks_found"]
    assert whole["ci95_low"] <= TRUE_BLOCKS <= whole["ci95_high"]
    # and the spread is Poisson's: variance ≈ mean (sample variance of 400, ±4 SE)
    counts = runs["blocks_found"].to_numpy(dtype=float)
    se_var = TRUE_BLOCKS * np.sqrt(2 / (len(counts) - 1))  # ≈ normal, var of s²
    assert abs(counts.var(ddof=1) - TRUE_BLOCKS) < 4 * se_var
