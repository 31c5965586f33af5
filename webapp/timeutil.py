"""The one place that reads the clock. Tests move it with time-machine; domain code gets `today` passed in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now_utc() -> datetime:
    """The current instant, timezone-aware, in UTC (store this in the database)."""
    return datetime.now(UTC)


def now_shanghai() -> datetime:
    """The current instant as wall-clock time in Asia/Shanghai."""
    return now_utc().astimezone(SHANGHAI)


def today_shanghai() -> date:
    """Today's calendar date in Asia/Shanghai: the date every statutory period counts from."""
    return now_shanghai().date()
