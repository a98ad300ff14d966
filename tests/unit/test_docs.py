"""The docs match the code: every scenario field and output column is documented, the
generated reference files are current, and sources are cited as docs/sources.md#<id>."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from helpers import REPO

from sim.docgen import GENERATED
from sim.record.columns import TABLES
from sim.scenario.schema import Scenario

ROW = re.compile(r"^\| `([^`]+)` \|")


def schema_paths() -> tuple[set[str], set[str]]:
    """(leaf field paths, section paths) of the scenario, walked from pydantic's JSON schema,
    not from docgen: sections are models, lists of models, or either of them or null."""
    schema = Scenario.model_json_schema(mode="validation")
    defs = schema.get("$defs", {})

    def models(node: dict[str, Any], suffix: str = "") -> Iterator[tuple[dict[str, Any], str]]:
        while "$ref" in node:
            node = defs[node["$ref"].rsplit("/", 1)[1]]
        if "properties" in node:
            yield node, suffix
        for key in ("anyOf", "oneOf", "allOf"):
            for option in node.get(key, []):
                yield from models(option, suffix)
        if node.get("type") == "array" and "items" in node:
            yield from models(node["items"], "[]")

    leaves: set[str] = set()
    sections: set[str] = set()

    def walk(model: dict[str, Any], prefix: str) -> None:
        for name, field in model["properties"].items():
            found = list(models(field))
            (sections if found else leaves).add(prefix + name)
            for nested, suffix in found:
                walk(nested, f"{prefix}{name}{suffix}.")

    walk(schema, "")
    return leaves, sections


def documented_rows() -> dict[str, str]:
    """Field path → description cell of docs/scenario-reference.md's table."""
    text = (REPO / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(1)] = line.rstrip().removesuffix("|").rsplit(" | ", 1)[1].strip()
    return rows


def test_every_scenario_field_is_documented() -> None:
    leaves, sections = schema_paths()
    rows = documented_rows()
    missing = sorted(leaves - rows.keys())
    extra = sorted(rows.keys() - leaves - sections)
    assert not missing and not extra, f"undocumented: {missing}; documented but unknown: {extra}"
    assert not [path for path in leaves if not rows[path]], "fields without a description"


def test_every_output_column_is_documented() -> None:
    outputs = (REPO / "docs" / "outputs.md").read_text(encoding="utf-8")
    for table, columns in TABLES.items():
        assert f"## {table}" in outputs
        for column in columns:
            assert f"`{column}`" in outputs


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_doc_is_current(name: str) -> None:
    committed = (REPO / "docs" / name).read_text(encoding="utf-8")
    assert committed == GENERATED[name](), f"docs/{name} is stale: run python -m sim.docgen"


# The old name of the team's fact sheet, which users do not have; split so this file passes.
OLD_FACTS = re.compile(r"\b" + "REFER" + r"ENCE\b(?!\s*[=\[])")  # not a variable named so
CITED_ANCHOR = re.compile(r"sources\.md#([\w-]+)")


def tracked_texts() -> Iterator[tuple[str, str]]:
    files = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    for name in files:
        path = REPO / name
        if path.is_file():
            yield name, path.read_bytes().decode("utf-8", errors="replace")


def test_no_file_cites_the_internal_fact_sheet() -> None:
    hits = [
        f"{name}:{number}"
        for name, text in tracked_texts()
        for number, line in enumerate(text.splitlines(), 1)
        if OLD_FACTS.search(line)
    ]
    assert not hits, f"cite docs/sources.md#<id> instead: {hits}"


def test_every_cited_source_anchor_exists() -> None:
    sources = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="([\w-]+)"></a>', sources))
    cited = {
        (name, anchor) for name, text in tracked_texts() for anchor in CITED_ANCHOR.findall(text)
    }
    assert anchors, "docs/sources.md has no anchors"
    assert not [c for c in cited if c[1] not in anchors], "unknown docs/sources.md anchors"
