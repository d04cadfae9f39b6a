"""Outbox rows → Matrix messages, sent at most once from the reader's view.

Each payload carries the transaction id chosen when the row was queued (so it
is in the database before the first attempt). A retry after a crash or a lost
answer reuses it, and Synapse answers with the event it already made instead
of a second one. The event id goes into the row once sent.
"""

from __future__ import annotations

import io
import re
from typing import Any

from aiohttp import ClientError
from nio import (
    AsyncClient,
    LocalProtocolError,
    RoomSendError,
    RoomSendResponse,
    SendRetryError,
    UploadError,
    UploadResponse,
)

from bot.delivery.payloads import Document, Message, Payload, Photo
from bot.delivery.results import Failed, RetryAfter, Scope, SendResult, Sent
from dialogs.kernel.render import html_to_plain

TRANSPORT = "matrix"
# Errors that would come back the same on every retry.
PERMANENT = frozenset({"M_BAD_JSON", "M_NOT_JSON", "M_TOO_LARGE", "M_INVALID_PARAM"})
_BREAK = re.compile(r"\n")


def content_of(payload: Message) -> dict[str, Any]:
    source = payload.html
    content: dict[str, Any] = {
        # Bots post notices (clients and other bots do not answer them);
        # what a person wrote is a plain message.
        "msgtype": "m.text" if payload.relayed else "m.notice",
        "body": html_to_plain(source),
        "format": "org.matrix.custom.html",
        # Our HTML subset is Matrix's too; only line breaks need a tag.
        "formatted_body": _BREAK.sub("<br/>", source),
    }
    root = payload.thread
    if root:
        content["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": root,
            # Clients without threads show it as a reply to the offer.
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        }
    return content


class MatrixSender:
    def __init__(self, client: AsyncClient) -> None:
        self.client = client

    async def send(self, address: str, payload: Payload) -> SendResult:
        match payload:
            case Message() | Photo() | Document():
                pass
            case _:
                # Edits and button removals are Telegram's: Matrix has no buttons.
                return Failed(reason=f"{type(payload).__name__} is not sent on Matrix")
        try:
            if isinstance(payload, Message):
                content: dict[str, Any] | SendResult = content_of(payload)
            else:
                content = await self.file_content(address, payload)
            if not isinstance(content, dict):
                return content
            response = await self.client.room_send(
                address,
                "m.room.message",
                content,
                tx_id=payload.txn_id or "",
                ignore_unverified_devices=True,
            )
        except (LocalProtocolError, SendRetryError) as exc:
            # Typically: an encrypted room not synced yet after (re)start.
            return RetryAfter(seconds=None, reason=f"not ready: {exc}"[:200])
        except (ClientError, TimeoutError, OSError) as exc:
            return RetryAfter(seconds=None, reason=f"network: {exc!r}"[:200])
        if isinstance(response, RoomSendResponse):
            return Sent(external_id=response.event_id)
        return classify(response)

    async def file_content(
        self, address: str, payload: Photo | Document
    ) -> dict[str, Any] | SendResult:
        """Upload a picture (m.image: the report's chart) or a file (m.file), then
        describe it. In an encrypted room the file is encrypted too. A retry after
        a lost answer uploads again (an orphan file at worst); the event itself is
        still sent once, by its transaction id."""
        if isinstance(payload, Photo):
            data, msgtype = payload.data, "m.image"
        else:
            data, msgtype = payload.content, "m.file"
        mime = payload.mime
        name = payload.filename or "file"
        room = self.client.rooms.get(address)
        encrypted = bool(room is not None and room.encrypted)
        response, keys = await self.client.upload(
            io.BytesIO(data),
            content_type=mime,
            filename=name,
            encrypt=encrypted,
            filesize=len(data),
        )
        if not isinstance(response, UploadResponse):
            return classify(response)
        info: dict[str, Any] = {"mimetype": mime, "size": len(data), **png_size(data)}
        content: dict[str, Any] = {"msgtype": msgtype, "body": name, "info": info}
        caption = payload.caption_html
        if caption:
            # A caption (MSC2530): `body` is the text when `filename` is given.
            content.update(
                body=html_to_plain(caption),
                filename=name,
                format="org.matrix.custom.html",
                formatted_body=_BREAK.sub("<br/>", caption),
            )
        if encrypted and keys is not None:
            content["file"] = {**keys, "url": response.content_uri}
        else:
            content["url"] = response.content_uri
        return content


def png_size(data: bytes) -> dict[str, int]:
    """Width and height from a PNG's header (clients size the preview with them)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return {}
    return {"w": int.from_bytes(data[16:20], "big"), "h": int.from_bytes(data[20:24], "big")}


def classify(error: RoomSendError | UploadError) -> SendResult:
    code = str(error.status_code or "")
    if code in ("M_LIMIT_EXCEEDED", "429"):
        wait = (error.retry_after_ms or 5000) / 1000
        # Synapse limits the bot's account, not one room: the whole transport waits.
        return RetryAfter(
            seconds=wait,
            reason=f"429 M_LIMIT_EXCEEDED: {error.message}"[:200],
            scope=Scope.TRANSPORT,
        )
    if code in PERMANENT:
        return Failed(reason=f"{code}: {error.message}"[:200])
    # M_FORBIDDEN (not joined yet), 5xx, unknown: worth another try later.
    return RetryAfter(seconds=None, reason=f"{code}: {error.message}"[:200])
