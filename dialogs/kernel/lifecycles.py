"""The two lifecycles of the bot, as tables (h11's ``_state.py``): a case's status and
an assignment's state, each an enum with the moves it allows.

Rules:
- The database keeps the enum's value (the same strings as before the enums: no
  migration); a ``StrEnum`` member compares equal to its string, so a row read back
  is compared with the members directly.
- One writer per lifecycle changes a row (``storage/repos/cases.py``,
  ``CasesRepo.move``; ``storage/repos/assignments.py``, ``AssignmentsRepo.move``): it
  asks `check_case_move` / `check_assignment_move` first. A move missing from the
  table raises `ForbiddenMove`: it is a bug in the caller, never an answer to a person.
- A move to the same status is listed where the bot really makes it (a second
  ``!action``, a reassignment, the next offer after a refusal, a case queued again).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar


class ForbiddenMove(Exception):
    """A lifecycle move missing from its table: a bug, not user input."""


class CaseStatus(StrEnum):
    NEW = "nouveau"
    WAITING = "en_attente"  # the person asked for someone; nobody offered yet
    PROPOSED = "propose"  # offered to an aiguilleur, no answer yet
    ASSIGNED = "attribue"
    VERIFIED = "action_verifiee"  # the person said they acted (a nudge, or !action)
    CLOSED = "clos"


# Statuses after which nobody is nudged, offered or followed any more.
SETTLED_STATUSES = frozenset({CaseStatus.VERIFIED, CaseStatus.CLOSED})

_S = CaseStatus
CASE_MOVES: Mapping[CaseStatus, frozenset[CaseStatus]] = {
    # contact asked / queued, offered, assigned by a coordinator, a nudge answered "done",
    # closed by a coordinator or by erasure
    _S.NEW: frozenset({_S.WAITING, _S.PROPOSED, _S.ASSIGNED, _S.VERIFIED, _S.CLOSED}),
    _S.WAITING: frozenset({_S.WAITING, _S.PROPOSED, _S.ASSIGNED, _S.VERIFIED, _S.CLOSED}),
    # next offer after a refusal or a time-out; back to the queue; accepted
    _S.PROPOSED: frozenset({_S.WAITING, _S.PROPOSED, _S.ASSIGNED, _S.VERIFIED, _S.CLOSED}),
    # reassigned; handed back (!rendre); !action or a nudge; !clore
    _S.ASSIGNED: frozenset({_S.WAITING, _S.PROPOSED, _S.ASSIGNED, _S.VERIFIED, _S.CLOSED}),
    # a verified action stays counted as such (no way back to "attribue"); !action again
    _S.VERIFIED: frozenset({_S.WAITING, _S.PROPOSED, _S.VERIFIED, _S.CLOSED}),
    # rouvrir: the status the case's situation calls for
    _S.CLOSED: frozenset({_S.NEW, _S.WAITING, _S.PROPOSED, _S.ASSIGNED}),
}


class AssignmentState(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    RETURNED = "returned"  # handed back by the aiguilleur or taken back by a coordinator
    CLOSED = "closed"  # finished by the aiguilleur or a coordinator
    ENDED = "ended"  # the person ended the relay, or was forgotten
    WITHDRAWN = "withdrawn"  # an offer a coordinator took back


# At most one row per case is in one of these.
OPEN_STATES = (AssignmentState.OFFERED, AssignmentState.ACCEPTED)

_A = AssignmentState
ASSIGNMENT_MOVES: Mapping[AssignmentState, frozenset[AssignmentState]] = {
    _A.OFFERED: frozenset({_A.ACCEPTED, _A.DECLINED, _A.EXPIRED, _A.WITHDRAWN, _A.ENDED}),
    _A.ACCEPTED: frozenset({_A.RETURNED, _A.CLOSED, _A.ENDED}),
    _A.DECLINED: frozenset(),
    _A.EXPIRED: frozenset(),
    _A.RETURNED: frozenset(),
    _A.CLOSED: frozenset(),
    _A.ENDED: frozenset(),
    _A.WITHDRAWN: frozenset(),
}


def check_case_move(current: str, to: str) -> CaseStatus:
    """The status to write, or `ForbiddenMove` (an unknown status is one too)."""
    return _check(CaseStatus, CASE_MOVES, "case status", current, to)


def check_assignment_move(current: str, to: str) -> AssignmentState:
    """The state to write, or `ForbiddenMove` (an unknown state is one too)."""
    return _check(AssignmentState, ASSIGNMENT_MOVES, "assignment state", current, to)


_State = TypeVar("_State", CaseStatus, AssignmentState)


def _check(
    kind: type[_State], moves: Mapping[_State, frozenset[_State]], what: str, current: str, to: str
) -> _State:
    try:
        source, target = kind(current), kind(to)
    except ValueError as error:
        raise ForbiddenMove(f"{what} {current!r} → {to!r}: {error}") from None
    if target not in moves[source]:
        raise ForbiddenMove(f"{what} {source.value!r} → {target.value!r}")
    return target
