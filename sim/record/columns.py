"""Output schemas: every CSV column with its unit and meaning, in file order.

These mappings are the contract with analysis code and ``docs/outputs.md``; the table
builders emit exactly these columns, in this order.
"""

from __future__ import annotations

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
    "site_hashrate_ths": "Hashrate of the site's running ASICs, mean (TH/s).",
    "asic_units_running": "ASIC units running, mean over the interval.",
    "asic_power_kw": "Wall power of the running ASICs, mean (kW).",
    "asic_energy_kwh": "Energy used by the ASICs in the interval (kWh).",
    "energy_price_usd_per_mwh": "Energy price, mean over the interval (USD/MWh).",
    "site_blocks_found": "Network blocks found by the site's hashrate in the interval.",
    "btc_mined": "BTC earned by the site in the interval, net of pool fees (BTC).",
    "mining_revenue_usd": "Value of btc_mined at the price when earned (USD).",
    "pool_fee_usd": "Pool fees paid in the interval (USD; 0 when solo).",
    "energy_cost_usd": "Cost of the energy used in the interval (USD).",
    "mining_margin_usd": "mining_revenue_usd − energy_cost_usd (USD).",
}

DAILY_COLUMNS: dict[str, str] = {"date": "UTC calendar day (YYYY-MM-DD).", **INTERVAL_COLUMNS}

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
    "event": "Kind: halving, difficulty_adjustment.",
    "entity": "What the event happened to (e.g. bitcoin).",
    "value": "The event's value, in `unit` (new subsidy, new difficulty).",
    "unit": "Unit of `value`.",
    "detail": "Free-text detail (height, relative change).",
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
    "energy_mwh": "Energy used (MWh).",
    "energy_cost_usd": "Energy cost (USD).",
    "mining_margin_usd": "Revenue minus energy cost (USD).",
    "energy_cost_per_btc_usd": "Energy cost per BTC mined (USD/BTC), empty if none mined.",
    "revenue_per_mwh_usd": "Mining revenue per MWh used (USD/MWh), empty if none used.",
}

TABLES: dict[str, dict[str, str]] = {
    "timeseries.csv": INTERVAL_COLUMNS,
    "daily.csv": DAILY_COLUMNS,
    "blocks.csv": BLOCK_COLUMNS,
    "events.csv": EVENT_COLUMNS,
    "summary.csv": SUMMARY_COLUMNS,
}
