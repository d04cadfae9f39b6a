"""Decisions the engine hands to the runtime. Plain data; the runtime executes
them inside the same transaction as the new state and the outgoing messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordConsent:
    """The person agreed to let us store their answers (RGPD)."""

    locale: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitCase:
    """Store the confirmed sheet as a case; the runtime answers with `CaseCreated`."""

    sheet: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class AddCaseMessage:
    """Something the person wrote outside a question: kept on their case's timeline."""

    ref: str
    text: str


Effect = RecordConsent | SubmitCase | AddCaseMessage
