"""Bad inputs a newcomer can type or feed: each is a ScenarioError naming the field, never a
traceback (CLI exit code 2)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import REPO, SCENARIOS

from sim.errors import Issue, ScenarioError, SimulationError
from sim.runner import run_one
from sim.scenario import load_scenario, scenario_from_mapping
from sim.scenario.fields import INT64_MAX
from sim.scenario.loader import parse_yaml

QUICK = SCENARIOS / "quick.yaml"
QUICK_TEXT = QUICK.read_text(encoding="utf-8")
SHORT = "end_utc=2024-03-02T00:00:00Z"  # one day of quick.yaml


def quick_raw() -> dict[str, Any]:
    raw = yaml.safe_load(QUICK_TEXT)
    assert isinstance(raw, dict)
    return raw


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def quick_file(tmp_path: Path, text: str = QUICK_TEXT, name: str = "s.yaml") -> Path:
    return write(tmp_path / name, text)


def issues(path: Path, *overrides: str) -> list[Issue]:
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path, overrides)
    return exc.value.issues


def issues_of_mapping(raw: dict[str, Any], *overrides: str) -> list[Issue]:
    with pytest.raises(ScenarioError) as exc:
        scenario_from_mapping(raw, overrides=overrides, base_dir=SCENARIOS)
    return exc.value.issues


def one_issue(found: list[Issue], path: str) -> Issue:
    matching = [issue for issue in found if issue.path == path]
    assert len(matching) == 1, found
    return matching[0]


def dcsim(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sim", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )


def assert_bad_input(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


# --------------------------------------------------------------------------- 1. file encoding


def test_non_utf8_scenario_file_is_a_scenario_error(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_bytes(b"name: caf\xe9\n" + bytes(range(128, 256)))
    (issue,) = issues(path)
    assert issue.path == ""
    assert issue.message.startswith("not UTF-8 text (byte 0xe9 at offset 9)")


def test_validate_reports_a_binary_file_and_goes_on(tmp_path: Path) -> None:
    garbage = tmp_path / "g.yaml"
    garbage.write_bytes(bytes(range(256)) * 8)
    result = dcsim("validate", garbage, QUICK, cwd=tmp_path)
    assert_bad_input(result, f"{garbage}: 1 problem", "not UTF-8 text")
    assert f"{QUICK}: ok" in result.stdout


# --------------------------------------------------------------------------- 2. impossible dates


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2024-02-30T00:00:00Z", "day value is outside expected range"),
        ("2024-13-01T00:00:00Z", "month value is outside expected range of 1-12"),
        ("2024-02-30", "day value is outside expected range"),
    ],
)
def test_impossible_date_in_a_file_names_the_field(tmp_path: Path, text: str, reason: str) -> None:
    path = quick_file(tmp_path, QUICK_TEXT.replace("2024-04-30T00:00:00Z", text))
    issue = one_issue(issues(path), "end_utc")
    assert issue.message == (
        f"not a valid date/time ({reason}), e.g. 2024-01-01T00:00:00Z (got '{text}')"
    )


def test_impossible_date_by_override_and_in_a_list(tmp_path: Path) -> None:
    found = issues(
        QUICK,
        "end_utc=2024-02-30T00:00:00Z",
        "bitcoin.fees.schedule=[{from_utc: 2024-13-01, btc_per_block: 1}]",
    )
    assert "(got '2024-02-30T00:00:00Z')" in one_issue(found, "end_utc").message
    nested = one_issue(found, "bitcoin.fees.schedule[0].from_utc")
    assert nested.message.startswith("not a valid date/time (month value")


def test_impossible_date_by_cli_override_is_exit_2(tmp_path: Path) -> None:
    result = dcsim(
        "run", QUICK, "--set", "end_utc=2024-02-30T00:00:00Z", "--out", tmp_path / "o", cwd=tmp_path
    )
    assert_bad_input(result, "end_utc: not a valid date/time", "(got '2024-02-30T00:00:00Z')")
    assert not (tmp_path / "o").exists()


def test_a_number_is_not_a_date(tmp_path: Path) -> None:
    # pydantic alone reads 2025 as Unix seconds: 1970-01-01T00:33:45Z
    found = issues(QUICK, "end_utc=2025")
    assert one_issue(found, "end_utc").message.startswith("Value error, a number is not a date")


def test_time_beyond_year_9999_in_utc_is_an_issue() -> None:
    found = issues(QUICK, "end_utc=9999-12-31T23:00:00-05:00")
    assert one_issue(found, "end_utc").message == (
        "Value error, is outside the years 1–9999 in UTC (got 9999-12-31T23:00:00-05:00)"
    )


# --------------------------------------------------------------------------- 3. YAML


@pytest.mark.parametrize(
    ("old", "new", "key", "next_line"),
    [
        ("seed: 7\n", "seed: 7\nseed: 8\n", "seed", True),
        ("  grid_capacity_kw: 12000\n", "  grid_capacity_kw: 12000\n  grid_capacity_kw: 1\n",
         "grid_capacity_kw", True),
        ("{model: Antminer S21, count: 3000}", "{model: Antminer S21, count: 3000, count: 1}",
         "count", False),
    ],
)  # fmt: skip
def test_duplicate_key_names_the_key_and_line(
    tmp_path: Path, old: str, new: str, key: str, next_line: bool
) -> None:
    first = QUICK_TEXT[: QUICK_TEXT.index(old)].count("\n") + 1
    (issue,) = issues(quick_file(tmp_path, QUICK_TEXT.replace(old, new)))
    assert issue.message.startswith(f"not valid YAML: line {first + next_line}, column ")
    assert issue.message.endswith(f"duplicate key '{key}' (first given at line {first})")


def test_duplicate_key_is_an_error_but_merge_keys_may_override() -> None:
    with pytest.raises(yaml.YAMLError, match="duplicate key 'a'"):
        parse_yaml("x: {a: 1, a: 2}")
    assert parse_yaml("base: &b {a: 1, b: 2}\nother:\n  <<: *b\n  a: 3\n")["other"] == {
        "a": 3,
        "b": 2,
    }


def test_duplicate_key_in_an_override_value() -> None:
    (issue,) = issues(QUICK, "site={grid_capacity_kw: 1, grid_capacity_kw: 2}")
    assert issue.path == "site"
    assert "duplicate key 'grid_capacity_kw'" in issue.message


def test_value_its_tag_cannot_hold_is_a_yaml_error(tmp_path: Path) -> None:
    (issue,) = issues(quick_file(tmp_path, QUICK_TEXT.replace("seed: 7", "seed: !!int seven")))
    assert issue.message.startswith("not valid YAML: line 6, column 7: cannot read 'seven'")


# --------------------------------------------------------------------------- 4. non-finite


@pytest.mark.parametrize(
    ("assignment", "path"),
    [
        ("site.energy.price_usd_per_mwh=.inf", "site.energy.price_usd_per_mwh"),
        ("bitcoin.price.start_usd=.inf", "bitcoin.price.start_usd"),
        ("ai.job_classes[0].duration.mean_s=.inf", "ai.job_classes[0].duration.mean_s"),
        ("ai.job_classes[0].arrivals_per_hour=.inf", "ai.job_classes[0].arrivals_per_hour"),
        ("site.grid_capacity_kw=.inf", "site.grid_capacity_kw"),
        ("bitcoin.network_hashrate.start_ehs=.inf", "bitcoin.network_hashrate.start_ehs"),
        ("ai.job_classes[1].checkpoint_interval_s=.inf", "ai.job_classes[1].checkpoint_interval_s"),
        ("bitcoin.fees.btc_per_block=.nan", "bitcoin.fees.btc_per_block"),
        ("site.energy.price_floor_usd_per_mwh=-.inf", "site.energy.price_floor_usd_per_mwh"),
        ("site.energy.price_usd_per_mwh=1e400", "site.energy.price_usd_per_mwh"),  # a string
        (
            "ai.job_classes[0].duration={distribution: empirical, values_s: [60, .inf]}",
            "ai.job_classes[0].duration.values_s[1]",
        ),
        (
            "site.energy.diurnal_profile="
            + str([1.0] * 23 + [float("nan")]).replace("nan", ".nan"),
            "site.energy.diurnal_profile[23]",
        ),
        ("ai.job_classes[0].gpus.weights=[1, 1, .inf, 1]", "ai.job_classes[0].gpus.weights[2]"),
    ],
)
def test_non_finite_numbers_are_rejected(assignment: str, path: str) -> None:
    issue = one_issue(issues(QUICK, assignment), path)
    assert issue.message.startswith("Input should be a finite number")


@pytest.mark.parametrize("field", ["heat_rejection_kw", "cooling_kw_per_kw", "setpoint_c"])
def test_non_finite_hall_fields_are_rejected(field: str) -> None:
    hall = {"name": "A", "heat_rejection_kw": 20_000, field: float("inf")}
    raw = quick_raw()
    raw["site"]["halls"] = [hall]
    raw["mining"]["groups"][0]["hall"] = "A"
    raw["ai"]["groups"][0]["hall"] = "A"
    issue = one_issue(issues_of_mapping(raw), f"site.halls[0].{field}")
    assert issue.message == "Input should be a finite number (got inf)"


def test_infinite_energy_price_is_exit_2_not_a_free_run(tmp_path: Path) -> None:
    result = dcsim(
        "run", QUICK, "--set", "site.energy.price_usd_per_mwh=.inf", "--out", tmp_path / "o",
        cwd=tmp_path,
    )  # fmt: skip
    assert_bad_input(result, "site.energy.price_usd_per_mwh: Input should be a finite number")


# --------------------------------------------------------------------------- 5. booleans


@pytest.mark.parametrize(
    ("assignment", "path"),
    [
        ("mining.groups[0].count=true", "mining.groups[0].count"),
        ("ai.job_classes[0].arrivals_per_hour=true", "ai.job_classes[0].arrivals_per_hour"),
        ("seed=false", "seed"),
        ("ai.job_classes[1].gpus.values=[16, true]", "ai.job_classes[1].gpus.values[1]"),
        ("bitcoin.network_hashrate.start_ehs=true", "bitcoin.network_hashrate.start_ehs"),
        ("site.grid_programs.four_cp={months: [6, true]}", "site.grid_programs.four_cp.months[1]"),
    ],
)
def test_a_boolean_is_not_a_number(assignment: str, path: str) -> None:
    issue = one_issue(issues(QUICK, assignment), path)
    assert issue.message.startswith("must be a number, not a boolean (got ")


def test_boolean_in_a_file_names_the_field(tmp_path: Path) -> None:
    text = QUICK_TEXT.replace("count: 3000", "count: true")
    issue = one_issue(issues(quick_file(tmp_path, text)), "mining.groups[0].count")
    assert issue.message == "must be a number, not a boolean (got true)"


def test_chilled_takes_booleans_and_its_defaults_follow_the_value() -> None:
    # pydantic reads the string "no" as false: the defaults must follow the same reading
    for chilled, setpoint_c in (("true", 24.0), ("'no'", 15.0), ("'yes'", 24.0)):
        halls = f"site.halls=[{{name: A, chilled: {chilled}, heat_rejection_kw: 20000}}]"
        scenario = load_scenario(QUICK, [halls, "mining.groups[0].hall=A", "ai.groups[0].hall=A"])
        assert scenario.site.halls[0].chilled is (setpoint_c == 24.0)
        assert scenario.site.halls[0].setpoint_c == setpoint_c, chilled


# --------------------------------------------------------------------------- 6. seeds and sizes


def test_seed_beyond_64_bits_is_rejected_at_load(tmp_path: Path) -> None:
    path = quick_file(tmp_path, QUICK_TEXT.replace("seed: 7", f"seed: {2**64}"))
    issue = one_issue(issues(path), "seed")
    assert issue.message == f"must lie within ±{INT64_MAX} (a 64-bit integer) (got {2**64})"
    result = dcsim("validate", path, cwd=tmp_path)
    assert_bad_input(result, "seed: must lie within")


def test_seeds_end_at_2_pow_63_minus_1_which_runs() -> None:
    issue = one_issue(issues(QUICK, f"seed={2**63}"), "seed")
    assert issue.message.startswith(f"must lie within ±{INT64_MAX}")
    result = run_one(load_scenario(QUICK, [SHORT, f"seed={INT64_MAX}"]))
    assert int(result.summary["seed"].iloc[0]) == INT64_MAX


@pytest.mark.parametrize("seed", [2**63, 2**64, -1, True])
def test_run_one_checks_its_seed_argument_like_the_field(seed: int) -> None:
    """run_one(scenario, seed) copies the scenario without validation: the seed is checked."""
    with pytest.raises(ScenarioError) as caught:
        run_one(load_scenario(QUICK, [SHORT]), seed=seed)
    (issue,) = caught.value.issues
    assert issue.path == "seed"


@pytest.mark.parametrize(
    ("assignment", "path", "fragment"),
    [
        (f"mining.groups[0].count={10**30}", "mining.groups[0].count", "64-bit integer"),
        (f"ai.groups[0].nodes={10**7}", "ai.groups[0].nodes", "less than or equal to 1000000"),
        ("bitcoin.start_height=10000000000", "bitcoin.start_height", "less than or equal to"),
        (
            "bitcoin.fees.spikes[0].start_height=10000000000",
            "bitcoin.fees.spikes[0].start_height",
            "less than or equal to 1000000000",
        ),
        (
            "ai.job_classes[0].arrivals_per_hour=1e300",
            "ai.job_classes[0].arrivals_per_hour",
            "less than or equal to 100000",
        ),
        ("site.energy.spike_rate_per_year=1e12", "site.energy.spike_rate_per_year", "8760"),
        ("site.energy.spike_mean_duration_h=1e12", "site.energy.spike_mean_duration_h", "8760"),
        ("ai.sla_period_days=1e-300", "ai.sla_period_days", "greater than or equal to 1"),
    ],
)
def test_sizes_that_would_crash_the_run_are_rejected(
    assignment: str, path: str, fragment: str
) -> None:
    # a grid and network big enough that only the field itself is wrong
    big = ("site.grid_capacity_kw=1e40", "bitcoin.network_hashrate.start_ehs=1e40")
    issue = one_issue(issues(QUICK, *big, assignment), path)
    assert fragment in issue.message


# --------------------------------------------------------------------------- 7. all at once


def test_failed_group_does_not_hide_an_unknown_model_in_its_sibling() -> None:
    groups = "mining.groups=[{model: Antminer S21, count: 10, colour: red}, {model: S9, count: 5}]"
    found = issues(QUICK, groups)
    assert [issue.path for issue in found] == ["mining.groups[0].colour", "mining.groups[1].model"]
    assert found[1].message.startswith("unknown model 'S9'; known models: ")
    # an integer key is not a list index: nothing to leave out
    assert issues(QUICK, "mining={5: x}") == [Issue("mining[5]", "Keys should be strings (got 5)")]


def test_failed_gpu_group_does_not_hide_an_unknown_node_type() -> None:
    groups = "ai.groups=[{node_type: HGX H100 8-GPU, nodes: 0}, {name: b, node_type: X, nodes: 1}]"
    found = issues(QUICK, groups)
    assert [issue.path for issue in found] == ["ai.groups[0].nodes", "ai.groups[1].node_type"]


def test_indices_after_a_failed_item_are_those_of_the_file() -> None:
    groups = (
        "mining.groups=[{model: Antminer S21, count: -1}, {model: Antminer S21, count: x}, "
        "{model: Antminer S21, count: 1, hall: A}, {model: S9, count: 1}]"
    )
    found = issues(QUICK, groups)
    assert [issue.path for issue in found] == [
        "mining.groups[0].count",
        "mining.groups[1].count",
        "mining.groups[3].model",
        "mining.groups[2].hall",
    ]
    assert found[3].message == "names a hall but site.halls is empty"


def test_reference_to_a_list_with_a_failed_item_is_not_guessed() -> None:
    # the failed hall could be the one named: no "unknown hall" for the groups
    halls = "site.halls=[{name: A, heat_rejection_kw: -1}]"
    groups = "mining.groups=[{model: Antminer S21, count: x}, {model: S9, count: 1, hall: A}]"
    found = issues(QUICK, halls, groups, "ai.groups[0].hall=A")
    assert [issue.path for issue in found] == [
        "site.halls[0].heat_rejection_kw",
        "mining.groups[0].count",
        "mining.groups[1].model",
    ]


# --------------------------------------------------------------------------- 8-9. input CSVs


def csv_scenario(tmp_path: Path, section: str, csv: bytes | str) -> dict[str, Any]:
    """quick.yaml with one input replayed from ``tmp_path / in.csv``."""
    path = tmp_path / "in.csv"
    path.write_bytes(csv if isinstance(csv, bytes) else csv.encode("utf-8"))
    raw = quick_raw()
    if section == "ai.trace":
        raw["ai"]["trace"] = {"csv_path": str(path), "job_class": "inference"}
        return raw
    head, _, name = section.rpartition(".")
    node = raw
    for key in head.split("."):
        node = node.setdefault(key, {})
    node[name] = {"model": "csv", "csv_path": str(path)}
    return raw


SERIES = {
    "bitcoin.price": "date,btc_price_usd\n2024-01-01,{}\n",
    "bitcoin.network_hashrate": "date,network_hashrate_ehs\n2024-01-01,{}\n",
    "site.energy": "date,price_usd_per_mwh\n2024-01-01,{}\n",
    "site.ambient": "timestamp_utc,ambient_temp_c\n2024-01-01T00:00:00Z,{}\n",
    "ai.trace": "submit_time_s,gpus,duration_s\n0,1,{}\n",
}


@pytest.mark.parametrize("section", list(SERIES))
def test_non_utf8_csv_names_the_file_and_field(tmp_path: Path, section: str) -> None:
    raw = csv_scenario(tmp_path, section, SERIES[section].format("600").encode() + b"\xff\xfe\n")
    issue = one_issue(issues_of_mapping(raw), f"{section}.csv_path")
    assert issue.message.startswith(f"{tmp_path / 'in.csv'} is not UTF-8 text (byte 0xff")


@pytest.mark.parametrize("section", [s for s in SERIES if s != "ai.trace"])
def test_impossible_date_in_a_csv_names_file_and_line(tmp_path: Path, section: str) -> None:
    good = SERIES[section].format("20")
    text = good + good.splitlines()[1].replace("2024-01-01", "2024-02-30") + "\n"
    issue = one_issue(
        issues_of_mapping(csv_scenario(tmp_path, section, text)), f"{section}.csv_path"
    )
    assert issue.message.startswith(f"{tmp_path / 'in.csv'} line 3: ")
    assert "is not a valid date/time" in issue.message
    assert "(day is out of range for month; got '2024-02-30" in issue.message


@pytest.mark.parametrize("section", list(SERIES))
def test_csv_saved_with_a_byte_order_mark_reads(tmp_path: Path, section: str) -> None:
    # spreadsheets save "CSV UTF-8" with a BOM, which would glue onto the first column name
    csv = b"\xef\xbb\xbf" + SERIES[section].format("20").encode()
    scenario_from_mapping(csv_scenario(tmp_path, section, csv), base_dir=SCENARIOS)


def test_csv_row_missing_its_time_names_the_line(tmp_path: Path) -> None:
    raw = csv_scenario(tmp_path, "site.energy", "price_usd_per_mwh,date\n40,2024-01-01\n41\n")
    issue = one_issue(issues_of_mapping(raw), "site.energy.csv_path")
    assert issue.message.startswith(f"{tmp_path / 'in.csv'} line 3: date is not a valid date/time")


@pytest.mark.parametrize("value", ["-400", "9999", "60.5"])
def test_ambient_csv_outside_earth_temperatures(tmp_path: Path, value: str) -> None:
    text = "timestamp_utc,ambient_temp_c\n2024-01-01T00:00:00Z,-90\n2024-03-10T00:00:00Z,{}\n"
    scenario_from_mapping(csv_scenario(tmp_path, "site.ambient", text.format(60)))  # the limits
    raw = csv_scenario(tmp_path, "site.ambient", text.format(value))
    issue = one_issue(issues_of_mapping(raw), "site.ambient.csv_path")
    assert issue.message == (
        f"{tmp_path / 'in.csv'} line 3: ambient_temp_c must be between -90 and 60 (got {value})"
    )


def test_network_hashrate_csv_must_stay_above_the_site(tmp_path: Path) -> None:
    # the site hashes 0.6 EH/s (3,000 S21); rows before and after the run do not matter
    outside = "date,network_hashrate_ehs\n2023-01-01,0.1\n2024-02-01,600\n2024-06-01,0.1\n"
    scenario_from_mapping(csv_scenario(tmp_path, "bitcoin.network_hashrate", outside))
    text = "date,network_hashrate_ehs\n2024-01-01,600\n2024-03-15,1e-9\n2024-04-01,600\n"
    raw = csv_scenario(tmp_path, "bitcoin.network_hashrate", text)
    issue = one_issue(issues_of_mapping(raw), "bitcoin.network_hashrate.csv_path")
    assert issue.message == (
        f"{tmp_path / 'in.csv'} line 3: network_hashrate_ehs must stay above the site's "
        "installed 0.60 EH/s throughout the run (got 1e-09)"
    )


@pytest.mark.parametrize("row", ["0,1,inf", "inf,1,60", "0,100000000000000000000000,60"])
def test_trace_rows_must_be_finite_and_fit(tmp_path: Path, row: str) -> None:
    raw = csv_scenario(tmp_path, "ai.trace", f"submit_time_s,gpus,duration_s\n{row}\n")
    issue = one_issue(issues_of_mapping(raw), "ai.trace.csv_path")
    assert issue.message.startswith(f"{tmp_path / 'in.csv'} line 2: need finite submit_time_s")


# --------------------------------------------------------------------------- 10. other values


@pytest.mark.parametrize(
    ("assignment", "path", "message"),
    [
        ("name=", "name", "Input should be a valid string (got null)"),
        ("site.halls=[{name: A, cooling: [air], heat_rejection_kw: 1}]", "site.halls[0].cooling",
         "Input should be 'air', 'hydro' or 'immersion' (got ['air'])"),
        ("site.halls=[{name: A, cooling: {a: 1}, heat_rejection_kw: 1}]", "site.halls[0].cooling",
         "Input should be 'air', 'hydro' or 'immersion' (got {'a': 1})"),
    ],
)  # fmt: skip
def test_other_wrong_values(assignment: str, path: str, message: str) -> None:
    assert one_issue(issues(QUICK, assignment), path).message == message


@pytest.mark.parametrize(
    ("text", "got"),
    [("", "an empty file"), ("# a comment\n", "an empty file"), ("- a\n", "a list")],
)
def test_file_that_is_not_a_mapping_says_what_it_is(tmp_path: Path, text: str, got: str) -> None:
    (issue,) = issues(quick_file(tmp_path, text))
    assert issue.message == (
        f"top level must be a mapping of fields, e.g. 'name: my-site' (got {got})"
    )


def test_relative_csv_path_with_a_nul_byte(tmp_path: Path) -> None:
    text = QUICK_TEXT.replace(
        "price: {start_usd: 62000, volatility_per_year: 0.5}",
        'price: {model: csv, csv_path: "a\\0b.csv"}',
    )
    issue = one_issue(issues(quick_file(tmp_path, text)), "bitcoin.price.csv_path")
    assert issue.message == f"cannot read '{tmp_path}/a\\x00b.csv': embedded null byte"


# --------------------------------------------------------------------------- 11. economic network

ECONOMIC = "bitcoin.network_hashrate.model=economic"
ECON = "bitcoin.network_hashrate.economic"
# the cohorts list written out, so that its items can be overridden
ONE_COHORT = f"{ECON}.cohorts=[{{name: a, efficiency_j_per_th: 20, hashrate_fraction: 1}}]"
# every number of the economic section: (field, a value above its range)
ECONOMIC_NUMBERS = [
    ("power_cost_median_usd_per_mwh", "1e6"),
    ("power_cost_sigma", "1e6"),
    ("capex_usd_per_th", "1e9"),
    ("payback_days", "1e9"),
    ("entry_rate_per_year", "1e9"),
    ("lag_days", "1e9"),
    ("best_efficiency_j_per_th", "1e9"),
    ("efficiency_gain_per_year", "1"),
    ("retirement_per_year", "1e9"),
    ("vintage_days", "1e9"),
    ("entry_noise_sigma", "1e6"),
    ("cohorts[0].efficiency_j_per_th", "1e9"),
    ("cohorts[0].hashrate_fraction", "2"),
]


@pytest.mark.parametrize("field", [field for field, _ in ECONOMIC_NUMBERS])
@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (".inf", "finite number"),
        (".nan", "finite number"),
        ("-1", "greater than"),
        ("true", "not a boolean"),
        ("''", "valid number"),
        ("[1]", "valid number"),
    ],
)
def test_economic_network_numbers_must_be_finite_numbers_in_range(
    field: str, value: str, fragment: str
) -> None:
    found = issues(QUICK, ECONOMIC, ONE_COHORT, f"{ECON}.{field}={value}")
    issue = one_issue(found, f"{ECON}.{field}")
    assert fragment in issue.message, issue.message


@pytest.mark.parametrize(("field", "huge"), ECONOMIC_NUMBERS)
def test_economic_network_numbers_have_upper_bounds(field: str, huge: str) -> None:
    issue = one_issue(
        issues(QUICK, ECONOMIC, ONE_COHORT, f"{ECON}.{field}={huge}"), f"{ECON}.{field}"
    )
    assert "less than" in issue.message, issue.message


@pytest.mark.parametrize(
    ("assignment", "path", "fragment"),
    [
        (f"{ECON}.cohorts=[]", f"{ECON}.cohorts", "at least 1 item"),
        (
            f"{ECON}.cohorts=[{{name: a, efficiency_j_per_th: 20, hashrate_fraction: 0.5}}]",
            f"{ECON}.cohorts",
            "must add up to 1 (got 0.5)",
        ),
        (
            f"{ECON}.cohorts=[{{name: a, efficiency_j_per_th: 20, hashrate_fraction: 0.5}}, "
            "{name: a, efficiency_j_per_th: 30, hashrate_fraction: 0.5}]",
            f"{ECON}.cohorts",
            "names a more than once",
        ),
        (f"{ECON}.cohorts[0].name=''", f"{ECON}.cohorts[0].name", "should match pattern"),
        (f"{ECON}.cohorts[0].color=red", f"{ECON}.cohorts[0].color", "allowed: name, eff"),
        (f"{ECON}.power_cost_sigma=''", f"{ECON}.power_cost_sigma", "valid number"),
        ("bitcoin.network_hashrate.model=market", "bitcoin.network_hashrate.model", "economic"),
        (
            "bitcoin.network_hashrate.halving_drop_fraction=0.1",
            "bitcoin.network_hashrate.halving_drop_fraction",
            "must be 0 with model economic",
        ),
        (
            "bitcoin.network_hashrate.update_interval_s=600",
            "bitcoin.network_hashrate.update_interval_s",
            "must be 3600 with model economic (got 600)",
        ),
    ],
)
def test_economic_network_structure_and_cross_checks(
    assignment: str, path: str, fragment: str
) -> None:
    issue = one_issue(issues(QUICK, ECONOMIC, ONE_COHORT, assignment), path)
    assert fragment in issue.message, issue.message


def test_economic_network_bad_field_is_exit_2(tmp_path: Path) -> None:
    result = dcsim(
        "run", QUICK, "--set", ECONOMIC, "--set", f"{ECON}.lag_days=.nan",
        "--out", tmp_path / "o", cwd=tmp_path,
    )  # fmt: skip
    assert_bad_input(result, f"{ECON}.lag_days: Input should be a finite number")


def test_economic_network_that_cannot_run_at_start_names_the_cohorts() -> None:
    """Every miner's power cost above the start hashprice (σ = 0): a clear model error."""
    scenario = load_scenario(
        QUICK, [ECONOMIC, f"{ECON}.power_cost_sigma=0", f"{ECON}.power_cost_median_usd_per_mwh=900"]
    )
    with pytest.raises(SimulationError, match="no cohort of bitcoin.network_hashrate.economic"):
        run_one(scenario)


