"""The aiguilleurs' Matrix rooms as the desk sees them: who can be offered a
case (they joined their room with the bot; an invitation is no answer), and the
people to tell who helps them once their aiguilleur joins."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.assignment.views import case_of, name_of
from dialogs.assignment.desk import Tell, ToPerson
from dialogs.assignment.relay import buttons as relay_buttons
from dialogs.catalog.matching.model import AiguilleurCandidate
from dialogs.kernel.context import RelayView
from dialogs.kernel.replies import msg
from storage.db import UnitOfWork
from storage.models.assignment import ACCEPTED, Assignment

# Has this Matrix account joined this room (room id, user id)? The Matrix
# transport answers from its sync (`bot.transports.matrix.client.Membership`).
Joined = Callable[[str, str], bool]
# Assignments (ids, comma-separated) whose person is told who helps them once
# the aiguilleur joins their room (a coordinator assigned them before that).
TELL_ON_JOIN = "tell_on_join"


def everyone_joined(room_id: str, user_id: str) -> bool:
    """Without a Matrix sync to ask (tests of the desk alone), every room is trusted."""
    return True


class Rooms:
    def __init__(self, joined: Joined = everyone_joined) -> None:
        self.joined = joined

    async def in_room(self, uow: UnitOfWork, row: Assignment) -> bool:
        person = await uow.catalog.aiguilleur(row.aiguilleur_id)
        return person is not None and self.joined(row.room_id, person.matrix_id)

    async def reachable(self, uow: UnitOfWork, candidates: list[AiguilleurCandidate]) -> set[str]:
        """Slugs of the aiguilleurs who joined their room with the bot."""
        rooms = await uow.matrix.rooms()
        return {
            c.profile.id
            for c in candidates
            if c.profile.id in rooms and self.joined(rooms[c.profile.id], c.profile.matrix_id)
        }

    async def tell_on_join(self, uow: UnitOfWork, assignment_id: int, now: datetime) -> None:
        """Remember to tell the person who helps them once the aiguilleur, given
        the case by a coordinator before joining their room, joins it."""
        waiting = await self.waiting_joins(uow)
        if assignment_id not in waiting:
            await uow.matrix.set_value(
                TELL_ON_JOIN, ",".join(str(i) for i in (*waiting, assignment_id)), now
            )

    async def waiting_joins(self, uow: UnitOfWork) -> list[int]:
        stored = await uow.matrix.value(TELL_ON_JOIN) or ""
        return [int(part) for part in stored.split(",") if part.isdigit()]

    async def joined_now(self, uow: UnitOfWork, now: datetime) -> list[Tell]:
        """Someone joined a room: what to tell the people whose case waited for
        that aiguilleur, once (the others keep waiting; an assignment ended
        meanwhile is forgotten)."""
        waiting = await self.waiting_joins(uow)
        if not waiting:
            return []
        left: list[int] = []
        told: list[Tell] = []
        for assignment_id in waiting:
            row = await uow.assignments.get(assignment_id)
            if row is None or row.state != ACCEPTED:
                continue
            if not await self.in_room(uow, row):
                left.append(assignment_id)
                continue
            case = await case_of(uow, row)
            name = await name_of(uow, row.aiguilleur_id)
            view = RelayView(assignment_id=row.id, ref=case.ref, aiguilleur_name=name)
            told.append(
                Tell(
                    to=ToPerson(ref=case.ref),
                    lines=(msg("relay.accepted", name=name, ref=case.ref),),
                    buttons=relay_buttons(view),
                )
            )
        await uow.matrix.set_value(TELL_ON_JOIN, ",".join(str(i) for i in left), now)
        return told
