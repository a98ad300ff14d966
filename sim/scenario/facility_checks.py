"""Cross-field checks of the facility: hall names and the groups placed in halls."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sim.errors import Issue
from sim.scenario.ai import AiSpec
from sim.scenario.catalog import BUILTIN_ASICS, known_gpu_nodes
from sim.scenario.refs import complete
from sim.scenario.schema import MiningSpec, SiteSpec

Parts = dict[str, Any]

# Hardware cooled one way can stand in these halls: air-cooled miners are commonly immersed,
# but hydro (cold-plate) and immersion hardware need their own loop.
FITS_HALL = {"air": {"air", "immersion"}, "hydro": {"hydro"}, "immersion": {"immersion"}}


def _hall_names(site: SiteSpec) -> list[Issue]:
    issues, seen = [], set()
    for i, hall in enumerate(site.halls):
        if hall.name in seen:
            issues.append(Issue(f"site.halls[{i}].name", f"duplicate hall '{hall.name}'"))
        seen.add(hall.name)
    return issues


def _placement(
    path: str, hall: str | None, cooling: str | None, halls: Mapping[str, str]
) -> list[Issue]:
    """One group's ``hall`` field: required with halls, known, and able to cool the group."""
    if not halls:
        return [Issue(path, "names a hall but site.halls is empty")] if hall else []
    if hall is None:
        return [Issue(path, f"is required when the site has halls ({', '.join(halls)})")]
    if hall not in halls:
        return [Issue(path, f"unknown hall '{hall}'; halls: {', '.join(halls)}")]
    if cooling is not None and halls[hall] not in FITS_HALL[cooling]:
        return [
            Issue(
                path,
                f"{cooling}-cooled hardware cannot stand in {halls[hall]}-cooled hall '{hall}'; "
                f"allowed hall cooling: {', '.join(sorted(FITS_HALL[cooling]))}",
            )
        ]
    return []


def _halls(parts: Parts) -> list[Issue]:
    site: SiteSpec | None = parts.get("site")
    if site is None:
        return []
    issues = _hall_names(site)
    if not complete(parts, "site.halls"):
        return issues
    halls = {hall.name: hall.cooling for hall in site.halls}
    mining: MiningSpec | None = parts.get("mining")
    if mining is not None and parts.get("asic_models") is not None:
        cooling = {name: spec.cooling for name, spec in BUILTIN_ASICS.items()}
        cooling.update({m.name: m.cooling for m in parts["asic_models"]})
        for i, group in enumerate(mining.groups):
            issues += _placement(
                f"mining.groups[{i}].hall", group.hall, cooling.get(group.model), halls
            )
    ai: AiSpec | None = parts.get("ai")
    if ai is not None and parts.get("gpu_node_types") is not None:
        nodes = known_gpu_nodes(parts["gpu_node_types"])
        for i, gpu_group in enumerate(ai.groups):
            node = nodes.get(gpu_group.node_type)
            issues += _placement(
                f"ai.groups[{i}].hall", gpu_group.hall, node.cooling if node else None, halls
            )
    return issues


FACILITY_CHECKS = (_halls,)
