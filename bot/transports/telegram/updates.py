"""Telegram updates as the Bot API sends them (JSON objects) → `Incoming`.

The transport reads the update's JSON itself rather than python-telegram-bot's
`Update` objects: it needs a dozen fields, and PTB builds the whole tree of a
button press (the message it is on, its keyboard, its entities), which cost
about a tenth of an update's CPU time in `bench/intake.py`. The sends already
take the same way back (`Bot.do_api_request`, raw answers).

Anything missing or of the wrong type reads as absent: an update this module
cannot place in a private chat is not ours to answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.runtime.core import Incoming
from dialogs.kernel.events import Attachment, AttachmentKind, Choice, Command, Event, Location, Text
from dialogs.kernel.i18n import supported

JSON = dict[str, Any]

TRANSPORT = "telegram"
PRIVATE = "private"

# Message fields that carry something else than text, in the order they are told
# apart (a video note and an animation are videos to the person).
ATTACHMENTS = (
    ("photo", AttachmentKind.PHOTO),
    ("voice", AttachmentKind.VOICE),
    ("audio", AttachmentKind.AUDIO),
    ("video", AttachmentKind.VIDEO),
    ("video_note", AttachmentKind.VIDEO),
    ("animation", AttachmentKind.VIDEO),
    ("sticker", AttachmentKind.STICKER),
    ("document", AttachmentKind.DOCUMENT),
    ("contact", AttachmentKind.CONTACT),
)


def obj(value: object) -> JSON:
    """A JSON object, or an empty one for anything else."""
    return value if isinstance(value, dict) else {}


def integer(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def string(value: object) -> str | None:
    return value if isinstance(value, str) else None


def update_id(update: JSON) -> int | None:
    return integer(update.get("update_id"))


def full_name(user: JSON) -> str:
    """First and last name, as Telegram apps show them."""
    first = string(user.get("first_name"))
    if not first:
        return ""  # Telegram requires a first name: nothing to show without one
    last = string(user.get("last_name"))
    return f"{first} {last}" if last else first


def sender(update: JSON) -> JSON:
    """Who sent the message or pressed the button (empty if unknown)."""
    query = obj(update.get("callback_query"))
    if query:
        return obj(query.get("from"))
    return obj(obj(update.get("message")).get("from"))


def locale_of(update: JSON) -> str:
    """The language to answer in outside a conversation (its sender's app's)."""
    return supported(string(sender(update).get("language_code")))


def private_chat(update: JSON) -> int | None:
    """The private chat an update comes from, where the bot may answer."""
    query = obj(update.get("callback_query"))
    message = obj(query.get("message")) if query else obj(update.get("message"))
    chat = obj(message.get("chat"))
    if chat.get("type") == PRIVATE:
        return integer(chat.get("id"))
    if query and not message:
        # A press that comes without its message (on an inline message): the only
        # chat it can be answered in is the presser's own.
        return integer(obj(query.get("from")).get("id"))
    return None


def callback_id(update: JSON) -> str | None:
    """The button press to answer (its spinner stops then), if it is one."""
    return string(obj(update.get("callback_query")).get("id"))


def foreign_callback(update: JSON) -> bool:
    """A button press whose message is in a chat other than the presser's own
    private chat (a forged update: Telegram only shows a private chat's buttons
    to its owner). Such a press must act on no conversation at all."""
    query = obj(update.get("callback_query"))
    message = obj(query.get("message"))
    if not message:
        return False
    chat = obj(message.get("chat"))
    presser = integer(obj(query.get("from")).get("id"))
    return chat.get("type") != PRIVATE or presser is None or chat.get("id") != presser


def message_event(message: JSON) -> Event:
    text = string(message.get("text"))
    if text is not None:
        entities = message.get("entities")
        entity = obj(entities[0]) if isinstance(entities, list) and entities else {}
        length = integer(entity.get("length"))
        if entity.get("type") == "bot_command" and entity.get("offset") == 0 and length:
            word = text[1:length]
            name = word.split("@", 1)[0]
            return Command(name=name.lower(), args=text[length:].strip())
        # The date the person sent it (whole seconds, aware): the parts of a long
        # paste, which Telegram apps send as several messages, are joined by it.
        date = integer(message.get("date"))
        sent_at = datetime.fromtimestamp(date, UTC) if date is not None else None
        return Text(text=text, sent_at=sent_at)
    location = obj(message.get("location"))
    latitude, longitude = location.get("latitude"), location.get("longitude")
    if isinstance(latitude, int | float) and isinstance(longitude, int | float):
        return Location(lat=float(latitude), lon=float(longitude))
    for field, kind in ATTACHMENTS:
        if message.get(field):
            if kind == AttachmentKind.DOCUMENT:
                return Attachment(kind=kind, name=string(obj(message["document"]).get("file_name")))
            return Attachment(kind=kind)
    return Attachment(kind=AttachmentKind.OTHER)


def incoming_from(update: JSON) -> Incoming | None:
    """Only private chats hold intakes; group messages are not ours to answer.
    A button acts only on its sender's own conversation."""
    key = update_id(update)
    if key is None:
        return None
    query = obj(update.get("callback_query"))
    if query:
        presser = obj(query.get("from"))
        chat_id = private_chat(update)
        if foreign_callback(update) or chat_id is None or integer(presser.get("id")) is None:
            return None
        message_id = integer(obj(query.get("message")).get("message_id"))
        pressed_on = str(message_id) if message_id is not None else None
        return Incoming(
            transport=TRANSPORT,
            address=str(chat_id),
            update_key=str(key),
            event=Choice(data=string(query.get("data")) or "", message=pressed_on),
            sender_id=str(presser["id"]),
            sender_name=full_name(presser),
            locale_hint=string(presser.get("language_code")),
            source_message=pressed_on,
        )
    message = obj(update.get("message"))
    author = obj(message.get("from"))
    chat_id = private_chat(update)
    if chat_id is None or integer(author.get("id")) is None:
        return None
    return Incoming(
        transport=TRANSPORT,
        address=str(chat_id),
        update_key=str(key),
        event=message_event(message),
        sender_id=str(author["id"]),
        sender_name=full_name(author),
        locale_hint=string(author.get("language_code")),
    )
