"""Several bots on one PostgreSQL: each role (bot/runtime/roles.py) is held by
one process through a session lock, and changes hands when its holder dies or
loses its lock connection, within 10 s, without two processes ever polling
Telegram at the same moment. The fake Bot API records every getUpdates call with
the process that made it (`FakeTelegram.polls`)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import asyncpg

from bot.app import BotService
from bot.runtime.leadership import MATRIX_SYNC, SCHEDULER, TELEGRAM_POLL, role_key
from bot.transports.telegram.transport import TRANSPORT as TELEGRAM
from tests import databases
from tests.fakes.postgres import PostgresServer
from tests.fakes.telegram_api import FakeTelegram
from tests.runtime.cluster import BotProcess, named_config, overlapping_polls, start_and_greet
from tests.transports.http.support import healthz, sample, scrape
from tests.transports.telegram.harness import running_bot, until

ROLES = {TELEGRAM_POLL, SCHEDULER}
TAKEOVER_LIMIT = 10.0


def pg_url(server: PostgresServer, tmp_path: Path) -> str:
    databases.attach(server)
    return databases.url(tmp_path, "cluster", engine=databases.POSTGRESQL)


async def terminate_lock_session(server: PostgresServer, url: str, process: str) -> int:
    """What an administrator (or a failing network path) does to one backend:
    the lock session of `process` ends; the bot's other connections stay."""
    connection = await asyncpg.connect(server.dsn_for(url.rsplit("/", 1)[1]))
    try:
        ended = await connection.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            f"aiguillage {process}",
        )
    finally:
        await connection.close()
    return len(ended)


def role_keys_distinct() -> None:
    keys = {role_key(name) for name in (TELEGRAM_POLL, MATRIX_SYNC, SCHEDULER)}
    assert len(keys) == 3 and all(-(2**63) <= key < 2**63 for key in keys)


