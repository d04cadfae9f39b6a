"""The coordinators' weekly digest: when it is due, what it says, and that it goes
out once a week — across passes, processes and restarts — with a fixed clock."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import BotService
from bot.config.followup import CoordinatorsConfig
from bot.config.reports import ReportConfig
from bot.reports.digest import WeeklyDigest, next_run
from bot.runtime.clock import FakeClock
from dialogs.kernel.dates import PARIS
from dialogs.reports.digest import Slot, is_due, slot_of_week, week_key
from storage.db import Database
from storage.models.assignment import Assignment
from storage.models.core import OutboxMessage, ProcessedUpdate
from storage.models.followup import Nudge
from tests.coordination.support import make_case
from tests.fakes.telegram_api import FakeTelegram
from tests.transports.telegram.harness import TOKEN, bot_config, next_question

# Monday 9 March 2026, 09:00 in Paris (UTC+1) is 08:00 UTC.
MONDAY = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
COORDINATORS = CoordinatorsConfig(telegram_ids=(42,), matrix_room="!coordination:example.org")
CONFIG = ReportConfig(digest=Slot(weekday=0, at=time(9, 0)), queue_days=7)


def test_weeks_and_slots() -> None:
    assert week_key(MONDAY) == "2026-W11"
    # Sunday 23:30 in Paris (22:30 UTC) is still week 11; 00:30 on Monday is week 12.
    assert week_key(datetime(2026, 3, 15, 22, 30, tzinfo=UTC)) == "2026-W11"
    assert week_key(datetime(2026, 3, 15, 23, 30, tzinfo=UTC)) == "2026-W12"
    assert slot_of_week(MONDAY + timedelta(days=3), CONFIG.digest or Slot()) == MONDAY
    assert not is_due(MONDAY - timedelta(minutes=1), Slot())
    assert is_due(MONDAY, Slot()) and is_due(MONDAY + timedelta(days=6), Slot())


def test_cron_trigger_fires_on_the_configured_day() -> None:
    digest = WeeklyDigest(None, FakeClock(MONDAY), CONFIG, COORDINATORS)  # type: ignore[arg-type]
    trigger = digest.trigger()
    assert trigger is not None
    saturday = datetime(2026, 3, 28, 12, 0, tzinfo=PARIS)
    # After the change to summer time: 09:00 in Paris is 07:00 UTC.
    assert next_run(trigger, saturday) == datetime(2026, 3, 30, 9, 0, tzinfo=PARIS)
    off = WeeklyDigest(None, FakeClock(MONDAY), ReportConfig(digest=None), COORDINATORS)  # type: ignore[arg-type]
    assert off.trigger() is None


async def stuck_history(db: Database) -> dict[str, str]:
    """New, unanswered, declined-by-all and long-queued requests."""
    refs = {
        "old": await make_case(db, {}, MONDAY - timedelta(days=30)),
        "declined": await make_case(db, {}, MONDAY - timedelta(days=12)),
        "silent": await make_case(db, {}, MONDAY - timedelta(days=3)),
        "new": await make_case(db, {}, MONDAY - timedelta(days=1)),
    }
    async with db.unit() as uow:
        cases = {name: await uow.cases.by_ref(ref) for name, ref in refs.items()}
        old, declined, silent = cases["old"], cases["declined"], cases["silent"]
        assert old is not None and declined is not None and silent is not None
        await uow.assignments.enqueue(old.id, MONDAY - timedelta(days=10))
        await uow.assignments.enqueue(declined.id, MONDAY - timedelta(days=2))
        uow.session.add(
            Assignment(
                case_id=declined.id,
                aiguilleur_id="alix",
                state="declined",
                room_id="!a:x",
                person_noted=False,
                contacts_shared=False,
                offered_at=MONDAY - timedelta(days=3),
                decided_at=MONDAY - timedelta(days=2),
                updated_at=MONDAY - timedelta(days=2),
            )
        )
        uow.session.add(
            Nudge(
                case_id=silent.id,
                kind="ouverture",
                transport="telegram",
                address="1",
                locale="fr",
                state="escalated",
                due_at=None,
                attempts=1,
                deferrals=0,
                sent_at=MONDAY - timedelta(days=5),
                escalated_at=MONDAY - timedelta(days=2),
                created_at=MONDAY - timedelta(days=8),
                updated_at=MONDAY,
            )
        )
    return refs


async def outbox(db: Database) -> list[tuple[str, str, str]]:
    async with db.unit() as uow:
        rows = await uow.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(r.transport, r.address, str(r.payload.get("html"))) for r in rows.all()]


async def test_sent_once_a_week(database: Database) -> None:
    refs = await stuck_history(database)
    clock = FakeClock(MONDAY - timedelta(minutes=5))
    digest = WeeklyDigest(database, clock, CONFIG, COORDINATORS)
    assert await digest.run_once() is None  # 08:55 in Paris: not yet
    clock.set(MONDAY + timedelta(minutes=30))
    assert await digest.run_once() == "2026-W11"
    assert await digest.run_once() is None
    # Another process, or the same one restarted on Wednesday: the key is there.
    clock.advance(timedelta(days=2))
    assert await WeeklyDigest(database, clock, CONFIG, COORDINATORS).run_once() is None

    sent = await outbox(database)
    assert [(t, a) for t, a, _ in sent] == [
        ("telegram", "42"),
        ("matrix", "!coordination:example.org"),
    ]
    text = sent[0][2].replace("\xa0", " ")
    assert "Point de la semaine</b> (du 02/03/2026 au 09/03/2026)" in text
    assert f"Nouvelles demandes : 2 — {refs['silent']}, {refs['new']}" in text
    assert f"Sans réponse aux relances : {refs['silent']}" in text
    assert f"Refusées par tou·tes les aiguilleur·euses sollicité·es : {refs['declined']}" in text
    assert f"En file d'attente depuis plus de 7 jours : {refs['old']}" in text
    assert f"Relances escaladées cette semaine : 1 — {refs['silent']}" in text

    # The following Monday: a new week, a new digest.
    clock.set(MONDAY + timedelta(days=7, minutes=1))
    assert await digest.run_once() == "2026-W12"
    async with database.unit() as uow:
        keys = await uow.session.scalars(
            select(ProcessedUpdate.update_key).where(ProcessedUpdate.transport == "digest")
        )
        assert sorted(keys.all()) == ["2026-W11", "2026-W12"]
    assert len(await outbox(database)) == 4


async def test_a_calm_week_and_nobody_to_tell(database: Database) -> None:
    clock = FakeClock(MONDAY + timedelta(hours=1))
    nobody = WeeklyDigest(database, clock, CONFIG, CoordinatorsConfig())
    assert await nobody.run_once() is None
    off = WeeklyDigest(database, clock, ReportConfig(digest=None), COORDINATORS)
    assert await off.run_once() is None
    assert await outbox(database) == []
    assert await WeeklyDigest(database, clock, CONFIG, COORDINATORS).run_once() == "2026-W11"
    [(_, _, text), _] = await outbox(database)
    assert "Nouvelles demandes\xa0: aucune" in text and "Aucune demande bloquée" in text


async def test_the_running_bot_sends_it_once_across_a_restart(tmp_path: Path) -> None:
    async with FakeTelegram(token=TOKEN) as tg:
        coordinator = tg.user(first_name="Coralie", user_id=700_001, language_code="fr")
        config = dataclasses.replace(
            bot_config(tg, tmp_path),
            coordinators=CoordinatorsConfig(telegram_ids=(700_001,)),
            report=CONFIG,
        )
        clock = FakeClock(MONDAY + timedelta(hours=2))
        service = BotService(config, clock=clock, rate_limit=False)
        await service.start()
        try:
            # A first install after this week's slot greets nobody at start…
            await coordinator.expect_silence(0.5)
            # …the cron's wake-up sends it.
            assert await service.digest.run_once() is not None
            digest = await next_question(coordinator)
            assert "Point de la semaine" in (digest.plain_text or "")
        finally:
            await service.stop()
        restarted = BotService(config, clock=clock, rate_limit=False)
        await restarted.start()
        try:
            assert await restarted.digest.run_once() is None
            await coordinator.expect_silence(0.5)
        finally:
            await restarted.stop()
        # Down over the next Monday's slot: the start-up pass sends the missed digest.
        clock.advance(timedelta(days=7))
        late = BotService(config, clock=clock, rate_limit=False)
        await late.start()
        try:
            missed = await next_question(coordinator)
            assert "Point de la semaine" in (missed.plain_text or "")
        finally:
            await late.stop()
