"""The one command grammar on Telegram (fake Bot API): each role's commands in
French and in English, and a command of another role answered politely."""

from __future__ import annotations

from tests.coordination.support import Desk, ask, command_log, make_case


async def test_each_role_in_french_and_in_english(desk: Desk) -> None:
    ref = await make_case(desk.db, {})
    # A person: /aide and /help, /mesdonnees and /mydata are the same commands.
    french = await ask(desk.stranger, "/aide")
    english = await ask(desk.stranger, "/help")
    assert "/mesdonnees" in french and "/inscription" in french and french == english
    assert "/dossiers" not in french and "!accepter" not in french
    # An aiguilleur: /admin and /coordination list what they may do here.
    theirs = await ask(desk.aiguilleur, "/coordination")
    assert theirs == await ask(desk.aiguilleur, "/admin")
    assert "/intervention" in theirs and "/dossiers" not in theirs
    # A coordinator: /cases is /dossiers, /REASSIGNER is /reassigner (Telegram
    # marks only ASCII letters as a command: accents are read on Matrix).
    helped = await ask(desk.coordinator, "/admin aide")
    assert "/dossiers" in helped and helped == await ask(desk.coordinator, "/admin")
    listing = await ask(desk.coordinator, "/cases")
    assert ref in listing and listing == await ask(desk.coordinator, "/dossiers")
    moved = await ask(desk.coordinator, f"/REASSIGNER {ref} camille-durand")
    assert "réservée" not in moved and "s'écrit ainsi" not in moved, moved
    logged = await command_log(desk.db)
    assert [name for _, name, _ in logged] == [
        "admin",
        "admin",
        "admin",
        "admin",
        "dossiers",
        "dossiers",
        "reassigner",
    ]


async def test_another_roles_command_is_answered_politely(desk: Desk) -> None:
    ref = await make_case(desk.db, {})
    # An aiguilleur typing a coordinator's command, in English.
    refused = await ask(desk.aiguilleur, f"/assign {ref} camille-durand")
    assert "réservée aux coordinateur·ices" in refused
    # A person typing an aiguilleur's command, as in Matrix: not an answer to
    # their question, and said where it belongs.
    await ask(desk.stranger, "/start")
    answer = await ask(desk.stranger, f"!accepter {ref}")
    assert "!accepter AIG-0042" in answer and "commande des aiguilleur·euses" in answer
    # A coordinator's typed with "!" on Telegram: shown as typed here.
    await ask(desk.coordinator, "/start")
    hint = await ask(desk.coordinator, "!dossiers clos")
    assert "commencent par « / »" in hint and "/dossiers" in hint
    assert await command_log(desk.db) == [("aiguilleur", "assigner", "refused")]
