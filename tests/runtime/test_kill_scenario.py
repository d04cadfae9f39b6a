"""`kill -9` the bot at twenty random moments of a whole story, restarting it
each time: a person's intake on Telegram, their request for contact, the offer
in Matrix accepted with `!accepter`, one relayed message each way, then a
follow-up nudge that the person answers. Nothing may be lost, nothing counted
twice, no Matrix message duplicated.

The bot is a real subprocess (`aiguillage run`) against the fake Bot API and a
real Synapse. Kill moments are drawn with a printed seed (set
`AIGUILLAGE_KILL_SEED` to replay one): a step of the story, then either a
short random delay after the step's action (its update in flight, its unit of
work or its sends under way) or after its visible result (the outbox recording
what it sent). A message whose send was cut by a kill may reach the person
twice — Telegram has no idempotency key (docs/architecture.md) — so the person
side accepts copies; answers, cases, nudges and Matrix events must be exactly once.

Runs on the session's database engine (SQLite, or PostgreSQL in its pass); the
twenty restarts come from a warm spare process (tests/runtime/bot_process.py).
`AIGUILLAGE_KILLS=0` runs the story without kills.
"""

# ruff: noqa: F811  (pytest injects the imported fixtures by name)

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nio import RoomMessageNotice, RoomMessageText
from sqlalchemy import func, select, update

from bot.catalog.service import load_starter_catalog
from dialogs.catalog.load import AiguilleurProfile, Catalog
from storage.db import Database
from storage.migrate import upgrade
from storage.models.assignment import Assignment
from storage.models.core import Case, OutboxMessage, ProcessedUpdate
from storage.models.followup import Nudge
from tests import databases
from tests.fakes.synapse import (  # noqa: F401  (fixtures)
    Synapse,
    UserFactory,
    synapse,
    synapse_users,
)
from tests.fakes.telegram_api import BotMessage, FakeTelegram, FakeUser
from tests.runtime.bot_process import WarmBot, bot_env
from tests.transports.matrix.conftest import Member

TOKEN = "123456:TEST-token"
KILLS = int(os.environ.get("AIGUILLAGE_KILLS", "20"))
# Long enough for a restart (a warm process needs about a second or two).
PATIENCE = 40.0
PROBLEM = "Nos adhésions sont dans un tableur que plus personne ne comprend."
GOAL = "Un outil simple pour les bénévoles."
FROM_ALIX = "Bonjour <i>Camille</i> & co"
FROM_CAMILLE = "Merci <b>beaucoup</b> & à jeudi"


class Aiguilleur(Member):
    """A Matrix member who waits long enough for a bot that is restarting."""

    async def until(self, found: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            result = found()
            if result:
                return result
            await self.sync()
        pytest.fail(f"{self.id} never saw {what}")


async def seen(user: FakeUser, *parts: str, label: str | None = None) -> BotMessage:
    """The next bot message (new or edited) with every part in its text and, if
    given, a button with `label`. Copies of earlier messages (a send cut by a
    kill and repeated) are skipped on the way."""
    skipped: list[str] = []
    deadline = time.monotonic() + PATIENCE
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"never saw {parts} {label or ''}; skipped {skipped}")
        try:
            reply = await user.wait_reply(timeout=remaining)
        except AssertionError as exc:
            raise AssertionError(f"never saw {parts} {label or ''}; skipped {skipped}") from exc
        text = reply.plain_text or ""
        labelled = label is None or any(label in shown for shown in reply.labels)
        if all(p in text for p in parts) and labelled:
            return reply
        skipped.append(text[:60])


@dataclass
class Story:
    tg: FakeTelegram
    camille: FakeUser
    alix: Aiguilleur
    room: str
    db: Database
    last: BotMessage | None = None
    offer_event: str | None = None

    async def press(self, label: str) -> None:
        assert self.last is not None
        await self.camille.press(label, message=self.last)


Action = Callable[[Story], Awaitable[None]]
Expectation = Callable[[Story], Awaitable[None]]


