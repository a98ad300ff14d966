"""Load a scenario: YAML → overrides → schema validation → cross-field checks.

Every problem is collected with its field path and raised once as a :class:`ScenarioError`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from sim.errors import Issue, ScenarioError
from sim.scenario.checks import cross_checks
from sim.scenario.schema import Scenario

CSV_PATH_FIELDS = (
    ("bitcoin", "network_hashrate", "csv_path"),
    ("bitcoin", "price", "csv_path"),
    ("site", "energy", "csv_path"),
    ("site", "ambient", "csv_path"),
    ("ai", "trace", "csv_path"),
)
_INDEX = re.compile(r"^(?P<key>[^\[\]]+)((\[(?P<idx>\d+)\])?)$")


def format_path(loc: Iterable[Any]) -> str:
    """Render a pydantic location as ``a.b[2].c``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names allowed at the model that owns ``loc`` (for unknown-key messages)."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        annotation = field.annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            inner = getattr(candidate, "__args__", (candidate,))[0]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                model = inner
                break
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                model = candidate
                break
        else:
            return []
    return list(model.model_fields)


def issues_from_validation(error: ValidationError) -> list[Issue]:
    """Convert pydantic errors to issues with field paths and readable messages."""
    issues = []
    for err in error.errors():
        loc = tuple(err["loc"])
        path = format_path(loc)
        if err["type"] == "extra_forbidden":
            allowed = _allowed_fields(loc)
            message = "unknown field" + (f"; allowed: {', '.join(allowed)}" if allowed else "")
        elif err["type"] == "missing":
            message = "is required"
        else:
            message = f"{err['msg']} (got {err['input']!r})"
        issues.append(Issue(path, message))
    return issues


def _parse_parts(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Validate each top-level field on its own; failed ones map to None."""
    parts: dict[str, Any] = {}
    for name, field in Scenario.model_fields.items():
        value = raw[name] if name in raw else field.get_default(call_default_factory=True)
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(Annotated[field.annotation, field])  # type: ignore[arg-type]
            parts[name] = adapter.validate_python(value)
        except ValidationError:
            parts[name] = None
    return parts


def set_override(raw: dict[str, Any], assignment: str) -> Issue | None:
    """Apply ``dotted.path=value`` to ``raw``; the value is parsed as YAML, like file values."""
    path, sep, text = assignment.partition("=")
    if not sep or not path:
        return Issue("--set", f"expected dotted.path=value, got {assignment!r}")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "syntax error"
        return Issue(path, f"value is not valid YAML: {problem} (got {text!r})")
    node: Any = raw
    keys: list[str | int] = []
    for token in path.split("."):
        match = _INDEX.match(token)
        if match is None:
            return Issue(path, f"malformed path element {token!r}")
        keys.append(match["key"] if not match["key"].isdigit() else int(match["key"]))
        if match["idx"] is not None:
            keys.append(int(match["idx"]))
    for depth, key in enumerate(keys):
        last = depth == len(keys) - 1
        where = format_path(keys[: depth + 1])
        if isinstance(key, int):
            if not isinstance(node, list) or key >= len(node):
                size = len(node) if isinstance(node, list) else 0
                return Issue(where, f"no list element {key} (list has {size})")
        elif not isinstance(node, dict):
            return Issue(where, "parent is not a mapping")
        if last:
            node[key] = value
        else:
            if not isinstance(key, int) and key not in node:
                node[key] = {}
            node = node[key]
    return None


def _resolve_csv_paths(raw: dict[str, Any], base_dir: Path) -> None:
    """Make relative CSV paths relative to the scenario file's folder."""
    for keys in CSV_PATH_FIELDS:
        node: Any = raw
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and isinstance(node.get(keys[-1]), str):
            candidate = Path(node[keys[-1]])
            if not candidate.is_absolute():
                node[keys[-1]] = str((base_dir / candidate).resolve())


def scenario_from_mapping(
    raw: Mapping[str, Any],
    source: str = "<scenario>",
    overrides: Iterable[str] = (),
    base_dir: Path | None = None,
) -> Scenario:
    """Validate a raw mapping (as read from YAML) into a :class:`Scenario`.

    Raises
    ------
    ScenarioError
        With every problem found, each with its field path.
    """
    data = copy.deepcopy(dict(raw))
    issues = [issue for text in overrides if (issue := set_override(data, text)) is not None]
    _resolve_csv_paths(data, base_dir or Path.cwd())
    scenario = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        issues += issues_from_validation(exc)
    parts = dict(scenario) if scenario is not None else _parse_parts(data)
    issues += cross_checks(parts)
    if issues or scenario is None:
        raise ScenarioError(source, issues)
    return scenario


def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Read, override and validate the scenario file at ``path``.

    Parameters
    ----------
    path
        A YAML scenario file.
    overrides
        ``dotted.path=value`` assignments applied before validation, e.g.
        ``"mining.groups[0].count=500"``; values are parsed as YAML.

    Raises
    ------
    ScenarioError
        If the file cannot be read or the scenario is invalid (every problem listed).
    """
    path = Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(
            source, [Issue("", f"cannot read file: {exc.strerror or exc}")]
        ) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [Issue("", f"not valid YAML: {exc}")]) from exc
    if not isinstance(raw, dict):
        raise ScenarioError(source, [Issue("", "top level must be a mapping of fields")])
    return scenario_from_mapping(raw, source, overrides, base_dir=path.parent)
