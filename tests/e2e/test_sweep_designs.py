"""Sampled and sensitivity designs, bands and the KPI-only run, on real runs and files.

The sampling tests draw through the same code the sweep uses (``draw_samples``) and check
the draws against their distributions with tolerances from the sampling error; the Sobol
analysis is checked on the Ishigami function, whose indices are known in closed form, and
on a real sweep where one parameter provably changes nothing.
"""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import SCENARIOS

from sim.cli import EXIT_BAD_INPUT, EXIT_OK, main
from sim.runner import run_one
from sim.scenario import load_scenario
from sim.sweep import plan_sweep, read_sweep, replication_seed
from sim.sweep.design import (
    SamplesSpec,
    SensitivitySpec,
    design_seed,
    draw_samples,
    sensitivity_matrix,
)
from sim.sweep.outcome import _plain, kpi_tables
from sim.sweep.sensitivity import sensitivity_table
from sim.sweep.spec import KPI_COLUMNS

PRICE = "site.energy.price_usd_per_mwh"
FEES = "bitcoin.fees.btc_per_block"


def short_base(folder: Path) -> Path:
    """scenarios/quick.yaml cut to three days (as in test_sweep.py), written into ``folder``."""
    text = (SCENARIOS / "quick.yaml").read_text(encoding="utf-8")
    path = folder / "base.yaml"
    path.write_text(text.replace("end_utc: 2024-04-30", "end_utc: 2024-03-04"), encoding="utf-8")
    return path


def write(folder: Path, **fields: Any) -> Path:
    short_base(folder)
    sweep: dict[str, Any] = {"name": "design", "base": "base.yaml", "seed": 3}
    sweep.update(fields)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["quick.yaml", "spot_curtailment.yaml", "hybrid.yaml"])