@dataclass(frozen=True)
class Step:
    name: str
    act: Action
    expect: Expectation


def says(text: str) -> Action:
    async def act(story: Story) -> None:
        await story.camille.say(text)

    return act


def presses(label: str) -> Action:
    async def act(story: Story) -> None:
        await story.press(label)

    return act


def reads(*parts: str, label: str | None = None) -> Expectation:
    async def expect(story: Story) -> None:
        story.last = await seen(story.camille, *parts, label=label)

    return expect


async def alix_accepts(story: Story) -> None:
    await story.alix.say(story.room, "!accepter AIG-0001")


async def accepted(story: Story) -> None:
    story.last = await seen(story.camille, "Alix Aiguilleuse", "AIG-0001")
    await story.alix.message("Vous suivez la demande")


async def alix_writes(story: Story) -> None:
    await story.alix.say(story.room, FROM_ALIX, thread=story.offer_event)


async def camille_writes_back(story: Story) -> None:
    await story.camille.say(FROM_CAMILLE)


async def passed_on(story: Story) -> None:
    await seen(story.camille, "transmis")
    relayed = await story.alix.message(FROM_CAMILLE)
    # What a person typed is text, never markup, in the aiguilleur's client too.
    html = relayed.source["content"]["formatted_body"]
    assert "&lt;b&gt;beaucoup&lt;/b&gt; &amp; à jeudi" in html, html
    assert "<b>beaucoup</b>" not in html


async def contact_requested(story: Story) -> None:
    story.last = await seen(story.camille, "Nous proposons votre demande")
    offer = await story.alix.message("AIG-0001", "Nouvelle demande")
    story.offer_event = offer.event_id


async def nudge_comes_due(story: Story) -> None:
    """The follow-up's first question is an hour away: bring it forward, as
    time passing would (the bot's scheduler wakes every second)."""
    async with story.db.unit() as uow:
        await uow.session.execute(
            update(Nudge).where(Nudge.state == "pending").values(due_at=datetime.now(UTC))
        )


def story_steps() -> list[Step]:
    return [
        Step("start", says("/start"), reads("Aiguillage", label="J'accepte")),
        Step("consent", presses("J'accepte"), reads("Comment s'appelle")),
        Step("lieu", says("La Fabrique"), reads("Où se trouve")),
        Step("place", says("29200"), reads("C'est bien ça", label="Oui, c'est ça")),
        Step("place ok", presses("Oui, c'est ça"), reads(label="Bénévole")),
        Step("role", presses("Bénévole"), reads(label="Gestion")),
        Step("theme", presses("Gestion"), reads(label="Valider (1)")),
        Step("themes ok", presses("Valider (1)"), reads("Racontez-nous le problème")),
        Step("problem", says(PROBLEM), reads(label="Rien pour l'instant")),
        Step("tried", presses("Rien pour l'instant"), reads("réussite")),
        Step("goal", says(GOAL), reads("Avez-vous des contraintes")),
        Step("constraints", says("Pas de budget"), reads(label="Découvrir des ressources")),
        Step("help", presses("Découvrir des ressources"), reads(label="Valider (1)")),
        Step("help ok", presses("Valider (1)"), reads(label="Dans le mois")),
        Step("urgency", presses("Dans le mois"), reads("Votre fiche", label="Confirmer")),
        Step("confirm", presses("Confirmer"), reads(label="Être mis·e en relation")),
        Step("contact", presses("Être mis·e en relation"), contact_requested),
        Step("accept", alix_accepts, accepted),
        Step("alix writes", alix_writes, reads(FROM_ALIX)),
        Step("camille writes", camille_writes_back, passed_on),
        Step("nudge", nudge_comes_due, reads("AIG-0001", label="En cours")),
        Step("nudge answer", presses("En cours"), reads("Merci")),
    ]


@dataclass(frozen=True, order=True)
class Kill:
    step: int
    after_result: bool
    delay: float


