"""Decisions the engine hands to the runtime. Plain data; the runtime executes
them inside the same transaction as the new state and the outgoing messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dialogs.kernel.replies import Msg


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordConsent:
    """The person agreed to let us store their answers (RGPD)."""

    locale: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitCase:
    """Store the confirmed sheet as a case; the runtime answers with `CaseCreated`.
    `locale` is the conversation's language, in which the case is followed up."""

    sheet: Mapping[str, Any]
    locale: str = "fr"


@dataclass(frozen=True, slots=True, kw_only=True)
class AddCaseMessage:
    """Something the person wrote outside a question: kept on their case's timeline."""

    ref: str
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordInterest:
    """The person marked (or unmarked) a proposed resource as interesting."""

    ref: str
    resource_id: str
    interested: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestContact:
    """The person asked to be put in touch with an aiguilleur for this case."""

    ref: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetLocale:
    """The person chose the language of their conversation (/langue): kept on
    their record too, for what is sent to them outside the conversation."""

    locale: str


# -- follow-up (dialogs/followup/steps.py); executed by bot/followup/executor.py ---------


@dataclass(frozen=True, slots=True, kw_only=True)
class NudgeAsked:
    """The nudge's question is in this outcome's replies: it counts as sent."""

    nudge_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NudgeDeferred:
    """Not now (the person is filling a new request): come back in `minutes`."""

    nudge_id: int
    minutes: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NudgeCancelled:
    nudge_id: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class NudgeAnswered:
    """`answer` is a choice id (lance, cours, pas, aide, plus_tard) or ``texte``."""

    nudge_id: int
    answer: str
    text: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class NudgeSnoozed:
    """Ask the same question again in `days`; the rest of the follow-up moves along."""

    nudge_id: int
    days: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseVerified:
    """The action really started: the case is verified and the follow-up stops."""

    ref: str
    nudge_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ImpactStep:
    """Which impact question waits for an answer (None: the questionnaire is over)."""

    nudge_id: int
    step: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImpactRecorded:
    nudge_id: int
    field: str
    value: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Escalate:
    """A human should look at this case now: `reason` is ``help`` (asked for) or
    ``silence`` (no answer after a nudge and its grace period)."""

    ref: str
    reason: str
    nudge_id: int | None = None
    text: str | None = None


FollowupEffect = (
    NudgeAsked
    | NudgeDeferred
    | NudgeCancelled
    | NudgeAnswered
    | NudgeSnoozed
    | CaseVerified
    | ImpactStep
    | ImpactRecorded
    | Escalate
)

# -- relay with the aiguilleur holding the case (dialogs/assignment/relay.py) ---------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayToAiguilleur:
    """Pass what the person wrote to the case's thread in the aiguilleur's room."""

    assignment_id: int
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class EndRelay:
    """The person ends the relay: the aiguilleur is told, the case is freed."""

    assignment_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class ShareContacts:
    """The person agreed to give the aiguilleur their Telegram contact."""

    assignment_id: int


RelayEffect = RelayToAiguilleur | EndRelay | ShareContacts

# -- the person's rights over their data (RGPD); executed by bot/privacy/service.py -------


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportPersonalData:
    """Send the person everything stored about them as a JSON file (/mesdonnees),
    with `caption` under it, in `locale`."""

    locale: str
    caption: Msg


@dataclass(frozen=True, slots=True, kw_only=True)
class ErasePersonalData:
    """Erase the person's data, keeping anonymous statistics (/oublier, confirmed)."""


PrivacyEffect = ExportPersonalData | ErasePersonalData

Effect = (
    RecordConsent
    | SubmitCase
    | AddCaseMessage
    | RecordInterest
    | RequestContact
    | SetLocale
    | FollowupEffect
    | RelayEffect
    | PrivacyEffect
)
