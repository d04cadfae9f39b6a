"""The retention purge on SQLite and PostgreSQL, with a fixed clock: closed cases
untouched for [privacy] retention_months lose their personal data, people left
with nothing personal and silent as long are erased, nothing else moves."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import select, update

from bot.config.privacy import PrivacyConfig
from bot.privacy.service import JOB_ID, RetentionJob, purge
from bot.runtime.clock import FakeClock
from storage.db import Database
from storage.models.core import Case, Conversation, OutboxMessage
from tests.privacy.support import Seeded, add_aiguilleurs, everything, seed_person

NOW = datetime(2028, 6, 15, 3, 0, tzinfo=UTC)
OLD = datetime(2026, 5, 2, 10, 0, tzinfo=UTC)  # 25 months before NOW
RECENT = datetime(2026, 7, 20, 10, 0, tzinfo=UTC)  # 23 months before NOW


async def close(db: Database, who: Seeded, at: datetime) -> None:
    async with db.unit() as uow:
        await uow.session.execute(
            update(Case).where(Case.id == who.case_id).values(status="clos", updated_at=at)
        )


async def scene(db: Database) -> dict[str, object]:
    """A: one old closed case, silent since: fully forgotten.
    B: an old closed case and a recent open one: the old one anonymised only.
    C: a case closed 23 months ago: untouched. Plus two chats of nobody (one
    stale) and sent messages older and newer than 30 days."""
    await add_aiguilleurs(db, OLD)
    a = await seed_person(db, 1, OLD)
    b = await seed_person(db, 2, OLD)
    c = await seed_person(db, 3, RECENT)
    await close(db, a, OLD)
    await close(db, b, OLD)
    await close(db, c, RECENT)
    async with db.unit() as uow:
        fresh = await uow.cases.create(
            person_id=b.person_id, locale="fr", sheet={"lieu_name": "B le retour"}, now=NOW
        )
        await uow.session.execute(
            update(Conversation)
            .where(Conversation.person_id == b.person_id)
            .values(updated_at=NOW - timedelta(days=1))
        )
        for address, at in (("41", OLD), ("42", NOW - timedelta(days=2))):
            await uow.conversations.save(
                None,
                transport="telegram",
                address=address,
                person_id=None,
                state={"stage": "welcome"},
                now=at,
            )
        for days, send in ((31, True), (29, True), (40, False)):
            row = await uow.outbox.enqueue(
                transport="telegram",
                address="999",
                payload={"kind": "send", "html": f"{days} jours", "buttons": []},
                now=NOW - timedelta(days=days),
            )
            if send:
                await uow.outbox.mark_sent(row.id, external_id="1", now=NOW - timedelta(days=days))
    return {"a": a, "b": b, "c": c, "fresh": fresh.id}


async def test_dry_run_counts_and_changes_nothing(database: Database) -> None:
    people = await scene(database)
    a, b = people["a"], people["b"]
    assert isinstance(a, Seeded) and isinstance(b, Seeded)
    before = await everything(database)
    report = await purge(database, NOW, 24, dry_run=True)
    assert report.dry_run
    assert report.cutoff == datetime(2026, 6, 15, 3, 0, tzinfo=UTC)
    assert sorted(report.cases) == sorted([a.ref, b.ref])
    assert (report.people, report.conversations, report.messages) == (1, 1, 1)
    assert await everything(database) == before


async def test_purge_anonymises_old_closed_cases_and_forgets_silent_people(
    database: Database,
) -> None:
    people = await scene(database)
    a, b, c = people["a"], people["b"], people["c"]
    assert isinstance(a, Seeded) and isinstance(b, Seeded) and isinstance(c, Seeded)
    report = await purge(database, NOW, 24)
    assert not report.dry_run
    assert sorted(report.cases) == sorted([a.ref, b.ref])
    assert (report.people, report.conversations, report.messages) == (1, 1, 1)

    after = await everything(database)
    assert a.tag not in after and a.external_id not in after and a.name not in after
    # B stays (an open case, a recent conversation); their old case lost its texts.
    assert b.name in after
    for text in ("Nos adhésions", "Au fait", "On avance", "Framaforms", "Atelier avec", "Pas pour"):
        assert f"{text} {b.tag}" not in after
    assert f"Au fait {c.tag}" in after and c.name in after
    async with database.unit() as uow:
        assert await uow.people.by_id(a.person_id) is None
        old_b = await uow.cases.by_id(b.case_id)
        assert old_b is not None
        assert old_b.problem is None and old_b.person_id == b.person_id
        assert (old_b.status, old_b.region, old_b.themes) == (
            "clos",
            "BRE",
            ["gestion", "numerique"],
        )
        fresh = await uow.cases.by_id(int(str(people["fresh"])))
        assert fresh is not None and fresh.lieu_name == "B le retour"
        kept_c = await uow.cases.by_id(c.case_id)
        assert kept_c is not None and kept_c.problem is not None
        chats = (await uow.session.scalars(select(Conversation.address))).all()
        assert "41" not in chats and "42" in chats
        messages = (await uow.session.scalars(select(OutboxMessage.payload))).all()
        htmls = {str(p.get("html")) for p in messages}
        assert "31 jours" not in htmls and {"29 jours", "40 jours"} <= htmls
        assert await uow.cases.count() == 4  # statistics: every case is still there

    again = await purge(database, NOW, 24)
    assert (again.cases, again.people, again.conversations, again.messages) == ((), 0, 0, 0)


async def test_retention_zero_keeps_cases_but_still_drops_sent_copies(
    database: Database,
) -> None:
    people = await scene(database)
    a = people["a"]
    assert isinstance(a, Seeded)
    report = await purge(database, NOW, 0)
    assert report.cutoff is None and report.cases == () and report.people == 0
    assert report.messages == 1
    assert a.tag in await everything(database)


async def test_the_daily_job_purges_when_the_clock_says_so(database: Database) -> None:
    people = await scene(database)
    a = people["a"]
    assert isinstance(a, Seeded)
    clock = FakeClock(OLD + timedelta(days=30))
    job = RetentionJob(database, clock, PrivacyConfig(retention_months=24))

    scheduler = AsyncIOScheduler(timezone=UTC)
    job.start(scheduler)
    trigger = scheduler.get_job(JOB_ID).trigger
    # Every night at 04:30, Paris time (02:30 UTC in summer, 03:30 in winter).
    fire = trigger.get_next_fire_time(None, datetime(2028, 6, 15, 1, 0, tzinfo=UTC))
    assert fire.astimezone(UTC) == datetime(2028, 6, 15, 2, 30, tzinfo=UTC)
    fire = trigger.get_next_fire_time(None, datetime(2028, 1, 15, 5, 0, tzinfo=UTC))
    assert fire.astimezone(UTC) == datetime(2028, 1, 16, 3, 30, tzinfo=UTC)

    async def passes(count: int) -> None:
        for _ in range(500):
            if job.passes >= count:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"{job.passes} pass(es), expected {count}")

    task = asyncio.create_task(job.run())
    try:
        await passes(1)  # once at start: nothing old enough yet
        assert job.last is not None and job.last.cases == ()
        clock.set(NOW)
        job.kick()  # what the nightly trigger does
        await passes(2)
        assert job.last is not None and a.ref in job.last.cases
    finally:
        job.stop()
        await asyncio.wait_for(task, 10)
    async with database.unit() as uow:
        assert await uow.people.by_id(a.person_id) is None
