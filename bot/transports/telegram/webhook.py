"""Telegram webhook mode: Telegram POSTs each update to our URL.

Same durability rule as polling: Telegram considers an update delivered when
it gets a 2xx answer, so we answer 200 only after the update's unit of work
has committed (or found it already committed: a repeat). When the database
was away we answer 500 and Telegram sends it again later; an update that fails
for another reason (a bug) is apologised for and acknowledged, as polling
does, since a retry would fail the same way. This is why the bot
does not use python-telegram-bot's own webhook server, which answers 200 as
soon as the update is queued: a crash between queue and commit would lose it.

Requests without Telegram's secret token (`X-Telegram-Bot-Api-Secret-Token`,
set with `setWebhook`) are refused with 403 before anything is read.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from bot.config.http import webhook_path
from bot.transports.telegram.transport import ALLOWED_UPDATES, TelegramTransport

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class TelegramWebhook:
    def __init__(self, transport: TelegramTransport, url: str, secret: str) -> None:
        self.transport = transport
        self.url = url
        self.secret = secret.encode()
        self.path = webhook_path(url)

    async def register(self) -> None:
        """Tell Telegram where to send updates (this also stops any getUpdates)."""
        await self.transport.application.bot.set_webhook(
            url=self.url,
            secret_token=self.secret.decode(),
            allowed_updates=ALLOWED_UPDATES,
        )
        log.info("Telegram webhook set (path %s)", self.path)

    def authentic(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        # Constant time: the comparison must not tell how much of a guess was right.
        return hmac.compare_digest(given, self.secret)

    async def handle(self, request: web.Request) -> web.Response:
        if not self.authentic(request):
            log.warning("webhook call refused: missing or wrong secret token")
            return web.Response(status=403, text="forbidden")
        try:
            data = await request.json()
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
        except Exception as exc:
            # Not an update Telegram would send: retrying it would not help.
            log.warning("webhook call with an unreadable body (%s)", type(exc).__name__)
            return web.Response(status=400, text="bad update")
        if await self.transport.process(data):
            # Committed (or a repeat of a committed one), or failed for good and
            # apologised for: either way Telegram must not send it again.
            return web.Response(status=200, text="ok")
        # The database was away: nothing committed, Telegram sends it again later.
        return web.Response(status=500, text="not handled, send it again")