def test_kpi_only_run_gives_run_ones_daily_and_summary(tmp_path: Path, name: str) -> None:
    start = load_scenario(SCENARIOS / name).start_utc
    end = (start + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    scenario = load_scenario(SCENARIOS / name, [f"end_utc={end}"])
    full = run_one(scenario, seed=12)
    daily, row = kpi_tables(scenario.model_copy(update={"seed": 12}))
    pd.testing.assert_frame_equal(daily, full.daily)
    assert list(row) == list(full.summary.columns)
    expected = full.summary.iloc[0]
    for name in KPI_COLUMNS:  # what a worker returns: the same value and type
        assert repr(_plain(row[name])) == repr(_plain(expected[name])), name
        assert type(_plain(row[name])) is type(_plain(expected[name])), name


def uniform_samples(method: str, n: int, seed: int = 3) -> np.ndarray:
    spec = SamplesSpec.model_validate(
        {"method": method, "n": n, "parameters": {PRICE: {"distribution": "uniform",
                                                          "low": 20, "high": 60}}}
    )
    return np.array([row[PRICE] for row in draw_samples(spec, seed)])


def test_latin_hypercube_puts_one_draw_in_each_stratum() -> None:
    values = uniform_samples("latin_hypercube", 16)
    strata = np.floor((values - 20) / 40 * 16).astype(int)
    assert sorted(strata) == list(range(16))
    plain = uniform_samples("monte_carlo", 16)
    assert ((plain >= 20) & (plain < 60)).all()
    assert len(set(np.floor((plain - 20) / 40 * 16))) < 16  # P(all 16 strata) = 16!/16^16
    assert uniform_samples("latin_hypercube", 16).tolist() == values.tolist()  # same seed
    assert uniform_samples("latin_hypercube", 16, seed=4).tolist() != values.tolist()


def test_monte_carlo_draws_follow_their_distributions() -> None:
    n = 4000
    spec = SamplesSpec.model_validate(
        {
            "method": "monte_carlo",
            "n": n,
            "parameters": {
                "a": {"distribution": "normal", "mean": 10, "std": 2},
                "b": {"distribution": "lognormal", "median": 5, "sigma": 0.5},
                "c": {"distribution": "triangular", "low": 0, "mode": 3, "high": 9},
                "d": {"distribution": "choice", "values": ["x", "y"], "weights": [3, 1]},
                "e": {"distribution": "uniform", "low": 0, "high": 10, "integer": True},
            },
        }
    )
    rows = draw_samples(spec, 99)
    a = np.array([r["a"] for r in rows])
    assert abs(a.mean() - 10) < 4 * 2 / math.sqrt(n)  # 4 standard errors
    assert abs(a.std() - 2) < 4 * 2 / math.sqrt(2 * n)
    b = np.array([r["b"] for r in rows])
    share_below = np.mean(b < 5)  # the median: half below, binomial error
    assert abs(share_below - 0.5) < 4 * math.sqrt(0.25 / n)
    c = np.array([r["c"] for r in rows])
    mean_c, sd_c = 4.0, math.sqrt((0 + 9 + 81 - 0 - 0 - 27) / 18)  # triangular moments
    assert abs(c.mean() - mean_c) < 4 * sd_c / math.sqrt(n)
    assert c.min() >= 0 and c.max() <= 9
    share_x = np.mean([r["d"] == "x" for r in rows])
    assert abs(share_x - 0.75) < 4 * math.sqrt(0.75 * 0.25 / n)
    e = [r["e"] for r in rows]
    assert all(isinstance(v, int) for v in e) and set(e) <= set(range(11))


def test_design_seed_is_its_own_stream() -> None:
    assert design_seed(3) != design_seed(4)
    assert design_seed(3) != replication_seed(3, 0)
    assert design_seed(3, "sweep.sensitivity") != design_seed(3)
    assert all(design_seed(s) > 0 for s in range(50))  # SALib reads a seed of 0 as none


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_the_ishigami_function() -> None:
    # Ishigami (a=7, b=0.1) on [-π, π]^3: V = a²/8 + bπ⁴/5 + b²π⁸/18 + 1/2, known indices
    a, b, pi = 7.0, 0.1, math.pi
    v1 = 0.5 * (1 + b * pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * pi**8 * (1 / 18 - 1 / 50)
    total = v1 + v2 + v13
    truth = {
        ("x1", "S1"): v1 / total,
        ("x2", "S1"): v2 / total,
        ("x3", "S1"): 0.0,
        ("x1", "ST"): (v1 + v13) / total,
        ("x2", "ST"): v2 / total,
        ("x3", "ST"): v13 / total,
    }
    bounds = {"low": -pi, "high": pi}
    spec = SensitivitySpec.model_validate(
        {"method": "sobol", "n": 1024, "parameters": {"x1": bounds, "x2": bounds, "x3": bounds}}
    )
    matrix = sensitivity_matrix(spec, 5)
    assert matrix.shape == (1024 * 8, 3)  # N·(2D+2) with second order
    table = sensitivity_table(spec, matrix, {"y": ishigami(matrix)}, 5)
    got = table.set_index(["parameter", "index"])
    for key, expected in truth.items():
        value, conf = got.loc[key, "value"], got.loc[key, "conf_95"]
        # conf_95 is a 95 % half-width (≈ 2 standard errors): 2 × it is ≈ 4 standard errors
        assert abs(value - expected) <= 2 * conf, (key, value, expected, conf)
        assert 0 < conf < 0.1


def test_morris_finds_the_parameter_without_effect() -> None:
    spec = SensitivitySpec.model_validate(
        {
            "method": "morris",
            "n": 20,
            "parameters": {"x": {"low": 0, "high": 1}, "y": {"low": 0, "high": 1},
                           "dummy": {"low": 0, "high": 1}},
        }
    )
    matrix = sensitivity_matrix(spec, 5)
    assert matrix.shape == (20 * 4, 3)  # N·(D+1)
    outputs = 3 * matrix[:, 0] + matrix[:, 1] ** 2
    table = sensitivity_table(spec, matrix, {"y": outputs}, 5).set_index(["parameter", "index"])
    assert table.loc[("x", "mu_star"), "value"] == pytest.approx(3.0)  # linear: exact
    assert table.loc[("dummy", "mu_star"), "value"] == 0.0
    assert table.loc[("dummy", "sigma"), "value"] == 0.0
    assert table.loc[("y", "mu_star"), "value"] > 0


def test_sobol_sweep_gives_zero_to_a_parameter_without_effect(tmp_path: Path) -> None:
    """Under common random numbers the energy price cannot change the BTC mined: S1 = ST = 0."""
    sweep = write(
        tmp_path,
        include_base=False,
        variants={
            "sensitivity": {
                "method": "sobol",
                "n": 4,
                "second_order": False,
                "parameters": {PRICE: {"low": 20, "high": 60}, FEES: {"low": 0.1, "high": 0.5}},
                "kpis": ["btc_mined", "energy_cost_usd"],
            }
        },
        kpis=["btc_mined", "energy_cost_usd"],
    )
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--workers", "2"]) == EXIT_OK
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 4 * (2 + 2)  # N·(D+2) without second order
    assert runs["variant"].tolist()[:2] == ["sobol-00", "sobol-01"]
    table = pd.read_csv(out / "sensitivity.csv").set_index(["kpi", "parameter", "index"])
    assert list(pd.read_csv(out / "sensitivity.csv").columns) == [
        "method", "kpi", "parameter", "index", "value", "conf_95",
    ]
    for kpi, inert in (("btc_mined", PRICE), ("energy_cost_usd", FEES)):
        for index in ("S1", "ST"):
            assert table.loc[(kpi, inert, index), "value"] == 0.0
    # the other parameter is the only one that acts (true S1 = ST = 1); n = 4 is too few
    # for a sharp estimate, so only its sign is checked
    assert table.loc[("btc_mined", FEES, "ST"), "value"] > 0
    assert table.loc[("energy_cost_usd", PRICE, "ST"), "value"] > 0


def test_samples_sweep_parameter_columns_and_bands(tmp_path: Path) -> None:
    sweep = write(
        tmp_path,
        variants={
            "samples": {
                "n": 3,
                "parameters": {
                    PRICE: {"distribution": "uniform", "low": 20, "high": 60},
                    "mining.groups[0].count": {
                        "distribution": "triangular", "low": 1000, "mode": 2000,
                        "high": 3000, "integer": True,
                    },
                },
            }
        },
        replications=3,
        kpis=["btc_mined"],
        bands=["btc_mined", "energy_cost_usd"],
    )
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--workers", "2"]) == EXIT_OK
    runs = pd.read_csv(out / "runs.csv")
    plan = plan_sweep(read_sweep(sweep))
    assert [v.name for v in plan.variants] == ["base", "sample-0", "sample-1", "sample-2"]
    base = runs[runs["variant"] == "base"]
    assert (base[PRICE] == 40).all() and (base["mining.groups[0].count"] == 3000).all()
    for variant in plan.variants[1:]:
        rows = runs[runs["variant"] == variant.name]
        assert rows[PRICE].nunique() == 1 and 20 <= rows[PRICE].iloc[0] < 60
        assert f"{PRICE}={float(rows[PRICE].iloc[0])!r}" in variant.overrides

    bands = pd.read_csv(out / "bands.csv")
    assert list(bands.columns) == ["variant", "series", "date", "n", "p5", "p25", "p50",
                                   "p75", "p95"]
    assert len(bands) == 4 * 2 * 3  # variants × series × days
    scenario = plan.variants[0].scenario
    daily = [run_one(scenario, seed=replication_seed(3, r)).daily for r in range(3)]
    for series in ("btc_mined", "energy_cost_usd"):
        stacked = np.vstack([d[series].to_numpy() for d in daily])
        got = bands[(bands["variant"] == "base") & (bands["series"] == series)]
        assert got["date"].tolist() == ["2024-03-01", "2024-03-02", "2024-03-03"]
        for q in (5, 25, 50, 75, 95):
            np.testing.assert_allclose(got[f"p{q}"], np.percentile(stacked, q, axis=0),
                                       rtol=1e-12)
        assert (got["n"] == 3).all()


BAD_FIELDS: list[tuple[dict[str, Any], str, str]] = [
    ({"samples": {"n": 0, "parameters": {PRICE: {"distribution": "uniform", "low": 1,
                                                  "high": 2}}}},
     "variants.samples.n", "greater than or equal to 1"),
    ({"samples": {"n": 10**9, "parameters": {PRICE: {"distribution": "uniform", "low": 1,
                                                      "high": 2}}}},
     "variants.samples.n", "less than or equal to 100000"),
    ({"samples": {"n": "many", "parameters": {}}}, "variants.samples.n", "valid integer"),
    ({"samples": {"n": 2, "parameters": {}}}, "variants.samples.parameters", "at least 1"),
    ({"samples": {"n": 2, "method": "grid", "parameters": {PRICE: {"distribution": "uniform",
                                                                   "low": 1, "high": 2}}}},
     "variants.samples.method", "'latin_hypercube' or 'monte_carlo'"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "beta"}}}},
     f"variants.samples.parameters.{PRICE}", "uniform"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "uniform", "low": 5,
                                                  "high": 2}}}},
     f"variants.samples.parameters.{PRICE}.uniform", "low must be below high"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "uniform", "low": math.inf,
                                                  "high": 2}}}},
     f"variants.samples.parameters.{PRICE}.uniform.low", "finite"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "normal", "mean": math.nan,
                                                  "std": 1}}}},
     f"variants.samples.parameters.{PRICE}.normal.mean", "finite"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "normal", "mean": 1,
                                                  "std": -1}}}},
     f"variants.samples.parameters.{PRICE}.normal.std", "greater than 0"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "lognormal", "median": 0,
                                                  "sigma": 1}}}},
     f"variants.samples.parameters.{PRICE}.lognormal.median", "greater than 0"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "triangular", "low": 0,
                                                  "mode": 5, "high": 4}}}},
     f"variants.samples.parameters.{PRICE}.triangular", "low ≤ mode ≤ high"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "choice", "values": []}}}},
     f"variants.samples.parameters.{PRICE}.choice.values", "at least 1"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "choice", "values": [1, 2],
                                                  "weights": [1]}}}},
     f"variants.samples.parameters.{PRICE}.choice", "one entry per value"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "choice", "values": [1],
                                                  "weights": [-1]}}}},
     f"variants.samples.parameters.{PRICE}.choice.weights[0]", "greater than or equal to 0"),
    ({"samples": {"n": 2, "parameters": {"seed": {"distribution": "uniform", "low": 1,
                                                   "high": 2}}}},
     "variants", "may not set 'seed'"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "uniform", "low": -9,
                                                  "high": -1}}}},
     f"variant 'sample-0': {PRICE}", "greater than or equal to 0"),
    ({"sensitivity": {"method": "sobol", "n": 6, "parameters": {
        PRICE: {"low": 1, "high": 2}, FEES: {"low": 0, "high": 1}}}},
     "variants.sensitivity", "power of 2"),
    ({"sensitivity": {"method": "morris", "n": 4, "levels": 3, "parameters": {
        PRICE: {"low": 1, "high": 2}, FEES: {"low": 0, "high": 1}}}},
     "variants.sensitivity", "levels must be even"),
    ({"sensitivity": {"method": "sobol", "n": 4, "parameters": {PRICE: {"low": 1, "high": 2}}}},
     "variants.sensitivity.parameters", "at least 2"),
    ({"sensitivity": {"method": "sobol", "n": 4, "parameters": {
        PRICE: {"low": 1, "high": math.inf}, FEES: {"low": 0, "high": 1}}}},
     f"variants.sensitivity.parameters.{PRICE}.high", "finite"),
    ({"sensitivity": {"method": "fast", "n": 4, "parameters": {}}},
     "variants.sensitivity.method", "'sobol' or 'morris'"),
    ({"sensitivity": {"method": "sobol", "n": 2**16, "parameters": {
        f"a{i}": {"low": 0, "high": 1} for i in range(3)}}},
     "", "variants; at most 100,000"),
    ({"samples": {}}, "variants.samples.n", "is required"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"low": 1, "high": 2}}}},
     f"variants.samples.parameters.{PRICE}", "needs 'distribution': one of uniform, normal"),
    ({"samples": None}, "variants", "exactly one"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "uniform", "low": 1,
                                                  "high": 2, "integer": "often"}}}},
     f"variants.samples.parameters.{PRICE}.uniform.integer", "valid boolean"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "uniform", "low": 1,
                                                  "high": 2, "spread": 3}}}},
     f"variants.samples.parameters.{PRICE}.uniform.spread", "unknown field"),
    ({"samples": {"n": 2, "parameters": {PRICE: {"distribution": "uniform", "low": 1e308,
                                                  "high": 1e309}}}},
     f"variants.samples.parameters.{PRICE}.uniform.high", "finite"),
    ({"sensitivity": {"method": "sobol", "n": -4, "parameters": {
        PRICE: {"low": 1, "high": 2}, FEES: {"low": 0, "high": 1}}}},
     "variants.sensitivity.n", "greater than or equal to 2"),
    ({"sensitivity": {"method": "sobol", "n": 2**40, "parameters": {
        PRICE: {"low": 1, "high": 2}, FEES: {"low": 0, "high": 1}}}},
     "variants.sensitivity.n", "less than or equal to 65536"),
    ({"sensitivity": {"method": "morris", "n": 4, "levels": 10**9, "parameters": {
        PRICE: {"low": 1, "high": 2}, FEES: {"low": 0, "high": 1}}}},
     "variants.sensitivity.levels", "less than or equal to 1000"),
    ({"sensitivity": {"method": "sobol", "n": 4, "second_order": "maybe", "parameters": {
        PRICE: {"low": 1, "high": 2}, FEES: {"low": 0, "high": 1}}}},
     "variants.sensitivity.second_order", "valid boolean"),
    ({"sensitivity": {"method": "sobol", "n": 4, "kpis": [], "parameters": {
        PRICE: {"low": 1, "high": 2}, FEES: {"low": 0, "high": 1}}}},
     "variants.sensitivity.kpis", "at least 1"),
    ({"sensitivity": {"method": "sobol", "n": 4, "parameters": {
        PRICE: {"low": 2, "high": 2}, FEES: {"low": 0, "high": 1}}}},
     f"variants.sensitivity.parameters.{PRICE}", "low must be below high"),
    ({"sensitivity": {"method": "sobol", "n": 4, "kpis": ["ai_revenue_usd"], "parameters": {
        PRICE: {"low": 1, "high": 2}, FEES: {"low": 0, "high": 1}}}},
     "", "ai_revenue_usd not in the sweep's kpis"),
]


