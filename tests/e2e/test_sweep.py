"""``dcsim sweep`` end to end: real worker processes, real files, no mocks.

One small sweep (a three-day cut of scenarios/quick.yaml, the energy price at 30 and 50
beside the base's 40, three replications) is run twice: with two workers and with one. Its
files must be byte-identical, its seeds shared across variants (common random numbers), and
its statistics those that pandas computes from runs.csv.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import SCENARIOS, assert_same_sweep_files
from scipy.stats import t as student_t

import sim
from sim.cli import EXIT_BAD_INPUT, EXIT_OK, main
from sim.scenario import Scenario, load_scenario
from sim.sweep import (
    PlannedRun,
    SweepPlan,
    Variant,
    plan_sweep,
    read_sweep,
    replication_seed,
    run_plan,
    sweep_from_mapping,
)

CSV_FILES = ("runs.csv", "aggregate.csv", "paired.csv")
KPIS = ["blocks_found", "btc_mined", "mining_margin_usd", "energy_cost_usd", "ai_revenue_usd"]
ROOT_SEED = 11
REPLICATIONS = 3


def short_base(folder: Path) -> Path:
    """scenarios/quick.yaml cut to three days, written into ``folder``."""
    text = (SCENARIOS / "quick.yaml").read_text(encoding="utf-8")
    old = "end_utc: 2024-04-30T00:00:00Z"
    assert old in text, "quick.yaml's end_utc changed; update this test"
    path = folder / "base.yaml"
    path.write_text(text.replace(old, "end_utc: 2024-03-04T00:00:00Z"), encoding="utf-8")
    return path


def write_sweep(folder: Path, **fields: Any) -> Path:
    sweep: dict[str, Any] = {
        "name": "energy",
        "base": "base.yaml",
        "variants": {"grid": {"site.energy.price_usd_per_mwh": [30, 50]}},
        "replications": REPLICATIONS,
        "seed": ROOT_SEED,
        "kpis": KPIS,
    }
    sweep.update(fields)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(sweep, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same sweep twice: out folder 'a' with 2 workers, 'b' with 1."""
    folder = tmp_path_factory.mktemp("sweep")
    short_base(folder)
    sweep = write_sweep(folder)
    outs = {}
    for name, workers in (("a", 2), ("b", 1)):
        out = folder / name
        status = main(["sweep", str(sweep), "--out", str(out), "--workers", str(workers)])
        assert status == EXIT_OK
        outs[name] = out
    return outs


def test_sweep_writes_its_files(swept: dict[str, Path]) -> None:
    out = swept["a"]
    assert sorted(p.name for p in out.iterdir()) == sorted([*CSV_FILES, "manifest.json"])
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"runs": 9, "ok": 9, "failed": 0, "resumed": 0}
    assert manifest["files"] == {"runs.csv": 9, "aggregate.csv": 15, "paired.csv": 10}
    assert manifest["root_seed"] == ROOT_SEED
    assert [v["name"] for v in manifest["variants"]] == [
        "base",
        "site.energy.price_usd_per_mwh=30",
        "site.energy.price_usd_per_mwh=50",
    ]
    runs = pd.read_csv(out / "runs.csv")
    price = "site.energy.price_usd_per_mwh"
    assert list(runs.columns) == [
        "run_id",
        "variant",
        price,  # the swept path: the value each run had, the base's too
        "replication",
        "seed",
        "status",
        "error",
        "wall_s",
        *KPIS,
    ]
    assert runs["run_id"].tolist() == list(range(9))
    assert runs[price].tolist() == [40.0] * 3 + [30.0] * 3 + [50.0] * 3
    assert (runs["status"] == "ok").all()
    assert (runs["wall_s"] > 0).all()
    assert manifest["parameters"] == [price]


