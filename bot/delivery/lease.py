"""Who delivers an outbox row: each process's dispatcher is an *owner*,
named `hostname-pid-random`, that claims rows with a lease (bot/delivery/outbox.py,
storage/repos/outbox.py).

A lease that is not renewed ends after `LEASE`; then any process takes the rows
over. Waiting that long is only needed for a process that may still be running
on another machine. One on this machine can be known dead at once: its pid is
gone, or it is our own pid under another name (a restarted container is pid 1
again). On SQLite only one process runs at a time, so every other owner is dead.
"""

from __future__ import annotations

import os
import secrets
import socket
from datetime import timedelta

# Longer than a send may take (the lane's 30 s timeout) and than two renewals,
# so that a live process never loses its rows to another.
LEASE = timedelta(seconds=60)
# A lane renews its leases this often while it holds any.
RENEW_EVERY = LEASE / 3

# Owners made in this process and not yet stopped: our pid under another name
# is one of them, or dead.
_LIVE: set[str] = set()


def new_owner() -> str:
    """A name no other process, and no earlier incarnation of this one, has."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}"


def register(owner: str) -> None:
    """The owner runs in this process (until `retire`)."""
    _LIVE.add(owner)


def retire(owner: str) -> None:
    """The owner stopped cleanly (it released its rows)."""
    _LIVE.discard(owner)


def parse(owner: str) -> tuple[str, int] | None:
    """(hostname, pid) of an owner name, or None if it is not one of ours."""
    parts = owner.rsplit("-", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    return parts[0], int(parts[1])


def known_dead(owner: str, *, single_process: bool) -> bool:
    """Whether `owner` is certainly not running. False when in doubt: its lease
    then runs to its end."""
    if owner in _LIVE:
        return False
    if single_process:
        return True
    where = parse(owner)
    if where is None or where[0] != socket.gethostname():
        return False
    pid = where[1]
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # alive, someone else's
        return False
    return False
