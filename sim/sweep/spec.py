"""The sweep file: its schema (strict, like the scenario schema) and how it is read.

A sweep file names a base scenario, the variants to run it as (a grid of dotted scenario
paths, or a list of named variants), how many replications of each, the root seed and the
summary KPIs to keep. Problems are reported like a scenario file's: every one, with its
field path, in one :class:`~sim.errors.ScenarioError` (the CLI's exit 2).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sim.errors import Issue, ScenarioError
from sim.record.columns import DAILY_COLUMNS, SUMMARY_COLUMNS
from sim.scenario.fields import INT64_MAX, Name
from sim.scenario.loader import format_path, read_yaml_mapping
from sim.sweep.design import DISTRIBUTIONS, DottedPath, SamplesSpec, SensitivitySpec

BASE_VARIANT = "base"
FORMATS = ("csv", "parquet")
MAX_VARIANTS, MAX_RUNS = 100_000, 10_000_000  # each variant is loaded and validated first
# summary columns that are not numbers (or are the run's identity), so nothing to average
NON_KPI_COLUMNS = frozenset(
    {"scenario", "seed", "start_utc", "end_utc", "payout", "first_halving_utc", "policy"}
)
KPI_COLUMNS = tuple(name for name in SUMMARY_COLUMNS if name not in NON_KPI_COLUMNS)
# the daily table's numeric columns (not its date and time ones) can make bands
BAND_SERIES = tuple(
    name for name in DAILY_COLUMNS if name not in {"date", "timestamp_utc", "time_s"}
)
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
    """The variants: a ``grid``, a ``list`` of named variants, ``samples`` or ``sensitivity``."""

    grid: dict[DottedPath, Annotated[list[Any], Field(min_length=1)]] | None = Field(
        None,
        min_length=1,
        description="Dotted scenario path → values; every combination is a variant, named "
        "``path=value, path=value``.",
    )
    named: list[NamedVariant] | None = Field(
        None, alias="list", min_length=1, description="Named variants, each with its settings."
    )
    samples: SamplesSpec | None = Field(
        None, description="Variants drawn from distributions, named sample-0, sample-1, …"
    )
    sensitivity: SensitivitySpec | None = Field(
        None, description="A Sobol or Morris design, named sobol-0… or morris-0…"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> VariantsSpec:
        given = [self.grid, self.named, self.samples, self.sensitivity]
        if sum(kind is not None for kind in given) != 1:
            raise ValueError("give exactly one of 'grid', 'list', 'samples' or 'sensitivity'")
        return self

    @property
    def paths(self) -> list[str]:
        """Every dotted path a variant sets (with repeats)."""
        paths = [*(self.grid or {})] + [p for v in self.named or [] for p in v.overrides]
        paths += [*(self.samples.parameters if self.samples else {})]
        return paths + [*(self.sensitivity.parameters if self.sensitivity else {})]

    @model_validator(mode="after")
    def _no_seed(self) -> VariantsSpec:
        if "seed" in self.paths:
            raise ValueError(
                "a variant may not set 'seed': each replication's seed comes from the "
                "sweep's root seed, the same in every variant (docs/sweeps.md)"
            )
        return self

    @property
    def count(self) -> int:
        """Variants these make (the base not counted)."""
        if self.grid is not None:
            return math.prod(len(values) for values in self.grid.values())
        if self.named is not None:
            return len(self.named)
        if self.samples is not None:
            return self.samples.n
        assert self.sensitivity is not None  # _one_kind
        return self.sensitivity.rows

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

    format: Literal["csv", "parquet"] = Field(
        "csv",
        description="File format of runs and bands (aggregate, paired and sensitivity are "
        "always CSV).",
    )
    bands: list[str] = Field(
        default_factory=list,
        description="Daily series whose P5…P95 across replications bands.csv gives per day.",
    )

    @field_validator("bands")
    @classmethod
    def _known_series(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in BAND_SERIES]
        if unknown:
            raise ValueError(
                f"not numeric daily columns: {', '.join(unknown)}; they are: "
                f"{', '.join(BAND_SERIES)} (docs/outputs.md)"
            )
        twice = sorted({name for name in value if value.count(name) > 1})
        if twice:
            raise ValueError(f"given twice: {', '.join(twice)}")
        return value

    @model_validator(mode="after")
    def _size(self) -> SweepSpec:
        variants = int(self.include_base) + (self.variants.count if self.variants else 0)
        if variants > MAX_VARIANTS:
            raise ValueError(f"{variants:,} variants; at most {MAX_VARIANTS:,}")
        if variants * self.replications > MAX_RUNS:
            raise ValueError(
                f"{variants:,} variants × {self.replications:,} replications = "
                f"{variants * self.replications:,} runs; at most {MAX_RUNS:,}"
            )
        sensitivity = self.variants.sensitivity if self.variants else None
        if sensitivity is not None and sensitivity.kpis is not None:
            other = [kpi for kpi in sensitivity.kpis if kpi not in self.kpis]
            if other:
                raise ValueError(
                    f"variants.sensitivity.kpis: {', '.join(other)} not in the sweep's kpis"
                )
        return self

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
        elif err["type"] == "union_tag_not_found":
            message = f"needs 'distribution': one of {', '.join(DISTRIBUTIONS)}"
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
