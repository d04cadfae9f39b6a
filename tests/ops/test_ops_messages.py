"""The messages a volunteer sysadmin met on a first install (issue 15, item 6), each
now saying what to do, in French, with the exit status a script can test."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError

from bot.cli.commands import explain, main
from dialogs.kernel.render import html_to_plain, render_msg
from tests import databases

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def french(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIGUILLAGE_LOCALE", "fr")
    for name in ("AIGUILLAGE_DATABASE_URL", "AIGUILLAGE_CONFIG", "AIGUILLAGE_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no config.toml of the developer's


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exit_:  # argparse's refusals
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out.replace("\u00a0", " "), err.replace("\u00a0", " ")


def test_db_current_on_an_empty_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = databases.url(tmp_path, "vide.sqlite3")
    if url.startswith("sqlite"):
        (tmp_path / "vide.sqlite3").touch()  # a file without schema, as `db current` meets it
    code, out, _ = run(capsys, "db", "current", "--db", url)
    assert code == 1
    assert "None" not in out and "La base est vide" in out
    assert "aiguillage db upgrade" in out and "aiguillage restore" in out


def test_unusable_data_dir_is_blamed_on_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "un-fichier"
    blocker.write_text("pas un dossier", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[bot]\ndata_dir = "{blocker / "data"}"\n', encoding="utf-8")
    code, _out, err = run(capsys, "db", "upgrade", "--config", str(config))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "[bot] data_dir" in err and "[database] url" not in err
    assert "sudo -u aiguillage" in err and "runuser -u aiguillage" in err


def test_http_listen_as_a_number_says_host_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[http]\nlisten = 8080\n", encoding="utf-8")
    code, _out, err = run(capsys, "db", "current", "--config", str(config))
    assert code == 2
    assert "[http] listen" in err and "hôte:port" in err and '"127.0.0.1:8080"' in err


def test_peer_authentication_hints_at_the_bot_user() -> None:
    refused = DBAPIError(
        "connect",
        None,
        Exception('FATAL:  Peer authentication failed for user "aiguillage"'),
    )
    line = html_to_plain(render_msg("fr", explain(refused)))
    assert "« peer »" in line.replace("\u00a0", " ")
    assert "sudo -u aiguillage" in line and "runuser -u aiguillage" in line


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (("db", "bidule"), "choix invalide : 'bidule'"),
        (("catalog", "check"), "arguments obligatoires manquants : FICHIER"),
        (("match", "x", "--limit", "beaucoup"), "valeur invalide"),
        (("db", "current", "--inconnue"), "arguments inconnus : --inconnue"),
    ],
)
def test_argparse_speaks_french(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], expected: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert expected in err and "erreur :" in err and "utilisation :" in err
    for english in ("invalid choice", "required", "unrecognized", "usage:", "error:"):
        assert english not in err


def test_missing_file_in_french(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, "catalog", "check", str(tmp_path / "absent.yaml"))
    assert code == 2 and "fichier ou dossier introuvable" in err
    assert "No such file" not in err
    code, _out, err = run(capsys, "db", "current", "--config", str(tmp_path / "absent.toml"))
    assert code == 2 and "absent.toml" in err and "No such file" not in err


def test_demo_data_suggests_the_report_on_the_same_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = databases.url(tmp_path, "demo.sqlite3")
    code, out, _ = run(capsys, "demo-data", "--db", url)
    assert code == 0 and f"aiguillage report --db {url}" in out


def test_config_example_points_to_existing_docs() -> None:
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    named = set(re.findall(r"docs/[\w./-]+\.md", text))
    assert named and "docs/coordination.md" not in named
    assert [name for name in named if not (ROOT / name).is_file()] == []


def test_readme_backup_lands_in_an_ignored_folder() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    backups = re.findall(r"aiguillage backup (\S+)", readme)
    assert backups and "sqlite3 data/aiguillage.sqlite3" not in readme
    for target in backups:
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", target.replace("$(date +%F)", "2026-12-07")],
            cwd=ROOT,
            check=False,
        )
        assert ignored.returncode == 0, f"{target} is not ignored by git"


@pytest.mark.parametrize(
    "argv",
    [("--help",), ("backup", "--help"), ("restore", "--help"), ("catalog", "import", "--help")],
)
def test_help_in_french(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 0 and err == ""
    assert out.startswith("utilisation :") and "afficher cette aide" in out
    assert "usage:" not in out and "show this help" not in out


def test_pg_dump_older_than_the_server_names_the_package() -> None:
    from bot.cli.backup import tool_failed_msg
    from storage.backup import ToolFailed

    detail = "error: aborting because of server version mismatch"
    line = render_msg("fr", tool_failed_msg(ToolFailed("pg_dump", detail)))
    assert "postgresql-client-NN" in line and "pg_dump" in line and detail in line
