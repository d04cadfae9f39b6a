"""The `[http]` section and the webhook keys of `[telegram]`, checked once.

The bot's small HTTP server (`bot.transports.http.server`) answers `/healthz`, `/metrics`
and, in webhook mode, Telegram's calls. Errors are `ConfigError`s naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bot.config.errors import ConfigError
from dialogs.kernel.replies import msg

HTTP_KEYS: Mapping[str, type | tuple[type, ...]] = {"listen": str}
WEBHOOK_KEYS: Mapping[str, type | tuple[type, ...]] = {
    "mode": str,
    "webhook_url": str,
    "webhook_secret": str,
}
MODES = ("polling", "webhook")
# What Telegram accepts for `secret_token` (setWebhook).
SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Paths the server answers itself: the webhook cannot take them.
RESERVED_PATHS = ("/healthz", "/metrics")


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpConfig:
    host: str
    # 0: any free port (tests read the bound port back from the server).
    port: int


def parse_http(raw: Mapping[str, Any]) -> HttpConfig | None:
    """`listen = "127.0.0.1:8080"` (or `"[::1]:8080"`); no key, no server."""
    listen = str(raw.get("listen", "")).strip()
    if not listen:
        return None
    host, sep, port = listen.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigError(msg("config.bad_listen", key="[http] listen", value=listen[:60]))
    return HttpConfig(host=host, port=int(port))


def webhook_path(url: str) -> str:
    """The path Telegram calls is the one the server listens on (the reverse
    proxy forwards it unchanged)."""
    return urlsplit(url).path or "/"


def check_webhook(mode: str, url: str, secret: str, http: HttpConfig | None) -> None:
    if mode not in MODES:
        raise ConfigError(msg("config.bad_choice", key="[telegram] mode", choices=", ".join(MODES)))
    if mode != "webhook":
        return
    if not url:
        raise ConfigError(msg("config.webhook_needs", key="[telegram] webhook_url"))
    if not url.startswith(("http://", "https://")) or not urlsplit(url).hostname:
        raise ConfigError(msg("config.bad_url", key="[telegram] webhook_url", value=url[:60]))
    path = webhook_path(url)
    if path in RESERVED_PATHS:
        raise ConfigError(
            msg("config.webhook_reserved_path", key="[telegram] webhook_url", path=path)
        )
    if not secret:
        raise ConfigError(msg("config.webhook_needs", key="[telegram] webhook_secret"))
    if not SECRET.match(secret):
        raise ConfigError(msg("config.bad_webhook_secret", key="[telegram] webhook_secret"))
    if http is None:
        raise ConfigError(msg("config.webhook_needs", key="[http] listen"))
