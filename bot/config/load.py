"""Configuration: a TOML file, then environment variables, validated once into a
frozen object. Every error names the key (``[telegram] token``) and the problem,
so that a volunteer sysadmin can fix it from one line.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config.cluster import CLUSTER_KEYS, ClusterConfig, parse_cluster
from bot.config.errors import ConfigError
from bot.config.followup import SECTION_KEYS as FOLLOWUP_SECTIONS
from bot.config.followup import (
    CoordinatorsConfig,
    FollowupConfig,
    parse_coordinators,
    parse_followup,
)
from bot.config.http import (
    HTTP_KEYS,
    WEBHOOK_KEYS,
    HttpConfig,
    check_webhook,
    parse_http,
)
from bot.config.matrix import MATRIX_KEYS, MatrixConfig, parse_matrix
from bot.config.privacy import PRIVACY_KEYS, PrivacyConfig, parse_privacy
from bot.config.reports import REPORT_KEYS, ReportConfig, parse_report
from dialogs.kernel.replies import Msg, msg

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_FILE_BASE_URL = "https://api.telegram.org/file/bot"


@dataclass(frozen=True, slots=True, kw_only=True)
class TelegramConfig:
    token: str = ""
    api_base_url: str = DEFAULT_API_BASE_URL
    file_base_url: str = DEFAULT_FILE_BASE_URL
    poll_timeout: int = 30
    # "polling" (getUpdates) or "webhook" (Telegram calls `webhook_url`,
    # proven by `webhook_secret`; see bot/transports/telegram/webhook.py).
    mode: str = "polling"
    webhook_url: str = ""
    webhook_secret: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseConfig:
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    locale: str = "fr"
    data_dir: Path = Path("data")
    log_level: str = "INFO"
    # `[bot] expect_data = true`: this deployment has data; `aiguillage run`
    # refuses an empty database (a lost or unrestored one) instead of serving nothing.
    expect_data: bool = False
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    database: DatabaseConfig = field(
        default_factory=lambda: DatabaseConfig(url=default_db_url(Path("data")))
    )
    # Follow-up nudges ([followup]) and who hears about escalations ([coordinators]).
    followup: FollowupConfig = field(default_factory=FollowupConfig)
    coordinators: CoordinatorsConfig = field(default_factory=CoordinatorsConfig)
    # The aiguilleurs' side ([matrix]); None: the bot runs without Matrix.
    matrix: MatrixConfig | None = None
    # The bot's HTTP server ([http] listen): /healthz, /metrics, the webhook.
    http: HttpConfig | None = None
    # Retention of personal data ([privacy]).
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    # The report's roadmap milestones and the weekly digest ([report]).
    report: ReportConfig = field(default_factory=ReportConfig)
    # This process's name among several on one PostgreSQL ([cluster]).
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    # One line each, said at start: old setting names that were read (see RENAMED).
    notices: tuple[Msg, ...] = ()


def default_db_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{(data_dir / 'aiguillage.sqlite3').as_posix()}"


# Known keys per section, with the Python type each must have.
SCHEMA: Mapping[str, Mapping[str, type | tuple[type, ...]]] = {
    "bot": {"locale": str, "data_dir": str, "log_level": str, "expect_data": bool},
    "telegram": {
        "token": str,
        "api_base_url": str,
        "file_base_url": str,
        "poll_timeout": int,
        **WEBHOOK_KEYS,
    },
    "http": HTTP_KEYS,
    "database": {"url": str},
    **FOLLOWUP_SECTIONS,
    "matrix": MATRIX_KEYS,
    "privacy": PRIVACY_KEYS,
    "report": REPORT_KEYS,
    "cluster": CLUSTER_KEYS,
}
ENVIRONMENT = {
    "AIGUILLAGE_TELEGRAM_TOKEN": ("telegram", "token"),
    "AIGUILLAGE_TELEGRAM_API_BASE_URL": ("telegram", "api_base_url"),
    "AIGUILLAGE_TELEGRAM_FILE_BASE_URL": ("telegram", "file_base_url"),
    "AIGUILLAGE_TELEGRAM_WEBHOOK_SECRET": ("telegram", "webhook_secret"),
    "AIGUILLAGE_DATABASE_URL": ("database", "url"),
    "AIGUILLAGE_DATA_DIR": ("bot", "data_dir"),
    "AIGUILLAGE_LOCALE": ("bot", "locale"),
    "AIGUILLAGE_MATRIX_ACCESS_TOKEN": ("matrix", "access_token"),
    "AIGUILLAGE_MATRIX_PASSWORD": ("matrix", "password"),
}
# Old name → the one name of the setting: still read, with a notice at start.
RENAMED: Mapping[tuple[str, str], tuple[str, str]] = {
    ("matrix", "coordinators"): ("coordinators", "matrix_ids"),
    ("matrix", "coordinators_room"): ("coordinators", "matrix_room"),
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
DB_SCHEMES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(msg("config.not_found", path=str(path))) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(msg("config.bad_toml", path=str(path), detail=str(exc))) from exc
    except OSError as exc:
        from bot.cli.errors import os_error_msg

        raise ConfigError(
            msg("config.unreadable", path=str(path), detail=os_error_msg(exc))
        ) from exc


# What a key of each type looks like, for the wrong-type message; some keys
# have a format of their own.
TYPE_HINTS: Mapping[type, str] = {
    str: "config.type.str",
    int: "config.type.int",
    bool: "config.type.bool",
    list: "config.type.list",
    dict: "config.type.dict",
}
KEY_HINTS: Mapping[str, str] = {"[http] listen": "config.type.listen"}


def expected_msg(key: str, expected: type | tuple[type, ...]) -> Msg:
    if key in KEY_HINTS:
        return msg(KEY_HINTS[key])
    first = expected[0] if isinstance(expected, tuple) else expected
    return msg(TYPE_HINTS.get(first, "config.type.str"))


def check_shape(raw: Mapping[str, Any]) -> None:
    for section, values in raw.items():
        if section not in SCHEMA:
            raise ConfigError(msg("config.unknown_section", section=section))
        if not isinstance(values, Mapping):
            raise ConfigError(msg("config.not_a_table", section=section))
        for key, value in values.items():
            expected = SCHEMA[section].get(key)
            if expected is None:
                raise ConfigError(msg("config.unknown_key", key=f"[{section}] {key}"))
            bool_mismatch = isinstance(value, bool) and expected is not bool
            if bool_mismatch or not isinstance(value, expected):
                raise ConfigError(
                    msg(
                        "config.wrong_type",
                        key=f"[{section}] {key}",
                        value=repr(value)[:40],
                        expected=expected_msg(f"[{section}] {key}", expected),
                    )
                )


def rename_old_keys(raw: dict[str, dict[str, Any]]) -> tuple[Msg, ...]:
    """Move each old key of RENAMED to its one name; a list joins the new one, a
    value that contradicts the new key's is an error. Returns the notices."""
    notices: list[Msg] = []
    for (section, key), (new_section, new_key) in RENAMED.items():
        old_values = raw.get(section)
        if not isinstance(old_values, dict) or key not in old_values:
            continue
        value = old_values.pop(key)
        old, new = f"[{section}] {key}", f"[{new_section}] {new_key}"
        notices.append(msg("config.renamed", old=old, new=new))
        target = raw.setdefault(new_section, {})
        if isinstance(value, list):
            current = list(target.get(new_key, []))
            target[new_key] = current + [v for v in value if v not in current]
        elif str(target.get(new_key, "")).strip() in ("", str(value).strip()):
            target[new_key] = value
        else:
            raise ConfigError(msg("config.renamed_conflict", old=old, new=new))
    return tuple(notices)


