"""Every declared coordination command, typed by a coordinator, an aiguilleur and
a stranger on Telegram: each gets an answer, never an error; the roles the
grammar declares are the ones refused; every command is in the log."""

from __future__ import annotations

from typing import Any

import pytest

from dialogs.coordination.commands import (
    ALL_SPECS,
    DAYS,
    DURATION,
    FILTERS,
    FUNDING,
    PERIOD,
    REGIONS,
)
from dialogs.kernel.commands import (
    IDENT,
    NAME,
    NUMBER,
    REASON,
    REF,
    SLUG,
    TEXT,
    Arg,
    Role,
    Spec,
    allowed,
)
from tests.coordination.support import Desk, command_log, make_case, say

# A well-formed value per argument kind (the case and aiguilleur exist in `desk`).
EXAMPLES: dict[Arg[Any], str] = {
    REF: "AIG-0001",
    SLUG: "camille-durand",
    IDENT: "@nouvelle:example.org",
    NUMBER: "1",
    DURATION: "1h30",
    DAYS: "7j",
    FUNDING: "subvention",
    FILTERS: "",
    PERIOD: "",
    REGIONS: "",
    NAME: "Nina Nouvelle",
    TEXT: "Bonjour à toutes et à tous",
    REASON: "",
}
TYPED = [spec for spec in ALL_SPECS.values() if spec.args or spec.bare or not spec.subs]


def typed(spec: Spec) -> str:
    words = [spec.words]
    for arg in spec.args:
        words.append(EXAMPLES[arg])
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