def test_common_random_numbers(swept: dict[str, Path]) -> None:
    runs = pd.read_csv(swept["a"] / "runs.csv")
    seeds = runs.pivot(index="replication", columns="variant", values="seed")
    expected = [replication_seed(ROOT_SEED, r) for r in range(REPLICATIONS)]
    for variant in seeds.columns:  # replication r: the same seed in every variant
        assert seeds[variant].tolist() == expected
    assert len(set(expected)) == REPLICATIONS
    # only the energy price differs: the same blocks and BTC, another energy bill
    for kpi in ("blocks_found", "btc_mined", "ai_revenue_usd"):
        table = runs.pivot(index="replication", columns="variant", values=kpi)
        assert table.nunique(axis=1).eq(1).all(), kpi
    costs = runs.pivot(index="replication", columns="variant", values="energy_cost_usd")
    assert (costs["site.energy.price_usd_per_mwh=30"] < costs["base"]).all()
    assert (costs["base"] < costs["site.energy.price_usd_per_mwh=50"]).all()
    blocks = runs[runs["variant"] == "base"]["blocks_found"]
    assert blocks.nunique() == REPLICATIONS  # replications do differ


def test_any_run_is_reproduced_by_dcsim_run(swept: dict[str, Path], tmp_path: Path) -> None:
    """The manifest's overrides and runs.csv's seed give the run again, with all its tables."""
    manifest = json.loads((swept["a"] / "manifest.json").read_text())
    variant = manifest["variants"][1]
    runs = pd.read_csv(swept["a"] / "runs.csv")
    run = runs[(runs["variant"] == variant["name"]) & (runs["replication"] == 2)].iloc[0]
    sets = [arg for path in variant["set"] for arg in ("--set", path)]
    base = swept["a"].parent / "base.yaml"
    out = tmp_path / "one"
    args = ["run", str(base), *sets, "--seed", str(run["seed"]), "--out", str(out)]
    assert main(args) == EXIT_OK
    summary = pd.read_csv(out / "summary.csv").iloc[0]
    assert summary["blocks_found"] == run["blocks_found"]
    # summary.csv rounds to a satoshi and a hundredth of a cent; runs.csv keeps full floats
    assert summary["btc_mined"] == pytest.approx(run["btc_mined"], abs=1e-8)
    assert summary["energy_cost_usd"] == pytest.approx(run["energy_cost_usd"], abs=1e-4)