def kill_plan(seed: int, steps: int, kills: int) -> list[Kill]:
    rng = random.Random(seed)
    return sorted(
        Kill(
            step=rng.randrange(steps),
            after_result=rng.random() < 0.3,
            delay=round(rng.uniform(0.0, 0.5), 3),
        )
        for _ in range(kills)
    )


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


def write_config(
    path: Path, database: str, server: Synapse, bot: Any, coordinator: str, room: str
) -> None:
    matrix = {
        "homeserver": server.base_url,
        "user_id": bot.user_id,
        "access_token": bot.access_token,
        "device_id": bot.device_id,
    }
    lines = [
        "[bot]",
        'log_level = "INFO"',
        "[telegram]",
        "poll_timeout = 1",
        "[database]",
        f"url = {json.dumps(database)}",
        "[matrix]",
        *(f"{key} = {json.dumps(value)}" for key, value in matrix.items()),
        'offer_timeout = "1h"',
        "sync_timeout = 1",
        'new_rooms = "plain"',
        "[coordinators]",
        f"matrix_room = {json.dumps(room)}",
        f"matrix_ids = {json.dumps([coordinator])}",
        "[followup]",
        'policy = [{ kind = "ouverture", after = "1h" }]',
        'grace = "1d"',
        # No quiet hours: the test may run at night or on a Sunday.
        'quiet_start = "00:00"',
        'quiet_end = "00:00"',
        "quiet_days = []",
        'wake_interval = "1s"',
    ]
    path.write_text("\n".join(lines) + "\n")


async def prepare_database(db: Database, alix: str) -> None:
    await upgrade(db)
    await load_starter_catalog(db, include_demo_aiguilleurs=False)
    profile = AiguilleurProfile(
        id="alix", name="Alix Aiguilleuse", matrix_id=alix, themes=("gestion",), capacity=2
    )
    catalog = Catalog(aiguilleurs=(profile,), sections=frozenset({"aiguilleurs"}))
    async with db.unit() as uow:
        await uow.catalog.apply(catalog, datetime.now(UTC))


async def test_kill_nine_at_random_moments_loses_and_duplicates_nothing(
    tg: FakeTelegram, synapse: Synapse, synapse_users: UserFactory, tmp_path: Path
) -> None:
    seed = int(os.environ.get("AIGUILLAGE_KILL_SEED") or random.SystemRandom().randrange(10**6))
    steps = story_steps()
    plan = kill_plan(seed, len(steps), KILLS)
    print(f"\nkill seed {seed} (replay: AIGUILLAGE_KILL_SEED={seed})")
    print(
        "kills:",
        [(steps[k.step].name, "result" if k.after_result else "act", k.delay) for k in plan],
    )

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    config = tmp_path / "config.toml"
    env = bot_env(TOKEN, tg.base_url, tg.base_file_url, data_dir)
    bot = WarmBot(config, env, tmp_path)
    bot.warm()  # its imports overlap the setup below
    # The session's engine (tests/databases.py): SQLite, or PostgreSQL in its pass.
    url = databases.url(data_dir, "aiguillage.sqlite3")
    db = Database(url)
    members: list[Aiguilleur] = []
    began = time.monotonic()
    try:
        bot_user = await synapse_users("aiguillage-bot")
        coordinator = Aiguilleur(synapse, await synapse_users("coord"))
        alix = Aiguilleur(synapse, await synapse_users("alix"))
        members += [coordinator, alix]
        created = await coordinator.client.room_create(
            name="coordination", invite=[bot_user.user_id]
        )
        room_id = created.room_id  # type: ignore[union-attr]
        await prepare_database(db, alix.id)
        write_config(config, url, synapse, bot_user, coordinator.id, room_id)
        # The first start is no kill point: its first sync skips history, so
        # Alix's room must exist and be joined before the story begins.
        bot.start()
        room = await alix.join_invite()
        camille = tg.user("Camille", language_code="fr")
        story = Story(tg=tg, camille=camille, alix=alix, room=room, db=db)
        for index, step in enumerate(steps):
            kills = [k for k in plan if k.step == index]
            await step.act(story)
            for kill in (k for k in kills if not k.after_result):
                await asyncio.sleep(kill.delay)
                bot.kill()
                bot.start()
            await step.expect(story)
            for kill in (k for k in kills if k.after_result):
                await asyncio.sleep(kill.delay)
                bot.kill()
                bot.start()
        assert bot.kills == KILLS
        # Whatever a kill left in flight lands before counting.
        await bot.started()
        await tg.wait_delivered(timeout=PATIENCE)
        await outbox_drained(db)
        assert await bot.stop() == 0  # a clean stop after all
        await alix.sync()
        await check_nothing_lost_nor_doubled(story, tg, alix)
    except BaseException:
        print(bot.logs())
        raise
    finally:
        await bot.stop()
        await db.dispose()
        await asyncio.gather(*(m.close() for m in members))
        print(f"kill story: {bot.kills} kills, {time.monotonic() - began:.1f} s")


