"""The bot's Matrix side in process against a real Synapse, with aiguilleurs as
real matrix-nio clients and tiers-lieux as fake Telegram users.

Time: `RunningClock` flows like the wall clock (so outbox retries and sync work
as in production) and `advance()` jumps over offer deadlines: no test sleeps
for a delay.
"""

# ruff: noqa: F811  (pytest injects the imported fixtures by name)

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    JoinResponse,
    ReactionEvent,
    RoomMessageNotice,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from bot.app import BotService
from bot.config.followup import CoordinatorsConfig
from bot.config.load import Config, DatabaseConfig, TelegramConfig
from bot.config.matrix import MatrixConfig
from bot.delivery.pacing import NoPacing
from bot.runtime.clock import FakeClock
from dialogs.catalog.load import AiguilleurProfile, Catalog
from dialogs.kernel.state import Stage, State
from tests import databases
from tests.fakes.synapse import (  # noqa: F401  (fixtures)
    RegisteredUser,
    Synapse,
    UserFactory,
    synapse,
    synapse_private,
    synapse_users,
)
from tests.fakes.telegram_api import FakeTelegram, FakeUser

TOKEN = "123456:TEST-token"
DEADLINE = 6.0


class RunningClock(FakeClock):
    def __init__(self) -> None:
        super().__init__(datetime.now(UTC))
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        return self._now + timedelta(seconds=time.monotonic() - self._t0)


