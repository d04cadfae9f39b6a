"""Configuration errors and the command line: one clear line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli.commands import main
from bot.config.load import ConfigError, load_config, require_token
from dialogs.kernel.render import render_msg
from tests import databases


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_line(exc: ConfigError) -> str:
    return render_msg("fr", exc.message)


def test_defaults_without_file(tmp_path: Path) -> None:
    config = load_config(None, environ={})
    assert config.database.url.startswith("sqlite+aiosqlite:///")
    assert config.telegram.api_base_url == "https://api.telegram.org/bot"
    assert config.locale == "fr"


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[telegram]\ntoken = "1:file"\n')
    config = load_config(path, environ={"AIGUILLAGE_TELEGRAM_TOKEN": "2:env"})
    assert config.telegram.token == "2:env"
    assert config.data_dir == tmp_path / "data"


def test_db_override_wins(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "sqlite+aiosqlite:///a.db"\n')
    config = load_config(path, environ={}, db_override="sqlite+aiosqlite:///b.db")
    assert config.database.url.endswith("b.db")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[telegram]\ntokn = 'x'\n", "[telegram] tokn"),
        ("[telegrm]\n", "[telegrm]"),
        ("[telegram]\npoll_timeout = 'long'\n", "[telegram] poll_timeout"),
        ("[telegram]\npoll_timeout = 600\n", "[telegram] poll_timeout"),
        ("[telegram]\napi_base_url = 'ftp://x'\n", "[telegram] api_base_url"),
        ("[database]\nurl = 'mysql://x'\n", "[database] url"),
        ("[bot]\nlocale = 'de'\n", "[bot] locale"),
        ("[telegram\n", "TOML"),
    ],
)
def test_broken_config_names_the_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text), environ={})
    assert expected in error_line(info.value)


def test_missing_token_is_explained() -> None:
    with pytest.raises(ConfigError) as info:
        require_token(load_config(None, environ={}))
    line = error_line(info.value)
    assert "[telegram] token" in line and "BotFather" in line


def test_cli_run_without_token_prints_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIGUILLAGE_TELEGRAM_TOKEN", raising=False)
    path = write(tmp_path, "[bot]\nlog_level = 'WARNING'\n")
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "[telegram] token" in err
    assert "Traceback" not in err


def test_cli_broken_config_prints_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "[telegram]\ntokn = 'x'\n")
    assert main(["chat", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aiguillage\u00a0: erreur de configuration")
    assert "tokn" in err


def test_cli_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "upgrade", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "introuvable" in capsys.readouterr().err


def test_cli_db_upgrade_and_current(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = databases.url(tmp_path, "x.sqlite3")
    assert main(["db", "upgrade", "--db", url]) == 0
    assert "Base de données à jour" in capsys.readouterr().out
    assert main(["db", "current", "--db", url]) == 0
    out = capsys.readouterr().out
    assert "Version du schéma" in out


def test_cli_unreachable_database(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/nothing"
    assert main(["db", "upgrade", "--db", url]) == 2
    err = capsys.readouterr().err
    assert "base de données" in err and "Traceback" not in err


def test_config_example_is_valid() -> None:
    """The documented example must load as it is (it is what operators copy)."""
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    config = load_config(example, environ={})
    assert config.locale == "fr"
    assert config.telegram.api_base_url == "https://api.telegram.org/bot"
