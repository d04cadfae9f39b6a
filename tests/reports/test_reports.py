"""The report from the database (SQLite and PostgreSQL) with known answers, its
chart, `stats`, and both commands in chat on Telegram: coordinator, scoped
coordinator, aiguilleur and stranger."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event

from bot.config.reports import ReportConfig
from bot.reports.chart import PNG_MAGIC, render_png
from bot.reports.service import load_report, load_stats
from dialogs.reports.render import report_markdown
from storage.db import Database
from storage.models.followup import Nudge
from tests.coordination.support import Desk, command_log, say
from tests.reports.report_scenario import (
    EXPECTED,
    EXPECTED_BRE,
    PERIOD,
    ROADMAP,
    at,
    figures,
    seed,
)
from tests.transports.telegram.harness import next_question

CONFIG = ReportConfig(
    start=ROADMAP.start,
    milestones=ROADMAP.milestones,
    active_aiguilleurs=ROADMAP.active_aiguilleurs,
)
NOW = at(4, 10)


@contextmanager
def counted(db: Database) -> Iterator[list[str]]:
    """The SQL statements run meanwhile."""
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    for engine in db.sync_engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in db.sync_engines:
            event.remove(engine, "before_cursor_execute", record)


async def test_report_figures_from_the_database(database: Database) -> None:
    await seed(database)
    async with database.unit() as uow:
        with counted(database) as statements:
            report = await load_report(uow, CONFIG, PERIOD, NOW)
        scoped = await load_report(uow, CONFIG, PERIOD, NOW, frozenset({"BRE"}))
    assert figures(report) == EXPECTED
    # One query per table, whatever the number of cases.
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 7
    assert {key: figures(scoped)[key] for key in EXPECTED_BRE} == EXPECTED_BRE
    assert scoped.regions == ("BRE",)
    assert "_Régions\xa0: Bretagne_" in report_markdown(scoped, "fr")


async def test_the_chart_is_a_png(database: Database) -> None:
    await seed(database)
    async with database.unit() as uow:
        report = await load_report(uow, CONFIG, PERIOD, NOW)
    png = render_png(report, "fr")
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (1200, 550)


async def test_stats_figures(database: Database) -> None:
    refs = await seed(database)
    now = at(3, 31, 12)
    async with database.unit() as uow:
        case = await uow.cases.by_ref(refs["c4"])
        assert case is not None
        await uow.assignments.enqueue(case.id, now - timedelta(days=9))
        for state, due in (
            ("pending", now + timedelta(days=3)),
            ("pending", now + timedelta(days=9)),
            ("escalated", None),
        ):
            uow.session.add(
                Nudge(
                    case_id=case.id,
                    kind="ouverture",
                    transport="telegram",
                    address="1",
                    locale="fr",
                    state=state,
                    due_at=due,
                    attempts=0,
                    deferrals=0,
                    created_at=now,
                    updated_at=now,
                )
            )
    async with database.unit() as uow:
        stats = await load_stats(uow, now)
        scoped = await load_stats(uow, now, frozenset({"NAQ"}))
    assert dict(stats.open_by_status) == {
        "attribue": 4,
        "action_verifiee": 1,
        "en_attente": 1,
        "nouveau": 1,
    }
    assert stats.open_total == 7  # c6 is closed
    assert (stats.queue, stats.queue_oldest_days) == (1, 9)
    assert (stats.available, stats.active) == (4, 3)  # alix, sacha (worked), camille (held)
    assert (stats.nudges_due_week, stats.nudges_escalated) == (1, 1)
    # Nouvelle-Aquitaine has c3 and c5; c4 (no région) is for national coordinators only.
    assert dict(scoped.open_by_status) == {"attribue": 2}
    assert (scoped.queue, scoped.nudges_escalated, scoped.available) == (0, 0, 0)
    assert scoped.active == 2  # sacha worked on c3, camille held it


# -- in chat ---------------------------------------------------------------------------------


async def test_stats_and_report_in_chat(desk: Desk) -> None:
    await seed(desk.db)
    stats = (await say(desk.coordinator, "/stats")).replace("\xa0", " ")
    assert "Chiffres du moment" in stats
    assert "Demandes ouvertes : 7" in stats and "suivies (4)" in stats

    text = (await say(desk.coordinator, "/rapport 2026-03-01 2026-03-31")).replace("\xa0", " ")
    assert "Rapport du 01/03/2026 au 31/03/2026" in text
    assert "Demandes ouvertes : 6" in text
    assert "Action vérifiée : 50 % des demandes (3 sur 6)" in text
    assert "Nextcloud plutôt que Google Drive (1)" in text
    photo = await next_question(desk.coordinator)
    assert photo.kind == "photo"
    assert photo.data is not None and photo.data.startswith(PNG_MAGIC)
    assert "Demandes par thème" in (photo.plain_text or "")
    assert await command_log(desk.db) == [
        ("coordinator", "stats", "ok"),
        ("coordinator", "rapport", "ok"),
    ]


async def test_scoped_coordinator_sees_their_regions(desk: Desk) -> None:
    await seed(desk.db)
    async with desk.db.unit() as uow:
        await uow.coordination.add_coordinator(
            transport="telegram",
            external_id="700009",
            name="Brigitte",
            regions=["BRE"],
            added_by="test",
            now=NOW,
        )
    breton = desk.tg.user(first_name="Brigitte", user_id=700_009, language_code="fr")
    text = (await say(breton, "/report 2026-03-01 2026-03-31")).replace("\xa0", " ")
    assert "Régions : Bretagne" in text
    assert "Demandes ouvertes : 2" in text and "Occitanie" not in text
    assert (await next_question(breton)).kind == "photo"
    stats = (await say(breton, "/stats")).replace("\xa0", " ")
    assert "Régions : Bretagne" in stats and "Demandes ouvertes : 4" in stats


async def test_others_are_refused_and_mistakes_explained(desk: Desk) -> None:
    await seed(desk.db)
    assert "réservée aux coordinateur·ices" in await say(desk.aiguilleur, "/stats")
    assert "réservée aux coordinateur·ices" in await say(desk.stranger, "/rapport")
    misused = await say(desk.coordinator, "/rapport hier")
    assert "s'écrit ainsi" in misused
    future = await say(desk.coordinator, "/rapport 2099-01-01")
    assert "commence après aujourd'hui" in future
    await desk.coordinator.expect_silence(0.3)  # no chart for a refused period
    assert await command_log(desk.db) == [
        ("aiguilleur", "stats", "refused"),
        ("anyone", "rapport", "refused"),
        ("coordinator", "rapport", "misused"),
        ("coordinator", "rapport", "misused"),
    ]


async def test_default_period_runs_from_the_first_request(desk: Desk) -> None:
    await seed(desk.db)
    text = await say(desk.coordinator, "/rapport")
    # No [report] start: the roadmap starts with the first request (c0, 5 January).
    assert "Rapport du 05/01/2026 au" in text
    assert (await next_question(desk.coordinator)).kind == "photo"
