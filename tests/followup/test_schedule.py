"""Quiet hours, durations and catch-up: pure functions, over DST changes too."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.followup.schedule import (
    PARIS,
    Overdue,
    Quiet,
    next_allowed,
    parse_clock,
    parse_duration,
    plan_catch_up,
)

QUIET = Quiet()  # 20:00 → 09:00 Europe/Paris, Sundays


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("2h", 7200), ("3d", 259200), ("3j", 259200), ("1w", 604800)],
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "3", "d", "3 days", "-3d", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_clock_parsing() -> None:
    assert parse_clock("9:00") == time(9, 0)
    assert parse_clock("20h30") == time(20, 30)
    with pytest.raises(ValueError):
        parse_clock("25:00")


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (paris(2026, 3, 4, 14, 0), paris(2026, 3, 4, 14, 0)),  # Wednesday afternoon: now
        (paris(2026, 3, 4, 20, 0), paris(2026, 3, 5, 9, 0)),  # 20:00 is quiet
        (paris(2026, 3, 5, 8, 59), paris(2026, 3, 5, 9, 0)),
        (paris(2026, 3, 5, 9, 0), paris(2026, 3, 5, 9, 0)),
        (paris(2026, 3, 7, 19, 59), paris(2026, 3, 7, 19, 59)),  # Saturday evening
        (paris(2026, 3, 7, 21, 0), paris(2026, 3, 9, 9, 0)),  # → Monday, not Sunday
        (paris(2026, 3, 8, 12, 0), paris(2026, 3, 9, 9, 0)),  # Sunday noon
    ],
)
def test_next_allowed(moment: datetime, expected: datetime) -> None:
    assert next_allowed(moment, QUIET) == expected
    assert next_allowed(moment, QUIET).tzinfo is not None


def test_spring_forward_keeps_nine_on_the_wall_clock() -> None:
    # 2026-03-29: Paris goes from 02:00 CET to 03:00 CEST (a Sunday).
    saturday_night = paris(2026, 3, 28, 22, 0)
    result = next_allowed(saturday_night, QUIET)
    assert result.astimezone(PARIS) == paris(2026, 3, 30, 9, 0)
    assert result == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # UTC+2 now


def test_fall_back_keeps_nine_on_the_wall_clock() -> None:
    # 2026-10-25: Paris goes from 03:00 CEST back to 02:00 CET (a Sunday).
    result = next_allowed(paris(2026, 10, 24, 23, 0), QUIET)
    assert result == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)  # UTC+1 again


def test_quiet_end_inside_the_missing_hour_opens_right_after_the_gap() -> None:
    night = Quiet(start=time(1, 0), end=time(2, 30), days=frozenset())
    result = next_allowed(datetime(2026, 3, 29, 0, 30, tzinfo=UTC), night)  # 01:30 CET
    assert result.astimezone(PARIS).hour == 3
    assert night.allows(result)


def test_daytime_window_and_no_window() -> None:
    lunch = Quiet(start=time(12, 0), end=time(14, 0), days=frozenset())
    assert next_allowed(paris(2026, 3, 4, 12, 30), lunch) == paris(2026, 3, 4, 14, 0)
    assert next_allowed(paris(2026, 3, 4, 23, 30), lunch) == paris(2026, 3, 4, 23, 30)
    never = Quiet(start=time(0, 0), end=time(0, 0), days=frozenset({6}))
    assert next_allowed(paris(2026, 3, 8, 10, 0), never) == paris(2026, 3, 9, 0, 0)


def test_every_minute_of_a_dst_week_maps_to_an_allowed_moment_not_before_it() -> None:
    moment = paris(2026, 3, 26, 0, 0)
    while moment < paris(2026, 4, 2, 0, 0):
        result = next_allowed(moment, QUIET)
        assert result >= moment and QUIET.allows(result)
        assert result - moment < timedelta(days=2, hours=14)
        moment += timedelta(minutes=17)


def test_catch_up_spreads_cases_and_keeps_one_question_at_a_time() -> None:
    start = paris(2026, 3, 9, 9, 0)  # Monday, allowed
    long_ago = paris(2026, 2, 1, 10, 0)
    overdue = [
        Overdue(nudge_id=1, case_id=10, due_at=long_ago),
        Overdue(nudge_id=2, case_id=10, due_at=long_ago + timedelta(days=11)),
        Overdue(nudge_id=3, case_id=11, due_at=long_ago + timedelta(hours=1)),
        Overdue(nudge_id=4, case_id=12, due_at=long_ago + timedelta(hours=2)),
    ]
    plan, cursor = plan_catch_up(overdue, start, QUIET, timedelta(seconds=10))
    times = dict(plan)
    assert times[1] == start
    assert times[2] == start + timedelta(days=11)  # keeps its distance to case 10's first
    assert times[3] == start + timedelta(seconds=10)
    assert times[4] == start + timedelta(seconds=20)
    assert cursor == start + timedelta(seconds=30)


def test_catch_up_from_a_quiet_moment_starts_at_the_next_allowed_one() -> None:
    sunday = paris(2026, 3, 8, 15, 0)
    overdue = [Overdue(nudge_id=n, case_id=n, due_at=paris(2026, 3, 1, 10, 0)) for n in range(3)]
    plan, _ = plan_catch_up(overdue, sunday, QUIET, timedelta(hours=6))
    times = [due for _, due in plan]
    assert times[0] == paris(2026, 3, 9, 9, 0)
    assert times[1] == paris(2026, 3, 9, 15, 0)
    assert times[2] == paris(2026, 3, 10, 9, 0)  # 21:00 would be quiet
    assert all(QUIET.allows(t) for t in times)
