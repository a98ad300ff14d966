"""End-to-end tests of the ``dcsim`` command (``python -m sim``): real files, real runs.

Runs use ``scenarios/quick.yaml`` (60 days) or a tiny scenario written into ``tmp_path``.
The process-level behaviour (exit code, stdout/stderr) is checked through
``subprocess.run([sys.executable, "-m", "sim", ...])``; the many bad-input cases go through
``sim.cli.main([...])`` in-process, which returns the same exit code, to keep the suite fast.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from helpers import SCENARIOS

from sim.cli import EXIT_BAD_INPUT, EXIT_OK, main
from sim.scenario.catalog import BUILTIN_ASICS

REPO = SCENARIOS.parent
QUICK = SCENARIOS / "quick.yaml"
CSV_FILES = (
    "timeseries.csv",
    "daily.csv",
    "groups.csv",
    "blocks.csv",
    "jobs.csv",
    "events.csv",
    "summary.csv",
)
OUTPUT_FILES = {*CSV_FILES, "manifest.json"}

TINY = """\
name: tiny
start_utc: 2024-01-01T00:00:00Z
end_utc: 2024-01-05T00:00:00Z
seed: 11
mining:
  groups:
    - {model: Antminer S21, count: 100}
"""


def dcsim(*args: str | Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """Run the real command in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def summary_row(out_dir: Path) -> dict[str, str]:
    with (out_dir / "summary.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1
    return rows[0]


def manifest_of(out_dir: Path) -> dict:
    return json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))


def issue_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("  - ")]


def assert_nothing_written(out: Path) -> None:
    """The output folder does not exist and no staging/trash folder is left beside it."""
    assert not out.exists()
    leftovers = [p.name for p in out.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]
    assert leftovers == []


# --------------------------------------------------------------------------- validate


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_validate_accepts_every_bundled_scenario(path: Path, capsys) -> None:
    assert main(["validate", str(path)]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.strip() == f"{path}: ok"
    assert err == ""


def test_validate_all_bundled_scenarios_in_one_process() -> None:
    paths = sorted(SCENARIOS.glob("*.yaml"))
    assert paths, "no scenarios found"
    proc = dcsim("validate", *paths)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"{p}: ok" for p in paths]
    assert proc.stderr == ""


def test_validate_reports_bad_files_and_still_checks_the_good_ones(tmp_path, capsys) -> None:
    good = write(tmp_path / "good.yaml", TINY)
    bad1 = write(tmp_path / "bad1.yaml", TINY + "colour: red\n")
    bad2 = write(tmp_path / "bad2.yaml", TINY.replace("count: 100", "count: -3"))
    assert main(["validate", str(bad1), str(good), str(bad2)]) == EXIT_BAD_INPUT
    out, err = capsys.readouterr()
    assert out.strip() == f"{good}: ok"
    assert f"{bad1}: 1 problem" in err
    assert "colour: unknown field" in err
    assert f"{bad2}: 1 problem" in err
    assert "mining.groups[0].count: Input should be greater than or equal to 0" in err


# --------------------------------------------------------------------------- bad input

