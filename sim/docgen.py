"""Generate the reference docs from the code that defines them.

``docs/scenario-reference.md`` is rendered from the scenario schema and ``docs/outputs.md``
from the output column registry, so neither can drift from the code; the test suite checks
that the committed files are current. Regenerate with ``python -m sim.docgen``.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sim.record.columns import HALL_COLUMNS, PRECISIONS, TABLES, precision_kind
from sim.scenario.schema import Scenario

DOCS = Path(__file__).resolve().parents[1] / "docs"

_BOUNDS = (
    (annotated_types.Gt, "gt", ">"),
    (annotated_types.Ge, "ge", "≥"),
    (annotated_types.Lt, "lt", "<"),
    (annotated_types.Le, "le", "≤"),
)


def _model_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(nested model, is a list of it) for a field annotation.

    Looks through ``Annotated``, ``X | None`` and lists, so an optional section or a list of
    optional sections is documented like a required one.
    """
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_in(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        found = [_model_in(a) for a in typing.get_args(annotation) if a is not type(None)]
        models = [f for f in found if f[0] is not None]
        if len(models) > 1:
            raise TypeError(f"cannot document a union of several models: {annotation}")
        return models[0] if models else (None, False)
    if origin is list:
        inner, _ = _model_in(typing.get_args(annotation)[0])
        return inner, True
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    return None, False


def _type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{v}`" for v in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " \\| ".join(_type_text(a) for a in args) + " or null"
    if origin is typing.Annotated:
        return _type_text(typing.get_args(annotation)[0])
    if origin is list:
        return f"list of {_type_text(typing.get_args(annotation)[0])}"
    if annotation is datetime:
        return "UTC datetime"
    return getattr(annotation, "__name__", str(annotation))


def _constraints(field: FieldInfo) -> str:
    parts = []
    for meta in field.metadata:
        for kind, attr, symbol in _BOUNDS:
            if isinstance(meta, kind):
                bound = getattr(meta, attr)
                parts.append(
                    f"{symbol} {bound:,}" if isinstance(bound, int) else f"{symbol} {bound:g}"
                )
        pattern = getattr(meta, "pattern", None)
        if pattern:
            parts.append("letters, digits, `_ . - ` and spaces")
    return ", ".join(parts)


def _default_text(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, datetime):
        return f"`{value.isoformat().replace('+00:00', 'Z')}`"
    if value is None:
        return "`null`"
    if value == "":
        return '`""`'
    if isinstance(value, list):
        if len(set(map(str, value))) == 1 and len(value) > 3:
            return f"{len(value)} × `{value[0]}`"
        return f"`{value}`"
    if isinstance(value, float) and value.is_integer() and abs(value) >= 1e4:
        return f"`{int(value)}`"
    return f"`{value}`"


def scenario_fields(
    model: type[BaseModel] = Scenario, prefix: str = ""
) -> Iterator[tuple[str, str, str, str]]:
    """(path, type, default, description) for every field, depth first."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        nested, is_list = _model_in(field.annotation)
        if nested is not None:
            kind = f"list of {nested.__name__}" if is_list else nested.__name__
            if type(None) in typing.get_args(field.annotation):
                kind += " or null"
            doc = field.description or (nested.__doc__ or "").strip().splitlines()[0]
            yield path, kind, _default_text(field), doc
            yield from scenario_fields(nested, f"{path}[]." if is_list else f"{path}.")
            continue
        kind = _type_text(field.annotation)
        limits = _constraints(field)
        yield (
            path,
            kind + (f" ({limits})" if limits else ""),
            _default_text(field),
            (field.description or ""),
        )


def scenario_reference() -> str:
    """Markdown of every scenario field."""
    lines = [
        "# Scenario reference",
        "",
        "<!-- Generated by `python -m sim.docgen` from sim/scenario/schema.py; do not edit. -->",
        "",
        "A scenario is a YAML file. Unknown keys are errors; every field has the default shown.",
        "Units are in the field names (`_s` seconds, `_kw` kilowatts, `_usd` US dollars,",
        "`_ehs`/`_ths` EH/s and TH/s, `_btc` bitcoin, `_utc` UTC datetimes such as",
        "`2024-01-01T00:00:00Z`; a datetime without a zone is taken as UTC). `list[]` paths",
        "are the fields of each list element. Override any field on the command line with",
        "`--set path=value` (list elements as `groups[0].count` or `groups.0.count`); values",
        "are parsed as YAML and checked like file values. Relative `csv_path`s are relative to",
        "the scenario file.",
        "",
        "| field | type | default | description |",
        "|---|---|---|---|",
    ]
    for path, kind, default, doc in scenario_fields():
        lines.append(f"| `{path}` | {kind} | {default} | {doc} |")
    lines += [
        "",
        "## Cross-field rules",
        "",
        "- `end_utc` after `start_utc`; `bitcoin.epoch_start_utc` not after `start_utc`.",
        "- Every `mining.groups[].model` is a built-in model (`dcsim catalog`) or one of",
        "  `asic_models`; user model names are unique and do not redefine built-ins; group",
        "  names are unique.",
        "- Installed ASIC power (count × power_w) ≤ `site.grid_capacity_kw`; the site's",
        "  hashrate is below the network's at `start_utc`.",
        "- `bitcoin.fees.schedule` is in strictly increasing `from_utc` order.",
        "- `csv_path` is required with model `csv` (and only used then); the file must have the",
        "  documented columns, positive values, increasing times, and cover `start_utc`.",
        "",
    ]
    return "\n".join(lines)


TABLE_INTROS = {
    "timeseries.csv": "One row per `output.sample_interval_s` from `start_utc`; the last row "
    "may be shorter. Levels are time-weighted means over the row's interval, flows (energy, "
    "BTC, USD, blocks) are totals over it, chain state is taken at the row's start.",
    "daily.csv": "One row per UTC calendar day (the first and last may be partial); the same "
    "columns as timeseries.csv, computed exactly over each day, plus `date`.",
    "groups.csv": "One row per UTC day and hardware group (ASIC groups and GPU groups), "
    "computed exactly over each day, so halls can be compared; sorted by date, kind, group.",
    "blocks.csv": "Every network block found during the run, in height order.",
    "jobs.csv": "Every AI job submitted during the run, in submission order (empty without "
    "AI demand).",
    "events.csv": "Discrete events in time order. At equal times, rows fixed before the run "
    "(demand-response events, 4CP alerts) come before the grants that answer them.",
    "summary.csv": "One row of KPIs for the run.",
    "network.csv": "One row per UTC day and cohort of the economic network "
    "(`bitcoin.network_hashrate.model: economic`) that has machines by that day, sorted by date "
    "and cohort (start cohorts, then vintages); written only when `output.tables` lists "
    "`network`, and empty for the gbm and csv models. Computed exactly over each day.",
}


OUTPUTS_INTRO = """\
`dcsim run` writes the tables below into its output folder (default `outputs/<name>/`),
with `manifest.json`: the resolved scenario, the seed, the command, package versions, wall
time, events processed (SimPy's and the AI clock's), the named random streams the run drew
from, the row count of each file, `"complete": true`, and under `inputs` the path and
SHA-256 of each input file (price, hashrate, energy price, ambient, job trace). Input files
are read once, when the scenario is loaded; the run itself opens no file, so a loaded
scenario can be pickled and run in another process or on another machine.
`output.tables` (or `--tables daily,summary`) chooses the tables; `output.format: parquet`
(or `--format parquet`) writes `<table>.parquet` files with typed columns and
full-precision floats instead of CSV.

In CSV, timestamps are ISO 8601 UTC with whole seconds (`2024-04-20T00:09:27Z`) and dates
`YYYY-MM-DD`; units are in the column names. Numbers are written rounded (half to even) to
the precision in the last column of each table below, as the shortest text that reads back
as the same number (difficulty in fixed point), so the files are identical on every
platform; `run_one`'s DataFrames keep full precision, with every date and time column a UTC
datetime. The same scenario and seed give byte-identical files.

## The output folder

dcsim never deletes or overwrites a file it did not write:

- A run writes into a folder that does not exist yet (made with your umask), an empty
  folder, or the folder of an earlier dcsim run. There it replaces exactly the files the
  earlier `manifest.json` lists (removing those the new run does not write) and leaves
  everything else, such as a notebook or a plot you saved there, alone.
- Any other folder, a `manifest.json` dcsim did not write, or a file of yours named like one
  the run would write is refused with exit code 2, before anything is simulated. So is an
  `--out` that cannot be written (below a file, on a read-only file system).
- A run holds a lock file, `.<name>.lock` beside the folder, from before it simulates until
  its files are in place; a second run into the same folder meanwhile is refused with exit
  code 2.
- Files are staged in `.<name>.tmp-<hex>` beside the folder. A new folder appears by one
  rename; into an existing one, the manifest is first replaced by one marked
  `"complete": false` that lists the old and new files, then each file moves in, and the
  final manifest comes last. A failed or interrupted run (Ctrl-C, SIGTERM) removes its
  staging folder; one killed outright (SIGKILL, power loss) leaves it, and the next run into
  the same place removes it.
"""


def outputs_reference() -> str:
    """Markdown of every output column."""
    lines = [
        "# Outputs",
        "",
        "<!-- Generated by `python -m sim.docgen` from sim/record/columns.py; do not edit. -->",
        "",
        OUTPUTS_INTRO,
    ]

    def rows(columns: dict[str, str]) -> list[str]:
        written = {name: PRECISIONS[precision_kind(name)].doc for name in columns}
        lines = ["| column | meaning | written as |", "|---|---|---|"]
        return lines + [f"| `{name}` | {doc} | {written[name]} |" for name, doc in columns.items()]

    for table, columns in TABLES.items():
        lines += [f"## {table}", "", TABLE_INTROS[table], "", *rows(columns)]
        lines.append("")
        if table == "daily.csv":
            lines += [
                "## Hall columns (timeseries.csv and daily.csv)",
                "",
                "After the columns above, each hall of `site.halls` adds these, in scenario",
                "order, with `<hall>` replaced by its name.",
                "",
                *rows(HALL_COLUMNS),
            ]
            lines.append("")
    return "\n".join(lines)


GENERATED = {"scenario-reference.md": scenario_reference, "outputs.md": outputs_reference}


def main() -> None:
    """Write the generated docs."""
    for name, render in GENERATED.items():
        (DOCS / name).write_text(render(), encoding="utf-8")
        print(f"wrote docs/{name}")


if __name__ == "__main__":
    main()
