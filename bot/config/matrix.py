"""The ``[matrix]`` section, parsed once into a frozen object. Errors are
`ConfigError`s naming the key. The coordinators' room and accounts are in
``[coordinators]`` (bot/config/followup.py); the old names here are renamed by
`bot.config.load` with a notice."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.config.errors import ConfigError
from bot.followup.schedule import parse_duration
from dialogs.kernel.replies import msg

# Key → expected TOML type, for `bot.config.load.check_shape`.
MATRIX_KEYS: Mapping[str, type | tuple[type, ...]] = {
    "homeserver": str,
    "user_id": str,
    "access_token": str,
    "password": str,
    "device_id": str,
    "store_path": str,
    # Old names of [coordinators] matrix_room and matrix_ids (bot.config.load.RENAMED).
    "coordinators_room": str,
    "coordinators": list,
    "rooms": dict,
    "offer_timeout": str,
    "sync_timeout": int,
    "new_rooms": str,
}
USER_ID = re.compile(r"^@[^:\s]+:\S+$")
# Room version 12 ids are "!" and a hash, without ":server" (Synapse ≥ 1.136).
ROOM_ID = re.compile(r"^![^\s:]+(:\S+)?$")
NEW_ROOMS = ("encrypted", "plain")
DEFAULT_DEVICE = "AIGUILLAGE"


@dataclass(frozen=True, slots=True, kw_only=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    access_token: str = ""
    password: str = ""
    # Keep it fixed: the encryption store belongs to one device, and Synapse
    # deduplicates transaction ids per device.
    device_id: str = DEFAULT_DEVICE
    store_path: Path = Path("data/matrix-store")
    # Aiguilleur slug → room id, for rooms set up by hand.
    rooms: Mapping[str, str] = field(default_factory=dict)
    offer_timeout: timedelta = timedelta(hours=24)
    sync_timeout: int = 30
    new_rooms: str = "encrypted"


def _bad(key: str, value: Any) -> ConfigError:
    return ConfigError(msg("config.bad_value", key=f"[matrix] {key}", value=repr(value)[:60]))


def parse_matrix(raw: Mapping[str, Any] | None, base: Path, data_dir: Path) -> MatrixConfig | None:
    """None when the section is absent: the bot then runs without Matrix."""
    if not raw:
        return None
    for key in ("homeserver", "user_id"):
        if not str(raw.get(key, "")).strip():
            raise ConfigError(msg("config.matrix_missing", key=f"[matrix] {key}"))
    homeserver = str(raw["homeserver"]).strip().rstrip("/")
    if not homeserver.startswith(("http://", "https://")):
        raise ConfigError(msg("config.bad_url", key="[matrix] homeserver", value=homeserver))
    user_id = str(raw["user_id"]).strip()
    if not USER_ID.match(user_id):
        raise _bad("user_id", user_id)
    token = str(raw.get("access_token", "")).strip()
    password = str(raw.get("password", ""))
    device_id = str(raw.get("device_id", "")).strip()
    if not (token and device_id) and not password:
        raise ConfigError(msg("config.matrix_credentials"))
    store = Path(str(raw["store_path"])) if "store_path" in raw else data_dir / "matrix-store"
    rooms = {str(k): str(v).strip() for k, v in dict(raw.get("rooms", {})).items()}
    for slug, room_id in rooms.items():
        if not ROOM_ID.match(room_id):
            raise _bad(f"rooms.{slug}", room_id)
    try:
        timeout = parse_duration(str(raw.get("offer_timeout", "24h")))
    except ValueError:
        raise _bad("offer_timeout", raw.get("offer_timeout")) from None
    if timeout <= timedelta(0):
        raise _bad("offer_timeout", raw.get("offer_timeout"))
    sync_timeout = int(raw.get("sync_timeout", 30))
    if not 1 <= sync_timeout <= 120:
        raise ConfigError(msg("config.bad_range", key="[matrix] sync_timeout", low=1, high=120))
    new_rooms = str(raw.get("new_rooms", "encrypted"))
    if new_rooms not in NEW_ROOMS:
        raise ConfigError(
            msg("config.bad_choice", key="[matrix] new_rooms", choices=", ".join(NEW_ROOMS))
        )
    return MatrixConfig(
        homeserver=homeserver,
        user_id=user_id,
        access_token=token,
        password=password,
        device_id=device_id or DEFAULT_DEVICE,
        store_path=store if store.is_absolute() else base / store,
        rooms=rooms,
        offer_timeout=timeout,
        sync_timeout=sync_timeout,
        new_rooms=new_rooms,
    )
