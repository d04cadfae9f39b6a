"""Three bot processes on one PostgreSQL, behind a reverse proxy, while fifty
people use the bot and the processes are killed with SIGKILL.

Three real `python -m bot.cli run` processes in webhook mode (tests/runtime/
cluster.py: the fake Bot API calls the test's proxy, which spreads the calls
round-robin and passes a refused one to the next process), a real Synapse for
the aiguilleuse, one private PostgreSQL database. Fifty simulated people:

- twenty start an intake and stop after their place is confirmed;
- thirty finish it and confirm their case; their first follow-up question
  comes 20 s later and they answer it;
- ten of those thirty ask to be put in touch: Alix accepts each offer in her
  Matrix room, writes in the offer's thread, and the person writes back.

During the run the leader (the process holding the roles: Matrix sync,
scheduled jobs) is killed twice and a follower once, each restarted at once.

Checked: every person saw every reply (nothing lost); no message reached a
person twice beyond what the processes' resend counters account for (a send
cut by a kill, which Telegram cannot deduplicate); every Matrix message (offer,
relayed message) once; every update and every case recorded once; the time
each kill took for another process to hold the dead one's roles, printed and
at most 10 s.

PostgreSQL only (several processes on one SQLite file are refused, see
docs/deploiement.md); it runs in the PostgreSQL pass.
"""

# ruff: noqa: F811  (pytest injects the imported fixtures by name)

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from nio import RoomMessageNotice, RoomMessageText
from sqlalchemy import func, select

from bot.catalog.service import load_starter_catalog
from dialogs.catalog.load import AiguilleurProfile, Catalog
from storage.db import Database
from storage.migrate import upgrade
from storage.models.core import Case, OutboxMessage, ProcessedUpdate
from storage.models.followup import Nudge
from tests import databases
from tests.fakes.postgres import PostgresServer
from tests.fakes.synapse import (  # noqa: F401  (fixtures)
    Synapse,
    UserFactory,
    synapse,
    synapse_users,
)
from tests.fakes.telegram_api import BotMessage, FakeTelegram, FakeUser
from tests.runtime.webhook_cluster import Cluster, Counted, duplicates
from tests.transports.matrix.conftest import Member

TOKEN = "123456:CLUSTER-token"
PEOPLE = int(os.environ.get("AIGUILLAGE_CLUSTER_PEOPLE", "50"))
# AIGUILLAGE_CLUSTER_KILLS=0: the same story without kills.
KILLS = os.environ.get("AIGUILLAGE_CLUSTER_KILLS", "1") != "0"
FINISHING = 30
CONTACTS = 10
# For one reply: long enough for a kill, the takeover of the dead process's
# roles and outbox rows, and its restart, on a loaded 2-core machine.
PATIENCE = 100.0
TAKEOVER_LIMIT = 10.0
NUDGE_AFTER = "20s"
# Outbox rows taken over from a dead process, by transport and outcome.
RESENDS = "aiguillage_outbox_resumed_total"
PROBLEM = "Nos adhésions sont dans un tableur que plus personne ne comprend."
GOAL = "Un outil simple pour les bénévoles."


class Desk:
    """Alix, the aiguilleuse, in Matrix: one sync loop in the background (one
    client must not sync twice at once) and any number of waits on what it saw."""

    def __init__(self, member: Member) -> None:
        self.member = member
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self._sync())

    async def _sync(self) -> None:
        while True:
            try:
                await self.member.sync()
            except AssertionError:
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    def from_bot(self) -> list[RoomMessageText | RoomMessageNotice]:
        unique: dict[str, RoomMessageText | RoomMessageNotice] = {}
        for event in self.member.seen:
            if (
                isinstance(event, RoomMessageText | RoomMessageNotice)
                and event.sender != self.member.id
            ):
                unique[event.event_id] = event
        return list(unique.values())

    async def message(self, *parts: str) -> RoomMessageText | RoomMessageNotice:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            for event in self.from_bot():
                if all(p in event.body for p in parts):
                    return event
            await asyncio.sleep(0.2)
        raise AssertionError(f"Alix never saw {parts}")


