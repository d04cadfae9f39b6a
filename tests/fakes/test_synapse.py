"""End-to-end checks of the Synapse test fixture with real matrix-nio clients."""

# The fixtures are imported into this module (as a conftest would); pytest then injects them as
# arguments of the same name, which pyflakes reads as a redefinition.
# ruff: noqa: F811

from __future__ import annotations

import socket
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from nio import (
    AsyncClient,
    AsyncClientConfig,
    Event,
    JoinResponse,
    KeysQueryResponse,
    KeysUploadResponse,
    MegolmEvent,
    ReactionEvent,
    RoomCreateResponse,
    RoomInviteResponse,
    RoomMessagesResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from tests.fakes.synapse import (  # noqa: F401  (fixtures: synapse, synapse_private, ...)
    RegisteredUser,
    Synapse,
    SynapseError,
    SynapseHTTPError,
    UserFactory,
    synapse,
    synapse_private,
    synapse_users,
)

T = TypeVar("T")
SYNC_DEADLINE = 15.0
MEGOLM = {"algorithm": "m.megolm.v1.aes-sha2"}


@asynccontextmanager
async def nio_client(
    server: Synapse, user: RegisteredUser, store_dir: Path | None = None
) -> AsyncIterator[AsyncClient]:
    """A logged-in nio client (access token from registration); E2E on when store_dir is given."""
    encrypted = store_dir is not None
    if store_dir is not None:
        store_dir.mkdir(parents=True, exist_ok=True)
    config = AsyncClientConfig(
        encryption_enabled=encrypted, store_sync_tokens=encrypted, max_timeouts=3
    )
    client = AsyncClient(
        server.base_url,
        user.user_id,
        device_id=user.device_id,
        store_path=str(store_dir) if store_dir else "",
        config=config,
    )
    client.restore_login(user.user_id, user.device_id, user.access_token)
    try:
        yield client
    finally:
        await client.close()


async def sync_until(
    client: AsyncClient, found: Callable[[SyncResponse], T | None], what: str
) -> T:
    """Incremental syncs until ``found`` returns something, or fail after SYNC_DEADLINE."""
    deadline = time.monotonic() + SYNC_DEADLINE
    while time.monotonic() < deadline:
        resp = await client.sync(timeout=500)
        assert isinstance(resp, SyncResponse), resp
        result = found(resp)
        if result is not None:
            return result
    pytest.fail(f"{client.user_id} never saw {what}")


def timeline_event(
    room_id: str, match: Callable[[Event], bool]
) -> Callable[[SyncResponse], Event | None]:
    def find(resp: SyncResponse) -> Event | None:
        room = resp.rooms.join.get(room_id)
        if room is None:
            return None
        return next((ev for ev in room.timeline.events if match(ev)), None)

    return find


def invited_to(room_id: str) -> Callable[[SyncResponse], bool | None]:
    return lambda resp: True if room_id in resp.rooms.invite else None


async def create_shared_room(
    alice: AsyncClient, bob: AsyncClient, initial_state: list[dict[str, Any]] | None = None
) -> str:
    """Alice creates a private room, invites Bob, Bob joins after seeing the invite."""
    created = await alice.room_create(name="fixture test", initial_state=initial_state or [])
    assert isinstance(created, RoomCreateResponse), created
    room_id = created.room_id
    invited = await alice.room_invite(room_id, bob.user_id)
    assert isinstance(invited, RoomInviteResponse), invited
    await sync_until(bob, invited_to(room_id), f"the invite to {room_id}")
    joined = await bob.join(room_id)
    assert isinstance(joined, JoinResponse), joined
    return room_id


async def send_text(client: AsyncClient, room_id: str, body: str, **extra: Any) -> str:
    resp = await client.room_send(
        room_id, "m.room.message", {"msgtype": "m.text", "body": body, **extra}
    )
    assert isinstance(resp, RoomSendResponse), resp
    return resp.event_id


def is_text(body: str) -> Callable[[Event], bool]:
    return lambda ev: isinstance(ev, RoomMessageText) and ev.body == body


# --------------------------------------------------------------------------- server basics


async def test_server_starts(synapse: Synapse) -> None:
    assert synapse.running
    assert synapse.base_url == f"http://127.0.0.1:{synapse.port}"
    assert synapse.server_name == "test.local"
    assert synapse.last_start_duration is not None
    assert 0 < synapse.last_start_duration < 30
    versions = await synapse.request("GET", "/_matrix/client/versions")
    assert any(v.startswith("v1.") for v in versions["versions"])
    # Only the client resource (and the admin API mounted with it) is served.
    admin_version = await synapse.request("GET", "/_synapse/admin/v1/server_version")
    assert admin_version["server_version"]
    for federation_path in ("/_matrix/federation/v1/version", "/_matrix/key/v2/server"):
        with pytest.raises(SynapseHTTPError) as err:
            await synapse.request("GET", federation_path)
        assert err.value.status in (400, 404)
    # Open registration is off: only the shared-secret admin API creates users.
    with pytest.raises(SynapseHTTPError) as err:
        await synapse.request(
            "POST", "/_matrix/client/v3/register", {"username": "x", "password": "y"}
        )
    assert err.value.status in (401, 403)


def test_startup_failure_reports_the_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = Synapse(tmp_path / "hs", port=taken.getsockname()[1])
        with pytest.raises(SynapseError) as err:
            server.start_sync()
    assert not server.running
    message = str(err.value)
    assert "exited with code" in message
    assert "homeserver.log" in message
    assert "Address already in use" in message


@pytest.mark.asyncio(loop_scope="session")
async def test_fixtures_work_from_a_session_loop(
    synapse: Synapse, synapse_users: UserFactory
) -> None:
    # The fixtures are synchronous, so any loop scope may use them.
    user = await synapse_users("looped")
    async with nio_client(synapse, user) as client:
        whoami = await client.whoami()
        assert whoami.user_id == user.user_id


def test_fixtures_work_from_sync_tests(synapse: Synapse, synapse_users: UserFactory) -> None:
    user = synapse_users.sync("plain")
    assert synapse_users.created == [user]
    whoami = synapse.request_sync(
        "GET", "/_matrix/client/v3/account/whoami", token=user.access_token
    )
    assert whoami["user_id"] == user.user_id


async def test_register_two_users(synapse: Synapse, synapse_users: UserFactory) -> None:
    a = await synapse_users("alice")
    b = synapse_users.sync("bob")
    assert a.user_id != b.user_id
    assert a.user_id.startswith("@alice-") and a.user_id.endswith(":test.local")
    assert b.localpart.startswith("bob-")
    for user in (a, b):
        whoami = await synapse.request(
            "GET", "/_matrix/client/v3/account/whoami", token=user.access_token
        )
        assert whoami["user_id"] == user.user_id
        assert whoami["device_id"] == user.device_id
    # The password works for a normal login too.
    login = await synapse.request(
        "POST",
        "/_matrix/client/v3/login",
        {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": a.localpart},
            "password": a.password,
        },
    )
    assert login["user_id"] == a.user_id
    # Non-admins cannot use the admin API.
    with pytest.raises(SynapseHTTPError) as err:
        await synapse.request("GET", "/_synapse/admin/v2/users", token=a.access_token)
    assert err.value.status == 403
    # Duplicate localparts are refused by the server.
    with pytest.raises(SynapseHTTPError) as err:
        await synapse.register(a.localpart)
    assert err.value.errcode == "M_USER_IN_USE"


async def test_override_ratelimit(synapse: Synapse, synapse_users: UserFactory) -> None:
    admin = await synapse_users("root", admin=True)
    user = await synapse_users("chatty")
    quoted = urllib.parse.quote(user.user_id, safe="")
    details = await synapse.request(
        "GET",
        f"/_synapse/admin/v2/users/{urllib.parse.quote(admin.user_id)}",
        token=admin.access_token,
    )
    assert details["admin"] is True
    path = f"/_synapse/admin/v1/users/{quoted}/override_ratelimit"
    assert await synapse.request("GET", path, token=admin.access_token) == {}
    await synapse.override_ratelimit(user.user_id)
    assert await synapse.request("GET", path, token=admin.access_token) == {
        "messages_per_second": 0,
        "burst_count": 0,
    }


# --------------------------------------------------------------------------- messaging


async def test_thread_message_and_reaction(synapse: Synapse, synapse_users: UserFactory) -> None:
    a_user, b_user = await synapse_users("alice"), await synapse_users("bob")
    async with nio_client(synapse, a_user) as alice, nio_client(synapse, b_user) as bob:
        room_id = await create_shared_room(alice, bob)
        root_id = await send_text(alice, room_id, "thread root")
        reply_id = await send_text(
            alice,
            room_id,
            "in the thread",
            **{
                "m.relates_to": {
                    "rel_type": "m.thread",
                    "event_id": root_id,
                    "is_falling_back": True,
                    "m.in_reply_to": {"event_id": root_id},
                }
            },
        )
        received = await sync_until(
            bob, timeline_event(room_id, is_text("in the thread")), "the thread reply"
        )
        assert received.event_id == reply_id
        assert received.sender == a_user.user_id
        relates = received.source["content"]["m.relates_to"]
        assert relates["rel_type"] == "m.thread"
        assert relates["event_id"] == root_id

        reaction = await bob.room_send(
            room_id,
            "m.reaction",
            {"m.relates_to": {"rel_type": "m.annotation", "event_id": reply_id, "key": "👍"}},
        )
        assert isinstance(reaction, RoomSendResponse), reaction
        seen = await sync_until(
            alice,
            timeline_event(room_id, lambda ev: isinstance(ev, ReactionEvent)),
            "Bob's reaction",
        )
        assert isinstance(seen, ReactionEvent)
        assert (seen.sender, seen.reacts_to, seen.key) == (b_user.user_id, reply_id, "👍")

        # The server aggregates the thread too.
        relations = await synapse.request(
            "GET",
            f"/_matrix/client/v1/rooms/{urllib.parse.quote(room_id)}/relations/"
            f"{urllib.parse.quote(root_id)}/m.thread",
            token=b_user.access_token,
        )
        assert [ev["event_id"] for ev in relations["chunk"]] == [reply_id]


async def test_stop_then_start_keeps_data(synapse_private: Synapse) -> None:
    server = synapse_private
    a_user, b_user = await server.register("alice"), await server.register("bob")
    async with nio_client(server, a_user) as alice, nio_client(server, b_user) as bob:
        room_id = await create_shared_room(alice, bob)
        event_id = await send_text(alice, room_id, "before the outage")
        await sync_until(bob, timeline_event(room_id, is_text("before the outage")), "msg 1")
        port, base_url, pid = server.port, server.base_url, server.pid

        await server.stop()
        assert not server.running
        with pytest.raises(OSError):  # connection refused: the homeserver is really down
            await server.request("GET", "/_matrix/client/versions")

        await server.start()
        assert server.running
        assert (server.port, server.base_url) == (port, base_url)
        assert server.pid != pid
        assert len(server.start_durations) == 2

        # Tokens, rooms and events survived; incremental sync resumes from the old token.
        await send_text(alice, room_id, "after the outage")
        await sync_until(bob, timeline_event(room_id, is_text("after the outage")), "msg 2")

    # A brand-new client (initial sync) still reads the message sent before the restart.
    async with nio_client(server, b_user) as fresh_bob:
        resp = await fresh_bob.sync(timeout=0)
        assert isinstance(resp, SyncResponse), resp
        assert room_id in fresh_bob.rooms
        history = await fresh_bob.room_messages(room_id, start=resp.next_batch, limit=50)
        assert isinstance(history, RoomMessagesResponse), history
        assert event_id in [ev.event_id for ev in history.chunk]
    # The admin user is created lazily and its token also survives a restart.
    await server.override_ratelimit(b_user.user_id)


# --------------------------------------------------------------------------- encryption


async def test_encrypted_room(synapse: Synapse, synapse_users: UserFactory, tmp_path: Path) -> None:
    a_user, b_user = await synapse_users("alice"), await synapse_users("bob")
    secret = "the eagle lands at midnight"
    async with (
        nio_client(synapse, a_user, tmp_path / "alice") as alice,
        nio_client(synapse, b_user, tmp_path / "bob") as bob,
    ):
        assert alice.olm is not None and bob.olm is not None
        # 1. Each device publishes its identity and one-time keys. Nothing does it for us: that is
        # sync_forever()'s job, and these tests sync by hand. Bob's upload is the indispensable
        # one (without it Alice has no device to share the room key with).
        for client in (alice, bob):
            assert client.should_upload_keys
            uploaded = await client.keys_upload()
            assert isinstance(uploaded, KeysUploadResponse), uploaded

        # 2. An encrypted room from the start; Bob joins.
        room_id = await create_shared_room(
            alice,
            bob,
            [{"type": "m.room.encryption", "state_key": "", "content": MEGOLM}],
        )

        # 3. Alice sees the room as encrypted with Bob in it, and fetches Bob's device keys.
        # (room_send would also call joined_members + keys_query itself while the member list is
        # not marked synced; doing it here makes a failure point at the right step.)
        await sync_until(
            alice,
            lambda _: (
                True
                if room_id in alice.rooms
                and alice.rooms[room_id].encrypted
                and b_user.user_id in alice.rooms[room_id].users
                else None
            ),
            "Bob joining the encrypted room",
        )
        if alice.should_query_keys:
            queried = await alice.keys_query()
            assert isinstance(queried, KeysQueryResponse), queried
        assert b_user.device_id in alice.device_store[b_user.user_id]

        # 4. room_send claims a one-time key of Bob's device, opens an Olm session, shares the
        # Megolm session over to-device (Bob's device is unverified, hence the flag) and
        # encrypts the message.
        sent = await alice.room_send(
            room_id,
            "m.room.message",
            {"msgtype": "m.text", "body": secret},
            ignore_unverified_devices=True,
        )
        assert isinstance(sent, RoomSendResponse), sent
        raw = await synapse.request(
            "GET",
            f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id)}/event/"
            f"{urllib.parse.quote(sent.event_id)}",
            token=b_user.access_token,
        )
        assert raw["type"] == "m.room.encrypted"
        assert secret not in str(raw["content"])

        # 5. Bob's sync delivers the room key (to-device) and the event, which nio decrypts.
        decrypted = await sync_until(
            bob, timeline_event(room_id, is_text(secret)), "the decrypted message"
        )
        assert decrypted.event_id == sent.event_id
        assert decrypted.sender == a_user.user_id
        assert decrypted.decrypted

    # 6. The stores persist: a new client for Bob's device decrypts the history again.
    async with nio_client(synapse, b_user, tmp_path / "bob") as bob_again:
        assert bob_again.loaded_sync_token  # store_sync_tokens=True kept Bob's next_batch
        history = await bob_again.room_messages(room_id, start="", limit=20)
        assert isinstance(history, RoomMessagesResponse), history
        events = {ev.event_id: ev for ev in history.chunk}
        again = events[sent.event_id]
        if isinstance(again, MegolmEvent):
            again = bob_again.decrypt_event(again)
        assert isinstance(again, RoomMessageText) and again.body == secret
