"""Unit tests of scenario loading: YAML files, validation, collected issues, UTC times."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import SCENARIOS, make_scenario
from pydantic import ValidationError

from sim import Scenario, ScenarioError, load_scenario
from sim.errors import Issue
from sim.scenario import scenario_from_mapping
from sim.scenario.schema import EnergySpec

TINY = """\
name: tiny
start_utc: 2024-01-01T00:00:00Z
end_utc: 2024-01-05T00:00:00Z
mining:
  groups:
    - {model: Antminer S21, count: 100}
"""


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def issues_of(text: str, tmp_path: Path) -> list[Issue]:
    path = write(tmp_path / "s.yaml", text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert exc.value.source == str(path)
    return exc.value.issues


# --------------------------------------------------------------------------- good files


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_scenarios_load(path: Path) -> None:
    scenario = load_scenario(path)
    assert isinstance(scenario, Scenario)
    assert scenario.end_utc > scenario.start_utc
    assert scenario.mining.groups or scenario.ai.groups  # every site has some hardware


def test_quick_scenario_values(tmp_path) -> None:
    scenario = load_scenario(SCENARIOS / "quick.yaml")
    assert scenario.name == "quick"
    assert scenario.seed == 7
    assert scenario.start_utc == datetime(2024, 3, 1, tzinfo=UTC)
    assert scenario.horizon_s == 60 * 86_400
    assert [(g.model, g.count) for g in scenario.mining.groups] == [("Antminer S21", 3000)]
    assert scenario.site.grid_capacity_kw == 12_000


def test_load_accepts_str_path_and_overrides(tmp_path) -> None:
    path = write(tmp_path / "tiny.yaml", TINY)
    scenario = load_scenario(str(path), ["mining.groups[0].count=3"])
    assert scenario.mining.groups[0].count == 3


def test_defaults_are_filled_in(tmp_path) -> None:
    scenario = load_scenario(write(tmp_path / "tiny.yaml", TINY))
    assert scenario.seed == 0
    assert scenario.description == ""
    assert scenario.mining.payout == "fpps"
    assert scenario.output.sample_interval_s == 3_600
    assert scenario.asic_models == []


def test_scenario_is_frozen(tmp_path) -> None:
    scenario = load_scenario(write(tmp_path / "tiny.yaml", TINY))
    with pytest.raises(ValidationError):
        scenario.seed = 3  # type: ignore[misc]


def test_make_scenario_helper_builds_a_valid_scenario() -> None:
    scenario = make_scenario(seed=4)
    assert scenario.seed == 4
    assert scenario.mining.groups[0].count == 1000


def test_user_defined_model_can_be_used_by_a_group(tmp_path) -> None:
    text = TINY.replace("Antminer S21", "Custom X") + (
        "asic_models:\n  - {name: Custom X, hashrate_ths: 150, power_w: 3000}\n"
    )
    scenario = load_scenario(write(tmp_path / "s.yaml", text))
    assert scenario.asic_models[0].name == "Custom X"
    assert scenario.asic_models[0].cooling == "air"


# --------------------------------------------------------------------------- timestamps


def test_naive_timestamps_in_a_file_are_utc(tmp_path) -> None:
    scenario = load_scenario(
        write(
            tmp_path / "s.yaml",
            """\
            name: naive
            start_utc: 2024-01-01T00:00:00
            end_utc: "2024-01-05T12:00:00"
            bitcoin:
              epoch_start_utc: 2023-12-23T07:06:00
              fees:
                schedule:
                  - {from_utc: 2024-01-03T00:00:00, btc_per_block: 0.1}
            mining:
              groups:
                - {model: Antminer S21, count: 100}
            """,
        )
    )
    assert scenario.start_utc == datetime(2024, 1, 1, tzinfo=UTC)
    assert scenario.end_utc == datetime(2024, 1, 5, 12, tzinfo=UTC)
    assert scenario.bitcoin.epoch_start_utc == datetime(2023, 12, 23, 7, 6, tzinfo=UTC)
    assert scenario.bitcoin.fees.schedule[0].from_utc == datetime(2024, 1, 3, tzinfo=UTC)
    for moment in (
        scenario.start_utc,
        scenario.end_utc,
        scenario.bitcoin.epoch_start_utc,
        scenario.bitcoin.fees.schedule[0].from_utc,
    ):
        assert moment.tzinfo is not None
        assert moment.utcoffset().total_seconds() == 0
    assert scenario.horizon_s == 4.5 * 86_400


def test_naive_and_explicit_utc_give_the_same_scenario(tmp_path) -> None:
    naive = load_scenario(write(tmp_path / "a.yaml", TINY.replace("00:00:00Z", "00:00:00")))
    aware = load_scenario(write(tmp_path / "b.yaml", TINY))
    assert naive == aware
    assert naive.model_dump(mode="json") == aware.model_dump(mode="json")


def test_offset_timestamps_are_converted_to_utc(tmp_path) -> None:
    text = TINY.replace("start_utc: 2024-01-01T00:00:00Z", "start_utc: 2024-01-01T02:00:00+02:00")
    scenario = load_scenario(write(tmp_path / "s.yaml", text))
    assert scenario.start_utc == datetime(2024, 1, 1, tzinfo=UTC)
    assert scenario.start_utc.utcoffset().total_seconds() == 0
    assert scenario.start_utc.hour == 0


def test_date_only_is_midnight_utc(tmp_path) -> None:
    text = TINY.replace("end_utc: 2024-01-05T00:00:00Z", "end_utc: 2024-01-05")
    scenario = load_scenario(write(tmp_path / "s.yaml", text))
    assert scenario.end_utc == datetime(2024, 1, 5, tzinfo=UTC)


def test_fractional_second_is_rejected(tmp_path) -> None:
    text = TINY.replace("start_utc: 2024-01-01T00:00:00Z", "start_utc: 2024-01-01T00:00:00.5Z")
    (issue,) = issues_of(text, tmp_path)
    assert issue.path == "start_utc"
    assert "whole second" in issue.message


# --------------------------------------------------------------------------- file-level errors


def test_missing_file(tmp_path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    assert exc.value.source == str(path)
    (issue,) = exc.value.issues
    assert issue.path == ""
    assert issue.message.startswith("cannot read file")
    assert exc.value.render() == f"{path}: 1 problem\n  - {issue.message}"


def test_directory_instead_of_file(tmp_path) -> None:
    (issue,) = pytest.raises(ScenarioError, load_scenario, tmp_path).value.issues
    assert issue.message.startswith("cannot read file")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: [unclosed\n", "not valid YAML"),
        ("name: t\n  seed: 1\n bad indent\n", "not valid YAML"),
        ("- a\n- b\n", "top level must be a mapping of fields"),
        ("42\n", "top level must be a mapping of fields"),
        ("", "top level must be a mapping of fields"),
        ("# only a comment\n", "top level must be a mapping of fields"),
    ],
)
def test_file_that_is_not_a_mapping(text: str, fragment: str, tmp_path) -> None:
    (issue,) = issues_of(text, tmp_path)
    assert issue.path == ""
    assert fragment in issue.message


# --------------------------------------------------------------------------- field errors


def test_unknown_top_level_key_lists_allowed_fields(tmp_path) -> None:
    (issue,) = issues_of(TINY + "colour: red\n", tmp_path)
    assert issue.path == "colour"
    assert issue.message == "unknown field; allowed: " + ", ".join(Scenario.model_fields)


@pytest.mark.parametrize(
    ("section", "path", "allowed"),
    [
        ("site: {energy: {colour: red}}", "site.energy.colour", ", ".join(EnergySpec.model_fields)),
        ("output: {colour: red}", "output.colour", "sample_interval_s, tables, format"),
        (
            "bitcoin: {fees: {schedule: [{from_utc: 2024-01-02T00:00:00Z, btc_per_block: 1, "
            "colour: red}]}}",
            "bitcoin.fees.schedule[0].colour",
            "from_utc, btc_per_block",
        ),
        (
            "asic_models: [{name: X, hashrate_ths: 1, power_w: 1, colour: red}]",
            "asic_models[0].colour",
            "name, hashrate_ths, power_w, cooling",
        ),
    ],
)
def test_unknown_nested_key_lists_the_fields_of_its_section(
    section: str, path: str, allowed: str, tmp_path
) -> None:
    (issue,) = issues_of(TINY + section + "\n", tmp_path)
    assert issue.path == path
    assert issue.message == f"unknown field; allowed: {allowed}"


def test_unknown_key_in_a_list_element(tmp_path) -> None:
    (issue,) = issues_of(TINY.replace("count: 100}", "count: 100, colour: red}"), tmp_path)
    assert issue == Issue(
        "mining.groups[0].colour",
        "unknown field; allowed: name, model, count, hall, annual_failure_rate, weibull_shape, "
        "age_at_start_days, spares",
    )


def test_missing_required_fields(tmp_path) -> None:
    issues = issues_of(TINY.replace("name: tiny\n", "").replace("count: 100", "x: 1"), tmp_path)
    assert {(i.path, i.message) for i in issues} >= {
        ("name", "is required"),
        ("mining.groups[0].count", "is required"),
    }


def test_wrong_type_names_the_value(tmp_path) -> None:
    (issue,) = issues_of(TINY.replace("count: 100", "count: many"), tmp_path)
    assert issue.path == "mining.groups[0].count"
    assert issue.message.endswith("(got 'many')")


def test_negative_power_of_an_unused_user_model(tmp_path) -> None:
    text = TINY + "asic_models:\n  - {name: Custom X, hashrate_ths: 100, power_w: -5}\n"
    (issue,) = issues_of(text, tmp_path)
    assert issue.path == "asic_models[0].power_w"
    assert "greater than 0" in issue.message


def test_invalid_user_model_used_by_a_group_is_reported_once(tmp_path) -> None:
    text = TINY.replace("Antminer S21", "Custom X") + (
        "asic_models:\n  - {name: Custom X, hashrate_ths: 100, power_w: -5}\n"
    )
    issues = issues_of(text, tmp_path)
    assert [issue.path for issue in issues] == ["asic_models[0].power_w"]


def test_unknown_model_lists_known_models_including_user_defined(tmp_path) -> None:
    text = TINY.replace("Antminer S21", "Antminer S9") + (
        "asic_models:\n  - {name: Custom X, hashrate_ths: 100, power_w: 3000}\n"
    )
    (issue,) = issues_of(text, tmp_path)
    assert issue.path == "mining.groups[0].model"
    assert issue.message.startswith("unknown model 'Antminer S9'; known models: ")
    known = issue.message.split("known models: ", 1)[1].split(", ")
    assert "Antminer S21" in known
    assert "Custom X" in known
    assert known == sorted(known)


def test_builtin_name_cannot_be_redefined(tmp_path) -> None:
    text = TINY + "asic_models:\n  - {name: Antminer S21, hashrate_ths: 999, power_w: 1}\n"
    (issue,) = issues_of(text, tmp_path)
    assert issue == Issue("asic_models[0].name", "'Antminer S21' is a built-in model")


@pytest.mark.parametrize("end", ["2023-12-31T00:00:00Z", "2024-01-01T00:00:00Z"])
def test_end_not_after_start(end: str, tmp_path) -> None:
    (issue,) = issues_of(TINY.replace("2024-01-05T00:00:00Z", end), tmp_path)
    assert issue.path == "end_utc"
    assert issue.message.startswith("must be after start_utc (2024-01-01T00:00:00+00:00)")


def test_power_above_grid_capacity(tmp_path) -> None:
    (issue,) = issues_of(TINY + "site: {grid_capacity_kw: 349.9}\n", tmp_path)
    assert issue.path == "site.grid_capacity_kw"
    assert "below the installed peak load: ASICs 350 kW + GPU nodes 0 kW" in issue.message


def test_power_exactly_at_grid_capacity_is_allowed(tmp_path) -> None:
    scenario = load_scenario(write(tmp_path / "s.yaml", TINY + "site: {grid_capacity_kw: 350}\n"))
    assert scenario.site.grid_capacity_kw == 350


def test_all_problems_are_collected(tmp_path) -> None:
    issues = issues_of(
        """\
        name: "bad name!"
        start_utc: 2024-01-05T00:00:00Z
        end_utc: 2024-01-01T00:00:00Z
        colour: red
        output: {sample_interval_s: 5}
        asic_models:
          - {name: Custom X, hashrate_ths: 0, power_w: -5}
        mining:
          payout: pps
          groups:
            - {model: Antminer S21, count: many}
        """,
        tmp_path,
    )
    paths = sorted(issue.path for issue in issues)
    assert paths == sorted(
        [
            "name",
            "colour",
            "output.sample_interval_s",
            "asic_models[0].hashrate_ths",
            "asic_models[0].power_w",
            "mining.payout",
            "mining.groups[0].count",
            "end_utc",
        ]
    )


def test_render_lists_every_issue_under_the_source() -> None:
    with pytest.raises(ScenarioError) as exc:
        scenario_from_mapping({"name": "t", "seed": -1, "colour": 1}, source="my.yaml")
    lines = exc.value.render().splitlines()
    assert lines[0] == "my.yaml: 2 problems"
    assert sorted(lines[1:]) == sorted(
        [
            "  - seed: Input should be greater than or equal to 0 (got -1)",
            "  - colour: unknown field; allowed: " + ", ".join(Scenario.model_fields),
        ]
    )
    assert str(exc.value) == exc.value.render()


# --------------------------------------------------------------------------- relative CSV paths


def test_relative_csv_path_is_relative_to_the_scenario_file(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "scen"
    folder.mkdir()
    write(folder / "prices.csv", "date,btc_price_usd\n2023-12-31,40000\n2024-01-03,41000\n")
    text = TINY + "bitcoin: {price: {model: csv, csv_path: prices.csv}}\n"
    path = write(folder / "s.yaml", text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    scenario = load_scenario(path)
    assert Path(scenario.bitcoin.price.csv_path) == (folder / "prices.csv").resolve()


def test_missing_csv_file_is_an_issue_at_its_path(tmp_path) -> None:
    text = TINY + "bitcoin: {price: {model: csv, csv_path: nowhere.csv}}\n"
    (issue,) = issues_of(text, tmp_path)
    assert issue.path == "bitcoin.price.csv_path"
    assert "cannot read" in issue.message
