"""Output schemas: every CSV column with its unit and meaning, in file order.

These mappings are the contract with analysis code and ``docs/outputs.md``; the table
builders emit exactly these columns, in this order (:func:`check_columns`), and the CSV
writer writes each column with the precision of its kind (:data:`PRECISIONS`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sim.errors import SimulationError

# Columns shared by timeseries.csv (one row per sample interval) and daily.csv (one row per
# UTC day). Levels are time-weighted means over the row's interval, flows are totals over
# it, and chain state is the state at the row's start.
INTERVAL_COLUMNS: dict[str, str] = {
    "timestamp_utc": "Start of the interval (UTC, ISO 8601).",
    "time_s": "Start of the interval, seconds since start_utc (s).",
    "duration_s": "Length of the interval (s); the last row may be shorter.",
    "block_height": "Height of the chain tip at the start of the interval.",
    "difficulty": "Difficulty of the block being worked on at the start of the interval.",
    "subsidy_btc": "Subsidy of the block being worked on at the start of the interval (BTC).",
    "expected_fees_btc_per_block": "Expected fees of that block (BTC).",
    "blocks_found": "Network blocks found in the interval.",
    "network_fees_btc": "Fees of all network blocks found in the interval (BTC).",
    "btc_price_usd": "BTC price, mean over the interval (USD).",
    "network_hashrate_ehs": "Network hashrate, mean over the interval (EH/s).",
    "hashprice_usd_per_ph_day": "Hashprice, mean over the interval: 86,400·10^15/(D·2^32)·"
    "(subsidy + expected fees)·price (USD per PH/s per day).",
    "energy_price_usd_per_mwh": "Energy price, mean over the interval (USD/MWh).",
    "site_hashrate_ths": "Hashrate of the site's running ASICs, mean (TH/s).",
    "asic_units_running": "ASIC units running, mean over the interval.",
    "asic_power_kw": "Wall power of the running ASICs, mean (kW).",
    "asic_energy_kwh": "Energy used by the ASICs in the interval (kWh).",
    "curtailed_kw": "Nameplate power of installed ASICs the policy kept off, mean (kW).",
    "dr_credit_usd": "Demand-response credit: load kept off during events × credit (USD).",
    "site_blocks_found": "Network blocks found by the site's hashrate in the interval.",
    "btc_mined": "BTC earned by the site in the interval, net of pool fees (BTC).",
    "mining_revenue_usd": "Value of btc_mined at the price when earned (USD).",
    "pool_fee_usd": "Pool fees paid in the interval (USD; 0 when solo).",
    "asic_energy_cost_usd": "Cost of the ASICs' energy (USD).",
    "mining_margin_usd": "mining_revenue_usd − asic_energy_cost_usd (USD).",
    "gpu_nodes_powered": "GPU nodes within the node cap (powered), mean.",
    "gpus_busy": "GPUs allocated to running jobs, mean.",
    "gpu_utilization": "gpus_busy / GPUs installed (fraction; empty without GPUs).",
    "queue_length": "Jobs waiting, mean over the interval.",
    "jobs_submitted": "Jobs submitted in the interval.",
    "jobs_started": "Jobs that first started in the interval.",
    "jobs_completed": "Jobs completed in the interval.",
    "jobs_abandoned": "Jobs whose customers left the queue in the interval.",
    "jobs_preempted": "Preemptions in the interval.",
    "mean_wait_s": "Mean wait (submit to first start) of jobs_started (s; empty if none).",
    "p95_wait_s": "95th percentile of those waits (s; empty if none).",
    "gpu_hours_sold": "On-demand GPU-hours billed plus reserved GPU-hours contracted.",
    "gpu_power_kw": "Wall power of the powered GPU nodes, mean (kW).",
    "gpu_energy_kwh": "Energy used by the GPU nodes (kWh).",
    "ai_on_demand_revenue_usd": "On-demand revenue: GPU-hours of work kept × price (USD); a "
    "GPU slowed by heat delivers less work per hour.",
    "ai_reserved_revenue_usd": "Reserved-contract revenue, take-or-pay (USD).",
    "sla_penalty_usd": "SLA penalties, booked at the end of each SLA period (USD).",
    "ai_revenue_usd": "ai_on_demand_revenue_usd + ai_reserved_revenue_usd (USD).",
    "gpu_energy_cost_usd": "Cost of the GPU nodes' energy (USD).",
    "ai_margin_usd": "ai_revenue_usd − sla_penalty_usd − gpu_energy_cost_usd (USD).",
    "ambient_temp_c": "Outdoor dry-bulb temperature, mean (°C).",
    "it_power_kw": "Wall power of all hardware (ASICs and GPU nodes), mean (kW).",
    "cooling_power_kw": "Power drawn by the halls' cooling, mean (kW).",
    "site_power_kw": "it_power_kw + cooling_power_kw: what the site draws, mean (kW).",
    "pue": "Power usage effectiveness: site energy / IT energy in the interval (empty with no "
    "IT load).",
    "cooling_energy_kwh": "Energy used by the cooling (kWh).",
    "cooling_energy_cost_usd": "Cost of the cooling's energy (USD).",
    "throttled_hours": "Hours in the interval during which some hardware ran throttled or "
    "tripped by heat.",
    "four_cp_charge_usd": "Transmission charge set by the site's power in a 4CP peak interval "
    "in the interval: mean kW then × rate / months (USD; booked at the peak).",
    "throttled_hashrate_ths": "Hashrate of granted ASICs lost to heat throttling and trips, "
    "mean (TH/s).",
    "heat_lost_revenue_usd": "Expected mining revenue of throttled_hashrate_ths, net of pool "
    "fees (USD); GPU losses show as slower jobs in the AI columns.",
    "energy_cost_usd": "Cost of all energy used in the interval: ASICs, GPU nodes and "
    "cooling (USD); 4CP charges are separate.",
    "grid_outage_hours": "Hours without grid power in the interval (site.grid_outages).",
    "hardware_failures": "ASIC units and GPU nodes that failed in the interval.",
    "energy_not_served_kwh": "IT energy the faults kept from the hardware: units out of "
    "service (failed, in a dark or shut hall) at their group's power per unit in service, "
    "and in a curtailment order the site's IT power before it (kWh; docs/model.md §10.8).",
    "fault_lost_revenue_usd": "Expected mining revenue of the ASICs out of service, valued "
    "like energy_not_served_kwh, net of pool fee (USD).",
}

# Per-hall columns appended to timeseries.csv and daily.csv, one set per hall in scenario
# order, "<hall>" replaced by the hall's name.
HALL_COLUMNS: dict[str, str] = {
    "<hall>_inlet_temp_c": "Inlet temperature of the hall, exact time-weighted mean (°C).",
    "<hall>_heat_kw": "Heat the hall's hardware gives off (its wall power), mean (kW).",
    "<hall>_cooling_capacity_kw": "Heat the hall's cooling can reject at the ambient, mean (kW).",
    "<hall>_cooling_power_kw": "Power drawn by the hall's cooling, mean (kW).",
}

DAY_DOC = "UTC calendar day (in a run's DataFrames, a UTC datetime at midnight)."
DAILY_COLUMNS: dict[str, str] = {"date": DAY_DOC, **INTERVAL_COLUMNS}

BLOCK_COLUMNS: dict[str, str] = {
    "height": "Block height.",
    "time_s": "When the block was found, seconds since start_utc (s).",
    "timestamp_utc": "When the block was found (UTC, whole seconds; the header timestamp).",
    "difficulty": "Difficulty the block was mined at.",
    "bits": "Compact target (nBits) of the block, 8 hex digits.",
    "subsidy_btc": "Block subsidy (BTC).",
    "fees_btc": "Transaction fees in the block (BTC).",
    "network_hashrate_ehs": "Network hashrate when the block was found (EH/s).",
    "found_by_site": "True if the site's hashrate found the block.",
}

EVENT_COLUMNS: dict[str, str] = {
    "time_s": "When the event happened, seconds since start_utc (s).",
    "timestamp_utc": "When the event happened (UTC).",
    "event": "Kind: halving, difficulty_adjustment, demand_response (an event starts), "
    "asic_grant (the policy changed some ASIC groups' units at a tick; value = units granted "
    "at the site, detail = the first group that changed), node_cap (a GPU group's "
    "usable nodes changed), thermal_throttle (a hall's ASICs or GPUs started to throttle for "
    "heat; value = their factor), thermal_recover (back at full speed), thermal_trip (they "
    "tripped at their shutdown temperature), four_cp_alert (the site expects a 4CP peak in "
    "this window; value = the credit the policy weighs), four_cp_peak (a month's 4CP "
    "interval; value = the site's mean kW then), sla_penalty, grid_outage (the grid fails; "
    "value = hours until it returns), grid_restored, cooling_failure (a hall's cooling plant "
    "fails; value = the share of capacity lost), cooling_restored, hardware_failure (a unit "
    "of the group named in entity fails), repair_done (it is back; value = hours it was "
    "down), maintenance and maintenance_end (a hall's planned shutdown; value = hours), "
    "curtailment_order and curtailment_order_end (value = the grid share allowed), "
    "node_failure (a failed GPU node stopped jobs; value = the node).",
    "entity": "What the event happened to (e.g. bitcoin).",
    "value": "The event's value, in `unit` (new subsidy, difficulty, nodes, penalty).",
    "unit": "Unit of `value`.",
    "detail": "Free-text detail (height, relative change).",
    "end_time_s": "Faults (grid_outage, cooling_failure, hardware_failure, maintenance, "
    "curtailment_order): when it ended, seconds since start_utc (empty if not by the end "
    "of the run, and for other events) (s).",
    "duration_s": "Faults: how long it lasted within the run (s).",
    "energy_not_served_kwh": "Faults: the IT energy it kept from the hardware, as in "
    "daily.csv (empty for cooling failures, which slow hardware instead; overlapping "
    "windows each count theirs) (kWh).",
    "jobs_interrupted": "Faults: jobs preempted at the instants it took GPU nodes away.",
    "lost_gpu_hours": "Faults: the work those jobs lost since their last checkpoint, times the "
    "GPUs each held (GPU-hours at full clock; run again, unbilled).",
}

SUMMARY_COLUMNS: dict[str, str] = {
    "scenario": "Scenario name.",
    "seed": "Root seed of the run.",
    "start_utc": "Start of the run (UTC).",
    "end_utc": "End of the run (UTC).",
    "horizon_days": "Simulated days.",
    "payout": "fpps or solo.",
    "blocks_found": "Network blocks found in the run.",
    "mean_block_interval_s": "Run length divided by blocks found (s).",
    "halvings": "Halvings that happened in the run.",
    "first_halving_utc": "Time of the first halving block in the run (UTC), empty if none.",
    "difficulty_start": "Difficulty at the start.",
    "difficulty_end": "Difficulty of the block being worked on at the end.",
    "network_hashrate_start_ehs": "Network hashrate at the start (EH/s).",
    "network_hashrate_end_ehs": "Network hashrate at the end (EH/s).",
    "btc_price_start_usd": "BTC price at the start (USD).",
    "btc_price_end_usd": "BTC price at the end (USD).",
    "installed_asic_units": "ASIC units installed.",
    "installed_hashrate_ths": "Nameplate hashrate of the fleet (TH/s).",
    "installed_asic_power_kw": "Nameplate power of the fleet (kW).",
    "fleet_efficiency_j_per_th": "Nameplate power / nameplate hashrate (J/TH).",
    "mean_site_hashrate_ths": "Mean hashrate of running ASICs (TH/s).",
    "mean_hashprice_usd_per_ph_day": "Time-weighted mean hashprice (USD per PH/s per day).",
    "site_blocks_found": "Network blocks found by the site's hashrate.",
    "btc_mined": "BTC earned, net of pool fees (BTC).",
    "mining_revenue_usd": "Mining revenue (USD).",
    "pool_fee_usd": "Pool fees paid (USD).",
    "asic_energy_mwh": "Energy used by the ASICs (MWh).",
    "asic_energy_cost_usd": "ASIC energy cost (USD).",
    "mining_margin_usd": "Mining revenue minus ASIC energy cost (USD).",
    "energy_cost_per_btc_usd": "ASIC energy cost per BTC mined (USD/BTC), empty if none mined.",
    "revenue_per_mwh_usd": "Mining revenue per ASIC MWh (USD/MWh), empty if none used.",
    "mining_revenue_usd_per_mw_year": "Mining revenue per installed ASIC MW per year (USD).",
    "policy": "Site power policy (static, ai_first or profit).",
    "curtailed_mwh": "ASIC energy not drawn because the policy kept units off (MWh).",
    "curtailment_hours": "Hours during which some installed ASIC was kept off.",
    "dr_credit_usd": "Demand-response credits earned (USD).",
    "gpus_installed": "GPUs installed.",
    "installed_gpu_power_kw": "Peak power of the installed GPU nodes (kW).",
    "jobs_submitted": "Jobs submitted.",
    "jobs_completed": "Jobs completed.",
    "jobs_abandoned": "Jobs abandoned by their customers.",
    "abandonment_rate": "jobs_abandoned / jobs that left the queue (started or abandoned).",
    "jobs_preempted": "Preemptions.",
    "gpu_utilization": "Mean GPUs busy / GPUs installed (fraction).",
    "mean_wait_s": "Mean wait of jobs that started (s).",
    "p95_wait_s": "95th percentile wait of jobs that started (s).",
    "gpu_hours_sold": "On-demand GPU-hours billed plus reserved GPU-hours contracted.",
    "ai_on_demand_revenue_usd": "On-demand revenue (USD).",
    "ai_reserved_revenue_usd": "Reserved-contract revenue (USD).",
    "sla_penalty_usd": "SLA penalties (USD).",
    "ai_revenue_usd": "AI revenue before penalties (USD).",
    "gpu_energy_mwh": "Energy used by GPU nodes (MWh).",
    "gpu_energy_cost_usd": "GPU energy cost (USD).",
    "ai_margin_usd": "AI revenue minus penalties and GPU energy cost (USD).",
    "ai_revenue_per_gpu_hour_usd": "ai_revenue_usd / gpu_hours_sold (USD).",
    "ai_revenue_usd_per_mw_year": "AI revenue per installed GPU MW (peak) per year (USD).",
    "halls": "Halls with modelled cooling.",
    "mean_ambient_temp_c": "Mean outdoor temperature over the run (°C).",
    "it_energy_mwh": "Energy used by all hardware (MWh).",
    "cooling_energy_mwh": "Energy used by the cooling (MWh).",
    "energy_mwh": "All energy the site drew: IT + cooling (MWh).",
    "mean_pue": "energy_mwh / it_energy_mwh over the run.",
    "cooling_energy_cost_usd": "Cost of the cooling's energy (USD).",
    "four_cp_charge_usd": "4CP transmission charges set in the run (USD).",
    "hours_throttled": "Hours during which some hardware ran throttled or tripped by heat.",
    "thermal_trips": "Times a hardware group tripped at its shutdown temperature.",
    "heat_lost_revenue_usd": "Expected mining revenue lost to heat throttling and trips (USD).",
    "grid_outages": "Grid outages in the run (overlapping ones counted once).",
    "grid_outage_hours": "Hours without grid power.",
    "hardware_failures": "ASIC units and GPU nodes that failed.",
    "cooling_failures": "Failures of the halls' cooling plants (site.halls[].cooling_failures).",
    "cooling_failure_hours": "Hall-hours with a cooling plant failed.",
    "asic_availability": "ASIC unit-hours in service / unit-hours installed (empty without "
    "ASICs); failures and outages take units out of service.",
    "gpu_node_availability": "The same for GPU nodes (empty without GPUs).",
    "generator_energy_mwh": "Energy the halls' generators carried in grid outages (MWh).",
    "generator_fuel_cost_usd": "Their fuel cost (USD; not in energy_cost_usd, which is the "
    "grid's).",
    "failed_generator_starts": "Outages in which a hall's generator failed to start.",
    "jobs_interrupted_by_faults": "Preemptions at the instant a fault took GPU nodes away (a "
    "node failing, its hall going dark or shut); each loses its work since the last "
    "checkpoint and requeues.",
    "fault_lost_gpu_hours": "The work they lost, times the GPUs each held (GPU-hours at full "
    "clock): run again on the provider's GPUs, and not billed twice.",
    "energy_not_served_mwh": "IT energy the faults kept from the hardware (MWh; see the "
    "daily column).",
    "fault_lost_revenue_usd": "Expected mining revenue lost to faults (USD; see the daily "
    "column). The AI side's cost of faults is its SLA penalties and interrupted jobs.",
    "energy_cost_usd": "All energy cost (USD).",
}

JOB_COLUMNS: dict[str, str] = {
    "job_id": "Job number, in submission order.",
    "job_class": "Job class name.",
    "group": "GPU group that ran (or queued) it.",
    "contract": "Reserved contract whose GPUs it ran on; empty for on-demand work, including "
    "a tenant's burst beyond its contracted GPUs.",
    "submit_time_s": "Submission, seconds since start_utc (s).",
    "start_time_s": "First start (s); empty if it never started.",
    "end_time_s": "Completion or abandonment (s); empty if running or queued at the end.",
    "gpus": "GPUs requested.",
    "allocated_gpus": "GPUs held while running (gang jobs hold whole nodes); 0 if never run.",
    "nodes": "Nodes used: 1 for jobs that fit a node, else whole nodes.",
    "wait_s": "Submit to first start, or to abandonment or the end of the run (s).",
    "run_s": "Time run, including work later lost to preemption (s).",
    "lost_work_s": "Work lost to preemptions (since the last checkpoint), in seconds at full "
    "clock (s).",
    "preemptions": "Times the job was preempted.",
    "status": "completed, abandoned, running or queued (at the end of the run).",
    "revenue_usd": "On-demand revenue: allocated GPUs × hours of work kept (at full clock) × "
    "price (USD).",
}

GROUP_COLUMNS: dict[str, str] = {
    "date": DAY_DOC,
    "group": "Hardware group name (an ASIC group or a GPU group).",
    "kind": "asic or gpu.",
    "hardware": "ASIC model or GPU node type.",
    "units_installed": "ASIC units, or GPU nodes, installed.",
    "units_in_service": "Units installed, not failed and with grid power, mean.",
    "units_running": "ASIC units running, or GPU nodes powered (within the node cap), mean.",
    "power_kw": "Wall power of the group, mean (kW).",
    "energy_kwh": "Energy used by the group in the day (kWh).",
    "curtailed_kw": "Power of units in service kept off by the policy (or ramping up), mean: "
    "ASIC nameplate, or GPU node peak for nodes outside the node cap (kW).",
    "hashrate_ths": "Hashrate of the running units, mean (TH/s; empty for GPUs).",
    "gpus_busy": "GPUs allocated to running jobs, mean (empty for ASICs).",
    "revenue_usd": "Mining revenue (FPPS: the group's hashes × value per hash, net of pool "
    "fees; solo: the site's blocks split by hashrate share) or AI revenue (on-demand plus "
    "the group's reserved contracts) (USD).",
    "energy_cost_usd": "Cost of the group's energy (USD).",
    "margin_usd": "revenue_usd − energy_cost_usd (USD).",
}

NETWORK_COLUMNS: dict[str, str] = {
    "date": DAY_DOC,
    "cohort": "Cohort of the economic network: a start cohort "
    "(bitcoin.network_hashrate.economic.cohorts) or new-<date>, the machines ordered in the "
    "vintage window that began on that date.",
    "efficiency_j_per_th": "Energy per terahash of the cohort's machines (J/TH).",
    "breakeven_hashprice_usd_per_ph_day": "Hashprice that pays the power of the cohort's "
    "median-cost miner: 0.024 MWh/(PH·day·J/TH) × efficiency × median power cost (USD per "
    "PH/s per day); half the cohort runs there.",
    "hashprice_usd_per_ph_day": "Hashprice the miners decide on, mean over the day: the "
    "epoch's difficulty, subsidy, fee level (without spikes) and price (USD per PH/s per day).",
    "installed_hashrate_ehs": "The cohort's installed hashrate, mean (EH/s).",
    "running_share": "running_hashrate_ehs / installed_hashrate_ehs: the share of the "
    "cohort's machines whose miners' power cost the hashprice covers, over the day (fraction).",
    "running_hashrate_ehs": "The cohort's running hashrate, mean (EH/s); the cohorts' sum is "
    "network_hashrate_ehs.",
}

TABLES: dict[str, dict[str, str]] = {
    "timeseries.csv": INTERVAL_COLUMNS,
    "daily.csv": DAILY_COLUMNS,
    "groups.csv": GROUP_COLUMNS,
    "blocks.csv": BLOCK_COLUMNS,
    "jobs.csv": JOB_COLUMNS,
    "events.csv": EVENT_COLUMNS,
    "summary.csv": SUMMARY_COLUMNS,
    "network.csv": NETWORK_COLUMNS,
}


@dataclass(frozen=True)
class Precision:
    """How a kind of column is written to CSV (the DataFrames keep full precision).

    Floats are rounded half to even to ``decimals`` places with numpy, an exact IEEE
    operation, and then printed as the shortest text that reads back as the same double, so
    files are identical on every platform and carry no float noise (577919.9999999999 is
    written as 577920).
    """

    decimals: int | None  # None: not rounded (integers, text, flags, times)
    doc: str  # as docs/outputs.md shows it


PRECISIONS: dict[str, Precision] = {
    # a hundredth of a cent: a small site's hourly (or minute) flows keep their cents, and
    # a year of hourly rows sums within 0.44 USD of the unrounded total
    "usd": Precision(4, "4 decimals (0.0001 USD)"),
    "btc": Precision(8, "8 decimals (1 satoshi)"),
    "difficulty": Precision(2, "2 decimals"),
    "kwh": Precision(3, "3 decimals (1 Wh)"),
    "mwh": Precision(6, "6 decimals (1 Wh)"),
    "kw": Precision(3, "3 decimals (1 W)"),
    "ths": Precision(3, "3 decimals (1 GH/s)"),
    "ehs": Precision(6, "6 decimals (1 TH/s)"),
    "seconds": Precision(3, "3 decimals (1 ms)"),
    "hours": Precision(6, "6 decimals"),
    "days": Precision(6, "6 decimals"),
    "celsius": Precision(3, "3 decimals (0.001 °C)"),
    "ratio": Precision(6, "6 decimals"),
    "mean": Precision(4, "4 decimals"),  # time-weighted means of counts
    "value": Precision(6, "6 decimals"),  # events.csv's value, whose unit varies
    "date": Precision(None, "YYYY-MM-DD"),
    "timestamp": Precision(None, "ISO 8601, whole seconds"),
    "exact": Precision(None, "as is"),  # integers, text and flags
}

# Columns whose kind their unit suffix does not give (checked first)
_KIND_OF_COLUMN: dict[str, str] = {
    "date": "date",
    "btc_mined": "btc",
    "expected_fees_btc_per_block": "btc",
    "difficulty": "difficulty",
    "difficulty_start": "difficulty",
    "difficulty_end": "difficulty",
    "gpu_hours_sold": "hours",
    "hours_throttled": "hours",
    "asic_units_running": "mean",
    "gpu_nodes_powered": "mean",
    "gpus_busy": "mean",
    "queue_length": "mean",
    "units_running": "mean",
    "units_in_service": "mean",
    "asic_availability": "ratio",
    "gpu_node_availability": "ratio",
    "gpu_utilization": "ratio",
    "abandonment_rate": "ratio",
    "pue": "ratio",
    "mean_pue": "ratio",
    "fleet_efficiency_j_per_th": "ratio",
    "efficiency_j_per_th": "ratio",
    "running_share": "ratio",
    "value": "value",
}

# Unit suffixes, tried in order (so "_usd_per_mwh" is money, not energy)
_KIND_OF_SUFFIX: dict[str, str] = {
    "_usd": "usd",
    "_usd_per_mwh": "usd",
    "_usd_per_ph_day": "usd",
    "_usd_per_mw_year": "usd",
    "_btc": "btc",
    "_kwh": "kwh",
    "_mwh": "mwh",
    "_kw": "kw",
    "_ths": "ths",
    "_ehs": "ehs",
    "_s": "seconds",
    "_hours": "hours",
    "_days": "days",
    "_c": "celsius",
    "_utc": "timestamp",
}


def precision_kind(column: str) -> str:
    """The PRECISIONS kind of ``column`` (hall columns included): by name, else by unit."""
    if column in _KIND_OF_COLUMN:
        return _KIND_OF_COLUMN[column]
    suffix = next((s for s in _KIND_OF_SUFFIX if column.endswith(s)), None)
    return _KIND_OF_SUFFIX[suffix] if suffix else "exact"


def check_columns(
    table: str,
    actual: Iterable[str],
    expected: Iterable[str],
    t_s: float,
    start_utc: datetime | None = None,
) -> None:
    """Raise SimulationError("tables", …) unless ``actual`` is ``expected``, in order.

    A real check, not an assert (asserts vanish under ``python -O``): a table that strays
    from its schema would silently break analysis code and the docs. ``t_s`` is when the
    table is built (the horizon, for tables of a finished run).
    """
    actual, expected = list(actual), list(expected)
    if actual == expected:
        return
    missing = [name for name in expected if name not in actual]
    extra = [name for name in actual if name not in expected]
    problem = f"missing {missing}, extra {extra}" if missing or extra else "columns out of order"
    raise SimulationError("tables", t_s, f"{table} does not match its schema: {problem}", start_utc)