def test_sweep_run_writes_every_table_of_one_run_beside_the_sweep(
    swept: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--run RUN_ID`` is the sweep's run again, with all its tables; the sweep keeps it."""
    out = tmp_path / "a"
    shutil.copytree(swept["a"], out)
    sweep = swept["a"].parent / "sweep.yaml"
    assert main(["sweep", str(sweep), "--run", "5", "--out", str(out / "run-5")]) == EXIT_OK
    runs = pd.read_csv(out / "runs.csv")
    run, summary = runs.iloc[5], pd.read_csv(out / "run-5" / "summary.csv").iloc[0]
    assert summary["seed"] == run["seed"]
    assert summary["blocks_found"] == run["blocks_found"]
    assert summary["btc_mined"] == pytest.approx(run["btc_mined"], abs=1e-8)
    assert summary["energy_cost_usd"] == pytest.approx(run["energy_cost_usd"], abs=1e-4)
    assert {"timeseries.csv", "blocks.csv", "jobs.csv", "events.csv"} <= {
        p.name for p in (out / "run-5").iterdir()
    }
    # sweeping again into the folder replaces the sweep's files and keeps the run's
    assert main(["sweep", str(sweep), "--out", str(out), "--workers", "2"]) == EXIT_OK
    assert (out / "run-5" / "summary.csv").is_file()
    capsys.readouterr()
    for bad in (["--run", "9"], ["--run", "-1"], ["--run", "1", "--resume"]):
        assert main(["sweep", str(sweep), *bad, "--out", str(tmp_path / "x")]) == EXIT_BAD_INPUT
        assert "--run" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_seed_derivation() -> None:
    children = np.random.SeedSequence(ROOT_SEED).spawn(4)
    for r, child in enumerate(children):
        seed = replication_seed(ROOT_SEED, r)
        assert seed == int(child.generate_state(1, dtype=np.uint64)[0]) >> 1
        assert 0 <= seed < 2**63


def test_same_sweep_same_bytes_with_any_workers(swept: dict[str, Path]) -> None:
    assert_same_sweep_files(swept["a"], swept["b"])  # --workers 2 and 1


def test_statistics_match_pandas(swept: dict[str, Path]) -> None:
    runs = pd.read_csv(swept["a"] / "runs.csv")
    aggregate = pd.read_csv(swept["a"] / "aggregate.csv").set_index(["variant", "kpi"])
    long = runs.melt(id_vars=["variant", "replication"], value_vars=KPIS, var_name="kpi")
    grouped = long.groupby(["variant", "kpi"])["value"]
    expected = pd.DataFrame(
        {
            "n": grouped.count(),
            "mean": grouped.mean(),
            "std": grouped.std(),
            "p5": grouped.quantile(0.05),
            "p50": grouped.median(),
            "p95": grouped.quantile(0.95),
            "min": grouped.min(),
            "max": grouped.max(),
        }
    )
    expected["se"] = expected["std"] / np.sqrt(expected["n"])
    half = student_t.ppf(0.975, expected["n"] - 1) * expected["se"]
    expected["ci95_low"] = expected["mean"] - half
    expected["ci95_high"] = expected["mean"] + half
    got = aggregate.loc[expected.index, expected.columns]
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-12)

    paired = pd.read_csv(swept["a"] / "paired.csv").set_index(["variant", "kpi"])
    assert set(paired["reference"]) == {"base"}
    wide = long.pivot_table(index=["kpi", "replication"], columns="variant", values="value")
    for variant in ("site.energy.price_usd_per_mwh=30", "site.energy.price_usd_per_mwh=50"):
        for kpi in KPIS:
            diff = (wide[variant] - wide["base"]).loc[kpi]
            row = paired.loc[(variant, kpi)]
            assert row["n"] == REPLICATIONS
            assert row["mean_diff"] == pytest.approx(diff.mean(), rel=1e-12, abs=1e-9)
            assert row["se_diff"] == pytest.approx(
                diff.std() / np.sqrt(len(diff)), rel=1e-9, abs=1e-9
            )
            for q in (5, 50, 95):
                assert row[f"p{q}_diff"] == pytest.approx(diff.quantile(q / 100), abs=1e-6)
            half = student_t.ppf(0.975, REPLICATIONS - 1) * diff.std() / np.sqrt(len(diff))
            assert row["ci95_low_diff"] == pytest.approx(diff.mean() - half, rel=1e-9, abs=1e-9)
            assert row["ci95_high_diff"] == pytest.approx(diff.mean() + half, rel=1e-9, abs=1e-9)
            assert row["share_above"] == pytest.approx((diff > 0).mean())
            assert row["share_below"] == pytest.approx((diff < 0).mean())
    cheaper = paired.loc[("site.energy.price_usd_per_mwh=30", "energy_cost_usd")]
    assert cheaper["share_below"] == 1.0 and cheaper["mean_diff"] < 0