@pytest.mark.parametrize(("variants", "path", "message"), BAD_FIELDS)
def test_bad_designs_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    variants: dict[str, Any],
    path: str,
    message: str,
) -> None:
    sweep = write(tmp_path, variants=variants, kpis=["btc_mined"])
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert str(sweep) in err.splitlines()[0]
    line = next((ln for ln in err.splitlines() if ln.startswith(f"  - {path}")), None)
    assert line is not None and message in line, err
    assert not out.exists()


@pytest.mark.parametrize(
    ("fields", "path", "message"),
    [
        ({"format": ""}, "format", "'csv' or 'parquet'"),
        ({"format": 3}, "format", "'csv' or 'parquet'"),
        (
            {"replications": 10**6, "variants": {"grid": {PRICE: list(range(10, 30))}}},
            "",
            "21 variants × 1,000,000 replications = 21,000,000 runs; at most 10,000,000",
        ),
        ({"replications": 2**70}, "replications", "less than or equal to 1000000"),
        ({"bands": None}, "bands", "valid list"),
    ],
)
def test_bad_top_level_fields_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fields: dict[str, Any],
    path: str,
    message: str,
) -> None:
    sweep = write(tmp_path, **{"variants": {"grid": {PRICE: [30, 50]}}, **fields})
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert any(ln.startswith(f"  - {path}") and message in ln for ln in err.splitlines()), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("bands", "message"),
    [
        (["bogus"], "not numeric daily columns: bogus"),
        (["date"], "not numeric daily columns: date"),
        (["btc_mined", "btc_mined"], "given twice: btc_mined"),
        ("btc_mined", "valid list"),
    ],
)
def test_bad_bands_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bands: Any, message: str
) -> None:
    sweep = write(tmp_path, bands=bands)
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert any(ln.startswith("  - bands") and message in ln for ln in err.splitlines()), err