# --------------------------------------------------------------------------- faults


@pytest.mark.parametrize(
    ("assignment", "path", "fragment"),
    [
        ("site.grid_outages.rate_per_year=.inf", "site.grid_outages.rate_per_year", "finite"),
        (
            "site.grid_outages.rate_per_year=-1",
            "site.grid_outages.rate_per_year",
            "greater than or equal to 0",
        ),
        ("site.grid_outages.rate_per_year=1000000", "site.grid_outages.rate_per_year", "1000"),
        ("site.grid_outages.rate_per_year=true", "site.grid_outages.rate_per_year", "number"),
        ("site.grid_outages={}", "site.grid_outages.rate_per_year", "required"),
        (
            "site.grid_outages={rate_per_year: 1, duration: {mean_s: 0}}",
            "site.grid_outages.duration.mean_s",
            "greater than 0",
        ),
        (
            "site.grid_outages={rate_per_year: 1, duration: {mean_s: 1000000000}}",
            "site.grid_outages.duration.mean_s",
            "less than or equal to",
        ),
        (
            "site.grid_outages={rate_per_year: 1, duration: {mean_s: 60, distribution: weibull}}",
            "site.grid_outages.duration.distribution",
            "lognormal",
        ),
        (
            "site.repair_crew.technicians=0",
            "site.repair_crew.technicians",
            "greater than or equal to 1",
        ),
        ("site.repair_crew.technicians=1.5", "site.repair_crew.technicians", "integer"),
        (
            "site.repair_crew.repair_time.mean_s=.nan",
            "site.repair_crew.repair_time.mean_s",
            "finite",
        ),
        (
            "mining.groups[0].annual_failure_rate=-0.1",
            "mining.groups[0].annual_failure_rate",
            "greater than or equal",
        ),
        ("ai.groups[0].annual_failure_rate=.inf", "ai.groups[0].annual_failure_rate", "finite"),
        (
            "ai.groups[0].annual_failure_rate=500",
            "ai.groups[0].annual_failure_rate",
            "less than or equal to 100",
        ),
        ("ai.groups[0].annual_failure_rate=often", "ai.groups[0].annual_failure_rate", "number"),
        ("mining.groups[0].weibull_shape=0", "mining.groups[0].weibull_shape", "greater"),
        ("ai.groups[0].weibull_shape=.nan", "ai.groups[0].weibull_shape", "finite"),
        ("ai.groups[0].weibull_shape=50", "ai.groups[0].weibull_shape", "less than or equal"),
        ("mining.groups[0].age_at_start_days=-1", "mining.groups[0].age_at_start_days", "greater"),
        ("ai.groups[0].age_at_start_days=.inf", "ai.groups[0].age_at_start_days", "finite"),
        ("ai.groups[0].age_at_start_days=1e9", "ai.groups[0].age_at_start_days", "less than"),
        ("ai.groups[0].age_at_start_days=old", "ai.groups[0].age_at_start_days", "number"),
        ("mining.groups[0].spares={stock: -1}", "mining.groups[0].spares.stock", "greater"),
        ("mining.groups[0].spares={stock: 2.5}", "mining.groups[0].spares.stock", "integer"),
        ("mining.groups[0].spares={}", "mining.groups[0].spares.stock", "required"),
        (
            "ai.groups[0].spares={stock: 1, lead_time: {mean_s: .inf}}",
            "ai.groups[0].spares.lead_time.mean_s",
            "finite",
        ),
    ],
)
def test_bad_fault_fields_name_the_field(assignment: str, path: str, fragment: str) -> None:
    issue = one_issue(issues(QUICK, assignment), path)
    assert fragment in issue.message, issue


