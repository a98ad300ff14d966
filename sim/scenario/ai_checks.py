"""Cross-field checks of the AI hosting sections (see :mod:`sim.scenario.checks`)."""

from __future__ import annotations

from typing import Any

from sim.errors import Issue
from sim.scenario.ai import AiSpec, GpuNodeTypeSpec
from sim.scenario.catalog import BUILTIN_GPU_NODES, known_gpu_nodes
from sim.scenario.refs import INPUT_FILES, complete, group_refs, user_names

Parts = dict[str, Any]


def gpu_peak_power_kw(parts: Parts) -> float:
    """Peak power of every installed GPU node with a known type (kW)."""
    ai: AiSpec | None = parts.get("ai")
    if ai is None or parts.get("gpu_node_types") is None:
        return 0.0
    known = known_gpu_nodes(parts["gpu_node_types"])
    return (
        sum(g.nodes * known[g.node_type].peak_power_w for g in ai.groups if g.node_type in known)
        / 1_000.0
    )


def _node_types(parts: Parts) -> list[Issue]:
    nodes: list[GpuNodeTypeSpec] | None = parts.get("gpu_node_types")
    return user_names(nodes or [], BUILTIN_GPU_NODES, "gpu_node_types", "node type")


def _group_names(ai: AiSpec) -> list[str]:
    return [g.label for g in ai.groups]


def _groups(parts: Parts) -> list[Issue]:
    ai: AiSpec | None = parts.get("ai")
    if ai is None or parts.get("gpu_node_types") is None:
        return []
    types = [g.node_type for g in ai.groups]
    known = known_gpu_nodes(parts["gpu_node_types"]) if complete(parts, "gpu_node_types") else None
    issues = group_refs(ai.groups, types, known, "ai.groups", "node_type")
    for i, group in enumerate(ai.groups):
        times = [c.from_utc for c in group.node_cap_schedule]
        if any(a >= b for a, b in zip(times, times[1:], strict=False)):
            issues.append(
                Issue(f"ai.groups[{i}].node_cap_schedule", "from_utc must be strictly increasing")
            )
        for j, change in enumerate(group.node_cap_schedule):
            if change.nodes > group.nodes:
                issues.append(
                    Issue(
                        f"ai.groups[{i}].node_cap_schedule[{j}].nodes",
                        f"{change.nodes} exceeds the group's {group.nodes} nodes",
                    )
                )
    return issues


def _group_ref(ai: AiSpec, name: str | None, path: str) -> list[Issue]:
    groups = _group_names(ai)
    if not groups:
        return [Issue(path, "no GPU group to run on; add one under ai.groups")]
    if name is not None and name not in groups:
        return [Issue(path, f"unknown GPU group '{name}'; groups: {', '.join(groups)}")]
    return []


def _resolve(ai: AiSpec, name: str | None) -> str | None:
    """The group a class or contract uses: the named one, or the first."""
    return name if name is not None else (ai.groups[0].label if ai.groups else None)


def _group_gpus(parts: Parts, ai: AiSpec, name: str | None) -> int | None:
    """Installed GPUs of the named (or first) group, if its type is known."""
    known = known_gpu_nodes(parts["gpu_node_types"])
    group = next((g for g in ai.groups if name in (None, g.label)), None)
    if group is None or group.node_type not in known:
        return None
    return group.nodes * known[group.node_type].gpus_per_node


def _fits(
    parts: Parts, ai: AiSpec, group: str | None, gpus: int, path: str, field: str
) -> list[Issue]:
    """``gpus`` must not exceed the GPUs installed in the (named or first) group."""
    installed = _group_gpus(parts, ai, group)
    if installed is None or gpus <= installed:
        return []
    return [Issue(f"{path}.{field}", f"{gpus} GPUs exceed the {installed} installed")]


def _job_classes(parts: Parts) -> list[Issue]:
    ai: AiSpec | None = parts.get("ai")
    if ai is None or parts.get("gpu_node_types") is None:
        return []
    if not complete(parts, "ai.groups", "ai.reserved"):
        return user_names(ai.job_classes, (), "ai.job_classes", "job class")
    contracts = [c.name for c in ai.reserved]
    issues = user_names(ai.job_classes, (), "ai.job_classes", "job class")
    for i, job_class in enumerate(ai.job_classes):
        path = f"ai.job_classes[{i}]"
        ref = _group_ref(ai, job_class.group, f"{path}.group")
        issues += ref or _fits(
            parts, ai, job_class.group, max(job_class.gpus.values), path, "gpus.values"
        )
        if job_class.contract is not None and job_class.contract not in contracts:
            known = ", ".join(contracts) or "none defined"
            issues.append(
                Issue(f"{path}.contract", f"unknown contract '{job_class.contract}'; {known}")
            )
        elif job_class.contract is not None and not ref:
            contract = ai.reserved[contracts.index(job_class.contract)]
            if _resolve(ai, contract.group) != _resolve(ai, job_class.group):
                issues.append(
                    Issue(
                        f"{path}.group",
                        f"runs in '{_resolve(ai, job_class.group)}' but contract "
                        f"'{contract.name}' is hosted in '{_resolve(ai, contract.group)}'",
                    )
                )
    return issues


def _contracts(parts: Parts) -> list[Issue]:
    ai: AiSpec | None = parts.get("ai")
    if ai is None or parts.get("gpu_node_types") is None:
        return []
    issues = user_names(ai.reserved, (), "ai.reserved", "contract")
    if not complete(parts, "ai.groups"):
        return issues
    for i, contract in enumerate(ai.reserved):
        path = f"ai.reserved[{i}]"
        ref = _group_ref(ai, contract.group, f"{path}.group")
        issues += ref or _fits(parts, ai, contract.group, contract.gpus, path, "gpus")
    return issues


def _trace(parts: Parts) -> list[Issue]:
    ai: AiSpec | None = parts.get("ai")
    if ai is None or ai.trace is None:
        return []
    try:
        trace = parts[INPUT_FILES].trace("ai.trace.csv_path", ai.trace.csv_path)
    except ValueError as exc:
        trace, issues = None, [Issue("ai.trace.csv_path", str(exc))]
    else:
        issues = []
    if not complete(parts, "ai.job_classes"):  # a class left out could be the one named
        return issues
    classes = {c.name for c in ai.job_classes}
    if ai.trace.job_class not in classes:
        issues.insert(0, Issue("ai.trace.job_class", f"unknown job class '{ai.trace.job_class}'"))
    if trace is None:
        return issues
    unknown = sorted({c for c in trace.job_classes if c and c not in classes})
    if unknown:
        issues.append(Issue("ai.trace.csv_path", f"unknown job_class values: {', '.join(unknown)}"))
    groups_known = parts.get("gpu_node_types") is not None and complete(parts, "ai.groups")
    if not groups_known or _group_ref(ai, None, ""):
        return issues
    group_of = {c.name: c.group for c in ai.job_classes}
    for gpus, name in zip(trace.gpus.tolist(), trace.job_classes, strict=True):
        group = group_of.get(name or ai.trace.job_class)
        installed = _group_gpus(parts, ai, group) if group in (None, *_group_names(ai)) else None
        if installed is not None and gpus > installed:
            issues.append(
                Issue(
                    "ai.trace.csv_path",
                    f"a job of class '{name or ai.trace.job_class}' needs {gpus} GPUs; "
                    f"its group has {installed}",
                )
            )
            break
    return issues


AI_CHECKS = (_node_types, _groups, _job_classes, _contracts, _trace)
