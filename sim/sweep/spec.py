"""The sweep file: its schema (strict, like the scenario schema) and how it is read.

A sweep file names a base scenario, the variants to run it as (a grid of dotted scenario
paths, or a list of named variants), how many replications of each, the root seed and the
summary KPIs to keep. Problems are reported like a scenario file's: every one, with its
field path, in one :class:`~sim.errors.ScenarioError` (the CLI's exit 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.errors import Issue, ScenarioError
from sim.record.columns import SUMMARY_COLUMNS
from sim.scenario.fields import INT64_MAX, Name
from sim.scenario.loader import format_path, read_yaml_mapping

BASE_VARIANT = "base"
# summary columns that are not numbers (or are the run's identity), so nothing to average
NON_KPI_COLUMNS = frozenset(
    {"scenario", "seed", "start_utc", "end_utc", "payout", "first_halving_utc", "policy"}
)
KPI_COLUMNS = tuple(name for name in SUMMARY_COLUMNS if name not in NON_KPI_COLUMNS)
DEFAULT_KPIS = (
    "blocks_found",
    "site_blocks_found",
    "btc_mined",
    "mean_hashprice_usd_per_ph_day",
    "mining_revenue_usd",
    "mining_margin_usd",
    "curtailed_mwh",
    "gpu_utilization",
    "abandonment_rate",
    "ai_revenue_usd",
    "ai_margin_usd",
    "energy_mwh",
    "energy_cost_usd",
)
# a dotted scenario path as --set takes it: mining.groups[0].count
_KEY = r"[A-Za-z_][A-Za-z0-9_]*(\[\d+\])?"
DottedPath = Annotated[str, Field(pattern=rf"^{_KEY}(\.{_KEY})*$")]


class _Strict(BaseModel):
    """Unknown keys are errors; values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NamedVariant(_Strict):
    """One variant of a ``list``: a name and the scenario fields it sets."""

    name: Name = Field(description="Variant name (the runs.csv ``variant`` column).")
    overrides: dict[DottedPath, Any] = Field(
        alias="set",
        min_length=1,
        description="Dotted scenario path → value, e.g. site.energy.price_usd_per_mwh: 30.",
    )


class VariantsSpec(_Strict):
    """The variants: a ``grid`` (cartesian product) or a ``list`` of named variants."""

    grid: dict[DottedPath, Annotated[list[Any], Field(min_length=1)]] | None = Field(
        None,
        min_length=1,
        description="Dotted scenario path → values; every combination is a variant, named "
        "``path=value, path=value``.",
    )
    named: list[NamedVariant] | None = Field(
        None, alias="list", min_length=1, description="Named variants, each with its settings."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> VariantsSpec:
        if (self.grid is None) == (self.named is None):
            raise ValueError("give exactly one of 'grid' or 'list'")
        return self

    @model_validator(mode="after")
    def _no_seed(self) -> VariantsSpec:
        paths = [*(self.grid or {})] + [p for v in self.named or [] for p in v.overrides]
        if "seed" in paths:
            raise ValueError(
                "a variant may not set 'seed': each replication's seed comes from the "
                "sweep's root seed, the same in every variant (docs/sweeps.md)"
            )
        return self

    @field_validator("grid")
    @classmethod
    def _unique_values(cls, value: dict[str, list[Any]] | None) -> dict[str, list[Any]] | None:
        for path, values in (value or {}).items():
            shown = [repr(v) for v in values]
            twice = sorted({v for v in shown if shown.count(v) > 1})
            if twice:
                raise ValueError(f"{path}: values must be unique; repeated: {', '.join(twice)}")
        return value

    @field_validator("named")
    @classmethod
    def _unique_names(cls, value: list[NamedVariant] | None) -> list[NamedVariant] | None:
        names = [variant.name for variant in value or []]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"variant names must be unique; repeated: {', '.join(twice)}")
        return value


class SweepSpec(_Strict):
    """A validated sweep file."""

    name: Name = Field(description="Sweep name; default output folder outputs/<name>/.")
    description: str = Field("", description="Free text.")
    base: str = Field(description="Base scenario YAML file, relative to the sweep file.")
    include_base: bool = Field(
        True, description="Run the base scenario unchanged as the first variant, 'base'."
    )
    variants: VariantsSpec | None = Field(
        None, description="The variants; none: the base alone (replications of it)."
    )
    replications: int = Field(
        1, ge=1, le=1_000_000, description="Runs of each variant, one per seed."
    )
    seed: int = Field(
        0, ge=0, le=INT64_MAX, description="Root seed; replication r's seed derives from it."
    )
    kpis: list[str] = Field(
        default_factory=lambda: list(DEFAULT_KPIS),
        min_length=1,
        description="Summary columns kept per run and aggregated.",
    )

    @field_validator("kpis")
    @classmethod
    def _known_kpis(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in SUMMARY_COLUMNS]
        if unknown:
            raise ValueError(
                f"not summary columns: {', '.join(unknown)}; the numeric ones: "
                f"{', '.join(KPI_COLUMNS)} (docs/outputs.md)"
            )
        other = [name for name in value if name in NON_KPI_COLUMNS]
        if other:
            raise ValueError(f"not numeric KPIs: {', '.join(other)}")
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"given twice: {', '.join(twice)}")
        return value

    @model_validator(mode="after")
    def _something_to_run(self) -> SweepSpec:
        if not self.include_base and self.variants is None:
            raise ValueError("include_base is false and there are no variants: nothing to run")
        named = self.variants.named if self.variants is not None else None
        if self.include_base and named and any(v.name == BASE_VARIANT for v in named):
            raise ValueError(f"variant name {BASE_VARIANT!r} is the base's; choose another")
        return self


def _issues(error: ValidationError) -> list[Issue]:
    issues = []
    for err in error.errors():
        loc = tuple(part for part in err["loc"] if part != "[key]")  # a mapping's key
        if err["type"] == "string_pattern_mismatch":
            message = (
                "not a dotted scenario path like site.energy.price_usd_per_mwh or "
                f"mining.groups[0].count (got {err['input']!r})"
            )
        elif err["type"] == "extra_forbidden":
            message = "unknown field"
        elif err["type"] == "missing":
            message = "is required"
        else:
            message = err["msg"].removeprefix("Value error, ")
            if loc and loc[-1] != "kpis" and err["type"] != "value_error":
                message += f" (got {err['input']!r})"
        issues.append(Issue(format_path(loc), message))
    return issues


def sweep_from_mapping(raw: Mapping[str, Any], source: str = "<sweep>") -> SweepSpec:
    """Validate a sweep mapping (as read from YAML); ScenarioError lists every problem."""
    try:
        return SweepSpec.model_validate(dict(raw))
    except ValidationError as exc:
        raise ScenarioError(source, _issues(exc)) from exc


def read_sweep(path: str | Path) -> SweepSpec:
    """Read and validate the sweep file at ``path``; ``base`` comes back as an absolute path.

    Raises
    ------
    ScenarioError
        If the file cannot be read or is invalid (every problem, with its field path).
        The variants are checked against the base scenario later, by
        :func:`sim.sweep.plan.plan_sweep`.
    """
    path = Path(path)
    source = str(path)
    raw = read_yaml_mapping(path, "sweep")
    spec = sweep_from_mapping(raw, source)
    base = Path(spec.base)
    if not base.is_absolute():
        base = (path.parent / base).resolve()
    return spec.model_copy(update={"base": str(base)})
