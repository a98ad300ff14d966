"""Time base and unit constants.

Simulation time is seconds since the scenario's ``start_utc`` (``t_s``). These helpers
convert between that time base and UTC calendar time; every other module works in seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 86_400
SECONDS_PER_YEAR = 365.25 * SECONDS_PER_DAY  # Julian year, for per-year rates
KWH_PER_MWH = 1_000.0
HASHES_PER_THS = 1e12
HASHES_PER_PHS = 1e15
HASHES_PER_EHS = 1e18


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime (naive input is taken to be UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def unix_seconds(moment: datetime) -> float:
    """Unix time of ``moment`` in seconds."""
    return as_utc(moment).timestamp()
