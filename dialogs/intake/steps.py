"""The intake questions, from consent to the summary (see docs/architecture.md
for the flow). Answers are stored as ids where a closed list exists (themes,
help, urgency) so that the sheet reads well in every language and statistics
stay countable."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from dialogs.catalog.matching import infer_themes
from dialogs.geo.places import (
    Ambiguous,
    Found,
    InRegion,
    NotFound,
    Place,
    UnknownPostalCode,
    departement,
    lookup_place,
    place_from_location,
)
from dialogs.intake.sheet import current_answer, place_label, place_to_json, sheet_lines
from dialogs.kernel.context import Context
from dialogs.kernel.effects import AddCaseMessage, RecordConsent, SubmitCase
from dialogs.kernel.events import Location, Text
from dialogs.kernel.flow import (
    FIELDS,
    LIEU_FIELDS,
    Input,
    Leave,
    Next,
    Picked,
    Prompt,
    Question,
    Redraw,
    Result,
    Retry,
    accepted,
    after,
    button,
    clean_text,
    is_no,
    is_yes,
    options_in,
    read_text,
)
from dialogs.kernel.i18n import words
from dialogs.kernel.options import HELP_KINDS, ROLES, THEMES, URGENCIES
from dialogs.kernel.replies import Button, Msg, msg
from dialogs.kernel.state import Stage, State
from dialogs.kernel.textnorm import fold


def ask_welcome(state: State, ctx: Context) -> Prompt:
    return Prompt(
        # The number said is the number asked: one question per field of the sheet.
        lines=(msg("welcome.body", count=len(FIELDS)), msg("welcome.consent")),
        buttons=(
            (button(state, "yes", msg("consent.accept")),),
            (button(state, "no", msg("consent.refuse")),),
        ),
    )


def answer_welcome(state: State, inp: Input, ctx: Context) -> Result:
    agree = (isinstance(inp, Picked) and inp.action == "yes") or (
        isinstance(inp, Text) and is_yes(inp.text)
    )
    refuse = (isinstance(inp, Picked) and inp.action == "no") or (
        isinstance(inp, Text) and is_no(inp.text)
    )
    if agree:
        return Next(
            state=dataclasses.replace(state, consented=True),
            to=Stage.LIEU_NAME,
            effects=(RecordConsent(locale=state.locale),),
            before=(msg("consent.thanks"),),
        )
    if refuse:
        return Leave(farewell=msg("consent.refused"))
    return Retry(reason=msg("consent.use_buttons"))


def ask_reuse(state: State, ctx: Context) -> Prompt:
    lieu = state.draft.get("lieu") or {}
    return Prompt(
        lines=(
            msg(
                "reuse.ask",
                lieu=str(lieu.get("lieu_name", "")),
                place=place_label(lieu.get("place") or {}),
            ),
        ),
        buttons=(
            (button(state, "yes", msg("reuse.same")),),
            (button(state, "no", msg("reuse.other")),),
        ),
    )


def answer_reuse(state: State, inp: Input, ctx: Context) -> Result:
    yes = (isinstance(inp, Picked) and inp.action == "yes") or (
        isinstance(inp, Text) and is_yes(inp.text)
    )
    no = (isinstance(inp, Picked) and inp.action == "no") or (
        isinstance(inp, Text) and is_no(inp.text)
    )
    if yes:
        lieu = state.draft.get("lieu") or {}
        answers = {k: lieu[k] for k in LIEU_FIELDS if k in lieu}
        return Next(state=dataclasses.replace(state, answers=answers, draft={}), to=Stage.THEMES)
    if no:
        return Next(state=dataclasses.replace(state, answers={}, draft={}), to=Stage.LIEU_NAME)
    return Retry(reason=msg("input.use_buttons"))


def ask_lieu_name(state: State, ctx: Context) -> Prompt:
    return Prompt(lines=(*current_answer(state, "lieu_name"), msg("intake.lieu_name.ask")))


def answer_lieu_name(state: State, inp: Input, ctx: Context) -> Result:
    text = read_text(inp, "lieu_name")
    if isinstance(text, Retry):
        return text
    return Next(state=accepted(state, "lieu_name", text), to=after(state, Stage.LIEU_NAME))


def ask_place(state: State, ctx: Context) -> Prompt:
    return Prompt(lines=(*current_answer(state, "place"), msg("intake.place.ask")))


def found_place(state: State, place: Place) -> Result:
    return Next(state=state.with_draft(place=place_to_json(place)), to=Stage.PLACE_CONFIRM)


def answer_place(state: State, inp: Input, ctx: Context) -> Result:
    if isinstance(inp, Location):
        place = place_from_location(inp.lat, inp.lon)
        if place is None:
            return Retry(reason=msg("place.location_outside"))
        return found_place(state, place)
    text = read_text(inp, "place")
    if isinstance(text, Retry):
        return text
    match lookup_place(text):
        case Found(place=place):
            return found_place(state, place)
        case Ambiguous(places=places):
            candidates = [place_to_json(p) for p in places]
            in_region = state.draft.get("region")
            if in_region:
                # Typed after naming a région: its homonyms are the ones meant.
                local = [c for c in candidates if c["region"] == in_region]
                if len(local) == 1:
                    return found_place(state, places[candidates.index(local[0])])
            return Next(
                state=dataclasses.replace(state, draft={"candidates": candidates}),
                to=Stage.PLACE_PICK,
            )
        case InRegion(region=region, places=places):
            # The région is recorded at once; the département is still needed.
            candidates = [place_to_json(p) for p in places]
            named = dataclasses.replace(
                state.with_answer("region", region),
                draft={"region": region, "candidates": candidates},
            )
            return Next(state=named, to=Stage.PLACE_PICK)
        case UnknownPostalCode(code=code):
            return Retry(reason=msg("place.unknown_postal_code", code=code))
        case NotFound():
            return Retry(reason=msg("place.not_found", text=text[:60]))
    return Retry(reason=msg("place.not_found", text=text[:60]))


def ask_place_pick(state: State, ctx: Context) -> Prompt:
    candidates = state.draft.get("candidates") or []
    region = state.draft.get("region")
    if region:
        # A région: its départements, two a row (Occitanie has thirteen).
        labels = [
            button(
                state,
                f"pick:{i}",
                msg("place.departement", dep_code=c["departement"], dep_name=departement_name(c)),
            )
            for i, c in enumerate(candidates)
        ]
        rows = tuple(tuple(labels[n : n + 2]) for n in range(0, len(labels), 2))
        return Prompt(
            lines=(msg("place.region.ask", region=Msg(key=f"region.{region}")),), buttons=rows
        )
    rows = tuple((button(state, f"pick:{i}", place_label(c)),) for i, c in enumerate(candidates))
    return Prompt(lines=(msg("place.pick.ask"),), buttons=rows)


def departement_name(place: Mapping[str, Any]) -> str:
    dep = departement(str(place.get("departement", "")))
    return dep.name if dep else str(place.get("departement", ""))


def answer_place_pick(state: State, inp: Input, ctx: Context) -> Result:
    candidates = state.draft.get("candidates") or []
    if isinstance(inp, Picked) and inp.action.startswith("pick:"):
        index = inp.action.removeprefix("pick:")
        if index.isdigit() and int(index) < len(candidates):
            # Chosen from the list: no need to ask "is that right?" again.
            place = dict(candidates[int(index)])
            chosen = accepted(state, "place", place).with_answer("region", place.get("region"))
            return Next(state=chosen, to=after(state, Stage.PLACE))
        return Retry(reason=msg("input.use_buttons"))
    # Typing again (a postal code, "Saint-Denis 93") is a fresh lookup.
    return answer_place(state, inp, ctx)


def ask_place_confirm(state: State, ctx: Context) -> Prompt:
    place = state.draft.get("place") or {}
    return Prompt(
        lines=(msg("place.confirm.ask", place=place_label(place)),),
        buttons=(
            (button(state, "yes", msg("answer.yes_right")),),
            (button(state, "no", msg("place.confirm.fix")),),
        ),
    )


def answer_place_confirm(state: State, inp: Input, ctx: Context) -> Result:
    yes = (isinstance(inp, Picked) and inp.action == "yes") or (
        isinstance(inp, Text) and is_yes(inp.text)
    )
    no = (isinstance(inp, Picked) and inp.action == "no") or (
        isinstance(inp, Text) and is_no(inp.text)
    )
    if yes:
        place = dict(state.draft.get("place") or {})
        confirmed = accepted(state, "place", place).with_answer("region", place.get("region"))
        return Next(state=dataclasses.replace(confirmed, draft={}), to=after(state, Stage.PLACE))
    if no:
        return Next(state=dataclasses.replace(state, draft={}), to=Stage.PLACE)
    if isinstance(inp, Text | Location):
        return answer_place(state, inp, ctx)
    return Retry(reason=msg("input.use_buttons"))


def ask_role(state: State, ctx: Context) -> Prompt:
    rows = tuple((button(state, f"role:{r}", msg(f"role.{r}")),) for r in ROLES)
    return Prompt(lines=(*current_answer(state, "role"), msg("intake.role.ask")), buttons=rows)


def answer_role(state: State, inp: Input, ctx: Context) -> Result:
    if isinstance(inp, Picked):
        role = inp.action.removeprefix("role:")
        if role in ROLES:
            return Next(state=accepted(state, "role", role), to=after(state, Stage.ROLE))
        return Retry(reason=msg("input.use_buttons"))
    text = read_text(inp, "role")
    if isinstance(text, Retry):
        return text
    known = [r for r in ROLES if fold(text) in words(f"words.role.{r}")]
    value = known[0] if known else text
    return Next(state=accepted(state, "role", value), to=after(state, Stage.ROLE))


def toggle_rows(
    state: State, ids: tuple[str, ...], prefix: str, selected: list[str], per_row: int
) -> list[tuple[Button, ...]]:
    labels = [
        button(
            state,
            f"{prefix}:{i}",
            msg("toggle.on", label=msg(f"{prefix_key(prefix)}.{i}"))
            if i in selected
            else msg(f"{prefix_key(prefix)}.{i}"),
        )
        for i in ids
    ]
    return [tuple(labels[n : n + per_row]) for n in range(0, len(labels), per_row)]


def prefix_key(prefix: str) -> str:
    return {"th": "theme", "hp": "help"}[prefix]


def themes_question(stage: Stage, ask_key: str, then: Stage) -> Question:
    """Themes by toggles (or typed). The same question serves the confirmation of
    inferred themes, which starts with them ticked and leads on from the problem."""

    def selection(state: State) -> list[str]:
        return list(state.draft.get("themes", state.answers.get("themes") or []))

    def ask(state: State, ctx: Context) -> Prompt:
        selected = selection(state)
        rows = toggle_rows(state, THEMES, "th", selected, per_row=2)
        rows.append((button(state, "th:unknown", msg("theme.unknown")),))
        rows.append((button(state, "done", msg("toggle.done", count=len(selected))),))
        header: tuple[Msg, ...] = (
            (msg(ask_key, themes=tuple(msg(f"theme.{t}") for t in selected)),)
            if stage == Stage.THEMES_CONFIRM
            else (*current_answer(state, "themes"), msg(ask_key))
        )
        return Prompt(lines=header, buttons=tuple(rows))

    def answer(state: State, inp: Input, ctx: Context) -> Result:
        selected = selection(state)
        if isinstance(inp, Picked):
            if inp.action == "th:unknown":
                return Next(state=accepted(state, "themes", []), to=after(state, then))
            if inp.action == "done":
                if not selected:
                    return Retry(reason=msg("intake.themes.none_selected"))
                ordered = [t for t in THEMES if t in selected]
                return Next(
                    state=accepted(state, "themes", ordered),
                    to=after(state, then),
                    shown=tuple(msg(f"theme.{t}") for t in ordered),
                )
            theme = inp.action.removeprefix("th:")
            if theme not in THEMES:
                return Retry(reason=msg("input.use_buttons"))
            toggled = (
                [t for t in selected if t != theme] if theme in selected else [*selected, theme]
            )
            return Redraw(state=state.with_draft(themes=toggled))
        if not isinstance(inp, Text) or not clean_text(inp.text):
            return Retry(reason=msg("intake.themes.retry"))
        if fold(inp.text) in words("words.unknown"):
            return Next(state=accepted(state, "themes", []), to=after(state, then))
        if stage == Stage.THEMES_CONFIRM and is_yes(inp.text) and selected:
            ordered = [t for t in THEMES if t in selected]
            return Next(state=accepted(state, "themes", ordered), to=after(state, then))
        typed = options_in(inp.text, THEMES, "theme")
        if not typed:
            return Retry(reason=msg("intake.themes.retry"))
        return Next(state=accepted(state, "themes", typed), to=after(state, then))

    return Question(stage=stage, ask=ask, answer=answer)


def answer_problem(state: State, inp: Input, ctx: Context) -> Result:
    """With no theme chosen, the problem text suggests some, for the person to confirm."""
    text = read_text(inp, "problem")
    if isinstance(text, Retry):
        return text
    answered = accepted(state, "problem", text)
    if not state.answers.get("themes"):
        inferred = [t for t in THEMES if t in infer_themes(text)]
        if inferred:
            return Next(state=answered.with_draft(themes=inferred), to=Stage.THEMES_CONFIRM)
    return Next(state=answered, to=after(state, Stage.PROBLEM))


def ask_problem(state: State, ctx: Context) -> Prompt:
    return Prompt(lines=(*current_answer(state, "problem"), msg("intake.problem.ask")))


def free_text_question(field: str, stage: Stage, none_button: bool = False) -> Question:
    """A question answered in the person's own words, optionally with a
    "nothing to say" button (stored as None, shown as `<field>.none`)."""

    def ask(state: State, ctx: Context) -> Prompt:
        buttons = ((button(state, "none", msg(f"{field}.none")),),) if none_button else ()
        return Prompt(
            lines=(*current_answer(state, field), msg(f"intake.{field}.ask")), buttons=buttons
        )

    def answer(state: State, inp: Input, ctx: Context) -> Result:
        if none_button and (
            (isinstance(inp, Picked) and inp.action == "none")
            or (isinstance(inp, Text) and fold(inp.text) in words(f"words.{field}.none"))
        ):
            return Next(state=accepted(state, field, None), to=after(state, stage))
        if isinstance(inp, Picked):
            return Retry(reason=msg("input.use_text"))
        text = read_text(inp, field)
        if isinstance(text, Retry):
            return text
        return Next(state=accepted(state, field, text), to=after(state, stage))

    return Question(stage=stage, ask=ask, answer=answer)


def ask_help(state: State, ctx: Context) -> Prompt:
    selected = list(state.draft.get("help", state.answers.get("help") or []))
    rows = toggle_rows(state, HELP_KINDS, "hp", selected, per_row=1)
    rows.append((button(state, "done", msg("toggle.done", count=len(selected))),))
    return Prompt(
        lines=(*current_answer(state, "help"), msg("intake.help.ask")), buttons=tuple(rows)
    )


def answer_help(state: State, inp: Input, ctx: Context) -> Result:
    selected = list(state.draft.get("help", state.answers.get("help") or []))
    if isinstance(inp, Picked):
        if inp.action == "done":
            if not selected:
                return Retry(reason=msg("intake.help.none_selected"))
            ordered = [h for h in HELP_KINDS if h in selected]
            return Next(
                state=accepted(state, "help", ordered),
                to=after(state, Stage.HELP),
                shown=tuple(msg(f"help.{h}") for h in ordered),
            )
        kind = inp.action.removeprefix("hp:")
        if kind not in HELP_KINDS:
            return Retry(reason=msg("input.use_buttons"))
        toggled = [h for h in selected if h != kind] if kind in selected else [*selected, kind]
        return Redraw(state=state.with_draft(help=toggled))
    if not isinstance(inp, Text):
        return Retry(reason=msg("intake.help.retry"))
    typed = options_in(inp.text, HELP_KINDS, "help")
    if not typed:
        return Retry(reason=msg("intake.help.retry"))
    return Next(state=accepted(state, "help", typed), to=after(state, Stage.HELP))


def ask_urgency(state: State, ctx: Context) -> Prompt:
    rows = tuple((button(state, f"ur:{u}", msg(f"urgency.{u}")),) for u in URGENCIES)
    return Prompt(
        lines=(*current_answer(state, "urgency"), msg("intake.urgency.ask")), buttons=rows
    )


def answer_urgency(state: State, inp: Input, ctx: Context) -> Result:
    if isinstance(inp, Picked):
        urgency = inp.action.removeprefix("ur:")
        if urgency in URGENCIES:
            return Next(state=accepted(state, "urgency", urgency), to=after(state, Stage.URGENCY))
        return Retry(reason=msg("input.use_buttons"))
    if isinstance(inp, Text):
        # Longest phrases first: "pas urgent" must win over "urgent".
        typed = sorted(
            (
                (len(w), u)
                for u in URGENCIES
                for w in words(f"words.urgency.{u}")
                if f" {w} " in f" {fold(inp.text)} "
            ),
            reverse=True,
        )
        if typed:
            urgency = typed[0][1]
            return Next(state=accepted(state, "urgency", urgency), to=after(state, Stage.URGENCY))
    return Retry(reason=msg("intake.urgency.retry"))


def ask_summary(state: State, ctx: Context) -> Prompt:
    return Prompt(
        lines=(msg("summary.title"), *sheet_lines(state.answers), msg("summary.ask")),
        buttons=(
            (button(state, "confirm", msg("summary.confirm")),),
            (button(state, "edit", msg("summary.edit")),),
        ),
    )


def missing_fields(answers: Mapping[str, Any]) -> list[str]:
    return [field for field, _ in FIELDS if field not in answers]


def answer_summary(state: State, inp: Input, ctx: Context) -> Result:
    confirm = (isinstance(inp, Picked) and inp.action == "confirm") or (
        isinstance(inp, Text) and is_yes(inp.text)
    )
    edit = (isinstance(inp, Picked) and inp.action == "edit") or (
        isinstance(inp, Text) and fold(inp.text) in words("words.edit")
    )
    if confirm:
        missing = missing_fields(state.answers)
        if missing:
            first = dict(FIELDS)[missing[0]]
            return Next(
                state=dataclasses.replace(state, editing=True),
                to=first,
                before=(msg("summary.missing"),),
            )
        return Next(
            state=dataclasses.replace(state, editing=False),
            to=Stage.IDLE,
            effects=(SubmitCase(sheet=dict(state.answers), locale=state.locale),),
        )
    if edit:
        if isinstance(inp, Picked) and inp.message:
            # This message shows the sheet: it is updated after the edit.
            state = dataclasses.replace(state, sheet_message=inp.message)
        return Next(state=state, to=Stage.EDIT_PICK)
    return Retry(reason=msg("summary.use_buttons"))


def ask_edit_pick(state: State, ctx: Context) -> Prompt:
    buttons = [button(state, f"f:{field}", msg(f"field.{field}")) for field, _ in FIELDS]
    rows = [tuple(buttons[n : n + 2]) for n in range(0, len(buttons), 2)]
    rows.append((button(state, "back", msg("edit.back")),))
    return Prompt(lines=(msg("edit.ask"),), buttons=tuple(rows))


def answer_edit_pick(state: State, inp: Input, ctx: Context) -> Result:
    stages = dict(FIELDS)
    if isinstance(inp, Picked):
        if inp.action == "back":
            return Next(state=state, to=Stage.SUMMARY)
        field = inp.action.removeprefix("f:")
        if field in stages:
            return Next(state=dataclasses.replace(state, editing=True), to=stages[field])
        return Retry(reason=msg("input.use_buttons"))
    if isinstance(inp, Text):
        typed = [f for f, _ in FIELDS if fold(inp.text) in words(f"words.field.{f}")]
        if typed:
            return Next(state=dataclasses.replace(state, editing=True), to=stages[typed[0]])
    return Retry(reason=msg("input.use_buttons"))


def confirm_question(stage: Stage, ask_key: str, done: Callable[[State], Result]) -> Question:
    """/annuler and /recommencer ask before throwing answers away."""

    def ask(state: State, ctx: Context) -> Prompt:
        return Prompt(
            lines=(msg(ask_key),),
            buttons=(
                (button(state, "yes", msg(f"{ask_key}.yes")),),
                (button(state, "no", msg(f"{ask_key}.no")),),
            ),
        )

    def answer(state: State, inp: Input, ctx: Context) -> Result:
        yes = (isinstance(inp, Picked) and inp.action == "yes") or (
            isinstance(inp, Text) and is_yes(inp.text)
        )
        no = (isinstance(inp, Picked) and inp.action == "no") or (
            isinstance(inp, Text) and is_no(inp.text)
        )
        if yes:
            return done(state)
        if no:
            back = state.resume or Stage.LIEU_NAME
            return Next(
                state=dataclasses.replace(state, resume=None),
                to=back,
                before=(msg("confirm.kept"),),
            )
        return Retry(reason=msg("input.use_buttons"))

    return Question(stage=stage, ask=ask, answer=answer)


def cancelled(state: State) -> Result:
    cleared = dataclasses.replace(state, answers={}, draft={}, editing=False, resume=None)
    return Next(state=cleared, to=Stage.IDLE, before=(msg("cancel.done"),))


def restarted(state: State) -> Result:
    cleared = dataclasses.replace(state, answers={}, draft={}, editing=False, resume=None)
    return Next(state=cleared, to=Stage.LIEU_NAME, before=(msg("restart.done"),))


def ask_idle(state: State, ctx: Context) -> Prompt:
    if ctx.cases:
        return Prompt(lines=(msg("idle.with_case", ref=ctx.cases[0].ref),))
    return Prompt(lines=(msg("idle.no_case"),))


def answer_idle(state: State, inp: Input, ctx: Context) -> Result:
    """Between requests, what the person writes is kept on their latest case so
    that nothing typed is lost; the team reads it on the case's timeline."""
    if not ctx.cases:
        return Retry(reason=msg("idle.hint"))
    text = read_text(inp, "message")
    if isinstance(text, Retry):
        return text
    ref = ctx.cases[0].ref
    return Next(
        state=state,
        to=Stage.IDLE,
        effects=(AddCaseMessage(ref=ref, text=text),),
        before=(msg("idle.added", ref=ref),),
    )
