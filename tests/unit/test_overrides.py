"""Unit tests of ``--set`` overrides (``set_override``) and field paths (``format_path``)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from sim.errors import Issue, ScenarioError
from sim.scenario import scenario_from_mapping
from sim.scenario.loader import format_path, set_override
from sim.scenario.schema import EnergySpec


def raw() -> dict[str, Any]:
    return {
        "name": "t",
        "start_utc": "2024-01-01T00:00:00Z",
        "end_utc": "2024-01-05T00:00:00Z",
        "mining": {
            "payout": "fpps",
            "groups": [
                {"model": "Antminer S21", "count": 100},
                {"model": "Antminer S21 Pro", "count": 50},
            ],
        },
    }


# --------------------------------------------------------------------------- format_path


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        ((), ""),
        (("seed",), "seed"),
        (("site", "energy", "price_usd_per_mwh"), "site.energy.price_usd_per_mwh"),
        (("mining", "groups", 2, "count"), "mining.groups[2].count"),
        (("mining", "groups", 0), "mining.groups[0]"),
        (("asic_models", 1, "name"), "asic_models[1].name"),
        (("a", 0, 1, "b"), "a[0][1].b"),
        ((3, "x"), "[3].x"),
        (["bitcoin", "fees", "schedule", 10, "from_utc"], "bitcoin.fees.schedule[10].from_utc"),
    ],
)
def test_format_path(loc, expected: str) -> None:
    assert format_path(loc) == expected


def test_format_path_accepts_any_iterable() -> None:
    assert format_path(iter(["mining", "groups", 4])) == "mining.groups[4]"


# --------------------------------------------------------------------------- set_override: success


@pytest.mark.parametrize("assignment", ["mining.groups[1].count=7", "mining.groups.1.count=7"])
def test_list_index_both_syntaxes(assignment: str) -> None:
    data = raw()
    assert set_override(data, assignment) is None
    assert data["mining"]["groups"][1] == {"model": "Antminer S21 Pro", "count": 7}
    assert data["mining"]["groups"][0]["count"] == 100


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("5", 5),
        ("2.5", 2.5),
        ("solo", "solo"),
        ("'5'", "5"),
        ("null", None),
        ("true", True),
        ("[1, 2]", [1, 2]),
        ("{a: 1}", {"a": 1}),
        ("", None),
        ("a=b", "a=b"),  # only the first '=' separates path and value
        ("My group 1", "My group 1"),
        ("2024-01-01T00:00:00Z", datetime(2024, 1, 1, tzinfo=UTC)),
    ],
)
def test_value_is_parsed_as_yaml(text: str, value: Any) -> None:
    data = raw()
    assert set_override(data, f"description={text}") is None
    assert data["description"] == value
    assert type(data["description"]) is type(value)


def test_creates_missing_intermediate_mappings() -> None:
    data = raw()
    assert set_override(data, "site.energy.price_usd_per_mwh=55") is None
    assert data["site"] == {"energy": {"price_usd_per_mwh": 55}}


def test_replaces_a_whole_list_element_and_a_whole_list() -> None:
    data = raw()
    assert set_override(data, "mining.groups[0]={model: Whatsminer M60S, count: 3}") is None
    assert data["mining"]["groups"][0] == {"model": "Whatsminer M60S", "count": 3}
    assert set_override(data, "mining.groups=[]") is None
    assert data["mining"]["groups"] == []


def test_only_the_named_field_changes() -> None:
    data = raw()
    before = copy.deepcopy(data)
    assert set_override(data, "mining.payout=solo") is None
    before["mining"]["payout"] = "solo"
    assert data == before


# --------------------------------------------------------------------------- set_override: errors


@pytest.mark.parametrize(
    ("assignment", "issue"),
    [
        ("mining.groups[2].count=1", Issue("mining.groups[2]", "no list element 2 (list has 2)")),
        ("mining.groups.9.count=1", Issue("mining.groups[9]", "no list element 9 (list has 2)")),
        ("mining.groups[2]=1", Issue("mining.groups[2]", "no list element 2 (list has 2)")),
        ("mining[0]=1", Issue("mining[0]", "no list element 0 (list has 0)")),
        ("name.first=x", Issue("name.first", "parent is not a mapping")),
        (
            "mining.groups[0].count.x=1",
            Issue("mining.groups[0].count.x", "parent is not a mapping"),
        ),
        ("no_equals_sign", Issue("--set", "expected dotted.path=value, got 'no_equals_sign'")),
        ("=5", Issue("--set", "expected dotted.path=value, got '=5'")),
        ("a..b=1", Issue("a..b", "malformed path element ''")),
        ("a[x]=1", Issue("a[x]", "malformed path element 'a[x]'")),
        ("a[-1]=1", Issue("a[-1]", "malformed path element 'a[-1]'")),
        ("a[0][1]=1", Issue("a[0][1]", "malformed path element 'a[0][1]'")),
    ],
)
def test_bad_assignments_return_an_issue(assignment: str, issue: Issue) -> None:
    assert set_override(raw(), assignment) == issue


@pytest.mark.parametrize(
    "assignment",
    ["mining.groups[5].count=1", "name.first=x", "a[x]=1", "nothing", "name=[unclosed"],
)
def test_failed_assignment_leaves_existing_values_alone(assignment: str) -> None:
    data = raw()
    assert set_override(data, assignment) is not None
    assert data == raw()


def test_invalid_yaml_value_is_an_issue_at_the_path() -> None:
    issue = set_override(raw(), "mining.payout=[solo")
    assert issue is not None
    assert issue.path == "mining.payout"
    assert issue.message.startswith("value is not valid YAML")
    assert issue.message.endswith("(got '[solo')")


# --------------------------------------------------------------------------- through the loader


def load(*overrides: str):
    return scenario_from_mapping(raw(), source="<t>", overrides=overrides)


def test_overrides_reach_the_validated_scenario_and_do_not_touch_the_input() -> None:
    data = raw()
    scenario = scenario_from_mapping(
        data, overrides=["mining.groups.0.count=5", "mining.payout=solo", "seed=9"]
    )
    assert scenario.mining.groups[0].count == 5
    assert scenario.mining.payout == "solo"
    assert scenario.seed == 9
    assert data == raw()  # the caller's mapping is not modified


def test_later_override_wins() -> None:
    assert load("seed=1", "seed=2").seed == 2


def test_override_values_are_validated_like_file_values() -> None:
    with pytest.raises(ScenarioError) as exc:
        load("seed=abc", "mining.groups[0].count=-1", "site.grid_capacity_kw=0")
    paths = [issue.path for issue in exc.value.issues]
    assert paths == ["seed", "site.grid_capacity_kw", "mining.groups[0].count"]
    assert "'abc'" in exc.value.issues[0].message


def test_override_path_errors_and_validation_errors_are_reported_together() -> None:
    with pytest.raises(ScenarioError) as exc:
        load("mining.groups[7].count=1", "seed=-1", "mining.payout=pps")
    paths = sorted(issue.path for issue in exc.value.issues)
    assert paths == ["mining.groups[7]", "mining.payout", "seed"]
    assert exc.value.source == "<t>"


def test_unknown_nested_key_by_override_is_an_unknown_field() -> None:
    with pytest.raises(ScenarioError) as exc:
        load("site.energy.colour=red")
    (issue,) = exc.value.issues
    allowed = ", ".join(EnergySpec.model_fields)
    assert issue == Issue("site.energy.colour", f"unknown field; allowed: {allowed}")


def test_override_can_fix_an_invalid_file_value() -> None:
    data = raw()
    data["mining"]["groups"][0]["count"] = "many"
    scenario = scenario_from_mapping(data, overrides=["mining.groups[0].count=12"])
    assert scenario.mining.groups[0].count == 12


def test_naive_timestamp_override_is_utc() -> None:
    scenario = load("start_utc=2024-01-02T06:00:00", "end_utc=2024-01-03T01:00:00+01:00")
    assert scenario.start_utc == datetime(2024, 1, 2, 6, tzinfo=UTC)
    assert scenario.end_utc == datetime(2024, 1, 3, 0, tzinfo=UTC)
    assert scenario.start_utc.utcoffset().total_seconds() == 0
