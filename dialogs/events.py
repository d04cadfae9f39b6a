"""What a person (or the runtime) can send to a dialog: a closed union of plain data.

Transports translate their native updates into these; the engine never sees a
Telegram or Matrix object.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AttachmentKind(StrEnum):
    PHOTO = "photo"
    VOICE = "voice"
    AUDIO = "audio"
    VIDEO = "video"
    STICKER = "sticker"
    DOCUMENT = "document"
    CONTACT = "contact"
    OTHER = "other"


@dataclass(frozen=True, slots=True, kw_only=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """A button press; `data` is the raw callback data, possibly forged or stale."""

    data: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    name: str
    args: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    kind: AttachmentKind


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseCreated:
    """Fed back by the runtime once a `SubmitCase` effect has been stored."""

    ref: str


Event = Text | Choice | Command | Attachment | Location | CaseCreated
