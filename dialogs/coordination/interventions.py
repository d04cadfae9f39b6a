"""What ``intervention AIG-0042 1h30 subvention [note]`` answers: the time
recorded, how it was funded, and the running total for the case."""

from __future__ import annotations

from dialogs.kernel.replies import Msg, msg


def duration(minutes: int) -> Msg:
    """90 → « 1 h 30 », 45 → « 45 min », 120 → « 2 h »."""
    hours, rest = divmod(max(0, minutes), 60)
    if hours and rest:
        return msg("admin.intervention.duration.hm", hours=hours, minutes=f"{rest:02d}")
    if hours:
        return msg("admin.intervention.duration.h", hours=hours)
    return msg("admin.intervention.duration.m", minutes=rest)


def funding(kind: str) -> Msg:
    return msg(f"admin.intervention.funding.{kind}")


def recorded(
    ref: str, minutes: int, kind: str, aiguilleur: str, count: int, total: int
) -> tuple[Msg, ...]:
    return (
        msg(
            "admin.intervention.recorded",
            ref=ref,
            duration=duration(minutes),
            funding=funding(kind),
            aiguilleur=aiguilleur,
        ),
        msg("admin.intervention.total", ref=ref, count=count, duration=duration(total)),
    )