def test_parameter_columns_hold_each_variants_value(tmp_path: Path) -> None:
    """A path a variant does not set shows the base's value; a list shows as flow YAML."""
    sweep = write(
        tmp_path,
        variants={
            "list": [
                {"name": "cheap", "set": {PRICE: 30}},
                {"name": "solo", "set": {"mining.payout": "solo"}},
                {"name": "flat", "set": {"bitcoin.fees.spikes": []}},
            ]
        },
    )
    plan = plan_sweep(read_sweep(sweep))
    assert plan.parameters == (PRICE, "mining.payout", "bitcoin.fees.spikes")
    values = {v.name: v.parameters(plan.parameters) for v in plan.variants}
    spikes = "[{blocks: 1, btc_per_block: 37.626, start_height: 840000}]"  # keys sorted
    assert values == {
        "base": {PRICE: 40.0, "mining.payout": "fpps", "bitcoin.fees.spikes": spikes},
        "cheap": {PRICE: 30.0, "mining.payout": "fpps", "bitcoin.fees.spikes": spikes},
        "solo": {PRICE: 40.0, "mining.payout": "solo", "bitcoin.fees.spikes": spikes},
        "flat": {PRICE: 40.0, "mining.payout": "fpps", "bitcoin.fees.spikes": "[]"},
    }