BAD_FILES = {
    "unknown_key": (
        TINY + "colour: red\n",
        "colour",
        ["unknown field", "allowed: name, description, start_utc, end_utc, seed"],
    ),
    "unknown_nested_key": (
        TINY.replace("count: 100}", "count: 100, colour: red}"),
        "mining.groups[0].colour",
        ["unknown field; allowed: name, model, count"],
    ),
    "wrong_type": (
        TINY.replace("count: 100", "count: many"),
        "mining.groups[0].count",
        ["valid integer", "'many'"],
    ),
    "negative_power_of_user_model": (
        TINY + "asic_models:\n  - {name: Custom X, hashrate_ths: 100, power_w: -5}\n",
        "asic_models[0].power_w",
        ["greater than 0", "-5"],
    ),
    "unknown_hardware_model": (
        TINY.replace("Antminer S21", "Antminer S9"),
        "mining.groups[0].model",
        ["unknown model 'Antminer S9'", "known models:", "Antminer S21", "Whatsminer M60S"],
    ),
    "end_before_start": (
        TINY.replace("end_utc: 2024-01-05", "end_utc: 2023-12-25"),
        "end_utc",
        ["must be after start_utc", "2023-12-25"],
    ),
    "end_equals_start": (
        TINY.replace("end_utc: 2024-01-05", "end_utc: 2024-01-01"),
        "end_utc",
        ["must be after start_utc"],
    ),
    "power_above_grid_capacity": (
        # 100 x 3,500 W = 350 kW on a 300 kW connection
        TINY + "site: {grid_capacity_kw: 300}\n",
        "site.grid_capacity_kw",
        ["300 kW is below the installed peak load: ASICs 350 kW + GPU nodes 0 kW"],
    ),
    "bad_payout_literal": (
        TINY + "  payout: pps\n",
        "mining.payout",
        ["'fpps' or 'solo'", "'pps'"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_scenario_exits_2_names_file_and_field_and_writes_nothing(
    case: str, tmp_path, capsys
) -> None:
    text, field_path, fragments = BAD_FILES[case]
    scenario = write(tmp_path / f"{case}.yaml", text)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == EXIT_BAD_INPUT
    stdout, stderr = capsys.readouterr()
    assert stdout == ""
    assert stderr.splitlines()[0] == f"{scenario}: 1 problem"
    (line,) = issue_lines(stderr)
    assert line.startswith(f"  - {field_path}: ")
    for fragment in fragments:
        assert fragment in line
    assert_nothing_written(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == [scenario.name]


@pytest.mark.parametrize(
    ("case", "text", "fragment"),
    [
        ("yaml_syntax", "name: [unclosed\n", "not valid YAML"),
        ("top_level_list", "- name: tiny\n- seed: 1\n", "top level must be a mapping"),
        ("top_level_scalar", "just a string\n", "top level must be a mapping"),
        ("empty_file", "", "top level must be a mapping"),
    ],
)
def test_unreadable_scenario_exits_2_and_writes_nothing(
    case: str, text: str, fragment: str, tmp_path, capsys
) -> None:
    scenario = write(tmp_path / f"{case}.yaml", text)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == EXIT_BAD_INPUT
    _, stderr = capsys.readouterr()
    assert stderr.splitlines()[0] == f"{scenario}: 1 problem"
    assert fragment in stderr
    assert_nothing_written(out)


def test_yaml_syntax_error_points_at_the_line(tmp_path, capsys) -> None:
    scenario = write(tmp_path / "syntax.yaml", TINY + "site: {grid_capacity_kw: 300\n")
    assert main(["validate", str(scenario)]) == EXIT_BAD_INPUT
    _, stderr = capsys.readouterr()
    assert "not valid YAML" in stderr
    assert re.search(r"line (8|9)", stderr), stderr


def test_missing_file_exits_2_from_the_real_process(tmp_path) -> None:
    missing = tmp_path / "nope.yaml"
    out = tmp_path / "out"
    proc = dcsim("run", missing, "--out", out)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines()[0] == f"{missing}: 1 problem"
    assert "cannot read file" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert_nothing_written(out)
    assert list(tmp_path.iterdir()) == []


def test_bad_file_without_out_creates_no_default_outputs_folder(
    tmp_path, monkeypatch, capsys
) -> None:
    scenario = write(tmp_path / "bad.yaml", TINY.replace("count: 100", "count: many"))
    monkeypatch.chdir(tmp_path)
    assert main(["run", scenario.name]) == EXIT_BAD_INPUT
    stderr = capsys.readouterr().err
    assert stderr.startswith("bad.yaml: 1 problem")
    assert "mining.groups[0].count" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_every_problem_of_one_file_is_reported_at_once(tmp_path, capsys) -> None:
    scenario = write(
        tmp_path / "many.yaml",
        """\
        name: many
        start_utc: 2024-01-05T00:00:00Z
        end_utc: 2024-01-01T00:00:00Z
        colour: red
        seed: -4
        asic_models:
          - {name: Custom X, hashrate_ths: 100, power_w: -5}
        site: {grid_capacity_kw: 0}
        mining:
          groups:
            - {model: Antminer S21, count: many}
        """,
    )
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == EXIT_BAD_INPUT
    stderr = capsys.readouterr().err
    lines = issue_lines(stderr)
    assert stderr.splitlines()[0] == f"{scenario}: 6 problems"
    assert len(lines) == 6, stderr
    paths = sorted(line[4:].split(": ", 1)[0] for line in lines)
    assert paths == sorted(
        [
            "colour",
            "seed",
            "asic_models[0].power_w",
            "site.grid_capacity_kw",
            "mining.groups[0].count",
            "end_utc",
        ]
    )
    assert_nothing_written(out)


def test_independent_cross_field_problems_are_all_reported(tmp_path, capsys) -> None:
    scenario = write(
        tmp_path / "cross.yaml",
        TINY.replace("end_utc: 2024-01-05", "end_utc: 2023-12-01")
        + "    - {model: Antminer S1, count: 1}\n"
        + "site: {grid_capacity_kw: 1}\n",
    )
    assert main(["validate", str(scenario)]) == EXIT_BAD_INPUT
    _, stderr = capsys.readouterr()
    paths = [line[4:].split(": ", 1)[0] for line in issue_lines(stderr)]
    assert sorted(paths) == ["end_utc", "mining.groups[1].model", "site.grid_capacity_kw"]


# --------------------------------------------------------------------------- --set and --seed


def test_set_value_is_type_checked_like_a_file_value(tmp_path, capsys) -> None:
    scenario = write(tmp_path / "tiny.yaml", TINY)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--set", "seed=abc"]) == EXIT_BAD_INPUT
    _, stderr = capsys.readouterr()
    (line,) = issue_lines(stderr)
    assert line.startswith("  - seed: ")
    assert "valid integer" in line and "'abc'" in line
    assert_nothing_written(out)


@pytest.mark.parametrize("path", ["mining.groups[0].count", "mining.groups.0.count"])
def test_set_list_element_changes_the_run(path: str, tmp_path, capsys) -> None:
    scenario = write(tmp_path / "tiny.yaml", TINY)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--set", f"{path}=5"]) == EXIT_OK
    capsys.readouterr()
    row = summary_row(out)
    assert row["installed_asic_units"] == "5"
    assert float(row["installed_hashrate_ths"]) == pytest.approx(5 * 200.0)
    assert manifest_of(out)["scenario"]["mining"]["groups"][0]["count"] == 5


def test_without_set_the_file_count_is_used(tmp_path, capsys) -> None:
    scenario = write(tmp_path / "tiny.yaml", TINY)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == EXIT_OK
    capsys.readouterr()
    assert summary_row(out)["installed_asic_units"] == "100"


def test_repeated_set_applies_each_override(tmp_path, capsys) -> None:
    scenario = write(tmp_path / "tiny.yaml", TINY)
    out = tmp_path / "out"
    argv = ["run", str(scenario), "--out", str(out)]
    argv += ["--set", "mining.payout=solo", "--set", "mining.groups[0].count=7"]
    assert main(argv) == EXIT_OK
    capsys.readouterr()
    row = summary_row(out)
    assert (row["payout"], row["installed_asic_units"]) == ("solo", "7")


@pytest.mark.parametrize(
    ("override", "path", "fragment"),
    [
        ("mining.groups[1].count=5", "mining.groups[1]", "no list element 1 (list has 1)"),
        ("mining.groups.3.count=5", "mining.groups[3]", "no list element 3 (list has 1)"),
        (
            "site.energy.colour=red",
            "site.energy.colour",
            "unknown field; allowed: price_usd_per_mwh",
        ),
        ("mining.groups[0].colour=red", "mining.groups[0].colour", "unknown field"),
        ("name.first=x", "name.first", "parent is not a mapping"),
        ("mining.groups[x].count=1", "mining.groups[x].count", "malformed path element"),
        ("mining.count", "--set", "expected dotted.path=value"),
        ("=5", "--set", "expected dotted.path=value"),
        ("name=[oops", "name", "value is not valid YAML"),
        ("mining.payout=pps", "mining.payout", "'fpps' or 'solo'"),
    ],
)
def test_bad_set_exits_2_with_its_path(
    override: str, path: str, fragment: str, tmp_path, capsys
) -> None:
    scenario = write(tmp_path / "tiny.yaml", TINY)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out), "--set", override]) == EXIT_BAD_INPUT
    _, stderr = capsys.readouterr()
    assert any(
        line.startswith(f"  - {path}: ") and fragment in line for line in issue_lines(stderr)
    )
    assert_nothing_written(out)


def test_validate_applies_set_too(tmp_path, capsys) -> None:
    scenario = write(tmp_path / "tiny.yaml", TINY)
    assert main(["validate", str(scenario), "--set", "site.grid_capacity_kw=1"]) == EXIT_BAD_INPUT
    _, stderr = capsys.readouterr()
    assert "  - site.grid_capacity_kw: 1 kW is below the installed peak load" in stderr
    assert main(["validate", str(scenario), "--set", "site.grid_capacity_kw=1000"]) == EXIT_OK


def test_negative_seed_exits_2_and_writes_nothing(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["run", str(QUICK), "--out", str(out), "--seed", "-1"]) == EXIT_BAD_INPUT
    stdout, stderr = capsys.readouterr()
    assert stdout == ""
    assert stderr.splitlines() == [
        f"{QUICK}: 1 problem",
        "  - seed: Input should be greater than or equal to 0 (got -1)",
    ]
    assert_nothing_written(out)


def test_non_integer_seed_is_a_usage_error(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        main(["run", str(QUICK), "--out", str(out), "--seed", "abc"])
    assert exc.value.code == 2
    assert "--seed" in capsys.readouterr().err
    assert_nothing_written(out)


# --------------------------------------------------------------------------- runs


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess[str]]]:
    """quick.yaml run by two separate processes with its own seed, and once with --seed 8."""
    base = tmp_path_factory.mktemp("quick")
    runs = {}
    for key, extra in (("a", []), ("b", []), ("seed8", ["--seed", "8"])):
        out = base / key
        runs[key] = (out, dcsim("run", QUICK, "--out", out, *extra))
    return runs


