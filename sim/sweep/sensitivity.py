"""Sensitivity indices of a Sobol or Morris design's KPIs, with SALib's matching analyser.

Pairing (SALib): rows drawn by ``SALib.sample.sobol`` go to ``SALib.analyze.sobol`` with
the same ``calc_second_order``; rows drawn by ``SALib.sample.morris`` go, with the design
matrix itself, to ``SALib.analyze.morris`` with the same ``num_levels``. Each design row is
one variant; its output is the mean of the KPI over the variant's successful
replications (with one replication, the run's value). A KPI with a missing value in any
row (a failed variant) gets no indices: the estimators need every row.

``sensitivity.csv``, one row per KPI, parameter and index: ``method``, ``kpi``,
``parameter``, ``index`` (sobol: S1, ST; morris: mu, mu_star, sigma), ``value`` and
``conf_95`` (the half-width of SALib's bootstrap 95 % confidence interval; empty for
morris' mu and sigma, for which SALib gives none).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sim.sweep.design import SensitivitySpec, design_seed, salib

SENSITIVITY_STREAM = "sweep.sensitivity"
CONF_LEVEL = 0.95
RESAMPLES = 1_000
SENSITIVITY_COLUMNS = ("method", "kpi", "parameter", "index", "value", "conf_95")


def indices(
    spec: SensitivitySpec, matrix: np.ndarray, outputs: np.ndarray, seed: int
) -> list[tuple[str, str, float, float]]:
    """(parameter, index, value, conf_95) of one output vector of the design ``matrix``."""
    analyze = salib("analyze")
    problem = spec.problem()
    rows: list[tuple[str, str, float, float]] = []
    if spec.method == "sobol":
        si = analyze.sobol.analyze(
            problem,
            outputs,
            calc_second_order=spec.second_order,
            num_resamples=RESAMPLES,
            conf_level=CONF_LEVEL,
            seed=seed,
        )
        for j, name in enumerate(problem["names"]):
            rows.append((name, "S1", float(si["S1"][j]), float(si["S1_conf"][j])))
            rows.append((name, "ST", float(si["ST"][j]), float(si["ST_conf"][j])))
        return rows
    si = analyze.morris.analyze(
        problem,
        matrix,
        outputs,
        num_resamples=RESAMPLES,
        conf_level=CONF_LEVEL,
        num_levels=spec.levels,
        seed=seed,
    )
    for j, name in enumerate(problem["names"]):
        rows.append((name, "mu", float(si["mu"][j]), float("nan")))
        rows.append((name, "mu_star", float(si["mu_star"][j]), float(si["mu_star_conf"][j])))
        rows.append((name, "sigma", float(si["sigma"][j]), float("nan")))
    return rows


def sensitivity_table(
    spec: SensitivitySpec,
    matrix: np.ndarray,
    outputs: dict[str, np.ndarray],
    root_seed: int,
) -> pd.DataFrame:
    """Indices of every KPI in ``outputs`` (KPI → one value per design row), in order."""
    seed = design_seed(root_seed, SENSITIVITY_STREAM)
    records: list[dict[str, Any]] = []
    for kpi, values in outputs.items():
        if not np.isfinite(values).all():  # a failed variant: no estimate is honest
            continue
        for parameter, index, value, conf in indices(spec, matrix, values, seed):
            records.append(
                {
                    "method": spec.method,
                    "kpi": kpi,
                    "parameter": parameter,
                    "index": index,
                    "value": value,
                    "conf_95": conf,
                }
            )
    return pd.DataFrame(records, columns=list(SENSITIVITY_COLUMNS))