def test_parquet_runs_and_bands(tmp_path: Path) -> None:
    """format: parquet writes runs and bands as Parquet with the CSV files' values."""
    grid = {"variants": {"grid": {PRICE: [30]}}, "kpis": ["btc_mined", "blocks_found"],
            "bands": ["btc_mined"], "replications": 2}
    outs = {}
    for fmt in ("csv", "parquet"):
        folder = tmp_path / fmt
        folder.mkdir()
        sweep = write(folder, format=fmt, **grid)
        outs[fmt] = folder / "out"
        assert main(["sweep", str(sweep), "--out", str(outs[fmt]), "--workers", "2"]) == EXIT_OK
    assert sorted(p.name for p in outs["parquet"].iterdir()) == [
        "aggregate.csv", "bands.parquet", "manifest.json", "paired.csv", "runs.parquet"]
    for table in ("runs", "bands"):
        got = pd.read_parquet(outs["parquet"] / f"{table}.parquet")
        want = pd.read_csv(outs["csv"] / f"{table}.csv", keep_default_na=False)
        columns = [c for c in want.columns if c != "wall_s"]
        pd.testing.assert_frame_equal(got[columns], want[columns], check_dtype=False)
    runs = pd.read_parquet(outs["parquet"] / "runs.parquet")
    assert str(runs["blocks_found"].dtype) == "Int64"  # integer KPIs stay integers
    for name in ("aggregate.csv", "paired.csv"):
        assert (outs["csv"] / name).read_bytes() == (outs["parquet"] / name).read_bytes()
    manifest = json.loads((outs["parquet"] / "manifest.json").read_text())
    assert set(manifest["files"]) == {"runs.parquet", "bands.parquet", "aggregate.csv",
                                      "paired.csv"}


def test_a_bad_format_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sweep = write(tmp_path, format="xlsx")
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out")]) == EXIT_BAD_INPUT
    assert "- format: Input should be 'csv' or 'parquet'" in capsys.readouterr().err