async def test_a_lost_lock_connection_stops_polling_before_another_bot_starts(
    tg: FakeTelegram, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    role_keys_distinct()
    url = pg_url(postgres_server, tmp_path)
    async with running_bot(named_config(tg, tmp_path / "a", url, "bot-a")) as a:
        assert a.leadership.held == ROLES  # the first one started takes every role
        async with running_bot(named_config(tg, tmp_path / "b", url, "bot-b")) as b:
            assert b.leadership.held == set()
            first = [tg.user(f"Avant{i}") for i in range(4)]
            await start_and_greet(first)

            status, body = await healthz(a)
            assert status == 200
            assert body["process"] == "bot-a" and body["roles"] == sorted(ROLES)
            assert body["tasks"]["telegram-poll"] == "running"
            status, body = await healthz(b)
            assert status == 200  # waiting for a role is healthy
            assert body["process"] == "bot-b" and body["roles"] == []
            assert "telegram-poll" not in body["tasks"]
            metrics = await scrape(b)
            assert sample(metrics, "aiguillage_role_held", role=TELEGRAM_POLL) == 0
            assert sample(metrics, "aiguillage_role_takeovers_total", role=TELEGRAM_POLL) == 0

            # People keep writing while the lock session of bot-a is ended.
            cut = time.monotonic()
            assert await terminate_lock_session(postgres_server, url, "bot-a") == 1
            second = [tg.user(f"Pendant{i}") for i in range(4)]
            greeting = asyncio.create_task(start_and_greet(second))
            await until(lambda: b.leadership.holds(TELEGRAM_POLL), "bot-b polls", 15)
            took = time.monotonic() - cut
            await greeting
            print(f"takeover after the lock session ended: {took:.2f} s")
            assert took <= TAKEOVER_LIMIT
            await until(lambda: b.leadership.held == ROLES, "bot-b holds every role", 15)

            # bot-a has connected again and waits; it took nothing back.
            await asyncio.sleep(3)
            assert a.leadership.held == set() and b.leadership.held == ROLES
            for user in first + second:
                await user.expect_silence(0)
            handled = sum(bot.metrics.count(TELEGRAM, "handled") for bot in (a, b))
            assert handled == len(first) + len(second)  # each update handled once

            metrics = await scrape(b)
            assert sample(metrics, "aiguillage_role_held", role=TELEGRAM_POLL) == 1
            assert sample(metrics, "aiguillage_role_takeovers_total", role=SCHEDULER) == 1
            metrics = await scrape(a)
            assert sample(metrics, "aiguillage_role_held", role=TELEGRAM_POLL) == 0
            assert sample(metrics, "aiguillage_role_takeovers_total", role=TELEGRAM_POLL) == 1

    assert_polls_one_at_a_time(tg, before="bot-a", after="bot-b", cut=cut)


def assert_polls_one_at_a_time(tg: FakeTelegram, before: str, after: str, cut: float) -> None:
    assert overlapping_polls(tg) == []
    assert {w.caller for w in tg.polls} == {before, after}
    assert all(w.status != 409 for w in tg.polls)  # no poll ever terminated another
    last_before = max(w.ended or 0 for w in tg.polls if w.caller == before)
    first_after = min(w.started for w in tg.polls if w.caller == after)
    assert last_before <= first_after
    assert first_after > cut


async def test_a_holder_that_stops_checking_loses_its_roles_on_the_server(
    tg: FakeTelegram, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """What a network cut looks like from both sides: bot-a's checks stop (its
    lock loop is stopped, its lock connection left open and silent). bot-a stops
    polling when its last check is too old; the server ends the idle lock session
    (`idle_session_timeout`); bot-b takes over within 10 s, never polling with bot-a."""
    url = pg_url(postgres_server, tmp_path)
    async with running_bot(named_config(tg, tmp_path / "a", url, "bot-a")) as a:
        assert a.leadership.held == ROLES
        lock = a.leadership._session
        async with running_bot(named_config(tg, tmp_path / "b", url, "bot-b")) as b:
            checks = next(task for task in a.tasks if task.get_name() == "leadership")
            checks.cancel()
            cut = time.monotonic()
            await until(lambda: b.leadership.holds(TELEGRAM_POLL), "bot-b polls", 15)
            took = time.monotonic() - cut
            print(f"takeover after the holder went silent: {took:.2f} s")
            assert took <= TAKEOVER_LIMIT
            # Closed by the server (idle_session_timeout): nothing in bot-a closed it.
            assert lock.is_closed() and a.leadership.held == set()
            await start_and_greet([tg.user("Après")])
    assert_polls_one_at_a_time(tg, before="bot-a", after="bot-b", cut=cut)


async def test_two_bots_share_the_roles_and_hand_them_over_on_stop(
    tg: FakeTelegram, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """A clean stop (a rolling restart) releases the roles at once."""
    url = pg_url(postgres_server, tmp_path)
    b: BotService | None = None
    async with running_bot(named_config(tg, tmp_path / "a", url, "bot-a")) as a:
        b = BotService(named_config(tg, tmp_path / "b", url, "bot-b"), rate_limit=False)
        await b.start()
        assert a.leadership.held == ROLES and b.leadership.held == set()
        stopped = time.monotonic()
    try:
        await until(lambda: b is not None and b.leadership.held == ROLES, "bot-b takes over", 10)
        print(f"takeover after a clean stop: {time.monotonic() - stopped:.2f} s")
        await start_and_greet([tg.user("Après")])
    finally:
        await b.stop()
    assert overlapping_polls(tg) == []


async def test_kill_9_of_the_holder_hands_every_role_over_within_10_s(
    tg: FakeTelegram, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    url = pg_url(postgres_server, tmp_path)
    one = BotProcess(tg, tmp_path / "one", url, "one")
    two = BotProcess(tg, tmp_path / "two", url, "two")
    try:
        one.start()
        await one.until_up()
        await until_roles(one, ROLES)
        two.start()
        await two.until_up()
        assert await two.roles() == set()
        await start_and_greet([tg.user("Avant")])

        one.kill()
        killed = time.monotonic()
        after = tg.user("Après")
        await after.say("/start")
        await until_roles(two, ROLES)
        took = time.monotonic() - killed
        first_poll = min(w.started for w in tg.polls if w.caller == "two") - killed
        print(f"takeover after kill -9: every role {took:.2f} s, first poll {first_poll:.2f} s")
        assert took <= TAKEOVER_LIMIT
        reply = await after.wait_reply(timeout=15)
        assert "Aiguillage" in (reply.plain_text or "")
        await after.expect_silence(1.0)
    except BaseException:
        print(one.tail(), two.tail(), sep="\n---\n")
        raise
    finally:
        await one.stop()
        await two.stop()
    assert overlapping_polls(tg) == []


async def until_roles(bot: BotProcess, roles: set[str], timeout: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await bot.roles() != roles:
        if loop.time() > deadline:
            raise AssertionError(f"{bot.name} never held {sorted(roles)}:\n{bot.tail()}")
        await asyncio.sleep(0.05)