class Member:
    """A Matrix user driven by the test: an aiguilleur, a coordinator, a stranger."""

    def __init__(self, server: Synapse, user: RegisteredUser, store: Path | None = None) -> None:
        self.user = user
        encrypted = store is not None
        if store is not None:
            store.mkdir(parents=True, exist_ok=True)
        self.client = AsyncClient(
            server.base_url,
            user.user_id,
            device_id=user.device_id,
            store_path=str(store or ""),
            config=AsyncClientConfig(encryption_enabled=encrypted, store_sync_tokens=encrypted),
        )
        self.client.restore_login(user.user_id, user.device_id, user.access_token)
        self.seen: list[Event] = []
        self.used: set[str] = set()
        # Does the bot see this user in that room yet (set by `World.member`)?
        self.bot_sees: Callable[[str, str], bool] | None = None

    @property
    def id(self) -> str:
        return self.user.user_id

    async def sync(self) -> SyncResponse:
        response = await self.client.sync(timeout=300)
        assert isinstance(response, SyncResponse), response
        for room in response.rooms.join.values():
            self.seen.extend(room.timeline.events)
        if self.client.olm is not None:
            if self.client.should_upload_keys:
                await self.client.keys_upload()
            if self.client.should_query_keys:
                await self.client.keys_query()
        return response

    async def until(self, found: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            result = found()
            if result:
                return result
            await self.sync()
        pytest.fail(f"{self.id} never saw {what}")

    async def join_invite(self) -> str:
        room_id = await self.until(lambda: next(iter(self.client.invited_rooms), None), "an invite")
        joined = await self.client.join(room_id)
        assert isinstance(joined, JoinResponse), joined
        if self.bot_sees is not None:
            # Offers go only to aiguilleurs the bot has seen join their room.
            deadline = time.monotonic() + DEADLINE
            while not self.bot_sees(str(room_id), self.id):
                if time.monotonic() > deadline:
                    pytest.fail(f"the bot never saw {self.id} join {room_id}")
                await asyncio.sleep(0.05)
        return str(room_id)

    async def message(self, *parts: str) -> RoomMessageText:
        """The next unread message of the bot's containing every part."""

        def find() -> RoomMessageText | None:
            for event in self.seen:
                if (
                    isinstance(event, RoomMessageText | RoomMessageNotice)
                    and event.event_id not in self.used
                    and event.sender != self.id
                    and all(p in event.body for p in parts)
                ):
                    self.used.add(event.event_id)
                    return event
            return None

        return await self.until(find, f"a message with {parts}")

    async def say(self, room_id: str, body: str, thread: str | None = None) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if thread:
            content["m.relates_to"] = {"rel_type": "m.thread", "event_id": thread}
        sent = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        assert isinstance(sent, RoomSendResponse), sent
        return sent.event_id

    async def react(self, room_id: str, event_id: str, key: str) -> None:
        relates = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        sent = await self.client.room_send(room_id, "m.reaction", {"m.relates_to": relates})
        assert isinstance(sent, RoomSendResponse), sent

    def reactions(self) -> list[ReactionEvent]:
        return [e for e in self.seen if isinstance(e, ReactionEvent)]

    async def close(self) -> None:
        await self.client.close()


@dataclasses.dataclass
class World:
    """Everything a scenario needs, started and stopped by the `world` fixture."""

    server: Synapse
    users: Callable[..., Any]
    tg: FakeTelegram
    clock: RunningClock
    data_dir: Path
    bot_user: RegisteredUser
    coordinator: Member
    coordinators_room: str
    bot: BotService | None = None
    members: list[Member] = dataclasses.field(default_factory=list)

    def config(self, **matrix: Any) -> Config:
        values: dict[str, Any] = {
            "homeserver": self.server.base_url,
            "user_id": self.bot_user.user_id,
            "access_token": self.bot_user.access_token,
            "device_id": self.bot_user.device_id,
            "store_path": self.data_dir / "matrix-store",
            "offer_timeout": timedelta(hours=1),
            "sync_timeout": 2,
            "new_rooms": "plain",
        }
        # The coordinators' room and accounts are set in [coordinators].
        room = matrix.pop("coordinators_room", self.coordinators_room)
        people = tuple(matrix.pop("coordinators", (self.coordinator.id,)))
        values.update(matrix)
        return Config(
            data_dir=self.data_dir,
            telegram=TelegramConfig(
                token=TOKEN,
                api_base_url=self.tg.base_url,
                file_base_url=self.tg.base_file_url,
                poll_timeout=1,
            ),
            database=DatabaseConfig(url=databases.url(self.data_dir)),
            matrix=MatrixConfig(**values),
            coordinators=CoordinatorsConfig(matrix_ids=people, matrix_room=room),
        )

    async def start(self, **matrix: Any) -> BotService:
        self.bot = BotService(
            self.config(**matrix), clock=self.clock, rate_limit=False, pacer=NoPacing()
        )
        await self.bot.start()
        return self.bot

    async def stop(self) -> None:
        if self.bot is not None:
            await self.bot.stop()
            self.bot = None

    async def member(self, name: str, store: Path | None = None) -> Member:
        user = await self.users(name)
        found = Member(self.server, user, store)
        found.bot_sees = self.bot_sees
        self.members.append(found)
        return found

    def bot_sees(self, room_id: str, user_id: str) -> bool:
        matrix = self.bot.matrix if self.bot is not None else None
        return matrix is None or matrix.joined(room_id, user_id)

    async def aiguilleurs(self, *people: tuple[str, Member, int]) -> None:
        """(slug, member, capacity): the catalog's aiguilleurs, all on "gestion"."""
        assert self.bot is not None
        profiles = tuple(
            AiguilleurProfile(
                id=slug,
                name=f"{slug.capitalize()} Aiguilleuse",
                matrix_id=member.id,
                themes=("gestion",),
                capacity=capacity,
            )
            for slug, member, capacity in people
        )
        catalog = Catalog(aiguilleurs=profiles, sections=frozenset({"aiguilleurs"}))
        async with self.bot.db.unit() as uow:
            await uow.catalog.apply(catalog, self.clock.now())

    async def rooms(self) -> int:
        """Create the missing aiguilleurs' rooms now (the tick would, later)."""
        assert self.bot is not None and self.bot.matrix is not None
        return await self.bot.matrix.ensure_rooms()

    async def case(self, person: FakeUser, lieu: str = "La Fabrique <b>&</b> Cie") -> str:
        """A confirmed case of `person` (a Telegram user) asking for an aiguilleur."""
        bot = self.bot
        assert bot is not None
        now = self.clock.now()
        async with bot.db.unit() as uow:
            someone = await uow.people.record_consent(
                transport="telegram",
                external_id=str(person.id),
                display_name=person.first_name,
                locale="fr",
                now=now,
            )
            await uow.conversations.save(
                await uow.conversations.for_update("telegram", str(person.id)),
                transport="telegram",
                address=str(person.id),
                person_id=someone.id,
                state=State(stage=Stage.IDLE, consented=True, version=3).to_json(),
                now=now,
            )
            case = await uow.cases.create(
                person_id=someone.id,
                locale="fr",
                sheet={
                    "lieu_name": lieu,
                    "place": {"departement": "29", "region": "BRE", "commune": "Quimper"},
                    "themes": ["gestion"],
                    "problem": "Nos adhésions sont dans un tableur <script>.",
                    "help": ["ressources"],
                    "urgency": "mois",
                },
                now=now,
            )
            await uow.cases.request_contact(case, now=now)
            await bot.runtime.contact_requested(uow, case)
        bot.dispatcher.kick()
        return case.ref


@contextlib.asynccontextmanager
async def open_world(
    server: Synapse, users: Callable[..., Any], tmp_path: Path
) -> AsyncIterator[World]:
    async with FakeTelegram(token=TOKEN) as tg:
        bot_user = await users("aiguillage-bot")
        coordinator = Member(server, await users("coord"))
        created = await coordinator.client.room_create(
            name="coordination", invite=[bot_user.user_id]
        )
        found = World(
            server=server,
            users=users,
            tg=tg,
            clock=RunningClock(),
            data_dir=tmp_path,
            bot_user=bot_user,
            coordinator=coordinator,
            coordinators_room=created.room_id,  # type: ignore[union-attr]
        )
        found.members.append(coordinator)
        try:
            yield found
        finally:
            await found.stop()
            await asyncio.gather(*(m.close() for m in found.members))


@pytest.fixture
async def world(
    synapse: Synapse, synapse_users: UserFactory, tmp_path: Path
) -> AsyncIterator[World]:
    async with open_world(synapse, synapse_users, tmp_path) as found:
        yield found


@pytest.fixture
async def private_world(synapse_private: Synapse, tmp_path: Path) -> AsyncIterator[World]:
    """On a homeserver of its own, which the test may stop and start."""
    counter = itertools.count(1)

    async def users(name: str) -> RegisteredUser:
        return await synapse_private.register(f"{name}-{next(counter)}")

    async with open_world(synapse_private, users, tmp_path) as found:
        yield found
