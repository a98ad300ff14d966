"""A sweep's plan: its variants, each loaded and validated, and the runs to make.

Seeds (common random numbers): replication ``r`` runs with the same seed in every variant,

    seed_r = SeedSequence(root_seed, spawn_key=(r,)).generate_state(1, uint64)[0] >> 1

which is ``SeedSequence(root_seed).spawn(n)[r]``'s first 64-bit word, shifted into
0…2^63 − 1 (a scenario seed's range). It depends on the root seed and ``r`` only: not on
the variant, nor on how many replications there are, so adding replications keeps the
earlier ones' seeds. Each run's random streams then derive from seed_r as in a single run
(``sim.rng``), so two variants that differ only in something not random (an energy price,
a policy) see the same blocks, prices and job arrivals.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim.errors import Issue, ScenarioError
from sim.scenario import Scenario, load_scenario
from sim.sweep.design import draw_samples, index_width, sensitivity_values
from sim.sweep.spec import BASE_VARIANT, SweepSpec


def replication_seed(root_seed: int, replication: int) -> int:
    """The seed of replication ``replication`` (0-based) under ``root_seed``; see the module."""
    sequence = np.random.SeedSequence(root_seed, spawn_key=(replication,))
    return int(sequence.generate_state(1, dtype=np.uint64)[0]) >> 1


def override_text(path: str, value: Any) -> str:
    """``path=value`` as ``--set`` takes it, the value written as (flow) YAML."""
    text = yaml.safe_dump(value, default_flow_style=True, width=2**31, allow_unicode=True)
    return f"{path}={text.removesuffix(chr(10)).removesuffix('...').strip()}"


@dataclass(frozen=True)
class Variant:
    """One variant: its name, its overrides and the scenario they give, validated."""

    name: str
    overrides: tuple[str, ...]
    scenario: Scenario

    def parameters(self, paths: Sequence[str]) -> dict[str, Any]:
        """The scenario's value at each dotted path (a list or mapping as flow YAML text)."""
        if not paths:
            return {}
        dumped = self.scenario.model_dump(mode="json", by_alias=True)
        return {path: _value_at(dumped, path) for path in paths}


def _value_at(dumped: Any, path: str) -> Any:
    node = dumped
    for key in path_keys(path):
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    if isinstance(node, (list, dict)):
        return override_text("", node).removeprefix("=")
    return node


def path_keys(path: str) -> list[str | int]:
    """``mining.groups[0].count`` → ``['mining', 'groups', 0, 'count']``."""
    keys: list[str | int] = []
    for token in path.split("."):
        name, _, index = token.partition("[")
        keys.append(name)
        if index:
            keys.append(int(index.rstrip("]")))
    return keys


@dataclass(frozen=True)
class PlannedRun:
    """One run of the sweep: which variant, which replication, which seed."""

    index: int
    variant: str
    replication: int
    seed: int


@dataclass(frozen=True)
class SweepPlan:
    """A sweep ready to run: the spec, its variants in order and its runs in plan order."""

    spec: SweepSpec
    variants: tuple[Variant, ...]
    runs: tuple[PlannedRun, ...]
    parameters: tuple[str, ...] = ()  # the swept dotted paths: runs.csv's parameter columns

    def scenario(self, variant: str) -> Scenario:
        """The validated scenario of ``variant``."""
        return next(v.scenario for v in self.variants if v.name == variant)

    def run_scenario(self, run_id: int) -> Scenario:
        """The scenario run ``run_id`` of the sweep ran: its variant's, with its seed.

        ``run_one`` of it is the sweep's run, with every table (the KPIs are the same).

        Raises
        ------
        ScenarioError
            ``run_id`` is not a run of the sweep.
        """
        if not 0 <= run_id < len(self.runs):
            issue = Issue("run_id", f"the sweep has runs 0 … {len(self.runs) - 1}, not {run_id}")
            raise ScenarioError("<sweep>", [issue])
        run = self.runs[run_id]
        return self.scenario(run.variant).model_copy(update={"seed": run.seed})


def _overrides(values: dict[str, Any]) -> tuple[str, ...]:
    return tuple(override_text(path, value) for path, value in values.items())


def _numbered(prefix: str, designs: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    width = index_width(len(designs))
    return [(f"{prefix}-{i:0{width}d}", _overrides(v)) for i, v in enumerate(designs)]


def variant_overrides(spec: SweepSpec) -> list[tuple[str, tuple[str, ...]]]:
    """(name, overrides) of every variant, in order: the base first unless left out."""
    out: list[tuple[str, tuple[str, ...]]] = []
    if spec.include_base:
        out.append((BASE_VARIANT, ()))
    kinds = spec.variants
    if kinds is None:
        return out
    if kinds.grid is not None:
        paths = list(kinds.grid)
        for values in itertools.product(*kinds.grid.values()):
            sets = _overrides(dict(zip(paths, values, strict=True)))
            out.append((", ".join(sets), sets))
    for named in kinds.named or []:
        out.append((named.name, _overrides(named.overrides)))
    if kinds.samples is not None:
        out += _numbered("sample", draw_samples(kinds.samples, spec.seed))
    if kinds.sensitivity is not None:
        design = sensitivity_values(kinds.sensitivity, spec.seed)
        out += _numbered(kinds.sensitivity.method, design)
    return out


def _variants(names: list[str], shown: int = 3) -> str:
    """``variant 'a'``, ``variants 'a', 'b'`` or ``variants 'a', 'b', 'c' and 4 more``."""
    text = ", ".join(repr(name) for name in names[:shown])
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"variant{'s' if len(names) > 1 else ''} {text}{more}"


def plan_sweep(spec: SweepSpec, source: str = "<sweep>") -> SweepPlan:
    """Load the base and every variant (``load_scenario(base, overrides)``); list the runs.

    Raises
    ------
    ScenarioError
        Every problem of the base, or of the variants, each with the variant's name and
        the scenario field's path; nothing has run.
    """
    base_path = Path(spec.base)
    try:
        load_scenario(base_path)
    except ScenarioError as exc:
        issues = [
            Issue(f"base ({spec.base})" + (f": {i.path}" if i.path else ""), i.message)
            for i in exc.issues
        ]
        raise ScenarioError(source, issues) from exc
    variants: list[Variant] = []
    problems: dict[tuple[str, str], list[str]] = {}  # (field path, message) → variants
    for name, overrides in variant_overrides(spec):
        try:
            variants.append(Variant(name, overrides, load_scenario(base_path, overrides)))
        except ScenarioError as exc:
            for issue in exc.issues:
                problems.setdefault((issue.path, issue.message), []).append(name)
    if problems:
        issues = [
            Issue(f"{_variants(names)}: {path}" if path else _variants(names), message)
            for (path, message), names in problems.items()
        ]
        raise ScenarioError(source, issues)
    seeds = [replication_seed(spec.seed, r) for r in range(spec.replications)]
    pairs = [(v.name, r) for v in variants for r in range(spec.replications)]
    runs = [PlannedRun(i, name, r, seeds[r]) for i, (name, r) in enumerate(pairs)]
    return SweepPlan(spec, tuple(variants), tuple(runs), swept_paths(spec))


def swept_paths(spec: SweepSpec) -> tuple[str, ...]:
    """Every dotted path some variant sets, in the sweep file's order."""
    return tuple(dict.fromkeys(spec.variants.paths)) if spec.variants else ()
