"""Built-in hardware catalog: ASIC miner models and GPU node types as data.

Nominal ratings from docs/sources.md#asic-catalog and docs/sources.md#gpu-power [S].
Scenarios may add their own under ``asic_models`` and ``gpu_node_types``; a built-in name
cannot be redefined. :func:`known_asics` and :func:`known_gpu_nodes` give the built-in and
user-defined ones by name, to the scenario checks and the model alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

CoolingType = Literal["air", "hydro", "immersion"]


@dataclass(frozen=True)
class AsicSpec:
    """One ASIC miner model at its nominal operating point."""

    name: str
    hashrate_ths: float
    power_w: float
    cooling: CoolingType

    @property
    def efficiency_j_per_th(self) -> float:
        """Energy per terahash: W / (TH/s) = J/TH."""
        return self.power_w / self.hashrate_ths


# docs/sources.md#asic-catalog (nominal TH/s and W; J/TH follows from them).
BUILTIN_ASICS: dict[str, AsicSpec] = {
    spec.name: spec
    for spec in (
        AsicSpec("Antminer S19j Pro", 104.0, 3_068.0, "air"),
        AsicSpec("Antminer S19 XP", 140.0, 3_010.0, "air"),
        AsicSpec("Antminer S21", 200.0, 3_500.0, "air"),
        AsicSpec("Antminer S21 Pro", 234.0, 3_510.0, "air"),
        AsicSpec("Antminer S21 XP", 270.0, 3_645.0, "air"),
        AsicSpec("Antminer S21 Hydro", 335.0, 5_360.0, "hydro"),
        AsicSpec("Antminer S21 XP Hydro", 473.0, 5_676.0, "hydro"),
        AsicSpec("Whatsminer M50S", 126.0, 3_276.0, "air"),
        AsicSpec("Whatsminer M60S", 186.0, 3_441.0, "air"),
    )
}


@dataclass(frozen=True)
class GpuNodeSpec:
    """One GPU server type: its GPUs and its wall power when idle and at full load."""

    name: str
    gpu: str
    gpus_per_node: int
    gpu_power_w: float  # board power (TDP) of one GPU
    host_power_w: float  # CPUs, memory, NICs, switches, fans at full load
    idle_power_w: float  # whole node, powered on with no job
    cooling: CoolingType = "air"

    @property
    def peak_power_w(self) -> float:
        """Whole node at full load: host plus every GPU at board power."""
        return self.host_power_w + self.gpus_per_node * self.gpu_power_w


def _node(name: str, gpu: str, gpu_power_w: float, host_power_w: float) -> GpuNodeSpec:
    # Idle draw ≈30 % of peak is an assumption (an idle HGX H100 draws roughly 3 kW).
    peak = host_power_w + 8 * gpu_power_w
    return GpuNodeSpec(name, gpu, 8, gpu_power_w, host_power_w, round(0.3 * peak))


# GPU board powers from docs/sources.md#gpu-power [S] (RTX A6000 uncertain). Host power: an HGX H100
# node draws 10,200 W with 8 × 700 W GPUs [S], so 4,600 W of host [D]; the same platform is
# assumed for H200; the other hosts are assumptions (PCIe servers ≈1.2–1.6 kW).
BUILTIN_GPU_NODES: dict[str, GpuNodeSpec] = {
    spec.name: spec
    for spec in (
        _node("HGX A100 8-GPU", "A100 SXM4 80GB", 400.0, 3_300.0),
        _node("A100 PCIe 8-GPU", "A100 PCIe 80GB", 300.0, 1_600.0),
        _node("HGX H100 8-GPU", "H100 SXM5", 700.0, 4_600.0),
        _node("H100 PCIe 8-GPU", "H100 PCIe", 350.0, 1_600.0),
        _node("HGX H200 8-GPU", "H200 SXM", 700.0, 4_600.0),
        _node("L40S 8-GPU", "L40S", 350.0, 1_600.0),
        _node("RTX 4090 8-GPU", "RTX 4090", 450.0, 1_200.0),
        _node("RTX A6000 8-GPU", "RTX A6000", 300.0, 1_200.0),
    )
}


class _UserAsicModel(Protocol):
    """What the catalog reads of a user-defined ASIC model (``asic_models`` item)."""

    @property
    def name(self) -> str: ...
    @property
    def hashrate_ths(self) -> float: ...
    @property
    def power_w(self) -> float: ...


class _UserGpuNodeType(Protocol):
    """What the catalog reads of a user-defined GPU node type (``gpu_node_types`` item)."""

    @property
    def name(self) -> str: ...
    @property
    def gpu(self) -> str: ...
    @property
    def gpus_per_node(self) -> int: ...
    @property
    def gpu_power_w(self) -> float: ...
    @property
    def host_power_w(self) -> float: ...
    @property
    def idle_power_w(self) -> float: ...
    @property
    def cooling(self) -> CoolingType: ...


def known_asics(asic_models: Iterable[_UserAsicModel]) -> dict[str, tuple[float, float]]:
    """Model name → (hashrate_ths, power_w) for built-in and user-defined models."""
    known = {name: (s.hashrate_ths, s.power_w) for name, s in BUILTIN_ASICS.items()}
    for model in asic_models:
        known[model.name] = (model.hashrate_ths, model.power_w)
    return known


def known_gpu_nodes(gpu_node_types: Iterable[_UserGpuNodeType]) -> dict[str, GpuNodeSpec]:
    """Node type name → spec, built-in and user-defined."""
    known = dict(BUILTIN_GPU_NODES)
    for node in gpu_node_types:
        known[node.name] = GpuNodeSpec(
            node.name,
            node.gpu,
            node.gpus_per_node,
            node.gpu_power_w,
            node.host_power_w,
            node.idle_power_w,
            node.cooling,
        )
    return known
