"""The console transport: what a newcomer tries first with `aiguillage chat`."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import run_chat
from bot.config.load import Config, DatabaseConfig
from storage.db import Database
from storage.models.core import Case, Conversation
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


async def test_console_numbers_toggles_and_answers_like_a_terminal(tmp_path: Path) -> None:
    out = io.StringIO()
    script = ["1", "Café des Possibles", "29", "oui", "bénévole", "5 6", "42", "10"]
    await run_chat(config_for(tmp_path), out=out, read_line=scripted(script))
    screen = out.getvalue()
    # No Telegram wording in a terminal.
    assert "Touchez" not in screen and "📎" not in screen and "partager une position" not in screen
    assert "Tapez les numéros d'un ou plusieurs thèmes" in screen
    # Typed choices are echoed like numbered ones.
    assert "Votre réponse\xa0: Oui, c'est ça" in screen
    assert "Votre réponse\xa0: Bénévole" in screen
    # "5 6" ticks two themes; 42 is not taken as text; 10 validates both.
    assert "Valider (2)" in screen
    assert "Choisissez un numéro entre 1 et 10, ou écrivez votre réponse." in screen
    assert "Votre réponse\xa0: Gestion, Numérique" in screen
    assert "Racontez-nous le problème" in screen
    # The end of input (Ctrl-D) leaves with a word.
    assert screen.rstrip().endswith("relancez la conversation pour reprendre où vous en étiez.")
    db = Database(config_for(tmp_path).database.url)
    try:
        async with db.unit() as uow:
            row = await uow.session.scalar(select(Conversation))
        assert row is not None
        assert row.state["answers"]["themes"] == ["gestion", "numerique"]
        assert row.state["stage"] == "problem"
    finally:
        await db.dispose()


def chat_process(tmp_path: Path) -> subprocess.Popen[bytes]:
    """`aiguillage chat` as a person starts it, its input a pipe kept open."""
    env = {
        **os.environ,
        "AIGUILLAGE_DATA_DIR": str(tmp_path),
        "AIGUILLAGE_DATABASE_URL": databases.url(tmp_path, "chat.sqlite3"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli.commands", "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )


def until_prompt(process: subprocess.Popen[bytes], timeout: float = 60.0) -> bytes:
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    seen = b""
    deadline = time.monotonic() + timeout
    while b"[2] Je refuse\n> " not in seen:
        assert time.monotonic() < deadline, seen.decode(errors="replace")
        assert process.poll() is None, seen.decode(errors="replace")
        chunk = process.stdout.read()
        seen += chunk or b""
        time.sleep(0.05)
    return seen


def rest_of(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), True)
    return process.stdout.read().decode(errors="replace")


@pytest.mark.parametrize("leave", ["ctrl-c", "ctrl-d"])
def test_leaving_the_terminal_at_once_with_a_word(tmp_path: Path, leave: str) -> None:
    process = chat_process(tmp_path)
    try:
        until_prompt(process)
        started = time.monotonic()
        if leave == "ctrl-c":
            # What the terminal sends on Ctrl-C; nothing typed, no Enter.
            process.send_signal(signal.SIGINT)
        else:
            assert process.stdin is not None
            process.stdin.close()  # Ctrl-D on an empty line: end of input
        code = process.wait(timeout=30)
        waited = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    rest = rest_of(process)
    assert code == 0, rest  # `make demo` then reports no "Error 130"
    assert "À bientôt\xa0!" in rest, rest
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest
    assert waited < 30
