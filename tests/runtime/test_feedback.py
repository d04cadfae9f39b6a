"""Events fed back by effects are each replayed through `step` once, in order.

No effect of the product feeds back more than one event per round today, so
the runtime here is the real one with one test-only change to its effect
executor: consent, besides being recorded, feeds back two typed answers, as a
person would have sent them next. Replayed in order, the first names the lieu
and the second its commune; swapped, dropped or doubled, the conversation ends
elsewhere and the sequence of steps shows it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

import bot.runtime.core
from bot.runtime.clock import FakeClock
from bot.runtime.core import Incoming, Runtime
from dialogs.kernel.context import Context
from dialogs.kernel.effects import Effect, RecordConsent
from dialogs.kernel.events import Command, Event, Text
from dialogs.kernel.outcome import Outcome
from dialogs.kernel.state import Stage, State
from storage.db import Database, UnitOfWork

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FED_BACK = (Text(text="La Fabrique"), Text(text="Quimper"))


class ConsentFeedsBackTwo(Runtime):
    """The runtime whose executor feeds back `FED_BACK` after a consent."""

    async def execute(
        self, uow: UnitOfWork, effects: list[Effect], person_id: int | None, incoming: Incoming
    ) -> tuple[int | None, list[Event]]:
        person_id, fed_back = await super().execute(uow, effects, person_id, incoming)
        if any(isinstance(effect, RecordConsent) for effect in effects):
            fed_back = [*fed_back, *FED_BACK]
        return person_id, fed_back


def incoming(update: int, event: Event) -> Incoming:
    return Incoming(
        transport="telegram",
        address="1001",
        update_key=str(update),
        event=event,
        sender_id="1001",
        sender_name="Alice",
    )


async def test_every_fed_back_event_is_replayed_once_in_order(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    stepped: list[Event] = []
    real_step = bot.runtime.core.step

    def recording_step(state: State | None, event: Event, ctx: Context) -> Outcome:
        stepped.append(event)
        return real_step(state, event, ctx)

    monkeypatch.setattr(bot.runtime.core, "step", recording_step)
    runtime = ConsentFeedsBackTwo(database, FakeClock(T0))
    await runtime.handle(incoming(1, Command(name="start", args=())))
    stepped.clear()

    consent = Text(text="oui")
    handled = await runtime.handle(incoming(2, consent))

    assert stepped == [consent, *FED_BACK]
    async with database.unit() as uow:
        row = await uow.conversations.for_update("telegram", "1001")
        assert row is not None
        state = State.from_json(row.state)
        people = await uow.people.by_external_id("telegram", "1001")
    # The lieu from the first fed-back answer, the commune from the second: the
    # conversation asks to confirm the commune.
    assert state.stage == Stage.PLACE_CONFIRM
    assert state.answers["lieu_name"] == "La Fabrique"
    # The consent itself was executed (its person recorded) before the replay.
    assert people is not None and people.consent_at is not None
    # One question for each step: the lieu's name, the commune, its confirmation.
    assert handled.queued == 3