def test_the_paired_interval_is_narrower_than_the_unpaired_one(swept: dict[str, Path]) -> None:
    """Common random numbers: the same seeds make the variants' noise cancel in the pairs."""
    aggregate = pd.read_csv(swept["a"] / "aggregate.csv").set_index(["variant", "kpi"])
    paired = pd.read_csv(swept["a"] / "paired.csv").set_index(["variant", "kpi"])
    for variant in ("site.energy.price_usd_per_mwh=30", "site.energy.price_usd_per_mwh=50"):
        for kpi in ("energy_cost_usd", "mining_margin_usd"):
            one, base = aggregate.loc[(variant, kpi)], aggregate.loc[("base", kpi)]
            # the unpaired (independent samples) 95 % half-width of the difference
            unpaired = student_t.ppf(0.975, 2 * REPLICATIONS - 2) * np.hypot(one["se"], base["se"])
            row = paired.loc[(variant, kpi)]
            paired_half = (row["ci95_high_diff"] - row["ci95_low_diff"]) / 2
            assert paired_half < unpaired, (variant, kpi, paired_half, unpaired)
            if kpi == "energy_cost_usd":
                # the same energy E in every variant: cost = price·E, so the paired spread is
                # |Δprice|·sd(E), the unpaired hypot(price, 40)·sd(E); t quantiles of n−1
                # and 2n−2 degrees of freedom
                price = float(variant.rsplit("=", 1)[1])
                ratio = abs(price - 40) / np.hypot(price, 40)
                ratio *= student_t.ppf(0.975, REPLICATIONS - 1)
                ratio /= student_t.ppf(0.975, 2 * REPLICATIONS - 2)
                assert paired_half / unpaired == pytest.approx(ratio, rel=1e-6)


def lazy_scenario(folder: Path) -> Scenario:
    """A valid scenario whose price CSV is read at run time and then deleted: it must fail.

    ``Scenario.model_validate`` (unlike the loader) reads input files on first use
    (sim/scenario/inputs.py); the file is gone by the time the worker runs it.
    """
    raw = yaml.safe_load(short_base(folder).read_text(encoding="utf-8"))
    prices = folder / "prices.csv"
    shutil.copy(SCENARIOS / "data" / "btc_price_2024_2025.csv", prices)
    raw["bitcoin"]["price"] = {"model": "csv", "csv_path": str(prices)}
    scenario = Scenario.model_validate(raw)
    prices.unlink()
    return scenario


def test_a_failing_run_is_recorded_and_the_others_complete(tmp_path: Path) -> None:
    good = load_scenario(short_base(tmp_path))
    spec = sweep_from_mapping({"name": "failing", "base": "base.yaml", "kpis": KPIS[:2]})
    variants = (Variant("base", (), good), Variant("broken", (), lazy_scenario(tmp_path)))
    pairs = [(v.name, r) for v in variants for r in range(2)]
    runs = tuple(
        PlannedRun(i, name, r, replication_seed(3, r)) for i, (name, r) in enumerate(pairs)
    )
    calls: list[tuple[int, int, int]] = []
    result = run_plan(
        SweepPlan(spec, variants, runs),
        tmp_path / "out",
        workers=2,
        progress=lambda *call: calls.append(call),
    )
    assert calls[0] == (0, 4, 0) and calls[-1] == (4, 4, 2)
    assert [done for done, _, _ in calls] == [0, 1, 2, 3, 4]

    assert result.failed == 2
    table = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert table["status"].tolist() == ["ok", "ok", "failed", "failed"]
    broken = table[table["variant"] == "broken"]
    assert broken["error"].str.contains("SimulationError").all()
    assert broken["error"].str.contains("cannot read").all()
    assert broken[KPIS[:2]].isna().all().all()
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["counts"] == {"runs": 4, "ok": 2, "failed": 2, "resumed": 0}
    assert [f["variant"] for f in manifest["failures"]] == ["broken", "broken"]
    log = (tmp_path / "out" / "failures.log").read_text()
    heads = [line for line in log.splitlines() if line.startswith("run ")]
    assert [h.split(",")[0] for h in heads] == [f"run {i}: variant 'broken'" for i in (2, 3)]
    assert log.count("Traceback (most recent call last)") >= 2
    assert "FileNotFoundError" in log  # the traceback's cause, which runs.csv leaves out
    assert manifest["files"]["failures.log"] == log.count("\n")
    aggregate = pd.read_csv(tmp_path / "out" / "aggregate.csv")
    assert aggregate.groupby("variant")["n"].max().to_dict() == {"base": 2, "broken": 0}
    assert (pd.read_csv(tmp_path / "out" / "paired.csv")["n"] == 0).all()


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"colour": "red"}, "colour", "unknown field"),
        ({"replications": 0}, "replications", "greater than or equal to 1"),
        ({"kpis": ["btc_mined", "bogus"]}, "kpis", "bogus"),
        ({"kpis": ["payout"]}, "kpis", "not numeric KPIs: payout"),
        ({"variants": {"grid": {"bad path!": [1]}}}, "variants.grid.bad path!", "dotted"),
        (
            {"variants": {"list": [{"name": "x", "set": {"site.energy.nope": 3}}]}},
            "variant 'x': site.energy.nope",
            "unknown field",
        ),
        (
            {"variants": {"grid": {"site.energy.price_usd_per_mwh": [30, -5]}}},
            "variant 'site.energy.price_usd_per_mwh=-5': site.energy.price_usd_per_mwh",
            "",
        ),
        (
            {"variants": {"grid": {"a": [1]}, "list": [{"name": "x", "set": {"b": 2}}]}},
            "variants",
            "exactly one",
        ),
        ({"base": "missing.yaml"}, "base (", "cannot read file"),
        ({"variants": {"grid": {"seed": [1, 2]}}}, "variants", "may not set 'seed'"),
        (
            {"variants": {"grid": {"site.energy.price_usd_per_mwh": [30, 30]}}},
            "variants.grid",
            "repeated: 30",
        ),
    ],
)
def test_bad_sweep_files_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, Any],
    path: str,
    message: str,
) -> None:
    short_base(tmp_path)
    sweep = write_sweep(tmp_path, **change)
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    line = next((line for line in err.splitlines() if f"- {path}" in line), None)
    assert line is not None, err
    assert message in line, err
    assert not out.exists()


