"""`[http] listen` and the webhook keys of `[telegram]`: one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.http import HttpConfig
from bot.config.load import ConfigError, load_config
from dialogs.kernel.render import render_msg

WEBHOOK = """
[telegram]
mode = "webhook"
webhook_url = "https://bot.example.org/telegram"
webhook_secret = "s3cret_-token"
[http]
listen = "127.0.0.1:8080"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_polling_without_server_by_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""), environ={})
    assert config.telegram.mode == "polling"
    assert config.http is None


def test_webhook_configuration(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, WEBHOOK), environ={})
    assert config.telegram.mode == "webhook"
    assert config.telegram.webhook_url == "https://bot.example.org/telegram"
    assert config.telegram.webhook_secret == "s3cret_-token"
    assert config.http == HttpConfig(host="127.0.0.1", port=8080)


def test_secret_from_the_environment(tmp_path: Path) -> None:
    text = WEBHOOK.replace('webhook_secret = "s3cret_-token"\n', "")
    environ = {"AIGUILLAGE_TELEGRAM_WEBHOOK_SECRET": "from-env"}
    config = load_config(write(tmp_path, text), environ=environ)
    assert config.telegram.webhook_secret == "from-env"


@pytest.mark.parametrize(
    ("listen", "host", "port"),
    [
        ("127.0.0.1:8080", "127.0.0.1", 8080),
        ("[::1]:9000", "::1", 9000),
        ("0.0.0.0:0", "0.0.0.0", 0),
    ],
)
def test_listen_addresses(tmp_path: Path, listen: str, host: str, port: int) -> None:
    config = load_config(write(tmp_path, f'[http]\nlisten = "{listen}"\n'), environ={})
    assert config.http == HttpConfig(host=host, port=port)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('mode = "webhook"', 'mode = "push"', "[telegram] mode"),
        ('webhook_url = "https://bot.example.org/telegram"', "", "[telegram] webhook_url"),
        ("https://bot.example.org/telegram", "bot.example.org/telegram", "[telegram] webhook_url"),
        ("https://bot.example.org/telegram", "https://bot.example.org/metrics", "/metrics"),
        ('webhook_secret = "s3cret_-token"', "", "[telegram] webhook_secret"),
        ("s3cret_-token", "with spaces", "[telegram] webhook_secret"),
        ('listen = "127.0.0.1:8080"', "", "[http] listen"),
        ("127.0.0.1:8080", "localhost", "[http] listen"),
        ("127.0.0.1:8080", "127.0.0.1:99999", "[http] listen"),
        ('listen = "127.0.0.1:8080"', "port = 8080", "[http] port"),
    ],
)
def test_webhook_mistakes_name_the_key(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in WEBHOOK
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, WEBHOOK.replace(old, new)), environ={})
    assert expected in render_msg("fr", info.value.message)
