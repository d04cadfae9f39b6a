"""The console transport: what a newcomer tries first with `aiguillage chat`."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from bot.app import run_chat
from bot.config.load import Config, DatabaseConfig
from storage.db import Database
from storage.models.core import Case
from tests import databases


def scripted(lines: list[str]) -> Callable[[], str]:
    pending = [line + "\n" for line in lines]

    def read_line() -> str:
        return pending.pop(0) if pending else ""  # "" is end of input, like Ctrl-D

    return read_line


def config_for(tmp_path: Path) -> Config:
    url = databases.url(tmp_path, "chat.sqlite3")
    return Config(data_dir=tmp_path, database=DatabaseConfig(url=url))


INTAKE = [
    "1",  # J'accepte
    "Café des Possibles",
    "29",  # a département number, not a button: the place question has none
    "1",  # Oui, c'est ça
    "bénévole",
    "énergie, gouvernance",
    "Notre facture d'électricité explose et nous ne savons pas par où commencer.",
    "rien",
    "Réduire la facture de moitié.",
    "aucune",
    "être mis en relation",
    "urgent",
]


async def test_console_intake_reaches_a_confirmed_sheet(tmp_path: Path) -> None:
    out = io.StringIO()
    await run_chat(config_for(tmp_path), out=out, read_line=scripted([*INTAKE, "1"]))
    screen = out.getvalue()
    assert "Bonjour et bienvenue" in screen
    assert "[1] J'accepte" in screen
    assert "Finistère (29), Bretagne" in screen
    assert "Votre fiche" in screen
    assert "Café des Possibles" in screen
    assert "AIG-0001" in screen
    assert "<b>" not in screen  # markup is for Telegram, not the terminal
    db = Database(config_for(tmp_path).database.url)
    try:
        async with db.unit() as uow:
            case = await uow.session.scalar(select(Case))
        assert case is not None
        assert case.themes == ["energie", "gouvernance"]
        assert case.help == ["relation"]
        assert case.urgency == "semaine"
    finally:
        await db.dispose()


async def test_console_resumes_after_quitting(tmp_path: Path) -> None:
    out = io.StringIO()
    await run_chat(config_for(tmp_path), out=out, read_line=scripted(INTAKE[:3]))
    again = io.StringIO()
    await run_chat(config_for(tmp_path), out=again, read_line=scripted(["/retour"]))
    screen = again.getvalue()
    resumed, _, back = screen.partition("Où se trouve-t-il")
    # /start on launch resumes at the pending confirmation instead of restarting…
    assert "Nous reprenons" in resumed and "Finistère (29), Bretagne" in resumed
    # …and /retour leads to the place question again.
    assert back
