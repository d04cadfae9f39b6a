"""Shared pieces for nudge tests: a database with one person and case, the
worker wired like in BotService, a recording sender, and a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.config.followup import CoordinatorsConfig, FollowupConfig, PolicyStep
from bot.delivery.outbox import Blocked, Dispatcher, SendResult, Sent
from bot.delivery.pacing import NoPacing
from bot.delivery.payloads import Payload
from bot.followup.blocked import BlockedChats
from bot.followup.executor import FollowupRuntime
from bot.followup.nudges import NudgeWorker
from bot.runtime.clock import FakeClock
from bot.runtime.core import Incoming, Runtime
from dialogs.kernel.dates import PARIS
from dialogs.kernel.events import Choice, Text
from dialogs.kernel.state import Stage, State
from storage.db import Database
from storage.models.core import Case, CaseEvent, OutboxMessage
from storage.models.followup import Nudge

TRANSPORT = "telegram"
COORDINATOR = 999
# Monday 2 March 2026, 10:00 in Paris: an allowed moment.
START = datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)
POLICY = (
    PolicyStep(kind="ouverture", after=timedelta(days=3)),
    PolicyStep(kind="demarrage", after=timedelta(days=14)),
    PolicyStep(kind="impact", after=timedelta(days=45)),
)


@dataclass
class Recorder:
    """A Sender that records and answers what it is told to."""

    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)

    async def send(self, address: str, payload: Payload) -> SendResult:
        if address in self.blocked:
            return Blocked(reason="forbidden: bot was blocked by the user")
        # Recorded as the outbox row holds it.
        self.sent.append((address, payload.to_row()))
        return Sent(external_id=str(len(self.sent)))

    def to(self, address: str | int) -> list[dict[str, Any]]:
        return [p for a, p in self.sent if a == str(address)]


@dataclass
class World:
    db: Database
    clock: FakeClock
    followup: FollowupRuntime
    runtime: Runtime
    worker: NudgeWorker
    blocked: BlockedChats
    dispatcher: Dispatcher
    sender: Recorder
    updates: int = 0

    def another_worker(self) -> NudgeWorker:
        """A second process: its own runtime and worker on the same database."""
        runtime = Runtime(self.db, self.clock, self.followup)
        return NudgeWorker(self.db, self.clock, runtime, self.followup)

    async def make_case(
        self, chat: int = 1001, lieu: str = "La Fabrique", stage: Stage = Stage.IDLE
    ) -> Case:
        """A person who consented and confirmed a case in chat `chat`."""
        now = self.clock.now()
        async with self.db.unit() as uow:
            person = await uow.people.record_consent(
                transport=TRANSPORT,
                external_id=str(chat),
                display_name="Alice",
                locale="fr",
                now=now,
            )
            case = await uow.cases.create(
                person_id=person.id,
                locale="fr",
                sheet={"lieu_name": lieu, "themes": ["gestion"], "help": [], "problem": "x" * 20},
                now=now,
            )
            state = State(stage=stage, consented=True, version=20)
            await uow.conversations.save(
                None,
                transport=TRANSPORT,
                address=str(chat),
                person_id=person.id,
                state=state.to_json(),
                now=now,
            )
            await self.followup.schedule(uow, case, TRANSPORT, str(chat), now)
        return case

    async def press(self, chat: int, data: str) -> str | None:
        self.updates += 1
        handled = await self.runtime.handle(
            Incoming(
                transport=TRANSPORT,
                address=str(chat),
                update_key=f"u{self.updates}",
                event=Choice(data=data),
                sender_id=str(chat),
                locale_hint="fr",
                source_message="1",
            )
        )
        return handled.toast

    async def say(self, chat: int, text: str) -> None:
        self.updates += 1
        await self.runtime.handle(
            Incoming(
                transport=TRANSPORT,
                address=str(chat),
                update_key=f"u{self.updates}",
                event=Text(text=text),
                sender_id=str(chat),
                locale_hint="fr",
            )
        )

    async def nudges(self, case: Case | None = None) -> list[Nudge]:
        async with self.db.unit() as uow:
            if case is not None:
                return list(await uow.nudges.list_for_case(case.id))
            from sqlalchemy import select

            return list((await uow.session.scalars(select(Nudge).order_by(Nudge.id))).all())

    async def timeline(self, case: Case) -> list[CaseEvent]:
        async with self.db.unit() as uow:
            fresh = await uow.session.get(Case, case.id)
            assert fresh is not None
            return list(await uow.cases.timeline(fresh))

    async def case(self, case: Case) -> Case:
        async with self.db.unit() as uow:
            fresh = await uow.session.get(Case, case.id)
            assert fresh is not None
            return fresh

    async def outbox(self) -> list[OutboxMessage]:
        from sqlalchemy import select

        async with self.db.unit() as uow:
            rows = await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            return list(rows.all())

    async def tick(self, delta: timedelta | None = None) -> int:
        """Move time, run the worker, deliver the outbox."""
        if delta is not None:
            self.clock.advance(delta)
        handled = await self.worker.run_due()
        await self.dispatcher.deliver_due()
        return handled


def build_world(db: Database, config: FollowupConfig | None = None) -> World:
    clock = FakeClock(START)
    followup = FollowupRuntime(
        config or FollowupConfig(policy=POLICY, grace=timedelta(days=2)),
        CoordinatorsConfig(telegram_ids=(COORDINATOR,)),
    )
    runtime = Runtime(db, clock, followup)
    sender = Recorder()
    blocked = BlockedChats(db, clock, followup)
    dispatcher = Dispatcher(
        db, clock, {TRANSPORT: sender}, pacer=NoPacing(), on_blocked=blocked.contact_failed
    )
    worker = NudgeWorker(db, clock, runtime, followup, on_queued=dispatcher.kick)
    return World(db, clock, followup, runtime, worker, blocked, dispatcher, sender)


def buttons(payload: dict[str, Any]) -> list[str]:
    return [b["data"] for row in payload.get("buttons", []) for b in row]
