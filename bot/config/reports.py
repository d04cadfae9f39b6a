"""The `[report]` section: the roadmap the report measures progress against,
and when the coordinators' weekly digest goes out. Parsed once; every error
names its TOML key, like the rest of `bot.config.load`.

```toml
[report]
start = "2026-01-01"
milestones = [{ months = 6, interventions = 10 }, { months = 9, interventions = 20 }]
active_aiguilleurs = 8
digest = "lundi 09:00"     # "" : no digest
queue_days = 7
```
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.config.errors import ConfigError
from bot.followup.schedule import WEEKDAYS, parse_clock
from dialogs.kernel.replies import msg
from dialogs.kernel.textnorm import fold
from dialogs.reports.digest import Slot
from dialogs.reports.report import Milestone

REPORT_KEYS: Mapping[str, type | tuple[type, ...]] = {
    "start": (str, date),
    "milestones": list,
    "active_aiguilleurs": int,
    "digest": str,
    "queue_days": int,
}
DEFAULT_MILESTONES = (
    Milestone(months=6, interventions=10),
    Milestone(months=9, interventions=20),
)
DEFAULT_SLOT = Slot()
OFF = ("", "non", "off", "no", "aucun")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportConfig:
    # The roadmap's first day; None: the day of the first request in the database.
    start: date | None = None
    milestones: tuple[Milestone, ...] = DEFAULT_MILESTONES
    active_aiguilleurs: int = 8
    # None: no weekly digest.
    digest: Slot | None = DEFAULT_SLOT
    # A request waiting in the queue longer than this is "stuck" in the digest.
    queue_days: int = 7


def _bad(key: str, value: Any) -> ConfigError:
    return ConfigError(msg("config.bad_value", key=f"[report] {key}", value=repr(value)[:60]))


def parse_slot(text: str) -> Slot | None:
    """``"lundi 09:00"`` (or ``"monday 9h00"``); None for "" or "non"; ValueError else."""
    if fold(text) in OFF:
        return None
    words = text.split()
    if len(words) != 2 or fold(words[0]) not in WEEKDAYS:
        raise ValueError(text)
    return Slot(weekday=WEEKDAYS[fold(words[0])], at=parse_clock(words[1]))


def parse_report(raw: Mapping[str, Any]) -> ReportConfig:
    start = raw.get("start")
    if isinstance(start, datetime):
        start = start.date()
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start.strip()) if start.strip() else None
        except ValueError:
            raise _bad("start", start) from None
    milestones: tuple[Milestone, ...] = DEFAULT_MILESTONES
    if "milestones" in raw:
        milestones = tuple(_milestone(item) for item in raw["milestones"])
        months = [m.months for m in milestones]
        if months != sorted(set(months)):
            raise _bad("milestones", raw["milestones"])
    active = raw.get("active_aiguilleurs", 8)
    if not 0 <= active <= 10_000:
        raise _bad("active_aiguilleurs", active)
    try:
        digest = parse_slot(str(raw.get("digest", "lundi 09:00")))
    except ValueError:
        raise _bad("digest", raw.get("digest")) from None
    queue_days = raw.get("queue_days", 7)
    if not 1 <= queue_days <= 365:
        raise _bad("queue_days", queue_days)
    return ReportConfig(
        start=start,
        milestones=milestones,
        active_aiguilleurs=active,
        digest=digest,
        queue_days=queue_days,
    )


def _milestone(item: object) -> Milestone:
    if not isinstance(item, Mapping) or set(item) != {"months", "interventions"}:
        raise _bad("milestones", item)
    months, count = item["months"], item["interventions"]
    for value, high in ((months, 120), (count, 100_000)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise _bad("milestones", item)
    return Milestone(months=months, interventions=count)
