"""Every stage's question in one table, and where /retour leads from each."""

from __future__ import annotations

from collections.abc import Mapping

from dialogs.intake.proposals import proposals_question
from dialogs.intake.steps import (
    answer_edit_pick,
    answer_help,
    answer_idle,
    answer_lieu_name,
    answer_place,
    answer_place_confirm,
    answer_place_pick,
    answer_problem,
    answer_reuse,
    answer_role,
    answer_summary,
    answer_urgency,
    answer_welcome,
    ask_edit_pick,
    ask_help,
    ask_idle,
    ask_lieu_name,
    ask_place,
    ask_place_confirm,
    ask_place_pick,
    ask_problem,
    ask_reuse,
    ask_role,
    ask_summary,
    ask_urgency,
    ask_welcome,
    cancelled,
    confirm_question,
    free_text_question,
    restarted,
    themes_question,
)
from dialogs.kernel.flow import FIELDS, ORDER, Question
from dialogs.kernel.state import Stage, State
from dialogs.privacy.steps import forgotten

QUESTIONS: Mapping[Stage, Question] = {
    q.stage: q
    for q in (
        Question(stage=Stage.WELCOME, ask=ask_welcome, answer=answer_welcome),
        Question(stage=Stage.REUSE_LIEU, ask=ask_reuse, answer=answer_reuse),
        Question(stage=Stage.LIEU_NAME, ask=ask_lieu_name, answer=answer_lieu_name),
        Question(stage=Stage.PLACE, ask=ask_place, answer=answer_place),
        Question(stage=Stage.PLACE_PICK, ask=ask_place_pick, answer=answer_place_pick),
        Question(stage=Stage.PLACE_CONFIRM, ask=ask_place_confirm, answer=answer_place_confirm),
        Question(stage=Stage.ROLE, ask=ask_role, answer=answer_role),
        themes_question(Stage.THEMES, "intake.themes.ask", then=Stage.THEMES),
        Question(stage=Stage.PROBLEM, ask=ask_problem, answer=answer_problem),
        themes_question(Stage.THEMES_CONFIRM, "intake.themes.inferred", then=Stage.PROBLEM),
        free_text_question("tried", Stage.TRIED, none_button=True),
        free_text_question("goal", Stage.GOAL),
        free_text_question("constraints", Stage.CONSTRAINTS, none_button=True),
        Question(stage=Stage.HELP, ask=ask_help, answer=answer_help),
        Question(stage=Stage.URGENCY, ask=ask_urgency, answer=answer_urgency),
        Question(stage=Stage.SUMMARY, ask=ask_summary, answer=answer_summary),
        Question(stage=Stage.EDIT_PICK, ask=ask_edit_pick, answer=answer_edit_pick),
        confirm_question(Stage.CONFIRM_CANCEL, "cancel.ask", cancelled),
        confirm_question(Stage.CONFIRM_RESTART, "restart.ask", restarted),
        confirm_question(Stage.CONFIRM_FORGET, "forget.ask", forgotten),
        proposals_question(),
        Question(stage=Stage.IDLE, ask=ask_idle, answer=answer_idle),
    )
}

_FIELD_STAGES = {stage for _, stage in FIELDS} | {
    Stage.PLACE_PICK,
    Stage.PLACE_CONFIRM,
    Stage.THEMES_CONFIRM,
}


def previous(state: State) -> Stage | None:
    """Where /retour leads from the current stage, derived from the flow order."""
    stage = state.stage
    if state.editing and stage in _FIELD_STAGES:
        return Stage.EDIT_PICK
    if stage in (Stage.PLACE_PICK, Stage.PLACE_CONFIRM):
        return Stage.PLACE
    if stage == Stage.THEMES_CONFIRM:
        return Stage.PROBLEM
    if stage == Stage.EDIT_PICK:
        return Stage.SUMMARY
    if stage in ORDER:
        index = ORDER.index(stage)
        return ORDER[index - 1] if index > 0 else None
    return None