@pytest.mark.parametrize(
    ("failures", "field", "fragment"),
    [
        ({"rate_per_year": -1}, "rate_per_year", "greater than or equal to 0"),
        ({"rate_per_year": float("inf")}, "rate_per_year", "finite"),
        ({"rate_per_year": 1, "capacity_lost_fraction": 0}, "capacity_lost_fraction", "greater"),
        ({"rate_per_year": 1, "capacity_lost_fraction": 1.5}, "capacity_lost_fraction", "less"),
        ({"rate_per_year": 1, "duration": {"mean_s": -5}}, "duration.mean_s", "greater than 0"),
        ({}, "rate_per_year", "required"),
    ],
)
def test_bad_cooling_failures_name_the_hall_field(
    failures: dict[str, Any], field: str, fragment: str
) -> None:
    raw = quick_raw()
    raw["site"]["halls"] = [
        {"name": "A", "heat_rejection_kw": 20_000, "cooling_failures": failures}
    ]
    raw["mining"]["groups"][0]["hall"] = "A"
    raw["ai"]["groups"][0]["hall"] = "A"
    issue = one_issue(issues_of_mapping(raw), f"site.halls[0].cooling_failures.{field}")
    assert fragment in issue.message, issue


@pytest.mark.parametrize(
    ("backup", "field", "fragment"),
    [
        ({"ups_power_kw": -1}, "ups_power_kw", "greater than or equal to 0"),
        ({"ups_energy_kwh": float("nan")}, "ups_energy_kwh", "finite"),
        ({"generator_kw": "big"}, "generator_kw", "number"),
        ({"generator_start_delay_s": 7200}, "generator_start_delay_s", "less than or equal"),
        (
            {"generator_start_failure_probability": 1.5},
            "generator_start_failure_probability",
            "less than or equal to 1",
        ),
        ({"fuel_cost_usd_per_mwh": -300}, "fuel_cost_usd_per_mwh", "greater than or equal"),
        ({"diesel": True}, "diesel", "unknown field"),
    ],
)
def test_bad_backup_fields_name_the_hall_field(
    backup: dict[str, Any], field: str, fragment: str
) -> None:
    raw = quick_raw()
    raw["site"]["halls"] = [{"name": "A", "heat_rejection_kw": 20_000, "backup": backup}]
    raw["mining"]["groups"][0]["hall"] = "A"
    raw["ai"]["groups"][0]["hall"] = "A"
    issue = one_issue(issues_of_mapping(raw), f"site.halls[0].backup.{field}")
    assert fragment in issue.message, issue


