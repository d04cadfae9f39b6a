"""The `[privacy]` section: how long closed cases keep their personal data.
Parsed once; errors name the key, like the rest of `bot.config.load`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config.errors import ConfigError
from dialogs.kernel.replies import msg

PRIVACY_KEYS: Mapping[str, type | tuple[type, ...]] = {"retention_months": int}
# Fifty years: beyond, 0 ("never") says it better.
MAX_MONTHS = 600
DEFAULT_RETENTION_MONTHS = 24


@dataclass(frozen=True, slots=True, kw_only=True)
class PrivacyConfig:
    # Closed cases untouched for this many months lose their personal data
    # (bot/privacy/service.py); 0: never.
    retention_months: int = DEFAULT_RETENTION_MONTHS


def parse_privacy(raw: Mapping[str, Any]) -> PrivacyConfig:
    months = int(raw.get("retention_months", DEFAULT_RETENTION_MONTHS))
    if not 0 <= months <= MAX_MONTHS:
        raise ConfigError(
            msg("config.bad_range", key="[privacy] retention_months", low=0, high=MAX_MONTHS)
        )
    return PrivacyConfig(retention_months=months)
