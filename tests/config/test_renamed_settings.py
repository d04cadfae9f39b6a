"""One name per setting: the coordinators' room and accounts are in `[coordinators]`
(`matrix_room`, `matrix_ids`). The old `[matrix] coordinators_room` and `[matrix]
coordinators` are still read, with one line at start saying the new name."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.commands import main
from bot.config.load import ConfigError, load_config
from dialogs.kernel.render import render_msg

MATRIX = """
[matrix]
homeserver = "http://127.0.0.1:8008"
user_id = "@bot:test.local"
password = "x"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_new_names_give_no_notice(tmp_path: Path) -> None:
    text = MATRIX + '[coordinators]\nmatrix_room = "!c:test.local"\nmatrix_ids = ["@camille:t"]\n'
    config = load_config(write(tmp_path, text), environ={})
    assert config.coordinators.matrix_room == "!c:test.local"
    assert config.coordinators.matrix_ids == ("@camille:t",)
    assert config.notices == ()


def test_the_old_names_still_work_with_a_notice_each(tmp_path: Path) -> None:
    text = (
        MATRIX
        + 'coordinators_room = "!c:test.local"\ncoordinators = ["@camille:t", "@dom:t"]\n'
        + '[coordinators]\nmatrix_ids = ["@dom:t", "@eve:t"]\n'
    )
    config = load_config(write(tmp_path, text), environ={})
    assert config.coordinators.matrix_room == "!c:test.local"
    assert set(config.coordinators.matrix_ids) == {"@camille:t", "@dom:t", "@eve:t"}
    lines = [render_msg("fr", notice) for notice in config.notices]
    assert lines == [
        "[matrix] coordinators est un ancien nom\u00a0: écrivez [coordinators] matrix_ids"
        " (l’ancien nom sera retiré).",
        "[matrix] coordinators_room est un ancien nom\u00a0: écrivez [coordinators] matrix_room"
        " (l’ancien nom sera retiré).",
    ]


def test_an_old_name_is_checked_like_the_new_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, MATRIX + 'coordinators_room = "#alias:t"\n'), environ={})
    assert "[coordinators] matrix_room" in render_msg("fr", info.value.message)


def test_old_and_new_names_that_disagree_are_refused(tmp_path: Path) -> None:
    text = MATRIX + 'coordinators_room = "!a:t"\n[coordinators]\nmatrix_room = "!b:t"\n'
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    line = render_msg("fr", info.value.message)
    assert "[matrix] coordinators_room" in line and "[coordinators] matrix_room" in line


def test_the_command_line_says_the_notice_once_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIGUILLAGE_LOCALE", "fr")
    monkeypatch.delenv("AIGUILLAGE_TELEGRAM_TOKEN", raising=False)
    text = f"[database]\nurl = 'sqlite+aiosqlite:///{tmp_path}/db.sqlite3'\n" + MATRIX
    path = write(tmp_path, text + 'coordinators = ["@camille:t"]\n')
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    err = capsys.readouterr().err
    notices = [line for line in err.splitlines() if "ancien nom" in line]
    assert notices == [
        "[matrix] coordinators est un ancien nom\u00a0: écrivez [coordinators] matrix_ids"
        " (l’ancien nom sera retiré)."
    ]
    assert "Traceback" not in err
