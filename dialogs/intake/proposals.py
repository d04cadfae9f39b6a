"""After a case is confirmed: what the matching engine proposes, and the person's
choices. Resources can be marked as interesting (stored on the case at once),
more can be shown, and the person can ask to be put in touch with an aiguilleur.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from dialogs.intake.steps import answer_idle
from dialogs.kernel.context import Context
from dialogs.kernel.effects import RecordInterest, RequestContact
from dialogs.kernel.events import CaseCreated, Suggestion
from dialogs.kernel.flow import Input, Next, Picked, Prompt, Question, Redraw, Result, Retry, button
from dialogs.kernel.replies import Button, Msg, msg, msg_from_json, msg_to_json
from dialogs.kernel.state import Stage, State

PAGE = 3
# The kind of help meaning "put me in touch with an aiguilleur" (dialogs/kernel/options.py).
CONTACT_HELP = "relation"


def suggestion_json(item: Suggestion) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "url": item.url,
        "summary": item.summary,
        "summary_en": item.summary_en,
        "why": [msg_to_json(w) for w in item.why],
    }


def proposals_draft(event: CaseCreated, contact_asked: bool = False) -> dict[str, Any]:
    """`contact`: "asked" (already requested with the sheet), "offer" (a button
    to ask) or "none" (nobody could be reached: not offered)."""
    possible = "offer" if event.contact_possible else "none"
    contact = "asked" if contact_asked else possible
    return {
        "ref": event.ref,
        "resources": [suggestion_json(r) for r in event.resources],
        "aiguilleurs": [suggestion_json(a) for a in event.aiguilleurs],
        "shown": min(PAGE, len(event.resources)),
        "liked": [],
        "contact": contact,
    }


def reasons(item: dict[str, Any]) -> tuple[Msg, ...]:
    return tuple(msg_from_json(w) for w in item.get("why") or ())


def summary_in(locale: str, item: dict[str, Any]) -> str | Msg:
    """The summary in the conversation's language; in French, said so, when the
    resource has none in English."""
    if locale == "fr":
        return str(item.get("summary") or "")
    if item.get("summary_en"):
        return str(item["summary_en"])
    return msg("proposals.summary_in_french", summary=str(item.get("summary") or ""))


def ask_proposals(state: State, ctx: Context) -> Prompt:
    draft = state.draft
    resources: list[dict[str, Any]] = list(draft.get("resources") or [])
    people: list[dict[str, Any]] = list(draft.get("aiguilleurs") or [])
    shown = int(draft.get("shown") or 0)
    liked = set(draft.get("liked") or [])
    offer_contact = draft.get("contact", "offer") == "offer"
    lines: list[Msg] = []
    if resources:
        lines.append(msg("proposals.title"))
    for number, item in enumerate(resources[:shown], start=1):
        lines.append(
            msg(
                "proposals.resource",
                n=number,
                name=item["name"],
                summary=summary_in(state.locale, item),
                url=item["url"],
                why=reasons(item),
            )
        )
    if people:
        lines.append(msg("proposals.people"))
        lines.extend(msg("proposals.person", name=p["name"], why=reasons(p)) for p in people)
    if offer_contact:
        lines.append(msg("proposals.ask"))
    elif resources:
        lines.append(msg("proposals.ask.keep"))
    rows: list[tuple[Button, ...]] = [
        (
            button(
                state,
                f"like:{index}",
                msg("toggle.on", label=item["name"])
                if item["id"] in liked
                else msg("proposals.like", name=item["name"]),
            ),
        )
        for index, item in enumerate(resources[:shown])
    ]
    if shown < len(resources):
        rows.append((button(state, "more", msg("proposals.more")),))
    if offer_contact:
        rows.append((button(state, "contact", msg("proposals.contact")),))
    rows.append((button(state, "done", msg("proposals.finish")),))
    return Prompt(lines=tuple(lines), buttons=tuple(rows))


def answer_proposals(state: State, inp: Input, ctx: Context) -> Result:
    draft = state.draft
    ref = str(draft.get("ref", ""))
    resources: list[dict[str, Any]] = list(draft.get("resources") or [])
    shown = int(draft.get("shown") or 0)
    if not isinstance(inp, Picked):
        # Writing instead of pressing: the message is kept on the case, as when idle.
        return answer_idle(dataclasses.replace(state, draft={}), inp, ctx)
    action = inp.action
    if action.startswith("like:") and action[5:].isdigit() and int(action[5:]) < shown:
        resource_id = resources[int(action[5:])]["id"]
        liked = list(draft.get("liked") or [])
        interested = resource_id not in liked
        liked = [*liked, resource_id] if interested else [i for i in liked if i != resource_id]
        return Redraw(
            state=state.with_draft(liked=liked),
            effects=(RecordInterest(ref=ref, resource_id=resource_id, interested=interested),),
        )
    if action == "more" and shown < len(resources):
        return Redraw(state=state.with_draft(shown=min(len(resources), shown + PAGE)))
    done = dataclasses.replace(state, draft={})
    if action == "contact" and draft.get("contact", "offer") == "offer":
        # What the person is told depends on where the request goes: the runtime
        # answers with `ContactRouted` (dialogs/intake/engine.py).
        return Next(state=done, to=Stage.IDLE, effects=(RequestContact(ref=ref),))
    if action == "done":
        return Next(state=done, to=Stage.IDLE, before=(msg("proposals.done", ref=ref),))
    return Retry(reason=msg("input.use_buttons"))


def proposals_question() -> Question:
    return Question(stage=Stage.PROPOSALS, ask=ask_proposals, answer=answer_proposals)
