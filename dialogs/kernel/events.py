"""What a person (or the runtime) can send to a dialog: a closed union of plain data.

Transports translate their native updates into these; the engine never sees a
Telegram or Matrix object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from dialogs.kernel.context import Reminder
from dialogs.kernel.replies import Msg


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
    # When the person sent it, if the transport says (Telegram's message date):
    # the parts of a long text are joined by it (dialogs/intake/bursts.py).
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """A button press; `data` is the raw callback data, possibly forged or stale.
    `message`: the transport's id of the message the button is on, if known."""

    data: str
    message: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    name: str
    args: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    kind: AttachmentKind
    # A document's file name, and its bytes when the transport fetched them
    # (Telegram does for catalog files a coordinator may send:
    # bot/transports/telegram/transport.py).
    name: str | None = None
    content: bytes | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    lat: float
    lon: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Suggestion:
    """A resource or an aiguilleur proposed for a case, with the reasons why."""

    id: str
    name: str
    url: str = ""
    summary: str = ""
    why: tuple[Msg, ...] = ()
    # A resource's English summary, if its catalog entry has one.
    summary_en: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseCreated:
    """Fed back by the runtime once a `SubmitCase` effect has been stored, with
    what the matching engine proposes for it (best first)."""

    ref: str
    resources: tuple[Suggestion, ...] = ()
    aiguilleurs: tuple[Suggestion, ...] = ()
    # Whether a contact request could reach anyone (an aiguilleur proposed and a
    # desk to offer it, or a coordinator to take it): if not, none is offered.
    contact_possible: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactRouted:
    """Fed back by the runtime after a `RequestContact`: where the request went.
    `to` is "desk" (offered to an aiguilleur), "queued" (nobody free yet: waits
    for the first one), "coordinators" (sent to coordinators who assign it) or
    "nobody" (recorded, but no one can be reached)."""

    ref: str
    to: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NudgeDue:
    """A follow-up question has come due (fed by the nudge worker, not by a person).
    `deferrals` counts how often it already waited for an intake to finish."""

    nudge_id: int
    case_ref: str
    kind: str
    deferrals: int = 0
    reminder: Reminder = field(default_factory=Reminder)


@dataclass(frozen=True, slots=True, kw_only=True)
class NudgeUnanswered:
    """A nudge's grace period ended without any answer (fed by the nudge worker)."""

    nudge_id: int
    case_ref: str
    kind: str


Event = (
    Text
    | Choice
    | Command
    | Attachment
    | Location
    | CaseCreated
    | ContactRouted
    | NudgeDue
    | NudgeUnanswered
)
