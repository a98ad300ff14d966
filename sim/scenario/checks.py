"""Cross-field checks: rules that involve more than one field or an external file.

Each check reads only the sections it needs and is skipped when one of them failed its own
validation (that failure is already reported), so every independent problem is reported at
once. A section whose only failures are list items keeps its other items; references to
such a list are not checked (see :func:`sim.scenario.refs.complete`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sim.consensus import implied_hashrate_hs
from sim.errors import Issue
from sim.scenario.ai_checks import AI_CHECKS, gpu_peak_power_kw
from sim.scenario.ambient import AMBIENT_CSV_COLUMN, AMBIENT_LIMITS_C
from sim.scenario.catalog import BUILTIN_ASICS, known_asics
from sim.scenario.facility_checks import FACILITY_CHECKS
from sim.scenario.faults import CurtailmentOrderSpec, MaintenanceWindowSpec
from sim.scenario.four_cp import partial_four_cp_months
from sim.scenario.refs import INPUT_FILES, complete, group_refs, user_names
from sim.scenario.schema import AsicModelSpec, BitcoinSpec, MiningSpec, SiteSpec
from sim.units import HASHES_PER_EHS, HASHES_PER_THS

Parts = dict[str, Any]
Check = Callable[[Parts], list[Issue]]


def _dates(parts: Parts) -> list[Issue]:
    start, end = parts.get("start_utc"), parts.get("end_utc")
    if start is None or end is None or end > start:
        return []
    return [
        Issue("end_utc", f"must be after start_utc ({start.isoformat()}), got {end.isoformat()}")
    ]


def _epoch_start(parts: Parts) -> list[Issue]:
    start, btc = parts.get("start_utc"), parts.get("bitcoin")
    if start is None or btc is None or btc.epoch_start_utc <= start:
        return []
    return [
        Issue(
            "bitcoin.epoch_start_utc",
            f"the epoch in force at start_utc must have begun by then "
            f"({start.isoformat()}), got {btc.epoch_start_utc.isoformat()}",
        )
    ]


def _asic_models(parts: Parts) -> list[Issue]:
    models: list[AsicModelSpec] | None = parts.get("asic_models")
    return user_names(models or [], BUILTIN_ASICS, "asic_models", "model")


def _asic_groups(parts: Parts) -> list[Issue]:
    mining: MiningSpec | None = parts.get("mining")
    if mining is None or parts.get("asic_models") is None:
        return []
    models = [g.model for g in mining.groups]
    known = known_asics(parts["asic_models"]) if complete(parts, "asic_models") else None
    return group_refs(mining.groups, models, known, "mining.groups", "model")


def _asic_totals(parts: Parts) -> tuple[float, float] | None:
    """Installed (power kW, hashrate TH/s) of the ASIC groups with a known model."""
    mining: MiningSpec | None = parts.get("mining")
    if mining is None or parts.get("asic_models") is None:
        return None
    known = known_asics(parts["asic_models"])
    groups = [(g, known[g.model]) for g in mining.groups if g.model in known]
    power_kw = sum(g.count * power_w for g, (_, power_w) in groups) / 1_000.0
    return power_kw, sum(g.count * ths for g, (ths, _) in groups)


def _power_and_hashrate(parts: Parts) -> list[Issue]:
    site: SiteSpec | None = parts.get("site")
    btc: BitcoinSpec | None = parts.get("bitcoin")
    totals = _asic_totals(parts)
    if totals is None:
        return []
    power_kw, hashrate_ths = totals
    gpu_kw = gpu_peak_power_kw(parts)
    issues = []
    if site is not None and power_kw + gpu_kw > site.grid_capacity_kw:
        issues.append(
            Issue(
                "site.grid_capacity_kw",
                f"{site.grid_capacity_kw:,.0f} kW is below the installed peak load: "
                f"ASICs {power_kw:,.0f} kW + GPU nodes {gpu_kw:,.0f} kW",
            )
        )
    if btc is not None and btc.network_hashrate.model != "csv":  # csv: see _series_files
        network_ehs = (
            btc.network_hashrate.start_ehs
            or implied_hashrate_hs(btc.start_difficulty) / HASHES_PER_EHS
        )
        if hashrate_ths * HASHES_PER_THS >= network_ehs * HASHES_PER_EHS:
            issues.append(
                Issue(
                    "mining.groups",
                    f"site hashrate {hashrate_ths / 1e6:,.2f} EH/s is not below the network's "
                    f"{network_ehs:,.2f} EH/s at start_utc",
                )
            )
    return issues


ECONOMIC_INTERVAL_S = 3_600  # an hourly decision grid keeps a 5-year run's cohort arrays small


def _economic_network(parts: Parts) -> list[Issue]:
    """The economic network makes its own halving response, on an hourly grid."""
    btc: BitcoinSpec | None = parts.get("bitcoin")
    if btc is None or btc.network_hashrate.model != "economic":
        return []
    spec, issues = btc.network_hashrate, []
    if spec.halving_drop_fraction != 0.0:
        issues.append(
            Issue(
                "bitcoin.network_hashrate.halving_drop_fraction",
                f"must be 0 with model economic, whose miners leave at a halving when it no "
                f"longer pays (got {spec.halving_drop_fraction:g})",
            )
        )
    if spec.update_interval_s != ECONOMIC_INTERVAL_S:
        issues.append(
            Issue(
                "bitcoin.network_hashrate.update_interval_s",
                f"must be {ECONOMIC_INTERVAL_S} with model economic (got {spec.update_interval_s})",
            )
        )
    return issues


def _fee_schedule(parts: Parts) -> list[Issue]:
    btc: BitcoinSpec | None = parts.get("bitcoin")
    if btc is None:
        return []
    times = [level.from_utc for level in btc.fees.schedule]
    if all(a < b for a, b in zip(times, times[1:], strict=False)):
        return []
    return [Issue("bitcoin.fees.schedule", "from_utc must be strictly increasing")]


def _series_file(
    path_field: str,
    model: str,
    csv_path: str | None,
    column: str,
    parts: Parts,
    positive: bool = True,
    limits: tuple[float, float] | None = None,
) -> tuple[list[Issue], tuple[np.ndarray, np.ndarray] | None]:
    """Issues of a ``model: csv`` input, and its (unix seconds, values) when it reads."""
    if model != "csv":
        if csv_path is not None:
            return [Issue(path_field, "is only used with model 'csv'")], None
        return [], None
    if csv_path is None:
        return [Issue(path_field, "is required with model 'csv'")], None
    try:
        series = parts[INPUT_FILES].step_series(path_field, csv_path, column, positive, limits)
    except ValueError as exc:
        return [Issue(path_field, str(exc))], None
    start = parts.get("start_utc")
    if start is not None and series[0][0] > start.timestamp():
        return [Issue(path_field, f"series starts after start_utc ({start.isoformat()})")], None
    return [], series


def _network_above_site(
    path_field: str, csv_path: str, series: tuple[np.ndarray, np.ndarray], parts: Parts
) -> list[Issue]:
    """The network's hashrate includes the site's, so it must exceed it in every row of the run."""
    totals, start, end = _asic_totals(parts), parts.get("start_utc"), parts.get("end_utc")
    if totals is None or start is None or end is None:
        return []
    site_ehs = totals[1] * HASHES_PER_THS / HASHES_PER_EHS
    times, values = series
    until = np.append(times[1:], np.inf)  # each row holds until the next one
    in_run = (times < end.timestamp()) & (until > start.timestamp())
    low = np.flatnonzero(in_run & (values <= site_ehs))
    if not low.size:
        return []
    row = int(low[0])
    return [
        Issue(
            path_field,
            f"{csv_path} line {row + 2}: network_hashrate_ehs must stay above the site's "
            f"installed {site_ehs:,.2f} EH/s throughout the run (got {values[row]:g})",
        )
    ]


def _series_files(parts: Parts) -> list[Issue]:
    btc: BitcoinSpec | None = parts.get("bitcoin")
    if btc is None:
        return []
    hr, price = btc.network_hashrate, btc.price
    field = "bitcoin.network_hashrate.csv_path"
    issues, hashrate = _series_file(field, hr.model, hr.csv_path, "network_hashrate_ehs", parts)
    if hashrate is not None and hr.csv_path is not None:
        issues += _network_above_site(field, hr.csv_path, hashrate, parts)
    price_issues, _ = _series_file(
        "bitcoin.price.csv_path", price.model, price.csv_path, "btc_price_usd", parts
    )
    return issues + price_issues


def _energy_price(parts: Parts) -> list[Issue]:
    site: SiteSpec | None = parts.get("site")
    if site is None:
        return []
    energy = site.energy
    issues, _ = _series_file(
        "site.energy.csv_path",
        energy.model,
        energy.csv_path,
        "price_usd_per_mwh",
        parts,
        positive=False,
    )
    ambient = site.ambient
    if ambient.model == "csv":
        issues += _series_file(
            "site.ambient.csv_path",
            "csv",
            ambient.csv_path,
            AMBIENT_CSV_COLUMN,
            parts,
            positive=False,
            limits=AMBIENT_LIMITS_C,
        )[0]
    if sum(energy.diurnal_profile) <= 0:
        issues.append(Issue("site.energy.diurnal_profile", "must have a positive sum"))
    floor, cap = energy.price_floor_usd_per_mwh, energy.price_cap_usd_per_mwh
    if floor >= cap:
        issues.append(
            Issue(
                "site.energy.price_floor_usd_per_mwh",
                f"must be below price_cap_usd_per_mwh ({cap:g}), got {floor:g}",
            )
        )
    return issues


def _demand_response(parts: Parts) -> list[Issue]:
    site: SiteSpec | None = parts.get("site")
    if site is None:
        return []
    issues, previous_end = [], None
    for i, event in enumerate(site.demand_response):
        if event.end_utc <= event.start_utc:
            issues.append(Issue(f"site.demand_response[{i}].end_utc", "must be after start_utc"))
        if previous_end is not None and event.start_utc < previous_end:
            issues.append(
                Issue(
                    f"site.demand_response[{i}].start_utc",
                    "events must be in time order and must not overlap",
                )
            )
        previous_end = event.end_utc
    return issues


def _windows_in_order(
    path: str, windows: Sequence[CurtailmentOrderSpec | MaintenanceWindowSpec]
) -> list[Issue]:
    """Each window ends after it starts; windows are in time order and do not overlap."""
    issues, previous_end = [], None
    for i, window in enumerate(windows):
        if window.end_utc <= window.start_utc:
            issues.append(Issue(f"{path}[{i}].end_utc", "must be after start_utc"))
        if previous_end is not None and window.start_utc < previous_end:
            issues.append(
                Issue(f"{path}[{i}].start_utc", "windows must be in time order and not overlap")
            )
        previous_end = window.end_utc
    return issues


def _fault_windows(parts: Parts) -> list[Issue]:
    site: SiteSpec | None = parts.get("site")
    if site is None:
        return []
    issues = _windows_in_order("site.curtailment_orders", site.curtailment_orders)
    for h, hall in enumerate(site.halls):
        issues += _windows_in_order(f"site.halls[{h}].maintenance", hall.maintenance)
    return issues


def _four_cp_months(parts: Parts) -> list[Issue]:
    """A 4CP month only partly inside the run would silently carry no peak and no charge."""
    site: SiteSpec | None = parts.get("site")
    start, end = parts.get("start_utc"), parts.get("end_utc")
    if site is None or start is None or end is None or end <= start:
        return []
    four_cp = site.grid_programs.four_cp
    if four_cp is None:
        return []
    partial = partial_four_cp_months(four_cp, start, (end - start).total_seconds())
    if not partial:
        return []
    return [
        Issue(
            "site.grid_programs.four_cp.months",
            f"4CP month(s) {', '.join(partial)} only partly inside the run would have no peak "
            "and no charge; start and end the run on month boundaries or leave them out",
        )
    ]


CHECKS: tuple[Check, ...] = (
    _dates,
    _epoch_start,
    _asic_models,
    _asic_groups,
    _power_and_hashrate,
    _fee_schedule,
    _series_files,
    _economic_network,
    _energy_price,
    _demand_response,
    _fault_windows,
    _four_cp_months,
    *AI_CHECKS,
    *FACILITY_CHECKS,
)


def cross_checks(parts: Parts) -> list[Issue]:
    """Run every cross-field check on the sections that validated."""
    return [issue for check in CHECKS for issue in check(parts)]
