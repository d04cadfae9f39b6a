"""Roles, help and refusals of the coordination commands on Telegram."""

from __future__ import annotations

from bot.coordination.registry import HANDLERS
from dialogs.coordination.commands import ALL_SPECS
from tests.coordination.support import Desk, command_log, say


async def test_help_depends_on_the_role(desk: Desk) -> None:
    coordinator = await say(desk.coordinator, "/admin")
    assert "/dossiers" in coordinator and "/aiguilleur pause" in coordinator
    aiguilleur = await say(desk.aiguilleur, "/admin")
    assert "/intervention" in aiguilleur and "/dossiers" not in aiguilleur
    stranger = await say(desk.stranger, "/admin")
    assert "/inscription" in stranger and "/intervention" not in stranger
    assert "devenir aiguilleur" in stranger


async def test_strangers_and_aiguilleurs_are_refused_politely_and_logged(desk: Desk) -> None:
    refused = await say(desk.stranger, "/dossiers")
    assert "réservée aux coordinateur·ices" in refused
    refused = await say(desk.aiguilleur, "/annonce Bonjour")
    assert "réservée aux coordinateur·ices" in refused
    refused = await say(desk.stranger, "/intervention AIG-0001 1h subvention")
    assert "réservée aux aiguilleur·euses" in refused
    assert await command_log(desk.db) == [
        ("anyone", "dossiers", "refused"),
        ("aiguilleur", "annonce", "refused"),
        ("anyone", "intervention", "refused"),
    ]


async def test_misused_command_shows_its_usage(desk: Desk) -> None:
    answer = await say(desk.coordinator, "/aiguilleur")
    assert "s'écrit ainsi" in answer
    assert "/aiguilleur pause <identifiant>" in answer
    assert "/aiguilleur capacite <identifiant> <nombre>" in answer
    assert await command_log(desk.db) == [("coordinator", "aiguilleur", "misused")]


async def test_a_person_command_still_reaches_the_conversation(desk: Desk) -> None:
    welcome = await say(desk.coordinator, "/start")
    assert "Aiguillage" in welcome


def test_every_declared_command_has_a_handler() -> None:
    parents_only = {
        name for name, spec in ALL_SPECS.items() if spec.subs and not spec.args and not spec.bare
    }
    missing = sorted(set(ALL_SPECS) - parents_only - set(HANDLERS))
    assert missing == []