@dataclass
class Person:
    number: int
    user: FakeUser
    finishes: bool
    contact: bool
    lieu: str = ""
    ref: str = ""
    last: BotMessage | None = None
    offset: int = 0  # events of the chat read so far
    steps: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lieu = f"Lieu Cluster {self.number:02d}"

    @property
    def from_alix(self) -> str:
        return f"Bonjour {self.lieu}, parlons-en jeudi"

    @property
    def to_alix(self) -> str:
        return f"Merci, à jeudi de la part de {self.lieu}"

    async def seen(self, *parts: str, label: str | None = None) -> BotMessage:
        """The next message of the bot (new or edited) with every part and, if given,
        a button `label`. Copies of earlier messages (a send cut by a kill and
        repeated) and follow-up questions (checked apart) are passed over."""
        deadline = time.monotonic() + PATIENCE
        events = self.user._events
        while True:
            while self.offset < len(events):
                reply = events[self.offset]
                self.offset += 1
                text = reply.plain_text or ""
                labelled = label is None or any(label in shown for shown in reply.labels)
                if all(p in text for p in parts) and labelled and not is_nudge(reply):
                    self.last = reply
                    self.steps.append(parts[0] if parts else label or "")
                    return reply
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.lieu} never saw {parts} {label or ''}")
            await asyncio.sleep(0.05)

    async def say(self, text: str) -> None:
        await self.user.say(text)

    async def press(self, label: str) -> None:
        assert self.last is not None
        await self.user.press(label, message=self.last)

    async def nudge(self) -> BotMessage:
        """The follow-up question about this person's case, wherever it arrived."""
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            for reply in self.user._events:
                if is_nudge(reply) and self.ref in (reply.plain_text or ""):
                    return reply
            await asyncio.sleep(0.1)
        raise AssertionError(f"{self.lieu} never got a follow-up question")


def is_nudge(reply: BotMessage) -> bool:
    return any("En cours" in shown for shown in reply.labels)


REF = re.compile(r"AIG-\d{4}")


async def intake(person: Person) -> None:
    await person.say("/start")
    await person.seen("Aiguillage", label="J'accepte")
    await person.press("J'accepte")
    await person.seen("Comment s'appelle")
    await person.say(person.lieu)
    await person.seen("Où se trouve")
    await person.say("29200")
    await person.seen("C'est bien ça", label="Oui, c'est ça")
    await person.press("Oui, c'est ça")
    await person.seen(label="Bénévole")
    if not person.finishes:
        return
    await person.press("Bénévole")
    await person.seen(label="Gestion")
    await person.press("Gestion")
    await person.seen(label="Valider (1)")
    await person.press("Valider (1)")
    await person.seen("Racontez-nous le problème")
    await person.say(PROBLEM)
    await person.seen(label="Rien pour l'instant")
    await person.press("Rien pour l'instant")
    await person.seen("réussite")
    await person.say(GOAL)
    await person.seen("Avez-vous des contraintes")
    await person.say("Pas de budget")
    await person.seen(label="Découvrir des ressources")
    await person.press("Découvrir des ressources")
    await person.seen(label="Valider (1)")
    await person.press("Valider (1)")
    await person.seen(label="Dans le mois")
    await person.press("Dans le mois")
    await person.seen("Votre fiche", label="Confirmer")
    await person.press("Confirmer")
    confirmed_at = person.offset
    await person.seen(label="Être mis·e en relation")
    # The reference is in the message that says the case is recorded.
    found = [REF.search(r.plain_text or "") for r in person.user._events[confirmed_at:]]
    refs = {match.group(0) for match in found if match}
    assert len(refs) == 1, (person.lieu, refs)
    person.ref = refs.pop()


async def put_in_touch(person: Person, desk: Desk, room: str) -> None:
    await person.press("Être mis·e en relation")
    await person.seen("Nous proposons votre demande")
    offer = await desk.message("Nouvelle demande", person.ref, person.lieu)
    await desk.member.say(room, f"!accepter {person.ref}")
    await person.seen("Alix Aiguilleuse", person.ref)
    await desk.member.say(room, person.from_alix, thread=offer.event_id)
    await person.seen(person.from_alix)
    await person.say(person.to_alix)
    await person.seen("Message transmis")
    await desk.message(person.to_alix)


async def answer_nudge(person: Person) -> None:
    question = await person.nudge()
    person.last = question
    await person.press("En cours")
    await person.seen("Merci")


async def story(person: Person, desk: Desk, room: str) -> None:
    await asyncio.sleep(random.uniform(0, 4))  # people do not all arrive at once
    await intake(person)
    if person.contact:
        await put_in_touch(person, desk, room)
    if person.finishes:
        await answer_nudge(person)


