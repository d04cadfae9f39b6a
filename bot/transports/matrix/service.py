"""The Matrix side running: login, the sync loop, rooms, the deadline ticks.

Sync and restarts: the token (``next_batch``) lives in `matrix_sync` and is
saved only after every event of a batch went through its unit of work. A crash
in between replays the batch, and `processed_updates` drops what was done. The
very first start skips history: only what happens after it is handled.

Every start syncs once with full state (from the saved token) and handles
nothing: nio then knows every room again, which it needs to send into encrypted
ones. The process that holds the ``matrix-sync`` role (bot/runtime/roles.py)
then runs `take_over` and the sync loop: from the saved token, the events are
handled and the token moves on. Only one process syncs for the device:
to-device messages (room keys) go to whoever syncs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Collection
from datetime import datetime, timedelta

from nio import (
    AsyncClient,
    JoinResponse,
    ProfileGetError,
    RoomCreateResponse,
    RoomPreset,
    SyncResponse,
)

from bot.assignment.desk import MatrixDesk
from bot.config.matrix import MatrixConfig
from bot.delivery import payloads
from bot.runtime.clock import Clock
from bot.transports.matrix.client import (
    Invite,
    KeyRequests,
    Membership,
    OwnEcho,
    RoomFile,
    invites,
    keep_keys,
    login,
    room_events,
    someone_joined,
)
from bot.transports.matrix.files import download
from bot.transports.matrix.sender import TRANSPORT, MatrixSender
from dialogs.assignment.desk import Drain, Tell, ToCoordinators, aiguilleur_help, delay
from dialogs.kernel.i18n import translate
from dialogs.kernel.render import render
from dialogs.kernel.replies import msg
from storage.db import Database

log = logging.getLogger(__name__)

ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}
MAX_BACKOFF = 30.0
# Events per room a sync from a saved token may return. Synapse's default is 10:
# past that the timeline comes back `limited` and the older events are left
# out. A sync resumed after a gap (a restart, another process taking the
# matrix-sync role) in a busy room lost the aiguilleurs' commands that way.
CATCH_UP_FILTER = {"room": {"timeline": {"limit": 500}}}
# A sync long-polls at most `sync_timeout` seconds: one that has not come back
# this long after that is stuck (a homeserver that accepts and never answers).
STALL_GRACE = timedelta(seconds=15)


def no_such_account(error: ProfileGetError) -> bool:
    """A profile lookup answered 404 (Synapse: ``M_NOT_FOUND``, or ``M_UNKNOWN``
    "No row found" for a local user who was never registered)."""
    response = error.transport_response
    return error.status_code == "M_NOT_FOUND" or (
        response is not None and getattr(response, "status", None) == 404
    )


class MatrixService:
    """`client`, `sender` and `membership` are built first (bot/app.py): the
    outbox needs the sender and the desk needs the membership before this
    service, which needs the desk, exists."""

    def __init__(
        self,
        config: MatrixConfig,
        db: Database,
        clock: Clock,
        desk: MatrixDesk,
        *,
        client: AsyncClient,
        sender: MatrixSender,
        membership: Membership,
        locale: str = "fr",
        tick_seconds: float = 15.0,
        coordinators: Collection[str] = (),
    ) -> None:
        self.config = config
        # Matrix accounts of [coordinators] matrix_ids: their invitations are accepted.
        self.coordinators = frozenset(coordinators)
        self.db = db
        self.clock = clock
        self.desk = desk
        self.locale = locale
        self.tick_seconds = tick_seconds
        self.client = client
        self.sender = sender
        self.membership = membership
        self.joined = membership.joined
        self.token: str | None = None
        # Aiguilleurs whose room could not be created: not retried every tick.
        self._unreachable: set[str] = set()
        # For /healthz: when a sync last came back, and why the last one failed.
        self.last_sync: datetime | None = None
        self.sync_failure: str | None = None
        self.key_requests = KeyRequests()

    @property
    def coordinators_room(self) -> str:
        return self.desk.coordinators_room

    async def start(self) -> None:
        await login(self.client, self.config)
        # Publish this device's keys first: others can then share room keys with it.
        await keep_keys(self.client)
        async with self.db.unit() as uow:
            now = self.clock.now()
            for slug, room_id in self.config.rooms.items():
                await uow.matrix.set_room(slug, room_id, created_by_bot=False, now=now)
            self.token = await uow.matrix.sync_token()
        for room_id in {*self.config.rooms.values(), self.coordinators_room} - {""}:
            joined = await self.client.join(room_id)
            if not isinstance(joined, JoinResponse):
                log.warning("could not join configured room %s: %s", room_id, joined)
        await self.sync_once(timeout_ms=0, full_state=True, handle=False)

    async def take_over(self) -> None:
        """Before `run_sync` in the role's holder: one sync from the token saved by
        the last holder (this process's own may be ahead of what was handled),
        handled; then the rooms missing."""
        async with self.db.unit() as uow:
            self.token = await uow.matrix.sync_token()
        await self.sync_once(timeout_ms=0)
        await self.ensure_rooms()

    async def stop(self) -> None:
        await self.client.close()

    # -- sync --------------------------------------------------------------------------

    async def sync_once(
        self, timeout_ms: int | None = None, full_state: bool = False, handle: bool = True
    ) -> int:
        """One sync: invites, then each event in its own unit of work, then the
        token. Returns how many events were handled (duplicates excluded).
        `handle` False: only nio learns the rooms and keys."""
        first = self.token is None
        response = await self.client.sync(
            timeout=self.config.sync_timeout * 1000 if timeout_ms is None else timeout_ms,
            since=self.token,
            full_state=full_state or None,
            sync_filter=CATCH_UP_FILTER if self.token else None,
        )
        if not isinstance(response, SyncResponse):
            raise ConnectionError(f"sync failed: {response}")
        self.last_sync = self.clock.now()
        self.membership.saw_sync()
        self.sync_failure = None
        await keep_keys(self.client)
        if not handle:
            return 0
        self.key_requests.take(response)
        await self.key_requests.answer(self.client, self.joined)
        for invite in invites(self.client, response):
            await self.on_invite(invite)
        if not first and someone_joined(response, self.client.user_id):
            # An aiguilleur may have just joined their room: the people whose
            # case a coordinator gave them meanwhile are told, then the queue is served.
            async with self.db.unit() as uow:
                await self.desk.executor.tell_joined(uow)
                await self.desk.executor.apply(uow, (Drain(),))
            self.desk.kick()
        handled = 0
        if not first:
            for room_id, room in response.rooms.join.items():
                if room.timeline.limited:
                    log.warning("Matrix sync: events of %s left out (more than 500)", room_id)
            for event in room_events(response, self.client.user_id, self.client):
                if isinstance(event, OwnEcho):
                    await self.desk.offers.echo(event.txn_id, event.event_id)
                    continue
                if isinstance(event, RoomFile) and await self.desk.wants_file(event):
                    # Fetched before the event's unit of work (no network inside it).
                    content = await download(self.client, event)
                    event = dataclasses.replace(event, content=content)
                handled += await self.desk.handle(event)
        async with self.db.unit() as uow:
            await uow.matrix.save_sync_token(response.next_batch, self.clock.now())
        self.token = response.next_batch
        return handled

    async def run_sync(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.sync_once()
                delay = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.sync_failure = type(exc).__name__
                log.warning("Matrix sync failed (%s); retrying in %.0f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    def local(self, user_id: str) -> bool:
        """An account on the bot's own homeserver."""
        return user_id.partition(":")[2] == self.config.user_id.partition(":")[2]

    def health(self) -> str:
        """``ok``; ``unreachable`` when the last sync failed (homeserver down);
        ``stalled`` when none came back for longer than a long-poll lasts
        (homeserver hung)."""
        if self.sync_failure is not None:
            return "unreachable"
        limit = timedelta(seconds=self.config.sync_timeout) + STALL_GRACE
        if self.last_sync is None or self.clock.now() - self.last_sync > limit:
            return "stalled"
        return "ok"

    async def run_ticks(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                await self.desk.tick()
                await self.ensure_rooms()
                await self.unanswered_invites()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Matrix tick failed; trying again at the next one")

    # -- rooms -------------------------------------------------------------------------

    async def on_invite(self, invite: Invite) -> None:
        """Join when invited by a known aiguilleur or coordinator; an aiguilleur's
        invite gives them their room unless one was configured for them. Anyone
        else is joined only in a direct chat, where they may ask to become an
        aiguilleur (``!inscription``); their other rooms are refused."""
        async with self.db.unit() as uow:
            person = (
                await uow.matrix.aiguilleur_by_matrix_id(invite.inviter) if invite.inviter else None
            )
        known = person is not None or invite.inviter in self.coordinators
        if not known and not invite.direct:
            log.info("invite to %s from an unknown user ignored", invite.room_id)
            return
        joined = await self.client.join(invite.room_id)
        if not isinstance(joined, JoinResponse):
            log.warning("could not join %s: %s", invite.room_id, joined)
            return
        if not known:
            await self.greet_stranger(invite.room_id)
            return
        if person is None or invite.room_id == self.coordinators_room:
            return
        async with self.db.unit() as uow:
            current = await uow.matrix.room_row(person.id)
            if current is None or current.created_by_bot:
                await uow.matrix.set_room(
                    person.id, invite.room_id, created_by_bot=False, now=self.clock.now()
                )
                await self.desk.executor.apply(uow, (Drain(),))
        self.desk.kick()

    async def cannot_invite(self, slug: str, name: str, matrix_id: str) -> None:
        """Not tried again until a restart; the coordinators are told."""
        self._unreachable.add(slug)
        told = msg("desk.invite.failed", name=name, matrix_id=matrix_id)
        async with self.db.unit() as uow:
            await self.desk.executor.apply(uow, (Tell(to=ToCoordinators(), lines=(told,)),))
        self.desk.kick()

    async def unanswered_invites(self) -> int:
        """Tell the coordinators, once per room, about aiguilleurs who have not
        joined their room with the bot `offer_timeout` after it was set: no case
        is offered to them meanwhile. Returns how many were reported."""
        now = self.clock.now()
        patience = self.desk.executor.offer_timeout
        told = 0
        async with self.db.unit() as uow:
            for room in await uow.matrix.room_rows():
                if now - room.created_at < patience:
                    continue
                person = await uow.catalog.aiguilleur(room.aiguilleur_id)
                if person is None or not person.active or person.demo or not person.matrix_id:
                    continue
                key = f"invite:{room.aiguilleur_id}"
                if self.joined(room.room_id, person.matrix_id):
                    continue
                if await uow.matrix.value(key) == room.room_id:
                    continue  # said already
                await uow.matrix.set_value(key, room.room_id, now)
                line = msg(
                    "desk.invite.unanswered",
                    name=person.name,
                    matrix_id=person.matrix_id,
                    delay=delay(patience),
                )
                await self.desk.executor.apply(uow, (Tell(to=ToCoordinators(), lines=(line,)),))
                told += 1
        if told:
            self.desk.kick()
        return told

    async def greet_stranger(self, room_id: str) -> None:
        """A direct chat from someone the bot does not know: say what it offers."""
        html = render(self.locale, (msg("admin.inscription.welcome", command="!inscription"),)).html
        async with self.db.unit() as uow:
            await uow.outbox.enqueue(
                transport=TRANSPORT,
                address=room_id,
                payload=payloads.message(html),
                now=self.clock.now(),
            )
        self.desk.kick()

    async def ensure_rooms(self) -> int:
        """Create a room, with them invited, for every aiguilleur without one."""
        async with self.db.unit() as uow:
            missing = [(a.id, a.matrix_id, a.name) for a in await uow.matrix.without_room()]
        created = 0
        for slug, matrix_id, name in missing:
            if slug in self._unreachable:
                continue
            # Synapse invites an account of its own that does not exist without a
            # word: ask its profile first (404 only; a refused lookup proves
            # nothing, nor does a remote server that does not answer).
            profile = await self.client.get_profile(matrix_id) if self.local(matrix_id) else None
            if isinstance(profile, ProfileGetError) and no_such_account(profile):
                log.warning("no room for aiguilleur %s: no such Matrix account", slug)
                await self.cannot_invite(slug, name, matrix_id)
                continue
            state = [ENCRYPTION] if self.config.new_rooms == "encrypted" else []
            response = await self.client.room_create(
                name=translate(self.locale, "desk.room.name"),
                topic=translate(self.locale, "desk.room.topic"),
                is_direct=True,
                preset=RoomPreset.trusted_private_chat,
                invite=[matrix_id],
                initial_state=state,
            )
            if not isinstance(response, RoomCreateResponse):
                log.warning("no room for aiguilleur %s: %s", slug, response)
                await self.cannot_invite(slug, name, matrix_id)
                continue
            # A word in the new room (added by a coordinator or a catalog, they
            # find it when they join): what it is for and their commands.
            lines = (msg("desk.room.welcome", name=name), *aiguilleur_help())
            async with self.db.unit() as uow:
                now = self.clock.now()
                await uow.matrix.set_room(slug, response.room_id, created_by_bot=True, now=now)
                await uow.outbox.enqueue(
                    transport=TRANSPORT,
                    address=response.room_id,
                    payload=payloads.message(render(self.locale, lines).html),
                    now=now,
                )
            created += 1
        if created:
            async with self.db.unit() as uow:
                await self.desk.executor.apply(uow, (Drain(),))
            self.desk.kick()
        return created
