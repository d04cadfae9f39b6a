"""The lifecycle tables of dialogs/kernel/lifecycles.py: every listed move passes, every
other one raises (a bug, never a reply), and the database strings did not change."""

from __future__ import annotations

import pytest

from dialogs.kernel.lifecycles import (
    ASSIGNMENT_MOVES,
    CASE_MOVES,
    AssignmentState,
    CaseStatus,
    ForbiddenMove,
    check_assignment_move,
    check_case_move,
)
from dialogs.kernel.options import CASE_STATUSES


def test_the_stored_strings_are_those_of_before_the_enums() -> None:
    assert CASE_STATUSES == (
        "nouveau",
        "en_attente",
        "propose",
        "attribue",
        "action_verifiee",
        "clos",
    )
    assert [s.value for s in AssignmentState] == [
        "offered",
        "accepted",
        "declined",
        "expired",
        "returned",
        "closed",
        "ended",
        "withdrawn",
    ]


def test_each_table_covers_its_whole_enum() -> None:
    assert set(CASE_MOVES) == set(CaseStatus)
    assert set(ASSIGNMENT_MOVES) == set(AssignmentState)


@pytest.mark.parametrize(
    ("source", "target"), [(s, t) for s, moves in CASE_MOVES.items() for t in sorted(moves)]
)
def test_every_allowed_case_move_passes(source: CaseStatus, target: CaseStatus) -> None:
    # The database gives back plain strings: the check takes them as they come.
    assert check_case_move(source.value, target.value) is target


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s, moves in ASSIGNMENT_MOVES.items() for t in sorted(moves)],
)
def test_every_allowed_assignment_move_passes(
    source: AssignmentState, target: AssignmentState
) -> None:
    assert check_assignment_move(source.value, target.value) is target


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (CaseStatus.CLOSED, CaseStatus.CLOSED),  # closed twice
        (CaseStatus.CLOSED, CaseStatus.VERIFIED),
        (CaseStatus.VERIFIED, CaseStatus.ASSIGNED),  # a verified action stays counted
        (CaseStatus.ASSIGNED, CaseStatus.NEW),
        (CaseStatus.WAITING, CaseStatus.NEW),
    ],
)
def test_a_case_move_missing_from_the_table_raises(source: CaseStatus, target: CaseStatus) -> None:
    with pytest.raises(ForbiddenMove, match=f"'{source.value}' → '{target.value}'"):
        check_case_move(source, target)


def test_nothing_leads_back_to_new_but_reopening() -> None:
    assert [s for s, moves in CASE_MOVES.items() if CaseStatus.NEW in moves] == [CaseStatus.CLOSED]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (AssignmentState.ACCEPTED, AssignmentState.OFFERED),
        (AssignmentState.ACCEPTED, AssignmentState.DECLINED),
        (AssignmentState.OFFERED, AssignmentState.RETURNED),
        (AssignmentState.EXPIRED, AssignmentState.ACCEPTED),  # too late
        (AssignmentState.CLOSED, AssignmentState.CLOSED),
    ],
)
def test_an_assignment_move_missing_from_the_table_raises(
    source: AssignmentState, target: AssignmentState
) -> None:
    with pytest.raises(ForbiddenMove):
        check_assignment_move(source, target)


def test_terminal_assignment_states_go_nowhere() -> None:
    open_states = {AssignmentState.OFFERED, AssignmentState.ACCEPTED}
    for state, moves in ASSIGNMENT_MOVES.items():
        assert bool(moves) == (state in open_states), state


def test_unknown_strings_raise_too() -> None:
    with pytest.raises(ForbiddenMove):
        check_case_move("ouvert", "clos")
    with pytest.raises(ForbiddenMove):
        check_case_move("nouveau", "fermé")
    with pytest.raises(ForbiddenMove):
        check_assignment_move("offered", "maybe")
