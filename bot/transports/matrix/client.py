"""matrix-nio, kept at arm's length: the client is built and logged in here, and a
sync response is translated into plain events (`RoomText`, `RoomReaction`,
`RoomFile`, `Invite`). Nothing here decides anything.

The client never retries on its own: nio would otherwise sleep through a 429
or a refused connection inside `room_send`, while the outbox must record the
delay and move on to other rooms.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    LoginResponse,
    MegolmEvent,
    ReactionEvent,
    RoomEncryptedFile,
    RoomKeyRequest,
    RoomKeyRequestCancellation,
    RoomMemberEvent,
    RoomMessageFile,
    RoomMessageText,
    SyncResponse,
)

from bot.config.matrix import MatrixConfig

log = logging.getLogger(__name__)


class MatrixLoginError(Exception):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomText:
    room_id: str
    event_id: str
    sender: str
    body: str
    # The thread the message was written in (m.thread), if any.
    thread_root: str | None = None
    # The sender's display name in the room (their profile's), if they set one.
    sender_name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomReaction:
    room_id: str
    event_id: str
    sender: str
    key: str
    target: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FileSecret:
    """How to decrypt a file sent in an encrypted room (its ``file`` object)."""

    key: str  # the JWK's "k"
    sha256: str
    iv: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RoomFile:
    """An ``m.file`` message; `content` is filled in by the service when it
    fetched the bytes (bot/transports/matrix/files.py), before the event's unit of work."""

    room_id: str
    event_id: str
    sender: str
    name: str
    url: str
    size: int | None = None
    secret: FileSecret | None = None
    thread_root: str | None = None
    content: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Invite:
    room_id: str
    inviter: str | None
    # The inviter marked the room as a direct chat with the bot (``is_direct``
    # in the bot's membership event): where anyone may ask for an inscription.
    direct: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OwnEcho:
    """One of the bot's own messages, as it comes back through sync."""

    room_id: str
    event_id: str
    txn_id: str


RoomEvent = RoomText | RoomReaction | RoomFile


def build_client(config: MatrixConfig) -> AsyncClient:
    config.store_path.mkdir(parents=True, exist_ok=True)
    options = AsyncClientConfig(
        encryption_enabled=True,
        # Our own table keeps the sync token, saved after the events are handled.
        store_sync_tokens=False,
        max_limit_exceeded=0,
        max_timeouts=0,
        request_timeout=config.sync_timeout + 30,
    )
    return AsyncClient(
        config.homeserver,
        config.user_id,
        device_id=config.device_id,
        store_path=str(config.store_path),
        config=options,
    )


class Membership:
    """Who is in which room, as the client's last sync says. Built with the
    client, before the desk (which offers cases only to aiguilleurs who joined)
    and the service (which tells it when a sync came back)."""

    def __init__(self, client: AsyncClient, current: Callable[[], bool] = lambda: True) -> None:
        self.client = client
        self.synced = False
        # Whether this process's sync loop keeps the rooms fresh: with several
        # processes only the holder of matrix-sync syncs; the others saw the rooms
        # once, at start, and trust them as a process does before its first sync.
        self.current = current

    def saw_sync(self) -> None:
        self.synced = True

    def joined(self, room_id: str, user_id: str) -> bool:
        """`user_id` is a member of `room_id` (joined, not merely invited); the
        bot itself must be in the room. Before the first sync of this start the
        rooms are not known yet: a request handled in that second (Telegram
        starts at once) trusts the room, as the sync will tell; so does a process
        that does not sync (an offer to an aiguilleur who has not joined yet waits
        for them in their room, and moves on at its deadline)."""
        if not self.synced or not self.current():
            return True
        room = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users and user_id not in room.invited_users


async def login(client: AsyncClient, config: MatrixConfig) -> None:
    """Access token (with its device) or password; either way the encryption
    store of that device is loaded."""
    if config.access_token:
        client.restore_login(config.user_id, config.device_id, config.access_token)
        return
    response = await client.login(password=config.password, device_name="Aiguillage")
    if not isinstance(response, LoginResponse):
        raise MatrixLoginError(str(getattr(response, "message", response)))


def thread_root(source: dict[str, Any]) -> str | None:
    relates = (source.get("content") or {}).get("m.relates_to") or {}
    if relates.get("rel_type") == "m.thread" and isinstance(relates.get("event_id"), str):
        return str(relates["event_id"])
    return None


def display_name(client: AsyncClient | None, room_id: str, user_id: str) -> str | None:
    """The name the user shows in the room (nio keeps the rooms' members)."""
    room = client.rooms.get(room_id) if client is not None else None
    member = room.users.get(user_id) if room is not None else None
    name = getattr(member, "display_name", None)
    return str(name) if name and name != user_id else None


def room_events(
    response: SyncResponse, own_user: str, client: AsyncClient | None = None
) -> list[RoomEvent | OwnEcho]:
    """Messages and reactions of joined rooms, in order; the bot's own messages
    only as echoes of their transaction ids. With `client`, texts carry their
    sender's display name."""
    found: list[RoomEvent | OwnEcho] = []
    for room_id, room in response.rooms.join.items():
        for event in room.timeline.events:
            if event.sender == own_user:
                txn_id = getattr(event, "transaction_id", None)
                if txn_id:
                    found.append(OwnEcho(room_id=room_id, event_id=event.event_id, txn_id=txn_id))
                continue
            if isinstance(event, RoomMessageText):
                found.append(
                    RoomText(
                        room_id=room_id,
                        event_id=event.event_id,
                        sender=event.sender,
                        body=event.body,
                        thread_root=thread_root(event.source),
                        sender_name=display_name(client, room_id, event.sender),
                    )
                )
            elif isinstance(event, ReactionEvent):
                found.append(
                    RoomReaction(
                        room_id=room_id,
                        event_id=event.event_id,
                        sender=event.sender,
                        key=event.key,
                        target=event.reacts_to,
                    )
                )
            elif isinstance(event, RoomMessageFile | RoomEncryptedFile):
                found.append(room_file(room_id, event))
            elif isinstance(event, MegolmEvent):
                # Sent before the bot's device got the room key: nothing to read.
                log.warning("undecryptable event %s in %s", event.event_id, room_id)
    return found


