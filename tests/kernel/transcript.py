"""A pure driver for dialog tests: a person chatting with `step`, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from dialogs.intake.engine import Outcome, step
from dialogs.kernel.context import CaseSummary, Context
from dialogs.kernel.effects import Effect, SubmitCase
from dialogs.kernel.events import CaseCreated, Choice, Command, Event, Text
from dialogs.kernel.render import render_msg
from dialogs.kernel.replies import Button, Edit, Msg, Say
from dialogs.kernel.state import Stage, State

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def keys(outcome: Outcome) -> list[str]:
    """Every message key said or edited in an outcome, in order."""
    found: list[str] = []
    for reply in outcome.replies:
        if isinstance(reply, Say | Edit):
            found.extend(line.key for line in reply.lines)
    return found


@dataclass
class Transcript:
    ctx: Context = field(default_factory=lambda: Context(now=NOW, locale_hint="fr"))
    state: State | None = None
    effects: list[Effect] = field(default_factory=list)
    last: Outcome | None = None
    cases: int = 0

    def send(self, event: Event) -> Outcome:
        outcome = step(self.state, event, self.ctx)
        self.state = outcome.state
        self.effects.extend(outcome.effects)
        self.last = outcome
        for effect in outcome.effects:
            if isinstance(effect, SubmitCase):
                self.cases += 1
                ref = f"AIG-{self.cases:04d}"
                summary = CaseSummary(ref=ref, status="nouveau", created_at=NOW, lieu_name=None)
                self.ctx = replace(self.ctx, cases=(summary, *self.ctx.cases))
                fed = step(self.state, CaseCreated(ref=ref), self.ctx)
                self.state = fed.state
                self.last = Outcome(
                    state=fed.state,
                    replies=(*outcome.replies, *fed.replies),
                    effects=outcome.effects,
                    toast=outcome.toast,
                )
        return self.last

    def say(self, text: str) -> Outcome:
        return self.send(Text(text=text))

    def command(self, name: str, args: str = "") -> Outcome:
        return self.send(Command(name=name, args=args))

    def buttons(self) -> list[Button]:
        """Buttons of the latest message that has some."""
        assert self.last is not None
        for reply in reversed(self.last.replies):
            if isinstance(reply, Say | Edit) and reply.buttons:
                return [b for row in reply.buttons for b in row]
        return []

    def press(self, action: str) -> Outcome:
        matches = [b for b in self.buttons() if b.data.split(":", 1)[1] == action]
        assert matches, f"no button {action!r} in {[b.data for b in self.buttons()]}"
        return self.send(Choice(data=matches[0].data))

    @property
    def stage(self) -> Stage | None:
        return self.state.stage if self.state else None

    def said(self) -> list[str]:
        assert self.last is not None
        return keys(self.last)

    def text(self, locale: str = "fr") -> str:
        assert self.last is not None
        lines: list[Msg] = []
        for reply in self.last.replies:
            if isinstance(reply, Say | Edit):
                lines.extend(reply.lines)
        return "\n".join(render_msg(locale, line) for line in lines)


def full_intake(t: Transcript) -> Transcript:
    """Answer every question with sensible values, up to the summary."""
    t.say("bonjour")
    t.press("yes")
    t.say("La Fabrique du Coin")
    t.say("29200")
    t.press("yes")
    t.press("role:benevole")
    t.press("th:gestion")
    t.press("th:gouvernance")
    t.press("done")
    t.say("On galère avec nos adhésions, tout est dans un tableur que personne ne comprend.")
    t.press("none")
    t.say("Un outil simple que les bénévoles savent utiliser.")
    t.say("Pas de budget, peu de temps")
    t.press("hp:decouvrir")
    t.press("done")
    t.press("ur:mois")
    return t
