"""Scenario sections for the facility: halls, their cooling and their thermal limits.

A hall's cooling parameters default by cooling type (and whether chillers hold the inlet);
the defaults live in :data:`COOLING_DEFAULTS`, are filled in when the scenario loads (so the
manifest shows the values used) and are documented in docs/model.md §6.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from sim.scenario.catalog import CoolingType
from sim.scenario.faults import BackupSpec, CoolingFailuresSpec, MaintenanceWindowSpec
from sim.scenario.fields import Name, Section

# Defaults per (cooling type, chilled). Sources: PUE ranges of docs/sources.md#pue (air-cooled
# mining 1.10–1.50, single-phase immersion 1.03–1.10, new data halls ≤ 1.3) bound the cooling
# power; the S21's ≈40 °C throttle and ≈47 °C shutdown (docs/sources.md#asic-limits) set
# the air ASIC limits; ASHRAE A2 (35 °C) and A4 (45 °C) allowable inlets
# (docs/sources.md#ashrae) set the air GPU limits. Approach,
# load rise, time constants, derates and the liquid limits are engineering assumptions.
COOLING_DEFAULTS: dict[tuple[str, bool], dict[str, float]] = {
    ("air", False): {
        "design_ambient_c": 30.0,
        "derate_per_c": 0.02,
        "setpoint_c": 15.0,
        "ambient_approach_c": 2.0,
        "load_rise_c": 3.0,
        "time_constant_s": 600.0,
        "free_cooling_max_c": 20.0,
        "cooling_kw_per_kw": 0.05,
        "cooling_kw_per_kw_per_c": 0.01,
        "asic_throttle_temp_c": 40.0,
        "asic_shutdown_temp_c": 47.0,
        "gpu_throttle_temp_c": 35.0,
        "gpu_shutdown_temp_c": 45.0,
    },
    ("hydro", False): {
        "design_ambient_c": 35.0,
        "derate_per_c": 0.015,
        "setpoint_c": 25.0,
        "ambient_approach_c": 8.0,
        "load_rise_c": 5.0,
        "time_constant_s": 1_800.0,
        "free_cooling_max_c": 25.0,
        "cooling_kw_per_kw": 0.03,
        "cooling_kw_per_kw_per_c": 0.004,
        "asic_throttle_temp_c": 50.0,
        "asic_shutdown_temp_c": 55.0,
        "gpu_throttle_temp_c": 45.0,
        "gpu_shutdown_temp_c": 55.0,
    },
    ("immersion", False): {
        "design_ambient_c": 35.0,
        "derate_per_c": 0.015,
        "setpoint_c": 30.0,
        "ambient_approach_c": 10.0,
        "load_rise_c": 5.0,
        "time_constant_s": 3_600.0,
        "free_cooling_max_c": 30.0,
        "cooling_kw_per_kw": 0.02,
        "cooling_kw_per_kw_per_c": 0.003,
        "asic_throttle_temp_c": 45.0,
        "asic_shutdown_temp_c": 55.0,
        "gpu_throttle_temp_c": 45.0,
        "gpu_shutdown_temp_c": 55.0,
    },
}
# Chillers hold the supply at the setpoint whatever the ambient, at a higher cooling power;
# the inlet rises 2 °C at full capacity (coil approach) and more when overloaded.
_CHILLED = {
    "design_ambient_c": 35.0,
    "derate_per_c": 0.01,
    "setpoint_c": 24.0,
    "load_rise_c": 2.0,
    "time_constant_s": 900.0,
    "free_cooling_max_c": 15.0,
    "cooling_kw_per_kw": 0.12,
    "cooling_kw_per_kw_per_c": 0.012,
}
COOLING_DEFAULTS.update(
    {
        (cooling, True): {**values, "ambient_approach_c": 0.0, **_CHILLED}
        for (cooling, _), values in list(COOLING_DEFAULTS.items())
    }
)


_BOOL = TypeAdapter(bool)


def _default(description: str, **bounds: Any) -> Any:
    """A field filled from COOLING_DEFAULTS when null."""
    return Field(None, description=f"{description} Null = the cooling type's default.", **bounds)


class HallSpec(Section):
    """A hall: the hardware groups in it share its cooling and its thermal state."""

    name: Name = Field(description="Hall name; groups refer to it; prefixes its CSV columns.")
    cooling: CoolingType = Field("air", description="Cooling type: air, hydro or immersion.")
    chilled: bool = Field(
        False,
        description="True: chillers hold the inlet at setpoint_c whatever the ambient (AI data "
        "halls); false: the inlet follows the outside air or dry coolers.",
    )
    heat_rejection_kw: float = Field(
        gt=0, description="Heat the cooling can reject at or below design_ambient_c (kW)."
    )
    design_ambient_c: float = _default("Ambient up to which the full capacity holds (°C).")
    derate_per_c: float = _default(
        "Fraction of the capacity lost per °C of ambient above design_ambient_c.", ge=0, lt=1
    )
    setpoint_c: float = _default("Lowest inlet temperature the cooling holds (°C).")
    ambient_approach_c: float = _default(
        "Inlet above ambient at no load when not chilled (°C; unused when chilled)."
    )
    load_rise_c: float = _default(
        "Inlet rise above the supply at heat = cooling capacity (°C).", ge=0
    )
    time_constant_s: float = _default(
        "Thermal time constant of the hall's inlet temperature (s).", gt=0
    )
    free_cooling_max_c: float = _default("Ambient up to which free cooling suffices (°C).")
    cooling_kw_per_kw: float = _default(
        "Cooling power per kW of heat with free cooling (kW/kW).", ge=0
    )
    cooling_kw_per_kw_per_c: float = _default(
        "Extra cooling power per kW of heat per °C of ambient above free_cooling_max_c (kW/kW/°C).",
        ge=0,
    )
    asic_throttle_temp_c: float = _default("Inlet at which ASICs start to throttle (°C).")
    asic_shutdown_temp_c: float = _default("Inlet at which ASICs trip (°C).")
    gpu_throttle_temp_c: float = _default("Inlet at which GPUs start to slow their clocks (°C).")
    gpu_shutdown_temp_c: float = _default("Inlet at which GPU nodes trip (°C).")
    cooling_failures: CoolingFailuresSpec | None = Field(
        None, description="Failures of the hall's cooling plant; null = it never fails."
    )
    maintenance: list[MaintenanceWindowSpec] = Field(
        default_factory=list,
        description="Planned shutdowns of the hall (time order, no overlap): its hardware is "
        "off and out of service.",
    )
    backup: BackupSpec | None = Field(
        None,
        description="UPS and generator that carry the hall through grid outages; null = the "
        "hall goes dark in an outage.",
    )

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # a bad cooling or chilled value is reported by its own field; fill air's meanwhile
        cooling = data.get("cooling", "air")
        try:  # read as the field will be: "no" and "off" are false, not truthy strings
            chilled = _BOOL.validate_python(data.get("chilled", False))
        except ValidationError:
            chilled = False
        key = (cooling if isinstance(cooling, str) else "air", chilled)
        defaults = COOLING_DEFAULTS.get(key, COOLING_DEFAULTS[("air", False)])
        return {**data, **{k: v for k, v in defaults.items() if data.get(k) is None}}

    @model_validator(mode="after")
    def _limits_ordered(self) -> HallSpec:
        for kind in ("asic", "gpu"):
            throttle = getattr(self, f"{kind}_throttle_temp_c")
            shutdown = getattr(self, f"{kind}_shutdown_temp_c")
            if shutdown <= throttle:
                raise ValueError(
                    f"{kind}_shutdown_temp_c ({shutdown:g}) must be above "
                    f"{kind}_throttle_temp_c ({throttle:g})"
                )
        return self