def test_run_writes_every_output_file(quick_runs) -> None:
    out, proc = quick_runs["a"]
    assert proc.returncode == 0, proc.stderr
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES
    for name in CSV_FILES:
        with (out / name).open(newline="") as handle:
            rows = list(csv.reader(handle))
        assert len(rows) >= 2, f"{name} has no data rows"
    with (out / "daily.csv").open(newline="") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == 60
    row = summary_row(out)
    assert (row["scenario"], row["seed"], row["installed_asic_units"]) == ("quick", "7", "3000")


def test_run_stdout_names_the_output_folder(quick_runs) -> None:
    out, proc = quick_runs["a"]
    assert proc.stdout.splitlines()[0] == f"dcsim: wrote {out.resolve()}"
    assert "quick (seed 7)" in proc.stdout
    assert proc.stderr == ""
    assert not [p for p in out.parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_manifest_records_seed_versions_events_and_resolved_scenario(quick_runs) -> None:
    out, _ = quick_runs["a"]
    manifest = manifest_of(out)
    assert manifest["scenario_name"] == "quick"
    assert manifest["seed"] == 7
    assert isinstance(manifest["events_processed"], int)
    assert manifest["events_processed"] > 0
    versions = manifest["versions"]
    assert versions["python"] == ".".join(map(str, sys.version_info[:3]))
    for package in ("simpy", "numpy", "pandas"):
        assert re.match(r"^\d+\.\d+", versions[package]), (package, versions[package])
    import numpy
    import pandas

    assert versions["numpy"] == numpy.__version__
    assert versions["pandas"] == pandas.__version__
    scenario = manifest["scenario"]
    # resolved: file values and filled-in defaults, times in UTC
    assert scenario["name"] == "quick"
    assert scenario["seed"] == 7
    assert scenario["mining"]["groups"] == [
        {
            "name": None,
            "model": "Antminer S21",
            "count": 3000,
            "hall": None,
            "annual_failure_rate": 0.0,
            "weibull_shape": 1.0,
            "age_at_start_days": 0.0,
            "spares": None,
        }
    ]
    assert scenario["site"]["grid_capacity_kw"] == 12000
    assert scenario["bitcoin"]["start_difficulty"] == 79351228131136
    assert scenario["mining"]["pool_fee_fraction"] == 0.02  # a default
    assert scenario["output"]["sample_interval_s"] == 3600  # a default
    assert scenario["start_utc"] in ("2024-03-01T00:00:00Z", "2024-03-01T00:00:00+00:00")
    assert manifest["files"]["daily.csv"] == 60
    assert manifest["files"]["summary.csv"] == 1


def test_same_seed_gives_byte_identical_csvs_across_processes(quick_runs) -> None:
    (a, proc_a), (b, proc_b) = quick_runs["a"], quick_runs["b"]
    assert proc_a.returncode == proc_b.returncode == 0
    for name in CSV_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    strip = {"wall_time_s", "command"}
    ma = {k: v for k, v in manifest_of(a).items() if k not in strip}
    mb = {k: v for k, v in manifest_of(b).items() if k not in strip}
    assert ma == mb


def test_a_site_with_halls_is_byte_identical_across_processes(tmp_path: Path) -> None:
    """The facility too: ambient noise, heat, throttling, trips, the profit policy, GPU clocks.

    heatwave.yaml up to the end of its heat wave (halls throttle, GPUs slow), run by two
    processes: every CSV byte for byte.
    """
    end = "end_utc=2024-07-23T00:00:00Z"
    runs = [tmp_path / name for name in ("a", "b")]
    for out in runs:
        proc = dcsim("run", SCENARIOS / "heatwave.yaml", "--set", end, "--out", out)
        assert proc.returncode == 0, proc.stderr
    events = (runs[0] / "events.csv").read_text()
    assert "thermal_throttle" in events and "asic_grant" in events
    for name in CSV_FILES:
        assert (runs[0] / name).read_bytes() == (runs[1] / name).read_bytes(), name


def test_different_seed_gives_different_blocks(quick_runs) -> None:
    (a, _), (c, proc_c) = quick_runs["a"], quick_runs["seed8"]
    assert proc_c.returncode == 0, proc_c.stderr
    assert (a / "blocks.csv").read_bytes() != (c / "blocks.csv").read_bytes()
    assert manifest_of(c)["seed"] == 8
    assert summary_row(c)["seed"] == "8"
    assert "quick (seed 8)" in proc_c.stdout


def test_rerun_into_the_same_folder_replaces_it_cleanly(quick_runs, tmp_path, capsys) -> None:
    first, _ = quick_runs["a"]
    out = tmp_path / "run"
    shutil.copytree(first, out)
    (out / "notes.txt").write_text("the user's\n")
    (out / "daily.csv").write_text("truncated")
    assert main(["run", str(QUICK), "--out", str(out)]) == EXIT_OK
    assert capsys.readouterr().out.startswith(f"dcsim: wrote {out.resolve()}")
    assert {p.name for p in out.iterdir()} == {*OUTPUT_FILES, "notes.txt"}
    assert (out / "notes.txt").read_text() == "the user's\n"  # not ours: left alone
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no staging folder or lock left
    for name in CSV_FILES:  # same seed, in-process this time: same bytes as the CLI run
        assert (out / name).read_bytes() == (first / name).read_bytes(), name


def test_run_without_out_writes_outputs_slash_name(tmp_path, monkeypatch, capsys) -> None:
    scenario = write(tmp_path / "tiny.yaml", TINY)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "tiny.yaml"]) == EXIT_OK
    out = tmp_path / "outputs" / "tiny"
    assert capsys.readouterr().out.splitlines()[0] == f"dcsim: wrote {out}"
    assert {p.name for p in out.iterdir()} == OUTPUT_FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs", scenario.name]
    assert [p.name for p in (tmp_path / "outputs").iterdir()] == ["tiny"]


