"""The person's cases in the dialog `Context`, read from the database only when
a step looks at them.

Most updates are answers in the middle of an intake, and no step there reads
`ctx.cases` or `ctx.last_lieu` (only /statut, /nouveau, the idle prompt and
follow-up answers do). Loading them for every update was one query in five.
The runtime hands the engine placeholders instead: any use of one (truth
value, length, iteration, indexing, lookup) raises `CasesNeeded`; the runtime
then loads the cases and runs the step again. `step` is a pure function of
(state, event, context), so the second run is the one an eager context would
have given, and the first left nothing behind.

Effects change the cases (a new case, a request for contact), so the runtime
loads them before executing any effect while the placeholders are still in
place: a step fed back by an effect sees the cases as they were before, as it
always did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NoReturn

from dialogs.intake.engine import Outcome, step
from dialogs.kernel.context import CaseSummary, Context
from dialogs.kernel.events import Event
from dialogs.kernel.state import State


class CasesNeeded(BaseException):
    """A step looked at the cases. A BaseException, so that no `except
    Exception` on the way can mistake it for a bug and answer with it."""


def _needed(*_: object, **__: object) -> NoReturn:
    raise CasesNeeded


class _UnloadedCases(tuple[CaseSummary, ...]):
    __slots__ = ()
    __bool__ = __len__ = __iter__ = __reversed__ = __getitem__ = __contains__ = _needed
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __add__ = __mul__ = _needed
    __hash__ = _needed
    count = index = _needed

    def __repr__(self) -> str:
        return "<cases not loaded>"


class _UnloadedLieu(Mapping[str, Any]):
    __slots__ = ()
    __bool__ = __len__ = __iter__ = __getitem__ = __contains__ = __eq__ = __ne__ = _needed
    __hash__ = _needed
    keys = items = values = get = _needed

    def __repr__(self) -> str:
        return "<last lieu not loaded>"


UNLOADED_CASES: tuple[CaseSummary, ...] = _UnloadedCases()
UNLOADED_LIEU: Mapping[str, Any] = _UnloadedLieu()


def with_placeholders(ctx: Context) -> Context:
    """`ctx` with the person's cases not loaded yet."""
    return replace(ctx, cases=UNLOADED_CASES, last_lieu=UNLOADED_LIEU)


def cases_unloaded(ctx: Context) -> bool:
    return ctx.cases is UNLOADED_CASES


def step_unless_cases_needed(state: State | None, event: Event, ctx: Context) -> Outcome | None:
    """The step's outcome, or None if it looked at cases the context lacks."""
    try:
        return step(state, event, ctx)
    except CasesNeeded:
        return None
