"""The users' calendar: deadlines, overdue days and weekly figures are Beijing calendar days."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


def local_day(moment: datetime) -> date:
    """The users' calendar day of ``moment`` (an aware datetime)."""
    return moment.astimezone(LOCAL_TZ).date()
