"""Checks shared by hardware sections: user-defined names and references to them."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

from sim.errors import Issue

# Key of the cross-check parts: paths of lists (``site.halls``) whose invalid items were left
# out. A reference to such a list cannot be checked: it may name an item left out.
PARTIAL = "partial lists"
INPUT_FILES = "input files"  # the parts' InputFiles: checks read each CSV through it, once


def complete(parts: Mapping[str, Any], *paths: str) -> bool:
    """Whether none of the lists at ``paths`` lost items, so references to them can be checked."""
    return parts.get(PARTIAL, frozenset()).isdisjoint(paths)


class Named(Protocol):
    """A user-defined hardware model or node type."""

    @property
    def name(self) -> str:
        """The name groups refer to."""
        ...


class Labelled(Protocol):
    """A hardware group: its name in outputs."""

    @property
    def label(self) -> str:
        """The group's name in outputs."""
        ...


def user_names(
    items: Sequence[Named], builtin: Collection[str], path: str, noun: str
) -> list[Issue]:
    """Names must be unique and must not redefine a built-in one (``builtin`` may be empty)."""
    issues, seen = [], set()
    for i, item in enumerate(items):
        if item.name in builtin:
            issues.append(Issue(f"{path}[{i}].name", f"'{item.name}' is a built-in {noun}"))
        elif item.name in seen:
            issues.append(Issue(f"{path}[{i}].name", f"duplicate {noun} '{item.name}'"))
        seen.add(item.name)
    return issues


def group_refs(
    groups: Sequence[Labelled],
    refs: Sequence[str],
    known: Collection[str] | None,
    path: str,
    field: str,
) -> list[Issue]:
    """Each group has a unique label and names a known model (``refs[i]``).

    ``known`` is None when some models failed validation: the references are then not checked.
    """
    noun = field.replace("_", " ")
    issues, labels = [], set()
    for i, (group, ref) in enumerate(zip(groups, refs, strict=True)):
        if known is not None and ref not in known:
            issues.append(
                Issue(
                    f"{path}[{i}].{field}",
                    f"unknown {noun} '{ref}'; known {noun}s: {', '.join(sorted(known))}",
                )
            )
        if group.label in labels:
            issues.append(Issue(f"{path}[{i}].name", f"duplicate group name '{group.label}'"))
        labels.add(group.label)
    return issues
