"""`aiguillage run` as a subprocess: it refuses an empty database where the
configuration says a deployment exists (one French line saying to restore), starts
when the data is there, and keeps APScheduler's INFO chatter out of the journal."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests import databases
from tests.backup.support import ROOT, cli, plain
from tests.fakes.telegram_api import FakeTelegram
from tests.transports.telegram.harness import TOKEN, BotProcess, until

EXAMPLE = ROOT / "docs" / "exemples" / "mon-catalogue.yaml"


def refused_line(done_stderr: str) -> str:
    lines = plain(done_stderr).strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


async def test_expect_data_on_an_empty_database_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[bot]\nexpect_data = true\n", encoding="utf-8")
    url = databases.url(tmp_path, "vide.sqlite3")
    env = {"AIGUILLAGE_TELEGRAM_TOKEN": TOKEN}
    done = await asyncio.to_thread(
        cli, "run", "--config", str(config), "--db", url, cwd=tmp_path, env=env
    )
    assert done.returncode == 2
    line = refused_line(done.stderr)
    assert "la base est vide" in line and "expect_data" in line
    assert "aiguillage restore" in line
    # It did not fill the database with the starter catalog on its way out.
    done = await asyncio.to_thread(cli, "db", "current", "--db", url, cwd=tmp_path)
    assert done.returncode == 1


async def test_a_matrix_store_on_an_empty_database_refuses_to_start(tmp_path: Path) -> None:
    store = tmp_path / "matrix-store"
    store.mkdir()
    (store / "@bot:example.org_AIGUILLAGE.db").write_bytes(b"keys")
    config = tmp_path / "config.toml"
    config.write_text(
        "[matrix]\n"
        'homeserver = "http://127.0.0.1:9"\n'
        'user_id = "@bot:example.org"\n'
        'access_token = "syt_x"\n'
        'device_id = "AIGUILLAGE"\n'
        f'store_path = "{store}"\n',
        encoding="utf-8",
    )
    url = databases.url(tmp_path, "vide.sqlite3")
    env = {"AIGUILLAGE_TELEGRAM_TOKEN": TOKEN}
    done = await asyncio.to_thread(
        cli, "run", "--config", str(config), "--db", url, cwd=tmp_path, env=env
    )
    assert done.returncode == 2
    line = refused_line(done.stderr)
    assert str(store) in line and "aiguillage restore" in line


async def test_starts_with_data_and_no_scheduler_flood(tg: FakeTelegram, tmp_path: Path) -> None:
    bot = BotProcess(tg, tmp_path)
    bot.config.write_text(
        '[telegram]\npoll_timeout = 1\n[bot]\nlog_level = "INFO"\nexpect_data = true\n',
        encoding="utf-8",
    )
    done = await asyncio.to_thread(
        cli, "catalog", "import", str(EXAMPLE), "--db", bot.database_url, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    bot.start()
    try:
        await until(lambda: b"bot started" in bot.log.read_bytes(), "the bot started", 60)
        user = tg.user("Camille")
        await user.say("/start")
        await user.wait_reply(timeout=20)
    finally:
        await bot.stop()
    log = bot.log.read_text(encoding="utf-8", errors="replace")
    assert "INFO bot.app: bot started" in log
    assert "apscheduler" not in log.lower(), log
