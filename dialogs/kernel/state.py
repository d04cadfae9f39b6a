"""Conversation state: which question a person is on and what they answered.

The state is plain data, serialised to JSON in the conversations table. It is
never mutated: every transition builds a new `State` with `dataclasses.replace`.
`version` grows on each transition and is embedded in button data, so a button
from an older message is recognised as stale and a double tap counts once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

STATE_FORMAT = 1


class Stage(StrEnum):
    WELCOME = "welcome"
    REUSE_LIEU = "reuse_lieu"
    LIEU_NAME = "lieu_name"
    PLACE = "place"
    PLACE_PICK = "place_pick"
    PLACE_CONFIRM = "place_confirm"
    ROLE = "role"
    THEMES = "themes"
    PROBLEM = "problem"
    THEMES_CONFIRM = "themes_confirm"
    TRIED = "tried"
    GOAL = "goal"
    CONSTRAINTS = "constraints"
    HELP = "help"
    URGENCY = "urgency"
    SUMMARY = "summary"
    EDIT_PICK = "edit_pick"
    CONFIRM_CANCEL = "confirm_cancel"
    CONFIRM_RESTART = "confirm_restart"
    CONFIRM_FORGET = "confirm_forget"
    PROPOSALS = "proposals"
    IDLE = "idle"


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    stage: Stage = Stage.WELCOME
    version: int = 0
    locale: str = "fr"
    consented: bool = False
    # Answers of the sheet being filled, JSON-safe values only.
    answers: Mapping[str, Any] = field(default_factory=dict)
    # Transient values of the current question (pending place, toggled buttons).
    draft: Mapping[str, Any] = field(default_factory=dict)
    # Set while the person edits one field from the summary.
    editing: bool = False
    # Where a confirmation question (cancel, restart, forget) returns on "no".
    resume: Stage | None = None
    # The message redrawn in place by the last button press (a toggle, ☆): it
    # shows the current buttons, so a late second tap on it must not clear them.
    live_message: str | None = None
    # The message whose button led to the current question: it, and any message
    # with a smaller id, was sent before the question and holds no live buttons.
    answered_from: str | None = None
    # The last long free-text answer, while more parts of it may come
    # (dialogs/intake/bursts.py): stage, time sent, text, editing flag.
    burst: Mapping[str, Any] | None = None
    # The summary message whose "edit" button was pressed: after the edit, that
    # message is updated in place instead of the whole sheet being posted again.
    sheet_message: str | None = None

    def with_answer(self, key: str, value: Any) -> State:
        return dataclasses.replace(self, answers={**self.answers, key: value})

    def with_draft(self, **values: Any) -> State:
        return dataclasses.replace(self, draft={**self.draft, **values})

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "stage": self.stage.value,
            "version": self.version,
            "locale": self.locale,
            "consented": self.consented,
            "answers": dict(self.answers),
            "draft": dict(self.draft),
            "editing": self.editing,
            "resume": self.resume.value if self.resume else None,
            "live_message": self.live_message,
            "answered_from": self.answered_from,
            "burst": dict(self.burst) if self.burst else None,
            "sheet_message": self.sheet_message,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> State:
        """Tolerant of unknown stages (after a downgrade): fall back to the summary
        or the start rather than failing the person's next message."""
        try:
            stage = Stage(data.get("stage", Stage.WELCOME.value))
        except ValueError:
            stage = Stage.SUMMARY if data.get("answers") else Stage.WELCOME
        resume_raw = data.get("resume")
        try:
            resume = Stage(resume_raw) if resume_raw else None
        except ValueError:
            resume = None
        return cls(
            stage=stage,
            version=int(data.get("version", 0)),
            locale=str(data.get("locale", "fr")),
            consented=bool(data.get("consented", False)),
            answers=dict(data.get("answers") or {}),
            draft=dict(data.get("draft") or {}),
            editing=bool(data.get("editing", False)),
            resume=resume,
            live_message=str(data["live_message"]) if data.get("live_message") else None,
            answered_from=str(data["answered_from"]) if data.get("answered_from") else None,
            burst=dict(data["burst"]) if isinstance(data.get("burst"), Mapping) else None,
            sheet_message=str(data["sheet_message"]) if data.get("sheet_message") else None,
        )
