"""A fake of the Telegram Bot API, served over real HTTP on loopback (or in memory,
`InMemoryRequest`), faithful where the bot uses it.

The real python-telegram-bot ``Application`` talks to it exactly as it would talk to
``api.telegram.org``; tests play people through :class:`FakeUser`::

    async with FakeTelegram(token="123:ABC") as tg:
        app = (
            ApplicationBuilder()
            .token(tg.token)
            .base_url(tg.base_url)
            .base_file_url(tg.base_file_url)
            .build()
        )
        ...
        alice = tg.user(first_name="Alice", language_code="fr")
        await alice.say("/start")
        [reply] = await alice.wait_replies()
        await alice.press("J'accepte")

**The rule: the fake keeps only what the bot calls.** A method or feature is here because
the bot's code (``bot/``, through python-telegram-bot) or PTB on the bot's behalf calls
it; what is kept for another reason says why below or at the top of its code. A test that
needs more adds it here, with the call that needs it. Any other method answers
``404 Not Found``, as Telegram does for a method it does not know; any ``parse_mode`` other
than HTML answers ``400 unsupported parse_mode``.

Methods, and who calls them:

- ``getMe``: PTB's ``Application.initialize``.
- ``getUpdates``: ``TelegramTransport.poll`` (long polling, ``offset`` confirmation,
  ``allowed_updates``; 409 while a webhook is set, or when another poller takes over).
- ``deleteWebhook``: ``TelegramTransport.leave_webhook``, before polling.
- ``setWebhook``: ``TelegramWebhook.register``; the fake then POSTs the updates to the
  routed webhook (:meth:`FakeTelegram.route_webhook`) with the secret header, in order,
  until a 2xx, as Telegram does.
- ``setMyCommands``: ``TelegramTransport.register_commands`` (read back with
  :meth:`FakeTelegram.commands`).
- ``sendMessage``, ``editMessageText``, ``editMessageReplyMarkup``: ``TelegramSender``
  (``sendMessage`` also for the apology after a failed update).
- ``sendDocument``, ``sendPhoto``: ``TelegramSender``, files uploaded as multipart.
- ``answerCallbackQuery``: ``TelegramTransport.answer_callback``.
- ``getFile`` and the download under ``/file/bot<token>/``: ``with_catalog_file``.

Features on that path: ``parse_mode=HTML`` (a port of tdlib's parser, with the same
entities and error messages: every text and caption of the bot), plain texts (the
apology), inline keyboards of callback buttons, ``link_preview_options``, the entities
Telegram adds by itself (the ``bot_command`` of a person's ``/start`` is what the bot
reads), and the errors the bot handles, answered as Telegram does: 403 for a person who
blocked the bot, ``chat not found``, length limits, ``BUTTON_DATA_INVALID``, ``message is
not modified``, ``message to edit not found``, ``query is too old``, 429 with
``retry_after``.

Kept though the bot does not call it:

- What people do (:class:`FakeUser`: say, press, send a photo, voice note, sticker,
  document or location; a deleted message is ``_Msg.deleted``): the updates tests play.
- Test controls: ``fail_next`` and ``set_limits`` (Telegram's errors and flood limits),
  ``block``/``unblock``, ``push_update``, ``redeliver``, ``wait_delivered``,
  ``take_updates`` and ``forget`` (bench/intake.py), ``post_webhook``, ``base_url_for``
  and ``polls`` (which process polled), ``calls`` and ``stats``.

Wire format (what PTB 22.x sends): ``application/x-www-form-urlencoded`` bodies for plain
calls, ``multipart/form-data`` when files are uploaded; every value is a string, nested
objects (``reply_markup``, ``commands``, ``scope``...) are JSON-encoded strings,
numbers/bools are JSON literals (``"123"``, ``"true"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import mimetypes
import re
import socket
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

__all__ = [
    "ApiCall",
    "ApiError",
    "BotMessage",
    "CallbackAnswer",
    "FakeStats",
    "FakeTelegram",
    "FakeUser",
    "InMemoryRequest",
    "PollWindow",
    "parse_entities",
]

JSON = dict[str, Any]

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
#: A button press older than this cannot be answered any more ("query is too old").
CALLBACK_TIMEOUT = 15.0

#: Smallest valid PNG (1x1 transparent pixel), used as the default photo a user sends.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
#: A few bytes that look like an Ogg/Opus voice note.
TINY_OGG = b"OggS\x00\x02" + bytes(20)


class ApiError(Exception):
    """An error answered to the bot with Telegram's error envelope."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def envelope(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def _bad_request(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: {detail}")


# ---------------------------------------------------------------------------------------------
# Text helpers (UTF-16 offsets, as Telegram counts them)
# ---------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (Telegram's unit for entity offsets)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _is_space(c: int) -> bool:
    # tdlib's is_space(): the terminating NUL counts as a space.
    return c in (0x20, 0x09, 0x0D, 0x0A, 0x00, 0x0B, 0x0C)


_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))
_FOUR_BYTE_LEADS = bytes(range(0xF0, 0x100))
_MARKUP = re.compile(rb"[&<]")


def _utf16_units_of(data: bytes, start: int, stop: int) -> int:
    """UTF-16 units of the UTF-8 bytes ``data[start:stop]``: one per first byte of a
    character, two for the first byte of a four-byte sequence."""
    chunk = data[start:stop]
    firsts = len(chunk.translate(None, _CONTINUATION_BYTES))
    return firsts + len(chunk) - len(chunk.translate(None, _FOUR_BYTE_LEADS))


class _Bytes:
    """A byte string that reads as NUL past its end, like tdlib's C strings."""

    __slots__ = ("data", "n")

    def __init__(self, data: bytes):
        self.data = data
        self.n = len(data)

    def __getitem__(self, i: int) -> int:
        return self.data[i] if 0 <= i < self.n else 0


_TDLIB_TYPES = {
    "Bold": "bold",
    "Italic": "italic",
    "Underline": "underline",
    "Strikethrough": "strikethrough",
    "Spoiler": "spoiler",
    "TextUrl": "text_link",
    "Code": "code",
    "Pre": "pre",
    "BlockQuote": "blockquote",
    "ExpandableBlockQuote": "expandable_blockquote",
    "CustomEmoji": "custom_emoji",
}


def _entity(kind: str, offset: int, length: int, argument: str = "") -> JSON:
    ent: JSON = {"type": _TDLIB_TYPES[kind], "offset": offset, "length": length}
    if kind == "TextUrl":
        ent["url"] = argument
    elif kind == "CustomEmoji":
        ent["custom_emoji_id"] = argument
    return ent


def _checked_link(url: str) -> str:
    """Rough equivalent of tdlib's LinkManager::get_checked_link ('' when invalid)."""
    url = url.strip()
    if not url or any(ch.isspace() for ch in url):
        return ""
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    if match:
        scheme = match.group(1).lower()
        if scheme in ("http", "https"):
            rest = url[match.end() :]
            return url if rest.startswith("//") and len(rest) > 2 else ""
        if scheme in ("tg", "ton", "ftp", "mailto", "tel"):
            return url
        return ""
    host = url.split("/", 1)[0]
    if "." not in host:
        return ""
    return "http://" + url


def _decode_html_entity(text: _Bytes, pos: int) -> tuple[int, int]:
    """Port of tdlib decode_html_entity: returns (code point or 0, position after it)."""
    end = pos + 1
    res = 0
    if text[pos + 1] == ord("#"):
        end += 1
        if text[pos + 2] == ord("x"):
            end += 1
            while chr(text[end]) in "0123456789abcdefABCDEF" and text[end]:
                res = res * 16 + int(chr(text[end]), 16)
                end += 1
        else:
            while ord("0") <= text[end] <= ord("9"):
                res = res * 10 + text[end] - ord("0")
                end += 1
        if res == 0 or res >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while chr(text[end]).isascii() and chr(text[end]).isalpha():
            end += 1
        name = text.data[pos + 1 : end]
        named = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}
        if name not in named:
            return 0, pos
        res = ord(named[name])
    if text[end] == ord(";"):
        end += 1
    return res, end


_HTML_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip


