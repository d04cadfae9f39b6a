"""What the outbox holds: one frozen dataclass per kind of message, rendered
before the commit (so what is sent is exactly what was decided, even after a
restart or a catalog change), and turned into the row's JSON and back here
only (`Payload.to_row`, `from_row`). Every producer builds its payload with one
of the builders below; every sender matches on the classes.

Kinds: `Message` (a text with buttons; on Matrix in a thread, as a notice or a
relayed m.text, possibly an assignment's offer), `EditMessage` and
`RemoveButtons` (Telegram, on the message a button was pressed on), `EchoLine`
(a terminal's echo of a typed answer),
`Document` (a file; text stays readable in the row, see `Document.to_row`),
`Photo` (a picture the bot made).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialogs.kernel.render import Rendered, render
from dialogs.kernel.replies import ClearButtons, Echo, Edit, Reply, Say, msg

JSON = dict[str, Any]

# A transport's own wording in the catalogs (`terminal.<key>`, dialogs/kernel/render.py):
# a terminal has no buttons to touch and no position to share.
VARIANTS = {"console": "terminal"}
# Where typed answers to a question with buttons are echoed like numbered ones.
ECHOING = frozenset({"terminal"})


def variant_of(transport: str) -> str | None:
    return VARIANTS.get(transport)


# Rows of buttons as stored: [[{"label": …, "data": …}, …], …]
Buttons = tuple[tuple[tuple[str, str], ...], ...]


class PayloadError(ValueError):
    """A row whose payload no sender can read (an unknown kind, a missing field)."""


def _buttons_to_row(buttons: Buttons) -> list[list[dict[str, str]]]:
    return [[{"label": label, "data": data} for label, data in row] for row in buttons]


def _buttons_from_row(rows: Any) -> Buttons:
    return tuple(tuple((str(b["label"]), str(b["data"])) for b in row) for row in rows or ())


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    html: str
    buttons: Buttons = ()
    # Matrix only: the thread root, a person's words relayed (m.text, not a
    # notice), the assignment whose offer this is (its event id becomes the
    # case's thread root), the transaction id (added when queued).
    thread: str | None = None
    relayed: bool = False
    assignment: int | None = None
    txn_id: str | None = None

    def to_row(self) -> JSON:
        row: JSON = {"kind": "send", "html": self.html, "buttons": _buttons_to_row(self.buttons)}
        if self.thread is not None:
            row["thread"] = self.thread
        if self.relayed:
            row["msgtype"] = "m.text"
        if self.assignment is not None:
            row["assignment"] = self.assignment
        if self.txn_id is not None:
            row["txn_id"] = self.txn_id
        return row


@dataclass(frozen=True, slots=True, kw_only=True)
class EditMessage:
    message: str
    html: str
    buttons: Buttons = ()
    # Which part of a long text the edited message holds: the text before it
    # (bot/transports/telegram/transport.py).
    prior_html: str | None = None
    # An earlier message (the summary): if it is gone, send it again.
    or_send: bool = False

    def to_row(self) -> JSON:
        row: JSON = {
            "kind": "edit",
            "message": self.message,
            "html": self.html,
            "buttons": _buttons_to_row(self.buttons),
        }
        if self.prior_html is not None:
            row["prior_html"] = self.prior_html
        if self.or_send:
            row["or_send"] = True
        return row


@dataclass(frozen=True, slots=True, kw_only=True)
class EchoLine:
    """A typed answer to a question with buttons, as understood (a terminal)."""

    html: str

    def to_row(self) -> JSON:
        return {"kind": "echo", "html": self.html, "buttons": []}


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveButtons:
    message: str

    def to_row(self) -> JSON:
        return {"kind": "clear_buttons", "message": self.message}


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    filename: str
    mime: str
    content: bytes
    caption_html: str = ""
    txn_id: str | None = None  # Matrix: added when queued

    def to_row(self) -> JSON:
        """Text stays text in the row (an erasure finds a case reference in a
        pending export by searching the rows); other bytes go as base64."""
        row: JSON = {
            "kind": "document",
            "filename": self.filename,
            "mime": self.mime,
            "caption": self.caption_html,
        }
        try:
            row["content"] = self.content.decode("utf-8")
        except UnicodeDecodeError:
            row["data_b64"] = base64.b64encode(self.content).decode("ascii")
        if self.txn_id is not None:
            row["txn_id"] = self.txn_id
        return row


@dataclass(frozen=True, slots=True, kw_only=True)
class Photo:
    filename: str
    mime: str
    data: bytes
    caption_html: str = ""
    txn_id: str | None = None  # Matrix: added when queued

    def to_row(self) -> JSON:
        row: JSON = {
            "kind": "photo",
            "filename": self.filename,
            "mime": self.mime,
            "data_b64": base64.b64encode(self.data).decode("ascii"),
            "html": self.caption_html,
        }
        if self.txn_id is not None:
            row["txn_id"] = self.txn_id
        return row


Payload = Message | EditMessage | RemoveButtons | EchoLine | Document | Photo


def from_row(row: Mapping[str, Any]) -> Payload:
    """The payload a row holds; PayloadError if it holds none we know."""
    try:
        match row.get("kind"):
            case "send":
                assignment = row.get("assignment")
                return Message(
                    html=str(row.get("html", "")),
                    buttons=_buttons_from_row(row.get("buttons")),
                    thread=row.get("thread") or None,
                    relayed=row.get("msgtype") == "m.text",
                    assignment=assignment if isinstance(assignment, int) else None,
                    txn_id=_txn_of(row),
                )
            case "edit":
                prior = row.get("prior_html")
                return EditMessage(
                    message=str(row["message"]),
                    html=str(row.get("html", "")),
                    buttons=_buttons_from_row(row.get("buttons")),
                    prior_html=str(prior) if prior is not None else None,
                    or_send=bool(row.get("or_send")),
                )
            case "echo":
                return EchoLine(html=str(row.get("html", "")))
            case "clear_buttons":
                return RemoveButtons(message=str(row["message"]))
            case "document":
                return Document(
                    filename=str(row["filename"]),
                    mime=str(row.get("mime") or "application/octet-stream"),
                    content=_bytes_of(row),
                    caption_html=str(row.get("caption") or row.get("html") or ""),
                    txn_id=_txn_of(row),
                )
            case "photo":
                return Photo(
                    filename=str(row["filename"]),
                    mime=str(row.get("mime") or "application/octet-stream"),
                    data=_bytes_of(row),
                    caption_html=str(row.get("html") or ""),
                    txn_id=_txn_of(row),
                )
            case other:
                raise PayloadError(f"unknown payload kind {other!r}")
    except (KeyError, TypeError, binascii.Error) as exc:
        raise PayloadError(f"unreadable payload: {exc!r}") from exc


def _txn_of(row: Mapping[str, Any]) -> str | None:
    txn = row.get("txn_id")
    return str(txn) if txn else None


def _bytes_of(row: Mapping[str, Any]) -> bytes:
    if "data_b64" in row:
        return base64.b64decode(row["data_b64"])
    return str(row["content"]).encode("utf-8")


# -- builders: one per kind of message -----------------------------------------------


def message(
    shown: Rendered | str,
    *,
    thread: str | None = None,
    relayed: bool = False,
    assignment: int | None = None,
) -> Message:
    """A new message. `shown`: rendered lines and buttons, or HTML alone (Matrix).
    Bots post notices on Matrix (clients and other bots do not answer them);
    what a person wrote (`relayed`) is a plain message."""
    if isinstance(shown, str):
        return Message(html=shown, thread=thread, relayed=relayed, assignment=assignment)
    return Message(
        html=shown.html,
        buttons=tuple(tuple((b.label, b.data) for b in row) for row in shown.buttons),
        thread=thread,
        relayed=relayed,
        assignment=assignment,
    )


def edit(
    shown: Rendered, source_message: str, *, prior_html: str | None = None, or_send: bool = False
) -> EditMessage:
    return EditMessage(
        message=source_message,
        html=shown.html,
        buttons=tuple(tuple((b.label, b.data) for b in row) for row in shown.buttons),
        prior_html=prior_html,
        or_send=or_send,
    )


def to_payload(
    reply: Reply, locale: str, source_message: str | None, variant: str | None = None
) -> Payload | None:
    """None when the reply needs a source message and there is none (typed
    text), or is not for this transport (an echo in a chat app)."""
    match reply:
        case Say(lines=lines, buttons=buttons):
            return message(render(locale, lines, buttons, variant))
        case Edit(lines=lines, buttons=buttons, prior=prior, message=target):
            shown = render(locale, lines, buttons, variant)
            target = target or source_message
            if target is None:
                return message(shown)
            return edit(
                shown,
                target,
                prior_html=(
                    render(locale, prior, variant=variant).html if prior is not None else None
                ),
                # An earlier message (the summary) named by the reply: if it is
                # gone, it is sent again.
                or_send=reply.message is not None,
            )
        case Echo(label=label):
            if variant not in ECHOING:
                return None
            return EchoLine(
                html=render(locale, (msg("answer.chosen", label=label),), variant=variant).html
            )
        case ClearButtons():
            if source_message is None:
                return None
            return RemoveButtons(message=source_message)


def say(lines: Say, locale: str) -> Message:
    """A `Say` rendered: always a new message."""
    return message(render(locale, lines.lines, lines.buttons))


def document(filename: str, content: bytes | str, caption_html: str, mime: str) -> Document:
    """A file: the /mesdonnees export (text, small: its producer caps it) or a
    coordinator's file (AdminCall.file)."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return Document(filename=filename, mime=mime, content=data, caption_html=caption_html)


def photo(filename: str, data: bytes, caption_html: str, mime: str) -> Photo:
    """A picture the bot made (the report's chart)."""
    return Photo(filename=filename, mime=mime, data=data, caption_html=caption_html)
