"""An HTTP proxy between the bot and the fake Bot API that can lose answers.

The fake answers errors itself (`FakeTelegram.fail_next`: 429, 502…); what it
cannot do is what the network does: a connection cut in the middle of a call,
or a call that reaches Telegram and whose answer never comes back (the bot sees
a timeout, Telegram did the work). Both are played here, per Bot API method:

    proxy.next("getUpdates", Fault.CUT)      # connection closed, nothing forwarded
    proxy.next("getUpdates", Fault.LOST)     # forwarded, answer withheld (timeout)
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
from collections import deque
from typing import Self

import aiohttp
from aiohttp import web


class Fault(enum.Enum):
    CUT = "cut"
    LOST = "lost"


class FlakyProxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream = f"http://127.0.0.1:{upstream_port}"
        self.port = 0
        self.faults: dict[str, deque[Fault]] = {}
        self.played: list[tuple[str, Fault]] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closing = asyncio.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def next(self, method: str, fault: Fault, count: int = 1) -> None:
        queue = self.faults.setdefault(method.lower(), deque())
        queue.extend([fault] * count)

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.+}", self._handle)
        self._runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=0.5
        )
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        method = path.rsplit("/", 1)[-1].lower()
        queue = self.faults.get(method)
        fault = queue.popleft() if queue else None
        body = await request.read()
        if fault is Fault.CUT:
            self.played.append((method, fault))
            assert request.transport is not None
            request.transport.abort()  # the caller sees its connection reset
            return web.Response()
        assert self._session is not None
        async with self._session.request(
            request.method,
            f"{self.upstream}/{path}",
            params=request.query,
            data=body,
            headers={"Content-Type": request.headers.get("Content-Type", "")},
        ) as answer:
            payload = await answer.read()
            status = answer.status
            content_type = answer.content_type
        if fault is Fault.LOST:
            self.played.append((method, fault))
            # Telegram did the work; its answer never arrives. The caller times out.
            with contextlib.suppress(asyncio.CancelledError):
                await self._closing.wait()
            return web.Response(status=504)
        return web.Response(body=payload, status=status, content_type=content_type)