def _parse_html(source: str) -> tuple[str, list[JSON]]:
    """Port of tdlib's parse_html (Telegram's ``parse_mode=HTML``)."""
    text = _Bytes(source.encode("utf-8", "surrogatepass"))
    out = bytearray()
    entities: list[JSON] = []
    utf16 = 0
    # (tag name, argument, utf16 offset, output byte position)
    nested: list[tuple[str, str, int, int]] = []
    i = -1
    while True:
        i += 1
        if i >= text.n:
            break
        c = text[i]
        if c == ord("&"):
            code, end = _decode_html_entity(text, i)
            if code:
                utf16 += 2 if code > 0xFFFF else 1
                out += chr(code).encode("utf-8", "surrogatepass")
                i = end - 1
                continue
        if c != ord("<"):
            # Plain text up to the next "&" or "<" is copied and counted at once: a
            # byte-by-byte loop made the fake's parsing cost more than the bot's work
            # in bench/intake.py.
            found = _MARKUP.search(text.data, i + 1)
            stop = found.start() if found else text.n
            out += text.data[i:stop]
            utf16 += _utf16_units_of(text.data, i, stop)
            i = stop - 1
            continue

        begin = i
        i += 1
        if text[i] != ord("/"):
            while not _is_space(text[i]) and text[i] != ord(">"):
                i += 1
            if text[i] == 0:
                raise ValueError(f"Unclosed start tag at byte offset {begin}")
            tag = text.data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _HTML_TAGS:
                raise ValueError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            expandable = False
            while text[i] != ord(">"):
                while text[i] != 0 and _is_space(text[i]):
                    i += 1
                if text[i] == ord(">"):
                    break
                attr_begin = i
                while not _is_space(text[i]) and text[i] not in (ord("="), ord(">")):
                    i += 1
                attr_name = text.data[attr_begin:i].decode("utf-8", "replace")
                if not attr_name:
                    raise ValueError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while text[i] != 0 and _is_space(text[i]):
                    i += 1
                if tag == "blockquote" and attr_name.lower() == "expandable" and text[i] != 61:
                    expandable = True
                    continue
                if text[i] != ord("="):
                    raise ValueError(
                        "Expected equal sign in declaration of an attribute of the tag "
                        f'"{tag}" at byte offset {begin}'
                    )
                i += 1
                while text[i] != 0 and _is_space(text[i]):
                    i += 1
                if text[i] == 0:
                    raise ValueError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if text[i] not in (ord("'"), ord('"')):
                    token_begin = i
                    while chr(text[i]).isascii() and (
                        chr(text[i]).isalnum() or text[i] in (ord("."), ord("-"))
                    ):
                        i += 1
                    value = text.data[token_begin:i].decode().lower()
                    if not _is_space(text[i]) and text[i] != ord(">"):
                        raise ValueError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    quote = text[i]
                    i += 1
                    raw = bytearray()
                    while text[i] != quote and text[i] != 0:
                        if text[i] == ord("&"):
                            code, end = _decode_html_entity(text, i)
                            if code:
                                raw += chr(code).encode("utf-8", "surrogatepass")
                                i = end
                                continue
                        raw.append(text[i])
                        i += 1
                    if text[i] == quote:
                        i += 1
                    value = raw.decode("utf-8", "replace")
                if text[i] == 0:
                    raise ValueError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attr_name == "href":
                    argument = value
                elif tag == "code" and attr_name == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr_name == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif tag == "tg-emoji" and attr_name == "emoji-id":
                    argument = value
            if tag == "span" and argument != "spoiler":
                raise ValueError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            if expandable:
                argument = "expandable"
            nested.append((tag, argument, utf16, len(out)))
        else:
            if not nested:
                raise ValueError(f"Unexpected end tag at byte offset {begin}")
            while not _is_space(text[i]) and text[i] != ord(">"):
                i += 1
            end_tag = text.data[begin + 2 : i].decode("utf-8", "replace").lower()
            while _is_space(text[i]) and text[i] != 0:
                i += 1
            if text[i] != ord(">"):
                raise ValueError(f"Unclosed end tag at byte offset {begin}")
            tag, argument, offset, out_begin = nested[-1]
            if end_tag and end_tag != tag:
                raise ValueError(
                    f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                    f'found "</{end_tag}>"'
                )
            if utf16 > offset:
                length = utf16 - offset
                if tag in ("i", "em"):
                    entities.append(_entity("Italic", offset, length))
                elif tag in ("b", "strong"):
                    entities.append(_entity("Bold", offset, length))
                elif tag in ("s", "strike", "del"):
                    entities.append(_entity("Strikethrough", offset, length))
                elif tag in ("u", "ins"):
                    entities.append(_entity("Underline", offset, length))
                elif tag in ("tg-spoiler", "span"):
                    entities.append(_entity("Spoiler", offset, length))
                elif tag == "tg-emoji":
                    if not argument.isdigit() or int(argument) == 0:
                        raise ValueError("Invalid custom emoji identifier specified")
                    entities.append(_entity("CustomEmoji", offset, length, argument))
                elif tag == "a":
                    url = argument or bytes(out[out_begin:]).decode("utf-8", "replace")
                    url = _checked_link(url)
                    if url:
                        entities.append(_entity("TextUrl", offset, length, url))
                elif tag == "pre":
                    last = entities[-1] if entities else None
                    if (
                        last is not None
                        and last["type"] == "code"
                        and last["offset"] == offset
                        and last["length"] == length
                        and last.get("language")
                    ):
                        last["type"] = "pre"
                    else:
                        entities.append(_entity("Pre", offset, length))
                elif tag == "code":
                    last = entities[-1] if entities else None
                    if (
                        last is not None
                        and last["type"] == "pre"
                        and last["offset"] == offset
                        and last["length"] == length
                        and argument
                    ):
                        last["language"] = argument
                    else:
                        ent = _entity("Code", offset, length)
                        if argument:
                            ent["language"] = argument  # dropped below unless inside <pre>
                        entities.append(ent)
                elif tag == "blockquote":
                    kind = "ExpandableBlockQuote" if argument == "expandable" else "BlockQuote"
                    entities.append(_entity(kind, offset, length))
            nested.pop()
    if nested:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{nested[-1][0]}"')
    for ent in entities:
        if ent["type"] == "code":
            ent.pop("language", None)
    try:
        result = bytes(out).decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        ) from None
    return result, entities


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip surrounding whitespace like Telegram does, shifting/clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    cut = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result = []
    for ent in entities:
        start = max(0, ent["offset"] - cut)
        end = min(total, ent["offset"] + ent["length"] - cut)
        if end > start:
            result.append({**ent, "offset": start, "length": end - start})
    return stripped, result


def parse_entities(text: str, parse_mode: str | None) -> tuple[str, list[JSON]]:
    """Parse ``text`` like Telegram does for ``parse_mode``: returns (plain text, entities).

    Raises :class:`ApiError` (400 ``can't parse entities: ...``) for malformed markup and
    ``unsupported parse_mode`` for unknown modes.
    """
    mode = (parse_mode or "").strip().lower()
    if not mode:
        plain, entities = text, []
    elif mode != "html":
        # Telegram knows MarkdownV2 and Markdown too; the bot sends HTML only.
        raise _bad_request("unsupported parse_mode")
    else:
        try:
            plain, entities = _parse_html(text)
        except ValueError as exc:
            raise _bad_request(f"can't parse entities: {exc}") from None
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return _trim(plain, entities)


_AUTO_ENTITIES = [
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?!\w)")),
    ("url", re.compile(r"\bhttps?://[^\s<>\"]+[^\s<>\".,;:!?)\]]")),
    ("email", re.compile(r"\b[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z0-9_]{5,32}\b")),
    ("hashtag", re.compile(r"(?<![\w#])#\w+")),
]


def detect_entities(text: str) -> list[JSON]:
    """Entities Telegram adds by itself to a user's text (commands, links, mentions...)."""
    found: list[tuple[int, int, str]] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in _AUTO_ENTITIES:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < t_end and t_start < end for t_start, t_end in taken):
                continue
            taken.append((start, end))
            found.append((start, end, kind))
    found.sort()
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in found
    ]


# ---------------------------------------------------------------------------------------------
# Public value objects
# ---------------------------------------------------------------------------------------------

Buttons = list[list[tuple[str, str]]]


@dataclass(frozen=True)
class BotMessage:
    """A snapshot of a message sent (or edited) by the bot, as the user saw it at that time.

    ``text`` is the source as the bot sent it (markup included; for media it is the caption),
    ``plain_text`` the rendered text the user reads.  ``buttons`` holds the inline keyboard as
    rows of ``(label, callback_data)``.
    """

    message_id: int
    chat_id: int
    text: str | None
    parse_mode: str | None
    buttons: Buttons
    edited: bool = False
    kind: str = "text"
    plain_text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    filename: str | None = None
    data: bytes | None = None
    mime_type: str | None = None
    raw: JSON = field(default_factory=dict, repr=False)

    @property
    def labels(self) -> list[str]:
        """All inline button labels, row by row."""
        return [label for row in self.buttons for label, _ in row]

    @property
    def callback_data(self) -> list[str]:
        """All inline button payloads, row by row."""
        return [data for row in self.buttons for _, data in row]

    def button(self, label: str) -> tuple[str, str]:
        """The ``(label, data)`` of the button matching ``label`` (see :meth:`FakeUser.press`)."""
        return _find_button(self.buttons, label, where=f"message #{self.message_id}")

    def __str__(self) -> str:
        return _describe_bot_message(self)


