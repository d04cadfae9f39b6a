"""Fetching the bytes of a file someone sent in a room: only small catalog files
(YAML or CSV) a coordinator may import (bot/coordination/handlers/catalog.py), as the
Telegram transport does. Done before the event's unit of work: a transaction
body never touches the network.

In an encrypted room the media repository holds ciphertext; the event carries
the key, the IV and the hash that `decrypt_attachment` checks.
"""

from __future__ import annotations

import logging

from nio import AsyncClient, MemoryDownloadResponse
from nio.crypto.attachments import decrypt_attachment
from nio.exceptions import EncryptionError

from bot.coordination.handlers.catalog import CATALOG_SUFFIXES
from bot.transports.matrix.client import RoomFile

log = logging.getLogger(__name__)

MAX_CATALOG_BYTES = 1024 * 1024


def is_catalog_name(name: str) -> bool:
    return name.lower().endswith(CATALOG_SUFFIXES)


def is_catalog_file(event: RoomFile) -> bool:
    """By its name and announced size (the bytes are checked again once here)."""
    small = event.size is None or event.size <= MAX_CATALOG_BYTES
    return is_catalog_name(event.name) and small


async def download(client: AsyncClient, event: RoomFile) -> bytes | None:
    """The file's plain bytes; None when it cannot be fetched, decrypted, or is
    too large (the coordinator is then told it could not be read)."""
    if not event.url.startswith("mxc://"):
        return None
    try:
        response = await client.download(mxc=event.url)
    except Exception as exc:  # a network failure: the file is answered as unreadable
        log.warning("file %s could not be downloaded: %s", event.event_id, type(exc).__name__)
        return None
    if not isinstance(response, MemoryDownloadResponse):
        log.warning("file %s could not be downloaded: %s", event.event_id, response)
        return None
    data = bytes(response.body)
    if len(data) > MAX_CATALOG_BYTES:
        return None
    if event.secret is None:
        return data
    try:
        return bytes(
            decrypt_attachment(data, event.secret.key, event.secret.sha256, event.secret.iv)
        )
    except (EncryptionError, ValueError, TypeError, KeyError):
        log.warning("file %s could not be decrypted", event.event_id)
        return None