def test_run_does_not_delete_a_foreign_folder_given_as_out(tmp_path, capsys) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    scenario = write(folder / "tiny.yaml", TINY)
    (folder / "notes.txt").write_text("precious\n")
    main(["run", str(scenario), "--out", str(folder)])
    capsys.readouterr()
    assert (folder / "notes.txt").read_text() == "precious\n"
    assert scenario.exists()


def test_out_that_is_an_existing_file_is_bad_input(tmp_path, capsys) -> None:
    scenario = write(tmp_path / "tiny.yaml", TINY)
    target = tmp_path / "result"
    target.write_text("not a folder\n")
    assert main(["run", str(scenario), "--out", str(target)]) == EXIT_BAD_INPUT
    assert "--out" in capsys.readouterr().err
    assert target.read_text() == "not a folder\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result", "tiny.yaml"]


def test_manifest_command_is_the_argv_given_to_main(tmp_path, capsys) -> None:
    scenario = write(tmp_path / "tiny.yaml", TINY)
    argv = ["run", str(scenario), "--out", str(tmp_path / "out"), "--seed", "3"]
    assert main(argv) == EXIT_OK
    capsys.readouterr()
    assert manifest_of(tmp_path / "out")["command"] == ["dcsim", *argv]


# --------------------------------------------------------------------------- catalog