class CallbackAnswer(str):
    """Text of an answered callback query (``""`` if none), and the query's id."""

    query_id: str

    def __new__(cls, text: str | None, *, query_id: str) -> CallbackAnswer:
        obj = super().__new__(cls, text or "")
        obj.query_id = query_id
        return obj

    @property
    def text(self) -> str:
        return str(self)


@dataclass
class FakeStats:
    """Counters of what the fake answered."""

    calls: Counter[str] = field(default_factory=Counter)  # every request, per method
    sent: Counter[str] = field(default_factory=Counter)  # successful requests, per method
    errors: Counter[int] = field(default_factory=Counter)  # error answers, per HTTP status
    rate_limited: int = 0  # 429 answers (injected or from set_limits)
    injected: int = 0  # answers produced by fail_next
    messages: int = 0  # messages delivered to chats by the bot (send*)

    def reset(self) -> None:
        self.calls.clear()
        self.sent.clear()
        self.errors.clear()
        self.rate_limited = 0
        self.injected = 0
        self.messages = 0


@dataclass(frozen=True)
class ApiCall:
    """One HTTP request received by the fake (for debugging and assertions)."""

    method: str
    params: JSON
    files: dict[str, str]  # part name -> filename
    content_type: str
    status: int
    at: float


@dataclass
class PollWindow:
    """One `getUpdates` call as the server saw it: from the request's arrival to its answer,
    or to the moment its client went away (a cancelled long poll). `caller` is the path prefix
    of `FakeTelegram.base_url_for` ("" for `base_url`): which bot process asked."""

    caller: str
    started: float  # time.monotonic()
    ended: float | None = None
    status: int = 0  # 0: the client went away before the answer

    def overlaps(self, other: PollWindow) -> bool:
        end, other_end = self.ended or math.inf, other.ended or math.inf
        return self.started < other_end and other.started < end


# ---------------------------------------------------------------------------------------------
# Internal state
# ---------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _File:
    file_id: str
    file_unique_id: str
    kind: str  # document | photo | voice | sticker
    data: bytes
    filename: str | None
    mime_type: str | None
    file_path: str


@dataclass(eq=False)
class _Msg:
    message_id: int
    chat_id: int
    from_bot: bool
    payload: JSON
    source: str | None = None
    parse_mode: str | None = None
    kind: str = "text"
    file: _File | None = None
    markup: JSON | None = None  # normalized inline markup
    edited: bool = False
    # The person deleted it (a test sets it): the bot's edit answers "message to edit
    # not found", which TelegramSender answers by sending the text anew.
    deleted: bool = False

    def snapshot(self, *, edited: bool = False) -> BotMessage:
        text_key = "text" if self.kind == "text" else "caption"
        entity_key = "entities" if self.kind == "text" else "caption_entities"
        return BotMessage(
            message_id=self.message_id,
            chat_id=self.chat_id,
            text=self.source,
            parse_mode=self.parse_mode,
            buttons=_markup_buttons(self.markup),
            edited=edited,
            kind=self.kind,
            plain_text=self.payload.get(text_key),
            entities=[dict(e) for e in self.payload.get(entity_key, [])],
            filename=self.file.filename if self.file else None,
            data=self.file.data if self.file else None,
            mime_type=self.file.mime_type if self.file else None,
            raw=_json_copy(self.payload),
        )


@dataclass(eq=False)
class _Update:
    update_id: int
    payload: JSON
    forced: bool = False  # redelivered: ignores the offset filter once
    delivered: bool = False

    @property
    def kind(self) -> str:
        return next(k for k in self.payload if k != "update_id")


@dataclass(eq=False)
class _Callback:
    query_id: str
    user_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False
    answer: CallbackAnswer | None = None


@dataclass(eq=False)
class _Fault:
    status: int
    description: str
    retry_after: int | None


class _Window:
    """Sliding-window counter: at most ``rate`` events per second."""

    def __init__(self, rate: float):
        self.window = max(1.0, 1.0 / rate)
        self.capacity = max(1, round(rate * self.window))
        self.events: deque[float] = deque()

    def retry_after(self, now: float) -> int | None:
        while self.events and self.events[0] <= now - self.window:
            self.events.popleft()
        if len(self.events) < self.capacity:
            return None
        return max(1, math.ceil(self.events[0] + self.window - now))

    def add(self, now: float) -> None:
        self.events.append(now)


def _markup_buttons(markup: JSON | None) -> Buttons:
    if not markup:
        return []
    rows: Buttons = []
    for row in markup.get("inline_keyboard", []):
        rows.append([(btn["text"], btn["callback_data"]) for btn in row])
    return rows


def _find_button(buttons: Buttons, label: str, *, where: str) -> tuple[str, str]:
    flat = [btn for row in buttons for btn in row]
    for candidates in (
        [b for b in flat if b[0] == label],
        [b for b in flat if b[0].casefold() == label.casefold()],
        [b for b in flat if label.casefold() in b[0].casefold()],
    ):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            raise AssertionError(
                f"ambiguous button {label!r} in {where}: {[b[0] for b in candidates]}"
            )
    raise AssertionError(f"no button {label!r} in {where}; buttons: {[b[0] for b in flat]}")


def _describe_bot_message(msg: BotMessage) -> str:
    head = f"bot #{msg.message_id}{' (edited)' if msg.edited else ''}"
    body = msg.plain_text if msg.plain_text is not None else ""
    if msg.kind != "text":
        size = len(msg.data or b"")
        body = f"[{msg.kind} {msg.filename or ''} {size} bytes] {body}".rstrip()
    if msg.buttons:
        body += " " + " ".join(
            "[" + " | ".join(label for label, _ in row) + "]" for row in msg.buttons
        )
    return f"{head}: {body}"


# Parameters of the kept methods that are strings even when they look like JSON literals.
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "parse_mode", "callback_query_id", "file_id", "url", "language_code",
        "secret_token", "document", "photo",
    }
)  # fmt: skip

_RATE_LIMITED_METHODS = frozenset(
    {"sendMessage", "sendDocument", "sendPhoto", "editMessageText", "editMessageReplyMarkup"}
)


def _norm_method(name: str) -> str:
    return name.replace("_", "").lower()


@dataclass(eq=False)
class _Upload:
    filename: str | None
    data: bytes
    content_type: str | None


Handler = Callable[[JSON, dict[str, _Upload]], Awaitable[Any]]


# ---------------------------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------------------------


