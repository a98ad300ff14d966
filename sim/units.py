"""Time base and unit constants.

Simulation time is seconds since the scenario's ``start_utc`` (``t_s``). These helpers
convert between that time base and UTC calendar time; every other module works in seconds.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

SECONDS_PER_MINUTE = 60
SECONDS_PER_HOUR = 3_600
SECONDS_PER_DAY = 86_400
SECONDS_PER_YEAR = 365.25 * SECONDS_PER_DAY  # Julian year, for per-year rates
KW_PER_MW = 1_000.0
WH_PER_KWH = 1_000.0
KWH_PER_MWH = 1_000.0
THS_PER_EHS = 1e6
HASHES_PER_THS = 1e12
HASHES_PER_EHS = 1e18
SATOSHI_PER_BTC = 100_000_000


def as_utc(moment: datetime) -> datetime:
    """Return ``moment`` as an aware UTC datetime (naive input is taken to be UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def seconds_between(start: datetime, end: datetime) -> float:
    """Seconds from ``start`` to ``end`` (both taken as UTC)."""
    return (as_utc(end) - as_utc(start)).total_seconds()


def unix_seconds(moment: datetime) -> float:
    """Unix time of ``moment`` in seconds."""
    return as_utc(moment).timestamp()


def to_datetime64(start: datetime, t_s: np.ndarray) -> np.ndarray:
    """Convert simulation seconds to ``datetime64[s]`` UTC (truncating sub-second parts)."""
    base = np.datetime64(as_utc(start).replace(tzinfo=None), "s")
    return base + np.floor(np.asarray(t_s, dtype=float)).astype("timedelta64[s]")
