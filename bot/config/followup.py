"""The `[followup]` and `[coordinators]` sections: the nudge policy, quiet hours,
and who hears about escalations. Parsed once into frozen objects; every error
names its TOML key, like the rest of `bot.config.load`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config.errors import ConfigError
from bot.config.matrix import ROOM_ID, USER_ID
from bot.followup.schedule import WEEKDAYS, Quiet, parse_clock, parse_duration
from dialogs.followup.steps import NUDGE_KINDS
from dialogs.kernel.replies import msg

SECTION_KEYS: Mapping[str, Mapping[str, type | tuple[type, ...]]] = {
    "followup": {
        "policy": list,
        "grace": str,
        "quiet_start": str,
        "quiet_end": str,
        "quiet_days": list,
        "timezone": str,
        "catch_up_per_minute": int,
        "wake_interval": str,
    },
    "coordinators": {"telegram_ids": list, "matrix_ids": list, "matrix_room": str, "locale": str},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyStep:
    kind: str
    after: timedelta


DEFAULT_POLICY = (
    PolicyStep(kind="ouverture", after=timedelta(days=3)),
    PolicyStep(kind="demarrage", after=timedelta(days=14)),
    PolicyStep(kind="impact", after=timedelta(days=45)),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FollowupConfig:
    # Empty: no follow-up at all.
    policy: tuple[PolicyStep, ...] = DEFAULT_POLICY
    # Silence after a nudge for this long alerts a human.
    grace: timedelta = timedelta(days=3)
    quiet: Quiet = field(default_factory=Quiet)
    # Overdue nudges after downtime go out at this pace, leaving Telegram's
    # budget to live conversations.
    catch_up_per_minute: int = 300
    # How often APScheduler wakes the worker even when nothing is known to be due.
    wake_interval: timedelta = timedelta(seconds=60)

    @property
    def catch_up_spacing(self) -> timedelta:
        return timedelta(seconds=60 / self.catch_up_per_minute)


@dataclass(frozen=True, slots=True, kw_only=True)
class CoordinatorsConfig:
    telegram_ids: tuple[int, ...] = ()
    # Matrix accounts of coordinators (national: every région); the bot accepts their
    # invitations. Formerly also `[matrix] coordinators`.
    matrix_ids: tuple[str, ...] = ()
    # Their room: queued cases, escalations, commands. Formerly `[matrix] coordinators_room`.
    matrix_room: str = ""
    locale: str = "fr"


def _bad(key: str, value: Any) -> ConfigError:
    return ConfigError(msg("config.bad_value", key=key, value=repr(value)[:60]))


def _duration(raw: Mapping[str, Any], name: str, default: timedelta) -> timedelta:
    if name not in raw:
        return default
    try:
        value = parse_duration(str(raw[name]))
    except ValueError:
        raise _bad(f"[followup] {name}", raw[name]) from None
    if value <= timedelta(0):
        raise _bad(f"[followup] {name}", raw[name])
    return value


def parse_followup(raw: Mapping[str, Any]) -> FollowupConfig:
    policy: tuple[PolicyStep, ...] = DEFAULT_POLICY
    if "policy" in raw:
        steps = []
        for index, item in enumerate(raw["policy"]):
            key = f"[followup] policy[{index}]"
            if not isinstance(item, Mapping) or set(item) != {"kind", "after"}:
                raise _bad(key, item)
            if item["kind"] not in NUDGE_KINDS:
                raise ConfigError(
                    msg("config.bad_choice", key=f"{key}.kind", choices=", ".join(NUDGE_KINDS))
                )
            try:
                after = parse_duration(str(item["after"]))
            except ValueError:
                raise _bad(f"{key}.after", item["after"]) from None
            steps.append(PolicyStep(kind=str(item["kind"]), after=after))
        policy = tuple(sorted(steps, key=lambda s: s.after))
    quiet = Quiet()
    try:
        zone = ZoneInfo(str(raw.get("timezone", "Europe/Paris")))
    except (ZoneInfoNotFoundError, ValueError):
        raise _bad("[followup] timezone", raw.get("timezone")) from None
    clocks = {}
    for name, default in (("quiet_start", quiet.start), ("quiet_end", quiet.end)):
        try:
            clocks[name] = parse_clock(str(raw[name])) if name in raw else default
        except ValueError:
            raise _bad(f"[followup] {name}", raw[name]) from None
    days = set()
    for day in raw.get("quiet_days", ["dimanche"]):
        number = WEEKDAYS.get(str(day).strip().lower())
        if number is None:
            raise _bad("[followup] quiet_days", day)
        days.add(number)
    if len(days) == 7:
        raise _bad("[followup] quiet_days", raw.get("quiet_days"))
    per_minute = raw.get("catch_up_per_minute", 300)
    if not 1 <= per_minute <= 6000:
        raise ConfigError(
            msg("config.bad_range", key="[followup] catch_up_per_minute", low=1, high=6000)
        )
    return FollowupConfig(
        policy=policy,
        grace=_duration(raw, "grace", timedelta(days=3)),
        quiet=Quiet(
            start=clocks["quiet_start"], end=clocks["quiet_end"], days=frozenset(days), zone=zone
        ),
        catch_up_per_minute=int(per_minute),
        wake_interval=_duration(raw, "wake_interval", timedelta(seconds=60)),
    )


def parse_coordinators(raw: Mapping[str, Any]) -> CoordinatorsConfig:
    ids = []
    for value in raw.get("telegram_ids", []):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _bad("[coordinators] telegram_ids", value)
        ids.append(value)
    matrix_ids = []
    for value in raw.get("matrix_ids", []):
        text = str(value).strip() if isinstance(value, str) else ""
        if not USER_ID.match(text):
            raise _bad("[coordinators] matrix_ids", value)
        matrix_ids.append(text)
    room = str(raw.get("matrix_room", "")).strip()
    if room and not ROOM_ID.match(room):
        raise _bad("[coordinators] matrix_room", room)
    locale = str(raw.get("locale", "fr"))
    if locale not in ("fr", "en"):
        key = "[coordinators] locale"
        raise ConfigError(msg("config.bad_locale", key=key, value=locale))
    return CoordinatorsConfig(
        telegram_ids=tuple(ids),
        matrix_ids=tuple(matrix_ids),
        matrix_room=room,
        locale=locale,
    )
