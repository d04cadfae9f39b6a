"""The bot's small HTTP server (aiohttp, already a dependency for Matrix).

Routes: `GET /healthz`, `GET /metrics` and, in webhook mode, `POST` on the
webhook's path. It listens where `[http] listen` says, normally on loopback
behind a reverse proxy that exposes the webhook path only (never /metrics).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.config.http import HttpConfig
from bot.runtime.leadership import Leadership
from bot.transports.http.health import Health, bounded
from bot.transports.http.metrics import CONTENT_TYPE, Gauges, Metrics
from bot.transports.telegram.webhook import TelegramWebhook

log = logging.getLogger(__name__)

# Stop waits this long for requests in hand (a webhook call finishing its
# unit of work) before closing their connections.
SHUTDOWN_TIMEOUT = 10.0


class HttpServer:
    def __init__(
        self,
        config: HttpConfig,
        health: Callable[[], Awaitable[Health]],
        metrics: Metrics,
        gauges: Callable[[], Awaitable[Gauges]],
        webhook: TelegramWebhook | None = None,
        leadership: Leadership | None = None,
    ) -> None:
        self.config = config
        # The roles this process holds or waits for, exported with the metrics.
        self.leadership = leadership
        self.health = health
        self.metrics = metrics
        self.gauges = gauges
        self.webhook = webhook
        self.runner: web.AppRunner | None = None
        self.port = config.port

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self.on_healthz)
        app.router.add_get("/metrics", self.on_metrics)
        if self.webhook is not None:
            app.router.add_post(self.webhook.path, self.webhook.handle)
        # No access log: a line per Telegram call says nothing useful.
        self.runner = web.AppRunner(
            app, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT
        )
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.config.host, self.config.port)
        await site.start()
        # Port 0 picks a free port: read back the one bound.
        self.port = int(self.runner.addresses[0][1])
        log.info("HTTP server listening on %s:%s", self.config.host, self.port)

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def on_healthz(self, request: web.Request) -> web.Response:
        health = await self.health()
        return web.json_response(health.body, status=200 if health.ok else 503)

    async def on_metrics(self, request: web.Request) -> web.Response:
        gauges: Gauges | None
        try:
            gauges = await bounded(self.gauges())
        except Exception as exc:
            log.warning("metrics: the database does not answer (%s)", type(exc).__name__)
            gauges = None
        body = self.metrics.render(gauges, self.leadership).encode()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
