"""The runtime loads a person's cases only when a step looks at them
(bot/runtime/lazy_context.py). That is only sound if a step run with placeholders
either says it needs the cases or gives exactly what it gives with them: the
engine is walked through random and guided scripts, and at every step both
runs are compared."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.runtime.lazy_context import step_unless_cases_needed, with_placeholders
from dialogs.intake.engine import step
from dialogs.kernel.context import CaseSummary, Context
from dialogs.kernel.effects import SubmitCase
from dialogs.kernel.events import CaseCreated, Choice, Command, Event, Text
from dialogs.kernel.replies import Button
from dialogs.kernel.state import Stage, State
from tests.intake.test_engine_properties import (
    NOW,
    Action,
    actions,
    buttons_of,
    event_of,
    guided_scripts,
)

EARLIER = CaseSummary(ref="AIG-0007", status="en_attente", created_at=NOW, lieu_name="La Friche")
EARLIER_LIEU = {"lieu_name": "La Friche", "role": "benevole"}


def same_or_needed(state: State | None, event: Event, ctx: Context) -> tuple[object, bool]:
    """The eager outcome, and whether the lazy run asked for the cases."""
    eager = step(state, event, ctx)
    lazy = step_unless_cases_needed(state, event, with_placeholders(ctx))
    assert lazy is None or lazy == eager, (state, event)
    return eager, lazy is None


def walk(script: list[Action], ctx: Context) -> int:
    """Like tests/intake/test_engine_properties.run_sequence, comparing the
    lazy and eager steps; returns how many steps needed the cases."""
    state: State | None = None
    latest: list[Button] = []
    seen: list[Button] = []
    needed = 0
    for action in script:
        event = event_of(action, state, latest, seen)
        if event is None:
            continue
        outcome, asked = same_or_needed(state, event, ctx)
        needed += asked
        state, replies = outcome.state, outcome.replies  # type: ignore[attr-defined]
        if any(isinstance(e, SubmitCase) for e in outcome.effects):  # type: ignore[attr-defined]
            # The runtime loads the cases before any effect: the fed-back step
            # gets the eager context, as before.
            fed = step(state, CaseCreated(ref="AIG-0008"), ctx)
            state, replies = fed.state, (*replies, *fed.replies)
            summary = replace(EARLIER, ref="AIG-0008", status="nouveau")
            ctx = replace(ctx, cases=(summary, *ctx.cases), last_lieu=EARLIER_LIEU)
        pressed = buttons_of(replies)
        if pressed:
            latest = pressed
            seen.extend(pressed)
    return needed


contexts = st.sampled_from(
    [
        Context(now=NOW, locale_hint="fr"),
        Context(now=NOW, locale_hint="fr", cases=(EARLIER,), last_lieu=EARLIER_LIEU),
    ]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=st.lists(actions, min_size=1, max_size=30), ctx=contexts)
def test_random_scripts_give_the_same_outcomes(script: list[Action], ctx: Context) -> None:
    walk(script, ctx)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script=guided_scripts(), ctx=contexts)
def test_guided_walks_give_the_same_outcomes(script: list[Action], ctx: Context) -> None:
    walk([Text(text="bonjour"), *script], ctx)


def test_only_the_steps_that_read_cases_ask_for_them() -> None:
    """Not vacuous: /statut and /nouveau do ask; an answer mid-intake does not."""
    ctx = Context(now=NOW, locale_hint="fr", cases=(EARLIER,), last_lieu=EARLIER_LIEU)
    idle = State(locale="fr", stage=Stage.IDLE, consented=True)
    for name in ("statut", "nouveau"):
        _, asked = same_or_needed(idle, Command(name=name), ctx)
        assert asked, name
    started = step(None, Text(text="bonjour"), ctx).state
    at_name = step(started, Choice(data=f"{started.version}:yes"), ctx).state  # type: ignore[union-attr]
    assert at_name is not None and at_name.stage == Stage.LIEU_NAME
    _, asked = same_or_needed(at_name, Text(text="La Fabrique"), ctx)
    assert not asked
