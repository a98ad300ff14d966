"""Load a scenario: YAML → overrides → schema validation → cross-field checks.

Every problem is collected with its field path and raised once as a :class:`ScenarioError`.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node

from sim.errors import Issue, ScenarioError
from sim.scenario.checks import cross_checks
from sim.scenario.inputs import InputFiles
from sim.scenario.refs import INPUT_FILES, PARTIAL
from sim.scenario.schema import Scenario

CSV_PATH_FIELDS = (
    ("bitcoin", "network_hashrate", "csv_path"),
    ("bitcoin", "price", "csv_path"),
    ("site", "energy", "csv_path"),
    ("site", "ambient", "csv_path"),
    ("ai", "trace", "csv_path"),
)
_INDEX = re.compile(r"^(?P<key>[^\[\]]+)((\[(?P<idx>\d+)\])?)$")
_DATETIME_ERRORS = {"datetime_type", "datetime_parsing", "datetime_from_date_parsing"}


class ScenarioLoader(yaml.SafeLoader):
    """YAML loader of scenario files and ``--set`` values.

    Unlike ``SafeLoader`` it rejects a key given twice in one mapping, leaves a timestamp
    that names no real moment (2024-02-30) as text so validation reports it at its field,
    and turns a value that cannot be built as tagged (``!!int abc``) into a YAML error.
    """

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        """Build ``node``; a value its tag cannot hold is a YAML error at the node."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            raise ConstructorError(
                None, None, f"cannot read {node.value!r} as {node.tag}: {exc}", node.start_mark
            ) from exc

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping; a key given twice is a YAML error at its second use."""
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<` may override merged keys
                continue
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, Hashable):
                continue  # the base class reports it
            if key in first_line:
                raise ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given at line {first_line[key]})",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep)

    def construct_timestamp(self, node: Node) -> Any:
        """A timestamp, or its text when the date does not exist (month 13, 30 February)."""
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except ValueError:
            return self.construct_scalar(node)  # type: ignore[arg-type]


ScenarioLoader.add_constructor("tag:yaml.org,2002:timestamp", ScenarioLoader.construct_timestamp)


def parse_yaml(text: str) -> Any:
    """Parse scenario YAML with :class:`ScenarioLoader`."""
    return yaml.load(text, Loader=ScenarioLoader)  # noqa: S506 - a SafeLoader subclass


def yaml_problem(exc: yaml.YAMLError) -> str:
    """One line on what is wrong and where: ``line 3, column 5: duplicate key 'seed' ...``."""
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem is None:
        return str(exc)
    mark = exc.problem_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + exc.problem


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


def _shown(value: Any) -> str:
    """A rejected value as the user wrote it: YAML's ``null``, ``true`` and ``false``."""
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    return value.isoformat() if isinstance(value, datetime) else repr(value)


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
        elif err["type"] in _DATETIME_ERRORS:
            _, _, reason = err["msg"].partition(", ")
            message = "not a valid date/time" + (f" ({reason})" if reason else "")
            message += f", e.g. 2024-01-01T00:00:00Z (got {_shown(err['input'])})"
        else:
            message = f"{err['msg']} (got {_shown(err['input'])})"
        issues.append(Issue(path, message))
    return issues


def _salvage(adapter: TypeAdapter[Any], value: Any) -> tuple[Any, dict[tuple[Any, ...], list[int]]]:
    """Validate ``value``, leaving out list items that fail; raise if anything else fails.

    Returns the validated value and, for each list that lost items (by its location in
    ``value``), the original index of every item kept.
    """
    data = copy.deepcopy(value)
    kept: dict[tuple[Any, ...], list[int]] = {}
    while True:
        try:
            return adapter.validate_python(data), kept
        except ValidationError as exc:
            drops: dict[tuple[Any, ...], set[int]] = {}
            for err in exc.errors():
                # the outermost list item holding the error is the one to leave out
                loc = tuple(err["loc"])
                at = next((i for i, part in enumerate(loc) if isinstance(part, int)), None)
                if at is None:
                    raise
                drops.setdefault(loc[:at], set()).add(int(loc[at]))
            for where, indices in drops.items():
                items = data
                for key in where:
                    items = items[key]
                if not isinstance(items, list):  # an integer key of a mapping
                    raise
                index = kept.setdefault(where, list(range(len(items))))
                for i in sorted(indices, reverse=True):
                    del items[i], index[i]


