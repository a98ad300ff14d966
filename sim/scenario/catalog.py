"""Built-in hardware catalog: ASIC miner models as data.

Nominal ratings from REFERENCE.md §3 (third-party catalogs agree [S]). Scenarios may add
their own models under ``asic_models``; a built-in name cannot be redefined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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


# REFERENCE.md §3, ASIC table (nominal TH/s and W; J/TH follows from them).
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
