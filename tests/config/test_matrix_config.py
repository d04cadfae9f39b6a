"""Room ids in `[matrix]` and `[coordinators]`: Synapse ≥ 1.136 creates rooms of
version 12, whose ids carry no server name ("!hash"). Both forms must be accepted, or a
coordinators' room created today could not be configured (the kill test found it: its
bot reads its config from a TOML file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.errors import ConfigError
from bot.config.followup import parse_coordinators
from bot.config.matrix import parse_matrix

BASE = {"homeserver": "http://127.0.0.1:8008", "user_id": "@bot:test.local", "password": "x"}


@pytest.mark.parametrize(
    "room", ["!JRC7LeCtICByofOIQJicT71Sf4FFBifQn_WMlpuB4-A", "!abcdef:test.local"]
)
def test_both_room_id_forms_are_accepted(room: str, tmp_path: Path) -> None:
    config = parse_matrix({**BASE, "rooms": {"alix": room}}, tmp_path, tmp_path)
    assert config is not None
    coordinators = parse_coordinators({"matrix_room": room})
    assert coordinators.matrix_room == room and config.rooms["alix"] == room


@pytest.mark.parametrize("room", ["#alias:test.local", "!", "!with space", "!:test.local"])
def test_what_is_not_a_room_id_is_refused(room: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        parse_coordinators({"matrix_room": room})
    with pytest.raises(ConfigError):
        parse_matrix({**BASE, "rooms": {"alix": room}}, tmp_path, tmp_path)
