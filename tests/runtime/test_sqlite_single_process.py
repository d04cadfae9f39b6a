"""SQLite takes one bot process: a second `aiguillage run` (or `chat`) on the same
file refuses to start, in one line naming PostgreSQL, before writing anything;
the first keeps working; once it is gone, even by kill -9, a new one starts.
The lock is `<file>.lock` next to the database (bot/runtime/leadership.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.commands import main
from storage.locks import SqliteLock
from tests import databases
from tests.fakes.telegram_api import FakeTelegram
from tests.runtime.cluster import ROOT, BotProcess, start_and_greet


def refusal(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


async def test_a_second_run_on_the_same_sqlite_file_is_refused(
    tg: FakeTelegram, tmp_path: Path
) -> None:
    url = databases.sqlite_url(tmp_path / "shared", "bot.sqlite3")
    first = BotProcess(tg, tmp_path / "first", url, "first")
    second = BotProcess(tg, tmp_path / "second", url, "second")
    third = BotProcess(tg, tmp_path / "third", url, "third")
    try:
        first.start()
        await first.until_up()

        done = await asyncio.to_thread(cli, "run", "--config", str(second.config))
        assert done.returncode == 2
        line = refusal(done.stderr)
        assert "PostgreSQL" in line and "bot.sqlite3" in line
        assert line.startswith("aiguillage\u00a0: un autre processus du bot utilise déjà la base")
        assert not any(w.caller == "second" for w in tg.polls)  # it never polled

        await start_and_greet([tg.user("Alice")])  # the first one still answers
        # The commands that do not run the bot work beside it, as before.
        saved = tmp_path / "backup"
        done = await asyncio.to_thread(cli, "backup", str(saved), "--config", str(second.config))
        assert done.returncode == 0, done.stderr
        assert (saved / "manifest.json").exists()
        first.kill()
        third.start()
        await third.until_up()
        await start_and_greet([tg.user("Bob")])
    except BaseException:
        print(first.tail(), third.tail(), sep="\n---\n")
        raise
    finally:
        await first.stop()
        await third.stop()


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AIGUILLAGE_")}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=ROOT,
        env={**clean_env(), "AIGUILLAGE_LOCALE": "fr"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", ["run", "chat"])
def test_refused_before_anything_is_written(
    command: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database file is not even created: the lock comes before it."""
    monkeypatch.setenv("AIGUILLAGE_LOCALE", "en")
    monkeypatch.setenv("AIGUILLAGE_TELEGRAM_TOKEN", "123456:TEST-token")
    monkeypatch.delenv("AIGUILLAGE_DATABASE_URL", raising=False)
    database = tmp_path / "data" / "bot.sqlite3"
    held = SqliteLock(database)
    held.acquire()  # another bot, as far as the kernel knows
    try:
        code = main([command, "--db", databases.sqlite_url(database.parent, database.name)])
    finally:
        held.release()
    assert code == 2
    line = refusal(capsys.readouterr().err)
    assert line.startswith("aiguillage: another bot process is already using the SQLite database")
    assert "PostgreSQL" in line
    assert not database.exists()
    assert held.path.exists()  # the lock file stays, empty: only its lock meant something