async def outbox_drained(db: Database) -> None:
    deadline = time.monotonic() + PATIENCE
    while True:
        async with db.unit() as uow:
            left = await uow.session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state != "sent")
            )
        if left == 0:
            return
        assert time.monotonic() < deadline, f"{left} outbox row(s) never sent"
        await asyncio.sleep(0.2)


async def check_nothing_lost_nor_doubled(story: Story, tg: FakeTelegram, alix: Aiguilleur) -> None:
    async with story.db.unit() as uow:
        cases = list((await uow.session.scalars(select(Case))).all())
        assert len(cases) == 1
        case = cases[0]
        timeline = Counter(e.kind for e in await uow.cases.timeline(case))
        claimed = list(
            (
                await uow.session.execute(
                    select(ProcessedUpdate.transport, ProcessedUpdate.update_key)
                )
            ).all()
        )
        nudges = list((await uow.session.scalars(select(Nudge))).all())
        assignments = list((await uow.session.scalars(select(Assignment))).all())
        matrix_rows = list(
            (
                await uow.session.scalars(
                    select(OutboxMessage).where(OutboxMessage.transport == "matrix")
                )
            ).all()
        )
        outbox_left = await uow.session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.state != "sent")
        )

    # Every answer in the sheet, once.
    assert case.ref == "AIG-0001"
    assert case.lieu_name == "La Fabrique" and case.region == "BRE"
    assert case.themes == ["gestion"] and case.problem == PROBLEM and case.goal == GOAL
    assert case.constraints == "Pas de budget" and case.urgency == "mois"
    assert case.contact_requested and case.status == "attribue"
    # Each event of the story recorded once.
    for kind in ("submitted", "proposals", "contact_requested", "offered", "accepted"):
        assert timeline[kind] == 1, (kind, timeline)
    assert timeline["relay_message"] == 2, timeline  # one each way
    assert timeline["nudge_sent"] == 1 and timeline["nudge_answer"] == 1, timeline
    # Each update read once: every Telegram update the person sent, and Alix's
    # two messages (the command and the thread message).
    telegram = sorted(key for transport, key in claimed if transport == "telegram")
    updates = sorted(str(update_id) for update_id in tg._history)
    assert [k for k in telegram if not k.startswith("nudge:")] == updates
    assert len([k for k in telegram if k.startswith("nudge:")]) == 1
    assert len([k for transport, k in claimed if transport == "matrix"]) == 2
    assert [(a.aiguilleur_id, a.state) for a in assignments] == [("alix", "accepted")]
    assert [(n.kind, n.state) for n in nudges] == [("ouverture", "answered")]
    assert outbox_left == 0

    # Matrix: each message of the bot once in Alix's room (transaction ids).
    bodies = Counter(
        e.body
        for e in alix.seen
        if isinstance(e, RoomMessageText | RoomMessageNotice) and e.sender != alix.id
    )
    doubled = {body[:60]: n for body, n in bodies.items() if n > 1}
    assert not doubled, doubled
    event_ids = [row.external_id for row in matrix_rows if row.address == story.room]
    assert len(set(event_ids)) == len(event_ids) == sum(bodies.values())