@dataclass
class Chaos:
    """Kills during the run, and what they showed."""

    cluster: Cluster
    resends: Counted
    takeovers: list[tuple[str, float]] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    async def scrape(self) -> None:
        self.resends.read(self.cluster, await self.cluster.metrics())

    async def kill_leader(self) -> None:
        leader = await self.cluster.leader()
        await self.scrape()
        seconds = await self.cluster.kill_and_time_takeover(leader)
        self.takeovers.append((f"leader {leader.name}", seconds))
        self.log.append(f"killed leader {leader.name}: roles taken over in {seconds:.2f} s")
        await self.cluster.restart(leader)

    async def kill_follower(self) -> None:
        leader = await self.cluster.leader()
        follower = next(n for n in self.cluster.nodes if n is not leader and n.alive)
        await self.scrape()
        follower.kill()
        self.log.append(f"killed follower {follower.name}")
        await self.cluster.restart(follower)

    async def run(self, pause: float) -> None:
        for act in (self.kill_leader, self.kill_follower, self.kill_leader):
            await asyncio.sleep(pause)
            await act()


async def prepare_database(url: str, alix: str) -> None:
    """Schema and catalogs before any process starts: processes started together
    on an empty database would each try to create it."""
    db = Database(url)
    try:
        await upgrade(db)
        await load_starter_catalog(db, include_demo_aiguilleurs=False)
        profile = AiguilleurProfile(
            id="alix", name="Alix Aiguilleuse", matrix_id=alix, themes=("gestion",), capacity=20
        )
        catalog = Catalog(aiguilleurs=(profile,), sections=frozenset({"aiguilleurs"}))
        async with db.unit() as uow:
            await uow.catalog.apply(catalog, datetime.now(UTC))
    finally:
        await db.dispose()


def sections(server: Synapse, bot: Any, coordinator: str, room: str) -> dict[str, dict[str, Any]]:
    return {
        "matrix": {
            "homeserver": server.base_url,
            "user_id": bot.user_id,
            "access_token": bot.access_token,
            "device_id": bot.device_id,
            "offer_timeout": "1h",
            "sync_timeout": 1,
            "new_rooms": "plain",
        },
        "coordinators": {"matrix_room": room, "matrix_ids": [coordinator]},
        "followup": {
            "policy": [{"kind": "ouverture", "after": NUDGE_AFTER}],
            "grace": "1d",
            # No quiet hours: the test may run at night or on a Sunday.
            "quiet_start": "00:00",
            "quiet_end": "00:00",
            "quiet_days": [],
            "wake_interval": "1s",
        },
    }


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, max_recorded_calls=100_000) as fake:
        # Telegram delivers a webhook over up to 40 connections at once.
        fake.webhook_connections = 40
        yield fake


async def test_three_processes_lose_nothing_and_send_nothing_twice(
    tg: FakeTelegram,
    synapse: Synapse,
    synapse_users: UserFactory,
    postgres_server: PostgresServer,
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    databases.attach(postgres_server)
    url = databases.url(tmp_path, "cluster", engine=databases.POSTGRESQL)
    members: list[Member] = []
    bot_user = await synapse_users("aiguillage-bot")
    coordinator = Member(synapse, await synapse_users("coord"))
    alix = Member(synapse, await synapse_users("alix"))
    members += [coordinator, alix]
    created = await coordinator.client.room_create(name="coordination", invite=[bot_user.user_id])
    coordination_room = created.room_id  # type: ignore[union-attr]
    await prepare_database(url, alix.id)

    cluster = Cluster(
        tg, url, tmp_path / "cluster", size=3,
        sections=sections(synapse, bot_user, coordinator.id, coordination_room),
    )  # fmt: skip
    desk = Desk(alix)
    # Telegram rows taken over and sent again ("given_up" ones were not; Matrix
    # ones keep their transaction id, so Synapse shows them once).
    resends = Counted(RESENDS, {"transport": "telegram", "outcome": "resent"})
    chaos = Chaos(cluster, resends)
    try:
        # One process first: it creates Alix's room, which she joins, before the
        # others start (and before anyone writes).
        await cluster.start([0])
        room = await alix.join_invite()
        desk.start()
        await cluster.start([1, 2])
        if KILLS:
            leader = await cluster.leader()
            print(f"\nleader at start: {leader.name}, roles {await cluster.roles()}")

        rng = random.Random(16)
        people = [
            Person(
                number=n,
                user=tg.user(f"Personne {n}", language_code="fr"),
                finishes=n < PEOPLE * FINISHING // 50,
                contact=n < PEOPLE * CONTACTS // 50,
            )
            for n in range(PEOPLE)
        ]
        rng.shuffle(people)
        stories = asyncio.gather(*(story(p, desk, room) for p in people))
        kills = asyncio.create_task(chaos.run(pause=8.0) if KILLS else asyncio.sleep(0))
        await stories
        await kills
        for line in chaos.log:
            print(line)

        # Whatever a kill left in flight lands before counting.
        await tg.wait_delivered(timeout=PATIENCE)
        await outbox_drained(url)
        await chaos.scrape()
        await check(url, tg, desk, people, resends.value)
        codes = await cluster.stop()
        assert codes == [0, 0, 0], codes  # a clean stop after all
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        await cluster.stop()
        await desk.stop()
        await asyncio.gather(*(m.close() for m in members))
        proxy = cluster.proxy
        print(
            f"cluster story: {PEOPLE} people, kills {[(n.name, n.kills) for n in cluster.nodes]}, "
            f"takeovers {[(what, round(s, 2)) for what, s in chaos.takeovers]}, "
            f"{time.monotonic() - began:.1f} s"
            + (f", proxy passed on {proxy.passed_on}, 502 {proxy.bad_gateway}" if proxy else "")
        )
    assert len(chaos.takeovers) == (2 if KILLS else 0)
    for what, seconds in chaos.takeovers:
        assert seconds <= TAKEOVER_LIMIT, (what, seconds)


async def outbox_drained(url: str) -> None:
    db = Database(url)
    try:
        deadline = time.monotonic() + PATIENCE
        while True:
            async with db.unit() as uow:
                left = await uow.session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.state != "sent")
                )
            if left == 0:
                return
            assert time.monotonic() < deadline, f"{left} outbox row(s) never sent"
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()


