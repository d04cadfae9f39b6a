"""Who joined which room, as a process sees it: only the process that syncs keeps
the rooms fresh; another one (several processes on PostgreSQL) saw them once at
start, so it trusts the room rather than refuse an aiguilleur who joined since."""

from __future__ import annotations

from nio import AsyncClient, MatrixRoom

from bot.transports.matrix.client import Membership

ROOM = "!room:example.org"
ALIX = "@alix:example.org"


def client_with_room(*, joined: bool) -> AsyncClient:
    client = AsyncClient("http://127.0.0.1:9", "@bot:example.org")
    room = MatrixRoom(ROOM, "@bot:example.org")
    room.add_member("@bot:example.org", "Bot", None)
    if joined:
        room.add_member(ALIX, "Alix", None)
    client.rooms[ROOM] = room
    return client


def test_the_syncing_process_reads_the_room() -> None:
    absent = Membership(client_with_room(joined=False), current=lambda: True)
    absent.saw_sync()
    assert not absent.joined(ROOM, ALIX)
    present = Membership(client_with_room(joined=True), current=lambda: True)
    present.saw_sync()
    assert present.joined(ROOM, ALIX)


def test_a_process_that_does_not_sync_trusts_the_room() -> None:
    syncing = False
    membership = Membership(client_with_room(joined=False), current=lambda: syncing)
    membership.saw_sync()
    assert membership.joined(ROOM, ALIX)
    syncing = True  # it took the matrix-sync role: its rooms are fresh again
    assert not membership.joined(ROOM, ALIX)


def test_before_the_first_sync_the_room_is_trusted() -> None:
    assert Membership(client_with_room(joined=False)).joined(ROOM, ALIX)
