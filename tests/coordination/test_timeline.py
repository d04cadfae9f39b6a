"""The case timeline is complete: the producers that changed a case without a
row now write one (queueing, relayed messages, a cancelled nudge), with actor
and time — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from bot.assignment.executor import DeskExecutor
from bot.assignment.rooms import Rooms
from bot.followup.executor import FollowupRuntime
from bot.runtime.clock import FakeClock
from dialogs.assignment.desk import (
    ActorView,
    AssignmentView,
    CaseView,
    DeskContext,
    Note,
    Queue,
    from_person,
    on_thread_text,
)
from dialogs.kernel.effects import NudgeCancelled
from storage.db import Database
from tests.coordination.support import T0, make_case


async def timeline(db: Database, ref: str) -> list[tuple[str, str, dict[str, object]]]:
    async with db.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None
        return [(e.actor, e.kind, dict(e.data)) for e in await uow.cases.timeline(case)]


async def test_queueing_and_relayed_messages_get_a_row(database: Database) -> None:
    clock = FakeClock(T0)
    desk = DeskExecutor(clock, Rooms(), locale="fr", offer_timeout=timedelta(hours=1))
    ref = await make_case(database, {})
    async with database.unit() as uow:
        await desk.apply(uow, (Queue(ref=ref),))
        await desk.apply(uow, (Queue(ref=ref),))  # already waiting: no second row
        await desk.apply(uow, (Note(ref=ref, actor="person", kind="relay_message", size=12),))
    async with database.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None and case.status == "en_attente"
    assert await timeline(database, ref) == [
        ("person", "submitted", {}),
        ("bot", "queued", {"previous_status": "nouveau"}),
        ("person", "relay_message", {"length": 12}),
    ]


def test_relays_both_ways_note_their_length_not_their_words() -> None:
    held = AssignmentView(
        id=1,
        ref="AIG-0001",
        aiguilleur_id="alix",
        aiguilleur_name="Alix",
        state="accepted",
        room_id="!r:x",
        thread_root="$t",
    )
    case = CaseView(ref="AIG-0001", status="attribue")
    from_them = [e for e in from_person(held, case, "Bonjour !") if isinstance(e, Note)]
    assert from_them == [Note(ref="AIG-0001", actor="person", kind="relay_message", size=9)]
    ctx = DeskContext(
        now=T0,
        room_id="!r:x",
        thread_root="$t",
        actor=ActorView(id="alix", name="Alix"),
        case=case,
        assignment=held,
    )
    from_alix = [e for e in on_thread_text("À demain", ctx) if isinstance(e, Note)]
    assert from_alix == [Note(ref="AIG-0001", actor="alix", kind="relay_message", size=8)]
    assert all(n.text is None for n in (*from_them, *from_alix))


async def test_a_cancelled_nudge_gets_a_row(database: Database) -> None:
    ref = await make_case(database, {})
    async with database.unit() as uow:
        case = await uow.cases.by_ref(ref)
        assert case is not None
        [nudge] = await uow.nudges.schedule(
            case_id=case.id,
            transport="telegram",
            address="1",
            locale="fr",
            steps=[("ouverture", T0 + timedelta(days=3))],
            now=T0,
        )
        effect = NudgeCancelled(nudge_id=nudge.id, reason="forgotten")
        await FollowupRuntime().execute(uow, effect, T0)
        # Cancelling again changes nothing and writes nothing.
        await FollowupRuntime().execute(uow, effect, T0)
    assert (await timeline(database, ref))[1:] == [
        ("bot", "nudge_cancelled", {"nudge": nudge.id, "kind": "ouverture", "reason": "forgotten"})
    ]
