"""Every declared coordination command, typed by a coordinator, an aiguilleur and
a stranger on Telegram: each gets an answer, never an error; the roles the
grammar declares are the ones refused; every command is in the log."""

from __future__ import annotations

import pytest

from dialogs.coordination.access import Role, allowed
from dialogs.coordination.grammar import ALL_SPECS, Arg, Spec
from tests.coordination.support import Desk, command_log, make_case, say

# A well-formed value per argument kind (the case and aiguilleur exist in `desk`).
EXAMPLES = {
    Arg.REF: "AIG-0001",
    Arg.SLUG: "camille-durand",
    Arg.IDENT: "@nouvelle:example.org",
    Arg.NUMBER: "1",
    Arg.DURATION: "1h30",
    Arg.FUNDING: "subvention",
    Arg.FILTERS: "",
    Arg.PERIOD: "",
    Arg.REGIONS: "",
    Arg.NAME: "Nina Nouvelle",
    Arg.TEXT: "Bonjour à toutes et à tous",
    Arg.REASON: "",
}
TYPED = [spec for spec in ALL_SPECS.values() if spec.args or spec.bare or not spec.subs]


def typed(spec: Spec) -> str:
    words = [spec.words]
    for arg in spec.args:
        value = "7j" if spec.name == "relances.reporter" and arg == Arg.DURATION else EXAMPLES[arg]
        words.append(value)
    return "/" + " ".join(w for w in words if w)


@pytest.mark.parametrize("spec", TYPED, ids=lambda spec: spec.name)
async def test_each_role_gets_an_answer_and_only_its_own_commands(desk: Desk, spec: Spec) -> None:
    await make_case(desk.db, {})
    text = typed(spec)
    for user, role in (
        (desk.stranger, Role.ANYONE),
        (desk.aiguilleur, Role.AIGUILLEUR),
        (desk.coordinator, Role.COORDINATOR),
    ):
        answer = await say(user, text)
        assert answer.strip(), f"{role} got an empty answer to {text}"
        refused = "réservée aux" in answer
        assert refused != allowed(spec, role), f"{role}: {text} → {answer[:120]}"
        assert "n'a pas pu aboutir" not in answer, f"{role}: {text} failed: {answer[:120]}"
        if spec.bare:
            # A form started: leave it, so the next person's turn starts clean.
            await say(user, "/annuler")
    logged = [(role, name, outcome) for role, name, outcome in await command_log(desk.db)]
    assert {name for _, name, _ in logged} == {spec.name}
    assert all(outcome != "error" for _, _, outcome in logged)
    assert {role for role, _, _ in logged} == {"anyone", "aiguilleur", "coordinator"}