def room_file(room_id: str, event: RoomMessageFile | RoomEncryptedFile) -> RoomFile:
    content = event.source.get("content") or {}
    # Newer clients put the file name in "filename" and a caption in "body".
    name = content.get("filename") if isinstance(content.get("filename"), str) else event.body
    given = content.get("info")
    info: dict[str, Any] = given if isinstance(given, dict) else {}
    size = info.get("size")
    secret = None
    if isinstance(event, RoomEncryptedFile):
        secret = FileSecret(
            key=str(event.key.get("k", "")),
            sha256=str(event.hashes.get("sha256", "")),
            iv=event.iv,
        )
    return RoomFile(
        room_id=room_id,
        event_id=event.event_id,
        sender=event.sender,
        name=str(name or ""),
        url=event.url,
        size=size if isinstance(size, int) else None,
        secret=secret,
        thread_root=thread_root(event.source),
    )


def someone_joined(response: SyncResponse, own_user: str) -> bool:
    """Somebody else joined one of the bot's rooms in this sync."""
    for room in response.rooms.join.values():
        for event in (*room.state, *room.timeline.events):
            if (
                isinstance(event, RoomMemberEvent)
                and event.membership == "join"
                and event.state_key != own_user
                and (event.prev_membership or "") != "join"
            ):
                return True
    return False


def invites(client: AsyncClient, response: SyncResponse) -> list[Invite]:
    return [
        Invite(
            room_id=room_id,
            inviter=getattr(client.invited_rooms.get(room_id), "inviter", None),
            direct=is_direct(info.invite_state, client.user_id),
        )
        for room_id, info in response.rooms.invite.items()
    ]


def is_direct(invite_state: list[Any], own_user: str) -> bool:
    """The bot's own invite membership says ``is_direct``."""
    for event in invite_state:
        if (
            isinstance(event, InviteMemberEvent)
            and event.state_key == own_user
            and event.membership == "invite"
        ):
            return bool((event.content or {}).get("is_direct"))
    return False


@dataclass(slots=True)
class KeyRequests:
    """Room key requests from other users' devices, kept until answered.

    A device that signs in after a message was sent cannot read it: it asks
    the devices in the room for the key (``m.room_key_request``). matrix-nio
    answers only its own user's devices, so the bot answers here: with the
    Megolm sessions *it* created, and only to members who joined the room (the
    service decides, through `allowed`)."""

    waiting: dict[str, RoomKeyRequest] = field(default_factory=dict)

    def take(self, response: SyncResponse) -> None:
        for event in response.to_device_events:
            if isinstance(event, RoomKeyRequest):
                self.waiting[f"{event.sender}|{event.request_id}"] = event
            elif isinstance(event, RoomKeyRequestCancellation):
                self.waiting.pop(f"{event.sender}|{event.request_id}", None)

    async def answer(self, client: AsyncClient, allowed: Callable[[str, str], bool]) -> int:
        """Share what may be shared, opening Olm sessions where there are none
        yet. Returns how many keys went out."""
        shared, claim = self._share(client, allowed)
        if claim:
            await client.keys_claim(claim)
            more, _ = self._share(client, allowed)
            shared += more
        if shared:
            await client.send_to_device_messages()
        return shared

    def _share(
        self, client: AsyncClient, allowed: Callable[[str, str], bool]
    ) -> tuple[int, dict[str, list[str]]]:
        olm = client.olm
        if olm is None or not self.waiting:
            return 0, {}
        own_key = olm.account.identity_keys["curve25519"]
        claim: dict[str, list[str]] = {}
        shared = 0
        for key, event in list(self.waiting.items()):
            group = olm.inbound_group_store.get(event.room_id, event.sender_key, event.session_id)
            if (
                event.sender_key != own_key
                or group is None
                or not allowed(event.room_id, event.sender)
            ):
                del self.waiting[key]  # not ours to give, or not theirs to read
                continue
            device = olm.device_store[event.sender].get(event.requesting_device_id)
            if device is None or device.deleted or device.blacklisted:
                continue  # their device list is queried after the sync; next time
            session = olm.session_store.get(device.curve25519)
            if session is None:
                claim.setdefault(device.user_id, []).append(device.device_id)
                continue
            # nio's own (private) way of wrapping a session in m.forwarded_room_key.
            olm.outgoing_to_device_messages.append(
                olm._encrypt_forwarding_key(event.room_id, group, session, device)
            )
            del self.waiting[key]
            shared += 1
            log.info("room key of %s shared with a new device of %s", event.room_id, event.sender)
        return shared, claim


async def keep_keys(client: AsyncClient) -> None:
    """What `sync_forever` would do after a sync: publish our keys, learn the
    others' devices, open Olm sessions, send pending to-device messages."""
    if client.olm is None:
        return
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())
    await client.send_to_device_messages()