class FakeTelegram:
    """Fake Bot API server.  ``async with FakeTelegram() as tg:`` starts it on 127.0.0.1."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        clock: Callable[[], float] = time.time,
        max_recorded_calls: int = 10_000,
    ):
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.bot_user: JSON = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Fake Bot",
            "username": "fake_test_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.clock = clock
        self.stats = FakeStats()
        self.calls: deque[ApiCall] = deque(maxlen=max_recorded_calls)
        # Every getUpdates call over HTTP, with who made it (see `base_url_for`).
        self.polls: list[PollWindow] = []
        self.webhook: JSON = {"url": ""}
        # Webhook delivery (see route_webhook): where HTTPS calls really go, and
        # (update_id, HTTP status or 0 when unreachable) for each attempt.
        self.webhook_target: str | None = None
        self.webhook_deliveries: list[tuple[int, int]] = []
        self.webhook_retry_delay = 0.05
        # Calls in flight at once (Telegram's `max_connections`, 40 by default). 1, the
        # default here, delivers strictly in order; more, as for several bot processes
        # behind a proxy (tests/runtime/webhook_cluster.py), still one call per person at a time.
        self.webhook_connections = 1
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_busy: set[int] = set()  # update_ids being delivered
        self._webhook_busy_senders: set[int] = set()
        self.port = 0

        self._users: dict[int, FakeUser] = {}
        self._next_user_id = 1_000_001
        self._next_update_id = 100_001
        self._next_file = 1
        self._next_callback = 1
        self._updates: list[_Update] = []
        self._history: dict[int, JSON] = {}
        self._allowed_updates: list[str] | None = None
        self._new_updates = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._files: dict[str, _File] = {}
        self._files_by_path: dict[str, _File] = {}
        self._callbacks: dict[str, _Callback] = {}
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._blocked: set[int] = set()
        self._faults: dict[str, deque[_Fault]] = {}
        self._global_window: _Window | None = None
        self._chat_rate: float | None = None
        self._chat_windows: dict[Any, _Window] = {}
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, tuple[str, Handler]] = {}
        for name in (
            "getMe", "getUpdates", "deleteWebhook", "setWebhook", "setMyCommands",
            "sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument",
            "sendPhoto", "answerCallbackQuery", "getFile",
        ):  # fmt: skip
            handler = getattr(self, "_api_" + re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower())
            self._methods[name.lower()] = (name, handler)

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("*", "/{caller}/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, handler_cancellation=True,
            shutdown_timeout=0.5,
        )  # fmt: skip
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._wake_pollers()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder.base_url`` / ``Bot(base_url=...)`` (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    def base_url_for(self, caller: str) -> str:
        """A base URL naming its caller (one per bot process sharing this fake): the same API,
        and `polls` says which caller each getUpdates came from."""
        return f"http://127.0.0.1:{self.port}/{caller}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # -- users ----------------------------------------------------------------------------------

    def user(
        self,
        first_name: str = "Alice",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
        user_id: int | None = None,
    ) -> FakeUser:
        """Create a human user with a private chat (chat id == user id)."""
        if user_id is None:
            while self._next_user_id in self._users:
                self._next_user_id += 1
            user_id = self._next_user_id
            self._next_user_id += 1
        elif user_id in self._users:
            raise ValueError(f"user {user_id} already exists")
        user = FakeUser(
            self,
            user_id=user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        self._users[user_id] = user
        return user

    @property
    def users(self) -> list[FakeUser]:
        return list(self._users.values())

    def get_user(self, user_id: int) -> FakeUser:
        return self._users[user_id]

    # -- fault injection, limits, stats -------------------------------------------------------

    def fail_next(
        self,
        method: str,
        status: int = 502,
        *,
        retry_after: int | None = None,
        count: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error instead of executing them.

        ``status=429`` answers ``Too Many Requests`` with ``parameters.retry_after``
        (``retry_after`` defaults to 1 second).  ``method`` is case/underscore-insensitive
        (``"sendMessage"`` == ``"send_message"``).
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            if status == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            elif status == 400:
                description = "Bad Request: injected failure"
            elif status == 403:
                description = "Forbidden: injected failure"
            elif status == 409:
                description = "Conflict: injected failure"
            else:
                try:
                    description = HTTPStatus(status).phrase
                except ValueError:
                    description = f"Error {status}"
        queue = self._faults.setdefault(_norm_method(method), deque())
        for _ in range(count):
            queue.append(_Fault(status, description, retry_after))

    def set_limits(
        self, global_per_s: float | None = None, per_chat_per_s: float | None = None
    ) -> None:
        """Enforce Telegram-like flood limits with sliding windows (``None`` = unlimited).

        Sends and edits above the rate answer 429 with ``parameters.retry_after``.
        """
        self._global_window = _Window(global_per_s) if global_per_s else None
        self._chat_rate = per_chat_per_s or None
        self._chat_windows.clear()

    def block(self, user: FakeUser | int) -> None:
        """The user blocks the bot: sends to their chat answer 403. (Telegram also sends a
        ``my_chat_member`` update, which the bot does not ask for: not kept.)"""
        user_obj = self._user_of(user)
        if user_obj.id in self._blocked:
            return
        self._blocked.add(user_obj.id)
        user_obj._log(f"{user_obj.first_name} blocked the bot")

    def unblock(self, user: FakeUser | int) -> None:
        user_obj = self._user_of(user)
        if user_obj.id not in self._blocked:
            return
        self._blocked.discard(user_obj.id)
        user_obj._log(f"{user_obj.first_name} unblocked the bot")

    # -- updates ------------------------------------------------------------------------------

    def push_update(self, body: JSON) -> int:
        """Queue a raw update (``body`` without ``update_id``); returns its update_id."""
        return self._enqueue(body)

    def take_updates(self) -> list[JSON]:
        """The pending updates, confirmed at once, as a poller's next ``getUpdates`` would
        take them: for a bot fed through ``Application.process_update`` (bench/intake.py)."""
        taken = [u for u in self._updates if self._allowed(u)]
        if self._updates:
            self._confirm(self._updates[-1].update_id + 1)
        return [u.payload for u in taken]

    def forget(self, user: FakeUser | int) -> None:
        """Drop a user and what the fake kept for them (their messages, button presses,
        updates): a long benchmark's memory then measures the bot, not the fake. The bot
        writing to them afterwards gets ``chat not found``."""
        gone = self._users.pop(self._user_of(user).id)
        self._callbacks = {k: c for k, c in self._callbacks.items() if c.user_id != gone.id}
        for update_id in [k for k, v in self._history.items() if _sender(v) == gone.id]:
            del self._history[update_id]

    def pending_updates(self) -> list[int]:
        """update_ids stored and not yet confirmed by an ``offset``."""
        return [u.update_id for u in self._updates]

    def redeliver(self, update_id: int) -> None:
        """Deliver an already sent update again, same update_id, even to a running poller."""
        if update_id not in self._history:
            raise KeyError(f"unknown update_id {update_id}")
        self._updates = [u for u in self._updates if u.update_id != update_id]
        self._updates.append(_Update(update_id, self._history[update_id], forced=True))
        self._updates.sort(key=lambda u: u.update_id)
        self._wake_pollers()

    async def wait_delivered(self, timeout: float = 5.0) -> None:
        """Wait until every queued update has been confirmed by the bot (offset moved past it)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._updates:
            if loop.time() >= deadline:
                raise AssertionError(f"updates still pending: {self.pending_updates()}")
            await asyncio.sleep(0.005)

    # -- webhook delivery -----------------------------------------------------------------------

    def route_webhook(self, target: str | None) -> None:
        """Deliver webhook calls to ``target`` (``http://127.0.0.1:8080``), playing the
        reverse proxy that terminates TLS in front of a bot: the registered HTTPS URL keeps
        its path and query, ``target`` replaces its scheme and host.

        While a webhook is set, queued updates are POSTed one at a time in order, as JSON,
        with the ``X-Telegram-Bot-Api-Secret-Token`` header when a secret was given. A 2xx
        answer confirms the update; anything else (or no answer) is retried after
        ``webhook_retry_delay`` seconds, like Telegram does. Until a target is routed the
        bot is unreachable and updates wait.
        """
        self.webhook_target = target
        self._wake_pollers()

    async def post_webhook(self, body: JSON, *, secret_token: str | None = None) -> int:
        """POST one raw update (``update_id`` included) to the routed webhook, with the given
        secret header (none when ``None``), outside the delivery queue; returns the status."""
        async with aiohttp.ClientSession() as session:
            return await self._post_webhook(session, body, secret_token)

    def _start_webhook_delivery(self) -> None:
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhook())

    async def _post_webhook(
        self, session: aiohttp.ClientSession, body: JSON, secret_token: str | None
    ) -> int:
        if self.webhook_target is None:
            return 0
        parts = urlsplit(str(self.webhook.get("url") or ""))
        url = self.webhook_target.rstrip("/") + (parts.path or "/")
        if parts.query:
            url += "?" + parts.query
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret_token} if secret_token else {}
        try:
            async with session.post(
                url, json=body, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
            ) as response:
                await response.read()
                return response.status
        except (aiohttp.ClientError, TimeoutError):
            return 0

    async def _deliver_webhook(self) -> None:
        # No connection cap of aiohttp's own: `webhook_connections` is the cap.
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            workers = [
                asyncio.create_task(self._webhook_worker(session))
                for _ in range(max(1, self.webhook_connections))
            ]
            try:
                await asyncio.gather(*workers)
            finally:
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)

    def _next_for_webhook(self) -> _Update | None:
        """The oldest update not being delivered whose sender has none in flight."""
        for update in self._updates:
            if update.update_id in self._webhook_busy:
                continue
            sender = _sender(update.payload)
            if sender is not None and sender in self._webhook_busy_senders:
                continue
            return update
        return None

    async def _webhook_worker(self, session: aiohttp.ClientSession) -> None:
        while not self._closing and self.webhook.get("url"):
            if not all(self._allowed(u) for u in self._updates):
                self._updates = [u for u in self._updates if self._allowed(u)]
            update = self._next_for_webhook() if self.webhook_target is not None else None
            if update is None:
                event = self._new_updates
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), 1.0)
                continue
            sender = _sender(update.payload)
            self._webhook_busy.add(update.update_id)
            if sender is not None:
                self._webhook_busy_senders.add(sender)
            try:
                secret = self.webhook.get("secret_token")
                status = await self._post_webhook(session, update.payload, secret)
            finally:
                self._webhook_busy.discard(update.update_id)
                if sender is not None:
                    self._webhook_busy_senders.discard(sender)
            self.webhook_deliveries.append((update.update_id, status))
            if 200 <= status < 300:
                if update in self._updates:
                    self._updates.remove(update)
                # Another worker may wait for this person's next update.
                self._wake_pollers()
            else:
                await asyncio.sleep(self.webhook_retry_delay)
                self._wake_pollers()

    # -- inspection ---------------------------------------------------------------------------

    def unanswered_callbacks(self) -> list[str]:
        """Ids of callback queries the bot never answered."""
        return [cb.query_id for cb in self._callbacks.values() if not cb.answered]

    def commands(
        self, language_code: str | None = None, scope: JSON | None = None
    ) -> list[tuple[str, str]]:
        """Commands registered with setMyCommands for exactly this scope/language."""
        key = (_scope_key(scope), language_code or "")
        return [(c["command"], c["description"]) for c in self._commands.get(key, [])]

    # -- internals: updates ---------------------------------------------------------------------

    def _user_of(self, user: FakeUser | int) -> FakeUser:
        return user if isinstance(user, FakeUser) else self._users[user]

    def _enqueue(self, body: JSON) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        payload = {"update_id": update_id, **body}
        self._history[update_id] = payload
        self._updates.append(_Update(update_id, payload))
        self._wake_pollers()
        return update_id

    def _wake_pollers(self) -> None:
        self._new_updates.set()
        self._new_updates = asyncio.Event()

    def _now(self) -> int:
        return int(self.clock())

    def _confirm(self, offset: int | None) -> None:
        # (Telegram also takes a negative offset, counted from the end: the bot never sends one.)
        if not offset or offset < 0:
            return
        self._updates = [
            u for u in self._updates if not (u.update_id < offset and (not u.forced or u.delivered))
        ]

    def _allowed(self, update: _Update) -> bool:
        allowed = self._allowed_updates
        return not allowed or update.kind in allowed

    def _select(self, offset: int | None, limit: int) -> list[_Update]:
        batch: list[_Update] = []
        if not all(self._allowed(u) for u in self._updates):
            # Telegram does not even keep updates of types the bot did not ask for
            self._updates = [u for u in self._updates if self._allowed(u)]
        for update in self._updates:
            redelivery = update.forced and not update.delivered
            if redelivery or offset is None or offset <= 0 or update.update_id >= offset:
                batch.append(update)
            if len(batch) >= limit:
                break
        for update in batch:
            update.delivered = True
        return batch

    # -- internals: HTTP ----------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> tuple[JSON, dict[str, _Upload], str]:
        # PTB posts forms (multipart when it uploads), which `post()` reads; Telegram's
        # JSON bodies and query strings are not kept.
        params: JSON = {}
        uploads: dict[str, _Upload] = {}
        if request.method == "POST" and request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    uploads[key] = _Upload(value.filename, value.file.read(), value.content_type)
                else:
                    params[key] = _coerce(key, str(value))
        return params, uploads, request.content_type

    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error_response(401, "Unauthorized")
        entry = self._methods.get(request.match_info["method"].lower())
        if entry is None:
            return _error_response(404, "Not Found")
        if entry[0] != "getUpdates":
            status, body = await self._run(entry, self._read_params(request), request.content_type)
            return _json_response(status, body)
        window = PollWindow(request.match_info.get("caller", ""), time.monotonic())
        self.polls.append(window)
        try:
            status, body = await self._run(entry, self._read_params(request), request.content_type)
            window.status = status
        finally:
            # Also when the client goes away: the server cancels the handler
            # (handler_cancellation), and the long poll ends there.
            window.ended = time.monotonic()
        return _json_response(status, body)

    async def _run(
        self,
        entry: tuple[str, Handler],
        reading: Awaitable[tuple[JSON, dict[str, _Upload], str]],
        content_type: str,
    ) -> tuple[int, JSON]:
        """One Bot API call, over HTTP or in memory (`InMemoryRequest`): the HTTP status and
        the JSON envelope."""
        name, handler = entry
        self.stats.calls[name] += 1
        params: JSON = {}
        uploads: dict[str, _Upload] = {}
        try:
            params, uploads, content_type = await reading
            self._apply_faults(name)
            self._apply_limits(name, params)
            result = await handler(params, uploads)
        except ApiError as err:
            self.stats.errors[err.status] += 1
            if err.status == 429:
                self.stats.rate_limited += 1
            self._record(name, params, uploads, content_type, err.status)
            return err.status, err.envelope()
        self.stats.sent[name] += 1
        self._record(name, params, uploads, content_type, 200)
        return 200, {"ok": True, "result": result}

    def _record(
        self, name: str, params: JSON, uploads: Mapping[str, _Upload], ctype: str, status: int
    ) -> None:
        files = {key: up.filename or "" for key, up in uploads.items()}
        self.calls.append(ApiCall(name, params, files, ctype, status, self.clock()))

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error_response(401, "Unauthorized")
        file = self._files_by_path.get(request.match_info["path"])
        if file is None:
            return _error_response(404, "Not Found")
        return web.Response(
            body=file.data, content_type=file.mime_type or "application/octet-stream"
        )

    def _apply_faults(self, name: str) -> None:
        queue = self._faults.get(_norm_method(name))
        if queue:
            fault = queue.popleft()
            self.stats.injected += 1
            raise ApiError(fault.status, fault.description, retry_after=fault.retry_after)

    def _apply_limits(self, name: str, params: JSON) -> None:
        if name not in _RATE_LIMITED_METHODS:
            return
        if self._global_window is None and self._chat_rate is None:
            return
        now = time.monotonic()
        windows: list[_Window] = []
        if self._global_window is not None:
            windows.append(self._global_window)
        if self._chat_rate is not None:
            chat = params.get("chat_id")
            window = self._chat_windows.get(chat)
            if window is None:
                window = self._chat_windows[chat] = _Window(self._chat_rate)
            windows.append(window)
        waits = [w for w in (win.retry_after(now) for win in windows) if w is not None]
        if waits:
            retry = max(waits)
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        for window in windows:
            window.add(now)

    # -- internals: chats, files, markup ------------------------------------------------------

    def _chat_for_send(self, params: JSON) -> FakeUser:
        user = self._chat(params)
        if user.id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return user

    def _chat(self, params: JSON) -> FakeUser:
        if "chat_id" not in params or params["chat_id"] in ("", None):
            raise _bad_request("chat_id is empty")
        chat_id = params["chat_id"]
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        user = self._users.get(chat_id) if isinstance(chat_id, int) else None
        if user is None:
            raise _bad_request("chat not found")
        return user

    def _new_file(
        self, kind: str, data: bytes, filename: str | None, mime_type: str | None
    ) -> _File:
        n = self._next_file
        self._next_file += 1
        prefix = {"document": "BQAC", "photo": "AgAC", "voice": "AwAC", "sticker": "CAAC"}[kind]
        folder = {
            "document": "documents",
            "photo": "photos",
            "voice": "voice",
            "sticker": "stickers",
        }[kind]
        ext = ""
        if filename and "." in filename:
            ext = filename.rsplit(".", 1)[1]
        elif kind == "photo":
            ext = "jpg"
        elif kind == "voice":
            ext = "oga"
        elif kind == "sticker":
            ext = "webp"
        file = _File(
            file_id=f"{prefix}AgADfake{n:08d}",
            file_unique_id=f"AgADu{n:08d}",
            kind=kind,
            data=data,
            filename=filename,
            mime_type=mime_type,
            file_path=f"{folder}/file_{n}{'.' + ext if ext else ''}",
        )
        self._files[file.file_id] = file
        self._files_by_path[file.file_path] = file
        return file

    def _input_file(
        self, params: JSON, uploads: Mapping[str, _Upload], field_name: str, kind: str
    ) -> _File:
        # The bot uploads every file it sends: sending by file_id or URL is not kept.
        upload = uploads.get(field_name)
        if upload is None:
            raise _bad_request(f"there is no {field_name} in the request")
        if not upload.data:
            raise _bad_request("file must be non-empty")
        mime = "image/jpeg" if kind == "photo" else upload.content_type
        return self._new_file(kind, upload.data, upload.filename, mime)

    def _reply_markup(self, params: JSON) -> JSON | None:
        """The normalized inline keyboard. (Reply keyboards are not kept: the bot sends
        inline keyboards only.)"""
        raw = params.get("reply_markup")
        if raw in (None, ""):
            return None
        markup = _load_json(raw, "reply keyboard markup")
        if not isinstance(markup, dict):
            raise _bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            return _validate_inline_keyboard(markup["inline_keyboard"])
        return None

    def _bot_message(
        self,
        user: FakeUser,
        params: JSON,
        *,
        kind: str,
        content: JSON,
        source: str | None,
        parse_mode: str | None,
        file: _File | None = None,
    ) -> JSON:
        markup = self._reply_markup(params)
        message_id = user._next_message_id()
        payload: JSON = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": user.chat,
            "date": self._now(),
        }
        payload.update(content)
        if markup is not None:
            payload["reply_markup"] = markup
        msg = _Msg(
            message_id=message_id,
            chat_id=user.id,
            from_bot=True,
            payload=payload,
            source=source,
            parse_mode=parse_mode,
            kind=kind,
            file=file,
            markup=markup,
        )
        user._messages[message_id] = msg
        self.stats.messages += 1
        user._bot_event(msg, edited=False)
        return payload

    def _editable(self, params: JSON) -> tuple[FakeUser, _Msg]:
        user = self._chat(params)
        if user.id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        message_id = _int_param(params, "message_id")
        msg = user._messages.get(message_id)
        if msg is None or msg.deleted:
            raise _bad_request("message to edit not found")
        if not msg.from_bot:
            raise _bad_request("message can't be edited")
        return user, msg

    # -- API methods ----------------------------------------------------------------------------

    async def _api_get_me(self, params: JSON, uploads: dict[str, _Upload]) -> Any:
        return dict(self.bot_user)

    async def _api_get_updates(self, params: JSON, uploads: dict[str, _Upload]) -> Any:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = _opt_int(params, "offset")
        limit = min(100, max(1, _opt_int(params, "limit") or 100))
        timeout = max(0.0, float(params.get("timeout") or 0))
        allowed = params.get("allowed_updates")
        if allowed not in (None, ""):
            allowed = _load_json(allowed, "allowed updates")
            self._allowed_updates = list(allowed) or None
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()  # terminates an older long poll (409), like Telegram
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._select(offset, limit)
            if batch or self._closing:
                return [u.payload for u in batch]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            event = self._new_updates
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )

    async def _api_set_webhook(self, params: JSON, uploads: dict[str, _Upload]) -> Any:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise _bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise _bad_request("secret token contains unallowed characters")
        # What the bot registers, as tests read it back (tests/transports/telegram/test_webhook.py).
        self.webhook = {
            "url": url,
            **{k: params[k] for k in ("secret_token", "allowed_updates") if k in params},
        }
        allowed = params.get("allowed_updates")
        if allowed not in (None, ""):
            self._allowed_updates = list(_load_json(allowed, "allowed updates")) or None
        if url:
            self._start_webhook_delivery()
        self._wake_pollers()
        return True

    async def _api_delete_webhook(self, params: JSON, uploads: dict[str, _Upload]) -> Any:
        # (drop_pending_updates=True is not kept: the bot keeps them.)
        self.webhook = {"url": ""}
        self._wake_pollers()  # the webhook delivery loop ends
        return True

    def _commands_key(self, params: JSON) -> tuple[str, str]:
        scope = params.get("scope")
        if isinstance(scope, str) and scope:
            scope = _load_json(scope, "bot command scope")
        language = str(params.get("language_code") or "")
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise _bad_request("invalid language code specified")
        return _scope_key(scope or None), language

    async def _api_set_my_commands(self, params: JSON, uploads: dict[str, _Upload]) -> Any:
        raw = params.get("commands")
        if raw in (None, ""):
            raise _bad_request('parameter "commands" is required')
        commands = _load_json(raw, "commands") if isinstance(raw, str) else raw
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad_request("can't parse commands JSON object")
        clean: list[JSON] = []
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise _bad_request("can't parse BotCommand")
            name = str(cmd.get("command", "")).lstrip("/")
            description = str(cmd.get("description", ""))
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name):
                raise _bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise _bad_request("command description must be non-empty")
            clean.append({"command": name, "description": description})
        key = self._commands_key(params)
        if clean:
            self._commands[key] = clean
        else:
            self._commands.pop(key, None)
        return True

    async def _api_send_message(self, params: JSON, uploads: dict[str, _Upload]) -> Any:
        user = self._chat_for_send(params)
        source = params.get("text")
        if source in (None, ""):
            raise _bad_request("message text is empty")
        source = str(source)
        parse_mode = params.get("parse_mode") or None
        text, entities = _render(source, parse_mode)
        if not text:
            raise _bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        link_preview = params.get("link_preview_options")
        if isinstance(link_preview, str) and link_preview:
            link_preview = _load_json(link_preview, "link preview options")
        if isinstance(link_preview, dict) and link_preview:
            content["link_preview_options"] = link_preview
        return self._bot_message(
            user, params, kind="text", content=content, source=source, parse_mode=parse_mode
        )

    def _caption(self, params: JSON) -> tuple[JSON, str | None, str | None]:
        source = params.get("caption")
        parse_mode = params.get("parse_mode") or None
        if source in (None, ""):
            return {}, None, parse_mode
        source = str(source)
        text, entities = _render(source, parse_mode)
        if len(text) > MAX_CAPTION_LENGTH:
            raise _bad_request("message caption is too long")
        content: JSON = {}
        if text:
            content["caption"] = text
        if entities:
            content["caption_entities"] = entities
        return content, source, parse_mode

    async def _api_send_document(self, params: JSON, uploads: dict[str, _Upload]) -> Any:
        user = self._chat_for_send(params)
        file = self._input_file(params, uploads, "document", "document")
        caption, source, parse_mode = self._caption(params)
        document: JSON = {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": len(file.data),
        }
        if file.filename:
            document["file_name"] = file.filename
        if file.mime_type:
            document["mime_type"] = file.mime_type
        return self._bot_message(
            user,
            params,
            kind="document",
            content={"document": document, **caption},
            source=source,
            parse_mode=parse_mode,
            file=file,
        )

    async def _api_send_photo(self, params: JSON, uploads: dict[str, _Upload]) -> Any:
        user = self._chat_for_send(params)
        file = self._input_file(params, uploads, "photo", "photo")
        caption, source, parse_mode = self._caption(params)
        return self._bot_message(
            user,
            params,
            kind="photo",
            content={"photo": _photo_sizes(file), **caption},
            source=source,
            parse_mode=parse_mode,
            file=file,
        )

    async def _api_edit_message_text(self, params: JSON, uploads: dict[str, _Upload]) -> Any:
        user, msg = self._editable(params)
        source = params.get("text")
        if source in (None, ""):
            raise _bad_request("message text is empty")
        if msg.kind != "text":
            raise _bad_request("there is no text in the message to edit")
        source = str(source)
        parse_mode = params.get("parse_mode") or None
        text, entities = _render(source, parse_mode)
        if not text:
            raise _bad_request("message text is empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise _bad_request("message is too long")
        markup = self._reply_markup(params)
        if (
            text == msg.payload.get("text")
            and entities == msg.payload.get("entities", [])
            and markup == msg.markup
        ):
            raise _not_modified()
        msg.payload["text"] = text
        _set_or_pop(msg.payload, "entities", entities or None)
        return self._apply_edit(user, msg, markup, source=source, parse_mode=parse_mode)

    async def _api_edit_message_reply_markup(
        self, params: JSON, uploads: dict[str, _Upload]
    ) -> Any:
        user, msg = self._editable(params)
        markup = self._reply_markup(params)
        if markup == msg.markup:
            raise _not_modified()
        return self._apply_edit(user, msg, markup, source=msg.source, parse_mode=msg.parse_mode)

    def _apply_edit(
        self,
        user: FakeUser,
        msg: _Msg,
        markup: JSON | None,
        *,
        source: str | None,
        parse_mode: str | None,
    ) -> JSON:
        msg.markup = markup
        _set_or_pop(msg.payload, "reply_markup", markup)
        msg.payload["edit_date"] = self._now()
        msg.source = source
        msg.parse_mode = parse_mode
        msg.edited = True
        user._bot_event(msg, edited=True)
        # Encoded before the payload can change again (as `_bot_message`'s): no copy.
        return msg.payload

    async def _api_answer_callback_query(self, params: JSON, uploads: dict[str, _Upload]) -> Any:
        query_id = str(params.get("callback_query_id") or "")
        callback = self._callbacks.get(query_id)
        too_old = _bad_request(
            "query is too old and response timeout expired or query ID is invalid"
        )
        if callback is None or callback.answered:
            raise too_old
        if self.clock() - callback.created > CALLBACK_TIMEOUT:
            raise too_old
        text = params.get("text")
        if text is not None and len(str(text)) > 200:
            raise _bad_request("MESSAGE_TOO_LONG")
        callback.answered = True
        callback.answer = CallbackAnswer(None if text is None else str(text), query_id=query_id)
        user = self._users[callback.user_id]
        user.callback_answers.append(callback.answer)
        user._log(f"bot answered the button: {callback.answer.text!r}")
        user._notify()
        return True

    async def _api_get_file(self, params: JSON, uploads: dict[str, _Upload]) -> Any:
        file = self._files.get(str(params.get("file_id") or ""))
        if file is None:
            raise _bad_request("wrong file_id or the file is temporarily unavailable")
        if len(file.data) > MAX_DOWNLOAD_BYTES:
            raise _bad_request("file is too big")
        return {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "file_size": len(file.data),
            "file_path": file.file_path,
        }


def _render(source: str, parse_mode: str | None) -> tuple[str, list[JSON]]:
    """The text a person reads and its entities, parsed and detected as Telegram does."""
    text, entities = _rendered(source, parse_mode)
    return text, [dict(e) for e in entities]


@functools.lru_cache(maxsize=1024)
def _rendered(source: str, parse_mode: str | None) -> tuple[str, tuple[JSON, ...]]:
    """`_render`, remembered: the bot sends the same texts to many people (each question's
    prompt), and parsing them again was the fake's largest cost in bench/intake.py. A pure
    function of its arguments; errors are not remembered (raised anew), and `_render`
    hands out copies."""
    text, parsed = parse_entities(source, parse_mode)
    return text, tuple(_with_auto_entities(text, parsed))


def _with_auto_entities(text: str, entities: list[JSON]) -> list[JSON]:
    """Add the entities Telegram detects by itself (links, commands...) outside code/links."""
    opaque = [
        (e["offset"], e["offset"] + e["length"])
        for e in entities
        if e["type"] in ("code", "pre", "text_link", "text_mention", "custom_emoji")
    ]
    auto = [
        e
        for e in detect_entities(text)
        if not any(e["offset"] < end and start < e["offset"] + e["length"] for start, end in opaque)
    ]
    if not auto:
        return entities
    return sorted(entities + auto, key=lambda e: (e["offset"], -e["length"]))


def _photo_sizes(file: _File) -> list[JSON]:
    return [
        {
            "file_id": file.file_id + "_s",
            "file_unique_id": file.file_unique_id + "s",
            "width": 90,
            "height": 90,
            "file_size": min(len(file.data), 1024),
        },
        {
            "file_id": file.file_id,
            "file_unique_id": file.file_unique_id,
            "width": 800,
            "height": 800,
            "file_size": len(file.data),
        },
    ]


def _not_modified() -> ApiError:
    return _bad_request(
        "message is not modified: specified new message content and reply markup are exactly "
        "the same as a current content and reply markup of the message"
    )


def _json_copy(value: Any) -> Any:
    """A deep copy of JSON data (dicts, lists, scalars): what ``json.loads(json.dumps())``
    gives for it, in half the time (a copy per message the bot sends)."""
    kind = type(value)
    if kind is dict:
        return {key: _json_copy(item) for key, item in value.items()}
    if kind is list:
        return [_json_copy(item) for item in value]
    return value


def _set_or_pop(payload: JSON, key: str, value: Any) -> None:
    if value in (None, [], ""):
        payload.pop(key, None)
    else:
        payload[key] = value


def _json_response(status: int, body: JSON) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body, ensure_ascii=False), content_type="application/json"
    )


