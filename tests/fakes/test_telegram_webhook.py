"""The fake Bot API's webhook delivery, checked against a bare aiohttp receiver:
updates POSTed in order as JSON with the secret header, retried until a 2xx."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from telegram import Bot

from tests.fakes.telegram_api import FakeTelegram


class Receiver:
    """A webhook endpoint that fails its first `failures` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[tuple[str, str | None, int]] = []  # path, secret, update_id
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        secret = request.headers.get("X-Telegram-Bot-Api-Secret-Token")
        self.calls.append((request.path, secret, body["update_id"]))
        if self.failures:
            self.failures -= 1
            return web.Response(status=500)
        return web.Response(status=200)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self.runner, sock).start()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token="123:ABC") as fake:
        fake.webhook_retry_delay = 0.01
        yield fake


async def test_updates_are_posted_with_the_secret_and_retried(tg: FakeTelegram) -> None:
    receiver = Receiver(failures=2)
    await receiver.start()
    bot = Bot(tg.token, base_url=tg.base_url)
    try:
        async with bot:
            await bot.set_webhook(
                "https://hook.example.org/tg/in?x=1",
                secret_token="s3cret",
                allowed_updates=["message"],
            )
            alice = tg.user("Alice")
            await alice.say("one")
            await alice.say("two")
            tg.route_webhook(f"http://127.0.0.1:{receiver.port}")
            await tg.wait_delivered()
            assert tg.pending_updates() == []
    finally:
        assert receiver.runner is not None
        await receiver.runner.cleanup()
    first, second = sorted(tg._history)
    assert [call[2] for call in receiver.calls] == [first, first, first, second]
    assert {call[:2] for call in receiver.calls} == {("/tg/in", "s3cret")}
    assert tg.webhook_deliveries == [(first, 500), (first, 500), (first, 200), (second, 200)]


async def test_unreachable_webhook_keeps_updates(tg: FakeTelegram) -> None:
    bot = Bot(tg.token, base_url=tg.base_url)
    async with bot:
        await bot.set_webhook("https://hook.example.org/in")
        tg.route_webhook("http://127.0.0.1:9")  # nothing listens there
        await tg.user("Alice").say("hello")
        with pytest.raises(AssertionError, match="still pending"):
            await tg.wait_delivered(timeout=0.3)
        assert len(tg.pending_updates()) == 1
        assert tg.webhook_deliveries  # tried, and tried again
        assert all(status == 0 for _, status in tg.webhook_deliveries)