def test_bad_fault_field_is_exit_2_without_a_traceback(tmp_path: Path) -> None:
    result = dcsim(
        "run",
        QUICK,
        "--out",
        tmp_path / "out",
        "--set",
        "site.repair_crew.technicians=-3",
        cwd=tmp_path,
    )
    assert_bad_input(result, "site.repair_crew.technicians")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("assignment", "path", "fragment"),
    [
        (
            "site.curtailment_orders=[{start_utc: 2024-03-02T00:00:00Z, "
            "end_utc: 2024-03-01T00:00:00Z, grid_share: 0.5}]",
            "site.curtailment_orders[0].end_utc",
            "must be after start_utc",
        ),
        (
            "site.curtailment_orders=[{start_utc: 2024-03-02T00:00:00Z, "
            "end_utc: 2024-03-03T00:00:00Z, grid_share: 0.5}, {start_utc: "
            "2024-03-02T12:00:00Z, end_utc: 2024-03-04T00:00:00Z, grid_share: 0.2}]",
            "site.curtailment_orders[1].start_utc",
            "time order and not overlap",
        ),
        (
            "site.curtailment_orders=[{start_utc: 2024-03-02T00:00:00Z, "
            "end_utc: 2024-03-03T00:00:00Z, grid_share: 1.5}]",
            "site.curtailment_orders[0].grid_share",
            "less than or equal to 1",
        ),
        (
            "site.curtailment_orders=[{start_utc: 2024-02-30T00:00:00Z, "
            "end_utc: 2024-03-03T00:00:00Z, grid_share: 0.5}]",
            "site.curtailment_orders[0].start_utc",
            "day",
        ),
    ],
)
def test_bad_curtailment_orders_name_the_field(assignment: str, path: str, fragment: str) -> None:
    issue = one_issue(issues(QUICK, assignment), path)
    assert fragment in issue.message, issue


def test_a_maintenance_window_that_ends_before_it_starts_names_the_hall_field() -> None:
    raw = quick_raw()
    window = {"start_utc": "2024-03-05T00:00:00Z", "end_utc": "2024-03-04T00:00:00Z"}
    raw["site"]["halls"] = [{"name": "A", "heat_rejection_kw": 20_000, "maintenance": [window]}]
    raw["mining"]["groups"][0]["hall"] = "A"
    raw["ai"]["groups"][0]["hall"] = "A"
    issue = one_issue(issues_of_mapping(raw), "site.halls[0].maintenance[0].end_utc")
    assert issue.message == "must be after start_utc"