def _error_response(status: int, description: str) -> web.Response:
    return _json_response(status, ApiError(status, description).envelope())


def _coerce(key: str, value: str) -> Any:
    """Form values are strings; PTB JSON-encodes everything that is not a string."""
    if key in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _load_json(value: Any, what: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _bad_request(f"can't parse {what} JSON object") from None


def _opt_int(params: JSON, name: str) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad_request(f"invalid {name} specified") from None


def _int_param(params: JSON, name: str) -> int:
    value = _opt_int(params, name)
    if value is None:
        raise _bad_request(f"{name} is empty")
    return value


def _scope_key(scope: JSON | None) -> str:
    if not scope:
        scope = {"type": "default"}
    return json.dumps(scope, sort_keys=True)


def _validate_inline_keyboard(rows: Any) -> JSON:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise _bad_request("can't parse inline keyboard markup JSON object")
    clean_rows: list[list[JSON]] = []
    for row in rows:
        clean_row: list[JSON] = []
        for btn in row:
            if not isinstance(btn, dict):
                raise _bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            text = btn.get("text")
            if not isinstance(text, str):
                raise _bad_request(
                    'can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            if not text.strip():
                raise _bad_request("BUTTON_TEXT_INVALID")
            if "callback_data" not in btn:
                # Telegram's answer to a button without an action. The bot's buttons are
                # all callback buttons (transport.markup): URL, web app... ones are not kept.
                raise _bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            data = btn["callback_data"]
            if not isinstance(data, str):
                data = json.dumps(data)
            if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                raise _bad_request("BUTTON_DATA_INVALID")
            clean_row.append({"text": text, "callback_data": btn["callback_data"]})
        if clean_row:
            clean_rows.append(clean_row)
    return {"inline_keyboard": clean_rows}


# ---------------------------------------------------------------------------------------------
# The user side
# ---------------------------------------------------------------------------------------------


class FakeUser:
    """A human in a private chat with the bot.  Create with :meth:`FakeTelegram.user`."""

    def __init__(
        self,
        tg: FakeTelegram,
        *,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ):
        self.tg = tg
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.transcript: list[str] = []
        self.callback_answers: list[CallbackAnswer] = []
        self._messages: dict[int, _Msg] = {}
        self._message_counter = 0
        self._events: list[BotMessage] = []
        self._cursor = 0
        self._changed = asyncio.Event()

    def __repr__(self) -> str:
        return f"<FakeUser {self.first_name} id={self.id}>"

    # -- identity -----------------------------------------------------------------------------

    @property
    def chat_id(self) -> int:
        return self.id

    @property
    def user_json(self) -> JSON:
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    @property
    def chat(self) -> JSON:
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            chat["last_name"] = self.last_name
        if self.username:
            chat["username"] = self.username
        return chat

    # -- acting -----------------------------------------------------------------------------------

    async def say(self, text: str) -> JSON:
        """Send a text message; ``/command args`` carries a ``bot_command`` entity."""
        if not text.strip():
            raise ValueError("Telegram clients cannot send an empty message")
        content: JSON = {"text": text}
        entities = detect_entities(text)
        if entities:
            content["entities"] = entities
        return await self._send(content, text)

    async def send_photo(
        self, data: bytes = TINY_PNG, *, caption: str | None = None, width: int = 1, height: int = 1
    ) -> JSON:
        file = self.tg._new_file("photo", data, None, "image/jpeg")
        sizes = _photo_sizes(file)
        sizes[-1].update(width=width, height=height)
        content: JSON = {"photo": sizes}
        if caption:
            content["caption"] = caption
        return await self._send(content, f"[photo {len(data)} bytes] {caption or ''}".rstrip())

    async def send_voice(self, data: bytes = TINY_OGG, *, duration: int = 2) -> JSON:
        file = self.tg._new_file("voice", data, None, "audio/ogg")
        content = {
            "voice": {
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "duration": duration,
                "mime_type": "audio/ogg",
                "file_size": len(data),
            }
        }
        return await self._send(content, f"[voice {duration}s]")

    async def send_sticker(self, emoji: str = "👍") -> JSON:
        file = self.tg._new_file("sticker", b"RIFF\x00\x00\x00\x00WEBP", None, "image/webp")
        content = {
            "sticker": {
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": emoji,
                "set_name": "FakeStickers",
                "file_size": len(file.data),
            }
        }
        return await self._send(content, f"[sticker {emoji}]")

    async def send_document(
        self,
        filename: str = "document.pdf",
        data: bytes = b"%PDF-1.4 fake\n",
        *,
        mime_type: str | None = None,
        caption: str | None = None,
    ) -> JSON:
        if mime_type is None:
            mime_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        file = self.tg._new_file("document", data, filename, mime_type)
        content: JSON = {
            "document": {
                "file_id": file.file_id,
                "file_unique_id": file.file_unique_id,
                "file_name": filename,
                "mime_type": mime_type,
                "file_size": len(data),
            }
        }
        if caption:
            content["caption"] = caption
        label = f"[document {filename} {len(data)} bytes] {caption or ''}".rstrip()
        return await self._send(content, label)

    async def share_location(self, latitude: float, longitude: float) -> JSON:
        content = {"location": {"latitude": latitude, "longitude": longitude}}
        return await self._send(content, f"[location {latitude}, {longitude}]")

    async def press_data(self, accept: Callable[[str], bool]) -> str | None:
        """Press the first button of the latest keyboard whose callback data `accept` takes,
        for scripts that know the bot's actions rather than its labels (bench/intake.py).
        None, and nothing pressed, when no button fits."""
        shown = [m for m in self._messages.values() if m.from_bot and not m.deleted and m.markup]
        if not shown:
            return None
        target = max(shown, key=lambda m: m.message_id)
        rows: list[list[JSON]] = (target.markup or {}).get("inline_keyboard", [])
        for button in (b for row in rows for b in row if "callback_data" in b):
            if accept(button["callback_data"]):
                return await self.press(button["text"], message=target.message_id)
        return None

    async def press(self, label: str, *, message: BotMessage | int | None = None) -> str:
        """Press an inline button; returns the callback query id.

        The button is looked up by exact label, then case-insensitively, then as a unique
        case-insensitive substring, in the latest bot message that has inline buttons -- or in
        ``message`` (a :class:`BotMessage` snapshot: its buttons as the user saw them, which
        simulates pressing a stale keyboard; or a message id: its current buttons).
        """
        if message is None:
            candidates = [
                m for m in self._messages.values() if m.from_bot and not m.deleted and m.markup
            ]
            if not candidates:
                raise AssertionError(f"no bot message with buttons\n{self.dump()}")
            target = max(candidates, key=lambda m: m.message_id)
            markup = target.markup
        else:
            message_id = message if isinstance(message, int) else message.message_id
            found = self._messages.get(message_id)
            if found is None or found.deleted:
                raise AssertionError(f"message #{message_id} is gone\n{self.dump()}")
            target = found
            markup = (
                message.raw.get("reply_markup")
                if isinstance(message, BotMessage)
                else target.markup
            )
        where = f"message #{target.message_id}"
        btn_label, _ = _find_button(_markup_buttons(markup), label, where=where)
        rows: list[list[JSON]] = (markup or {}).get("inline_keyboard", [])
        btn = next((b for row in rows for b in row if b.get("text") == btn_label), None)
        if btn is None or "callback_data" not in btn:
            raise AssertionError(f"button {btn_label!r} in {where} has no callback_data")
        tg = self.tg
        query_id = str(4_000_000_000_000_000 + tg._next_callback * 1_000 + self.id % 1_000)
        tg._next_callback += 1
        data = btn["callback_data"]
        tg._callbacks[query_id] = _Callback(query_id, self.id, target.message_id, data, tg.clock())
        tg._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.user_json,
                    "message": _json_copy(target.payload),
                    "chat_instance": str(-(self.id * 7919 % 10**12)),
                    "data": data,
                }
            }
        )
        self._log(f"{self.first_name} pressed [{btn_label}] on #{target.message_id}")
        await asyncio.sleep(0)
        return query_id

    # -- observing ------------------------------------------------------------------------------

    async def wait_replies(self, n: int = 1, timeout: float = 5.0) -> list[BotMessage]:
        """Wait for ``n`` new bot messages (sent or edited) since the last wait; return them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self._events) - self._cursor < n:
            remaining = deadline - loop.time()
            if remaining <= 0:
                got = len(self._events) - self._cursor
                raise AssertionError(
                    f"{self.first_name}: expected {n} new bot message(s) within {timeout}s, "
                    f"got {got}\n{self.dump()}"
                )
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
        replies = self._events[self._cursor : self._cursor + n]
        self._cursor += n
        return replies

    async def wait_reply(self, timeout: float = 5.0) -> BotMessage:
        """Shortcut for ``(await wait_replies(1, timeout))[0]``."""
        return (await self.wait_replies(1, timeout))[0]

    async def expect_silence(self, timeout: float = 0.2) -> None:
        """Assert the bot sends/edits nothing more in this chat for ``timeout`` seconds."""
        await asyncio.sleep(timeout)
        if len(self._events) > self._cursor:
            extra = [str(m) for m in self._events[self._cursor :]]
            raise AssertionError(f"unexpected bot messages: {extra}\n{self.dump()}")

    async def wait_callback_answer(self, timeout: float = 5.0) -> CallbackAnswer:
        """Wait until the bot answered this user's latest button press."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            mine = [c for c in self.tg._callbacks.values() if c.user_id == self.id]
            if mine and mine[-1].answer is not None:
                return mine[-1].answer
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"callback query not answered\n{self.dump()}")
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    @property
    def pending_replies(self) -> list[BotMessage]:
        """Bot messages/edits received since the last wait and not consumed yet."""
        return list(self._events[self._cursor :])

    @property
    def messages(self) -> list[BotMessage]:
        """Current state (after edits) of the bot's messages in this chat, deleted ones excluded."""
        return [
            m.snapshot(edited=m.edited)
            for m in sorted(self._messages.values(), key=lambda m: m.message_id)
            if m.from_bot and not m.deleted
        ]

    @property
    def last_bot_message(self) -> BotMessage | None:
        msgs = self.messages
        return msgs[-1] if msgs else None

    def dump(self) -> str:
        return "transcript:\n" + "\n".join("  " + line for line in self.transcript)

    # -- internals ------------------------------------------------------------------------------

    def _next_message_id(self) -> int:
        self._message_counter += 1
        return self._message_counter

    def _log(self, line: str) -> None:
        self.transcript.append(line)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _bot_event(self, msg: _Msg, *, edited: bool) -> None:
        snap = msg.snapshot(edited=edited)
        self._events.append(snap)
        self._log(str(snap))
        self._notify()

    async def _send(self, content: JSON, label: str) -> JSON:
        tg = self.tg
        if self.id in tg._blocked:
            tg.unblock(self)  # a user has to unblock the bot before writing to it
        message_id = self._next_message_id()
        payload: JSON = {
            "message_id": message_id,
            "from": self.user_json,
            "chat": self.chat,
            "date": tg._now(),
        }
        payload.update(content)
        self._messages[message_id] = _Msg(message_id, self.id, False, payload)
        self._log(f"{self.first_name}: {label}")
        tg._enqueue({"message": payload})
        await asyncio.sleep(0)
        return payload


