"""The bot's time zone and its short date: the people it serves read French dates.

Times are stored and compared in UTC (aware); they are turned into Paris time only to
be shown, or to find a local day or hour (quiet hours, the weekly digest, reports)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from dialogs.kernel.replies import Msg, msg

PARIS = ZoneInfo("Europe/Paris")


def short_date(moment: datetime) -> Msg:
    """``3/02/2026`` (``date.short`` in the catalogs), the day as in Paris."""
    local = moment.astimezone(PARIS)
    return msg("date.short", day=local.day, month=local.month, year=local.year)