async def check(
    url: str, tg: FakeTelegram, desk: Desk, people: list[Person], resent: float
) -> None:
    db = Database(url)
    try:
        async with db.unit() as uow:
            cases = list((await uow.session.scalars(select(Case))).all())
            claimed = list(
                (
                    await uow.session.execute(
                        select(ProcessedUpdate.transport, ProcessedUpdate.update_key)
                    )
                ).all()
            )
            nudges = list((await uow.session.scalars(select(Nudge))).all())
            timelines = {
                case.ref: Counter(e.kind for e in await uow.cases.timeline(case)) for case in cases
            }
    finally:
        await db.dispose()

    finishing = [p for p in people if p.finishes]
    # One case per person who confirmed, with their place's name.
    assert sorted(c.lieu_name for c in cases) == sorted(p.lieu for p in finishing)
    assert sorted(c.ref for c in cases) == sorted(p.ref for p in finishing)
    # Each Telegram update read once (the primary key would refuse a second),
    # and every update Telegram sent was read.
    telegram = [key for transport, key in claimed if transport == "telegram"]
    updates = sorted(str(update_id) for update_id in tg._history)
    assert sorted(k for k in telegram if not k.startswith("nudge:")) == updates
    # One follow-up question per case, sent and answered once.
    assert sorted((n.kind, n.state) for n in nudges) == [("ouverture", "answered")] * len(finishing)
    for person in finishing:
        timeline = timelines[person.ref]
        assert timeline["submitted"] == 1, (person.ref, timeline)
        assert timeline["nudge_sent"] == 1 and timeline["nudge_answer"] == 1, timeline
        if person.contact:
            for kind in ("contact_requested", "offered", "accepted"):
                assert timeline[kind] == 1, (person.ref, kind, timeline)
            assert timeline["relay_message"] == 2, (person.ref, timeline)

    # Telegram: nothing twice, except sends cut by a kill and taken over (counted).
    doubled = duplicates(tg)
    print(f"messages sent twice: {doubled}; resends counted by the processes: {resent:.0f}")
    assert doubled <= resent, (doubled, resent)

    # Matrix: each offer and each relayed message once (transaction ids).
    bodies = Counter(event.body for event in desk.from_bot())
    for person in (p for p in people if p.contact):
        offers = [b for b in bodies if "Nouvelle demande" in b and person.ref in b]
        assert len(offers) == 1 and bodies[offers[0]] == 1, (person.ref, offers)
        relayed = [b for b in bodies if person.to_alix in b]
        assert len(relayed) == 1 and bodies[relayed[0]] == 1, (person.ref, relayed)
    doubled_matrix = {body[:60]: n for body, n in bodies.items() if n > 1}
    assert not doubled_matrix, doubled_matrix
