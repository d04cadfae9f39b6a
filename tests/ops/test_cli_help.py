"""`--help` of every command and subcommand prints its French help, never a traceback (the
backup folder's example, `date +%F`, once crashed argparse's %-formatting)."""

from __future__ import annotations

import argparse

import pytest

from bot.cli.commands import build_parser, main


def command_paths(
    parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()
) -> list[tuple[str, ...]]:
    found = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += command_paths(sub, (*prefix, name))
    return found


PATHS = command_paths(build_parser())


def test_the_commands_are_all_found() -> None:
    assert {("backup",), ("restore",), ("db", "upgrade"), ("catalog", "import")} <= set(PATHS)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "aiguillage")
def test_help(
    path: tuple[str, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIGUILLAGE_LOCALE", "fr")
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    out, err = capsys.readouterr()
    assert exit_.value.code == 0 and err == ""
    assert out.replace("\u00a0", " ").startswith("utilisation : aiguillage")
    if path == ("backup",):
        assert "$(date +%F)" in out