def _parse_parts(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[int]]]:
    """Validate each top-level field on its own, for the cross-field checks.

    A field that fails maps to None, unless only some of its list items fail: then it holds
    the other items, so their references are still checked. Also returns, for each list
    that lost items (``mining.groups``), the original index of every item kept; those
    lists are listed under :data:`PARTIAL` in the parts.
    """
    parts: dict[str, Any] = {}
    renumber: dict[str, list[int]] = {}
    for name, field in Scenario.model_fields.items():
        value = raw[name] if name in raw else field.get_default(call_default_factory=True)
        adapter: TypeAdapter[Any] = TypeAdapter(Annotated[field.annotation, field])  # type: ignore[arg-type]
        try:
            parts[name], kept = _salvage(adapter, value)
        except ValidationError:
            parts[name] = None
            continue
        renumber.update({format_path((name, *where)): index for where, index in kept.items()})
    parts[PARTIAL] = frozenset(renumber)
    return parts, renumber


def _renumbered(issue: Issue, renumber: Mapping[str, list[int]]) -> Issue:
    """``issue`` with the list index in its path mapped back to the item's index in the file."""
    for path, index in renumber.items():
        head = f"{path}["
        if issue.path.startswith(head):
            position, _, rest = issue.path[len(head) :].partition("]")
            return Issue(f"{head}{index[int(position)]}]{rest}", issue.message)
    return issue


def set_override(raw: dict[str, Any], assignment: str) -> Issue | None:
    """Apply ``dotted.path=value`` to ``raw``; the value is parsed as YAML, like file values."""
    path, sep, text = assignment.partition("=")
    if not sep or not path:
        return Issue("--set", f"expected dotted.path=value, got {assignment!r}")
    try:
        value = parse_yaml(text)
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
                try:
                    node[keys[-1]] = str((base_dir / candidate).resolve())
                except ValueError:  # a NUL character; reading the file reports it
                    node[keys[-1]] = str(base_dir / candidate)


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
    files = InputFiles()  # the checks read each input file into it, once
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        issues += issues_from_validation(exc)
    if scenario is not None:
        issues += cross_checks({**dict(scenario), INPUT_FILES: files})
    else:
        parts, renumber = _parse_parts(data)
        parts[INPUT_FILES] = files
        issues += [_renumbered(issue, renumber) for issue in cross_checks(parts)]
    if issues or scenario is None:
        raise ScenarioError(source, issues)
    scenario._input_files = files
    return scenario


def read_yaml_mapping(path: Path, kind: str) -> dict[Any, Any]:
    """The top-level mapping of the YAML ``kind`` file (a scenario, a sweep) at ``path``.

    Raises
    ------
    ScenarioError
        If the file cannot be read, is not UTF-8, not YAML, or not a mapping at the top.
    """
    source = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ScenarioError(
            source, [Issue("", f"cannot read file: {exc.strerror or exc}")]
        ) from exc
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            source,
            [
                Issue(
                    "",
                    f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
                    f"a {kind} is a YAML text file saved as UTF-8",
                )
            ],
        ) from exc
    try:
        raw = parse_yaml(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(source, [Issue("", f"not valid YAML: {yaml_problem(exc)}")]) from exc
    if not isinstance(raw, dict):
        got = "an empty file" if raw is None else f"a {type(raw).__name__}"
        message = f"top level must be a mapping of fields, e.g. 'name: my-site' (got {got})"
        raise ScenarioError(source, [Issue("", message)])
    return raw


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
    raw = read_yaml_mapping(path, "scenario")
    return scenario_from_mapping(raw, str(path), overrides, base_dir=path.parent)