def _sender(update: JSON) -> int | None:
    """The user id behind an update (a message or a button press)."""
    for kind in ("message", "callback_query"):
        body = update.get(kind)
        if isinstance(body, dict):
            sender = body.get("from") or {}
            return sender.get("id") if isinstance(sender, dict) else None
    return None


class InMemoryRequest(BaseRequest):
    """python-telegram-bot's request layer answered by a `FakeTelegram` in the same process,
    without sockets: ``Application.builder().token(tg.token).request(InMemoryRequest(tg))``.
    The bot's calls take the same path through the fake as over HTTP (parameters coerced as
    from a form, faults, limits, the same handlers); the fake need not be started. For
    benchmarks (bench/intake.py), where the loopback HTTP would be most of the cost."""

    def __init__(self, tg: FakeTelegram) -> None:
        self.tg = tg

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        *_, token, name = urlsplit(url).path.split("/")
        if token.removeprefix("bot") != self.tg.token:
            return 401, json.dumps(ApiError(401, "Unauthorized").envelope()).encode()
        entry = self.tg._methods.get(name.lower())
        if entry is None:
            return 404, json.dumps(ApiError(404, "Not Found").envelope()).encode()
        files = request_data.contains_files if request_data is not None else False
        content_type = "multipart/form-data" if files else "application/x-www-form-urlencoded"
        status, body = await self.tg._run(entry, self._read(request_data), content_type)
        return status, json.dumps(body).encode()

    @staticmethod
    async def _read(request_data: RequestData | None) -> tuple[JSON, dict[str, _Upload], str]:
        if request_data is None:
            return {}, {}, "application/x-www-form-urlencoded"
        params = {k: _coerce(k, v) for k, v in request_data.json_parameters.items()}
        uploads: dict[str, _Upload] = {}
        if request_data.contains_files:
            for part, (filename, content, mime) in request_data.multipart_data.items():
                data = content if isinstance(content, bytes) else content.read()
                uploads[part] = _Upload(filename, data, mime)
            return params, uploads, "multipart/form-data"
        return params, uploads, "application/x-www-form-urlencoded"
