"""The reference docs are generated from the code; the committed copies must be current."""

from __future__ import annotations

import pytest
from helpers import REPO

from sim.docgen import GENERATED, scenario_fields
from sim.record.columns import TABLES


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_doc_is_current(name: str) -> None:
    committed = (REPO / "docs" / name).read_text(encoding="utf-8")
    assert committed == GENERATED[name](), f"docs/{name} is stale: run python -m sim.docgen"


def test_every_scenario_field_and_output_column_is_documented() -> None:
    reference = (REPO / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    for path, _, _, description in scenario_fields():
        assert f"`{path}`" in reference
        assert description, f"{path} has no description"
    outputs = (REPO / "docs" / "outputs.md").read_text(encoding="utf-8")
    for table, columns in TABLES.items():
        assert f"## {table}" in outputs
        for column in columns:
            assert f"`{column}`" in outputs