def test_catalog_lists_every_builtin_model_with_ths_and_watts() -> None:
    proc = dcsim("catalog")
    assert proc.returncode == 0, proc.stderr
    rows = {}
    for line in proc.stdout.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells and cells[0] in BUILTIN_ASICS:
            rows[cells[0]] = cells
    assert set(rows) == set(BUILTIN_ASICS)
    assert len(BUILTIN_ASICS) >= 9
    for name, spec in BUILTIN_ASICS.items():
        _, ths, watts, j_per_th, cooling = rows[name]
        assert float(ths.replace(",", "")) == pytest.approx(spec.hashrate_ths, abs=0.5)
        assert float(watts.replace(",", "")) == pytest.approx(spec.power_w, abs=0.5)
        assert float(j_per_th) == pytest.approx(spec.power_w / spec.hashrate_ths, abs=0.05)
        assert cooling == spec.cooling
    assert rows["Antminer S21"][1:3] == ["200", "3,500"]


def test_no_command_is_a_usage_error() -> None:
    proc = dcsim()
    assert proc.returncode == 2
    assert "usage: dcsim" in proc.stderr


# --------------------------------------------------------------------------- notebook API


def test_notebook_api_returns_dataframes_and_writes_nothing(
    tmp_path_factory, tmp_path, monkeypatch
) -> None:
    import tempfile

    import pandas as pd

    from sim import RunResult, load_scenario, run_one

    source = tmp_path_factory.mktemp("notebook-src")
    scenario_path = write(source / "tiny.yaml", TINY)
    scratch = tmp_path_factory.mktemp("notebook-tmp")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    result = run_one(load_scenario(scenario_path), seed=5)

    assert isinstance(result, RunResult)
    assert result.seed == 5
    tables = result.tables()
    # network.csv is written only when listed (and empty here: the network is gbm)
    assert [f"{name}.csv" for name in tables] == [*CSV_FILES, "network.csv"]
    for name, frame in tables.items():
        assert isinstance(frame, pd.DataFrame), name
        assert len(frame) > 0 or name in ("events", "jobs", "network"), name  # no AI here
    assert len(result.daily) == 4
    assert len(result.timeseries) == 4 * 24
    assert result.summary["installed_asic_units"].iloc[0] == 100
    assert result.events_processed > 0
    assert list(tmp_path.iterdir()) == []  # nothing in the working directory
    assert list(scratch.iterdir()) == []  # nothing in the temp directory
    assert sorted(p.name for p in source.iterdir()) == ["tiny.yaml"]

    written = result.write("saved")  # relative to cwd, only when asked
    assert written == tmp_path / "saved"
    assert {p.name for p in written.iterdir()} == OUTPUT_FILES
    assert [p.name for p in tmp_path.iterdir()] == ["saved"]
    assert list(scratch.iterdir()) == []


def test_notebook_run_matches_the_cli_run(quick_runs) -> None:
    from sim import load_scenario, run_one

    out, _ = quick_runs["a"]
    result = run_one(load_scenario(QUICK))
    assert result.seed == 7
    with (out / "daily.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(result.daily)
    assert float(rows[-1]["btc_mined"]) == pytest.approx(result.daily["btc_mined"].iloc[-1])
    assert int(summary_row(out)["blocks_found"]) == len(result.blocks)