def test_bad_workers_and_out_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    short_base(tmp_path)
    sweep = write_sweep(tmp_path)
    assert main(["sweep", str(sweep), "--workers", "0", "--out", str(tmp_path / "o")]) == 2
    assert "--workers: must be at least 1" in capsys.readouterr().err
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "notes.txt").write_text("mine")
    assert main(["sweep", str(sweep), "--out", str(taken)]) == EXIT_BAD_INPUT
    assert "--out" in capsys.readouterr().err
    assert [p.name for p in taken.iterdir()] == ["notes.txt"]


SHIPPED = sorted((SCENARIOS / "sweeps").glob("*.yaml"))
# file → (variants, runs); each shipped sweep loads and plans (every variant validated)
SHIPPED_SIZES = {
    "energy_price.yaml": (3, 12),
    "fault_cost.yaml": (2, 40),  # faults and no faults × 20 replications
    "halving_risk.yaml": (13, 2600),
    "lhs_site_economics.yaml": (33, 132),
    "pivot_split.yaml": (5, 50),
    "smoke.yaml": (3, 9),
    "sobol_mining.yaml": (64 * (4 + 2), 64 * (4 + 2)),
}


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_sweep_files_plan(path: Path) -> None:
    plan = plan_sweep(read_sweep(path), str(path))
    assert (len(plan.variants), len(plan.runs)) == SHIPPED_SIZES[path.name]
    assert sim.run_sweep is sim.sweep.run_sweep


def test_every_shipped_sweep_file_is_listed() -> None:
    assert [p.name for p in SHIPPED] == sorted(SHIPPED_SIZES)


def test_the_smoke_sweep_runs(tmp_path: Path) -> None:
    sweep = SCENARIOS / "sweeps" / "smoke.yaml"
    out = tmp_path / "smoke"
    assert main(["sweep", str(sweep), "--out", str(out), "--workers", "2"]) == EXIT_OK
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*CSV_FILES, "bands.csv", "manifest.json"]
    )
    assert (pd.read_csv(out / "runs.csv")["status"] == "ok").all()