def load_config(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    db_override: str | None = None,
) -> Config:
    env = os.environ if environ is None else environ
    raw: dict[str, dict[str, Any]] = {}
    if path is not None:
        raw = {k: dict(v) if isinstance(v, Mapping) else v for k, v in read_toml(path).items()}
    check_shape(raw)
    notices = rename_old_keys(raw)
    for variable, (section, key) in ENVIRONMENT.items():
        if env.get(variable):
            raw.setdefault(section, {})[key] = env[variable]
    if db_override:
        raw.setdefault("database", {})["url"] = db_override

    bot = raw.get("bot", {})
    base = path.parent if path is not None else Path.cwd()
    data_dir = Path(bot.get("data_dir", "data"))
    if not data_dir.is_absolute():
        data_dir = base / data_dir
    locale = bot.get("locale", "fr")
    if locale not in ("fr", "en"):
        raise ConfigError(msg("config.bad_locale", key="[bot] locale", value=locale))
    log_level = str(bot.get("log_level", "INFO")).upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(
            msg("config.bad_choice", key="[bot] log_level", choices=", ".join(LOG_LEVELS))
        )

    tg = raw.get("telegram", {})
    telegram = TelegramConfig(
        token=str(tg.get("token", "")).strip(),
        api_base_url=str(tg.get("api_base_url", DEFAULT_API_BASE_URL)),
        file_base_url=str(tg.get("file_base_url", DEFAULT_FILE_BASE_URL)),
        poll_timeout=int(tg.get("poll_timeout", 30)),
        mode=str(tg.get("mode", "polling")).strip().lower(),
        webhook_url=str(tg.get("webhook_url", "")).strip(),
        webhook_secret=str(tg.get("webhook_secret", "")).strip(),
    )
    for key in ("api_base_url", "file_base_url"):
        value = getattr(telegram, key)
        if not value.startswith(("http://", "https://")):
            raise ConfigError(msg("config.bad_url", key=f"[telegram] {key}", value=value[:60]))
    if not 0 <= telegram.poll_timeout <= 60:
        raise ConfigError(msg("config.bad_range", key="[telegram] poll_timeout", low=0, high=60))

    url = str(raw.get("database", {}).get("url", "")) or default_db_url(data_dir)
    if not url.startswith(DB_SCHEMES):
        raise ConfigError(msg("config.bad_db_url", key="[database] url", value=url[:60]))
    followup = parse_followup(raw.get("followup", {}))
    coordinators = parse_coordinators(raw.get("coordinators", {}))
    matrix = parse_matrix(raw.get("matrix"), base, data_dir)
    http = parse_http(raw.get("http", {}))
    check_webhook(telegram.mode, telegram.webhook_url, telegram.webhook_secret, http)
    privacy = parse_privacy(raw.get("privacy", {}))
    report = parse_report(raw.get("report", {}))
    return Config(
        expect_data=bool(bot.get("expect_data", False)),
        locale=locale,
        data_dir=data_dir,
        log_level=log_level,
        telegram=telegram,
        database=DatabaseConfig(url=url),
        followup=followup,
        coordinators=coordinators,
        matrix=matrix,
        http=http,
        privacy=privacy,
        report=report,
        cluster=parse_cluster(raw.get("cluster", {})),
        notices=notices,
    )


def require_token(config: Config) -> str:
    token = config.telegram.token
    if not token:
        raise ConfigError(msg("config.missing_token", key="[telegram] token"))
    if ":" not in token or " " in token:
        raise ConfigError(msg("config.bad_token", key="[telegram] token"))
    return token
