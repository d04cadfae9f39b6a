"""`aiguillage report` and `aiguillage demo-data`: exit codes, what goes to
stdout, one-line errors; the `[report]` configuration section."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.cli.commands import main
from bot.cli.demo_data import CASES, fill_demo
from bot.config.load import ConfigError, load_config
from bot.config.reports import ReportConfig
from bot.reports.chart import PNG_MAGIC
from bot.reports.service import load_report, period_of
from dialogs.kernel.render import render_msg
from dialogs.reports.digest import Slot
from dialogs.reports.render import report_markdown
from dialogs.reports.report import Milestone
from storage.db import Database
from storage.migrate import upgrade
from tests import databases


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err.replace("\xa0", " ")


def test_demo_data_then_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = databases.url(tmp_path, "demo.sqlite3")
    assert main(["demo-data", "--db", url]) == 0
    out = capsys.readouterr().out.replace("\xa0", " ")
    assert f"Historique fictif ajouté : {CASES} demandes" in out

    # Never twice by accident: a database with requests is refused politely.
    assert main(["demo-data", "--db", url]) == 2
    assert f"contient déjà {CASES} demande(s)" in one_line_error(capsys)

    assert main(["report", "--db", url]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# Rapport d'activité et d'impact du ")
    assert "| Thème | Demandes |" in md and "## Jalons de la feuille de route" in md
    assert "| Alix Exemple |" in md or "| Sacha Fictif |" in md

    assert main(["report", "--db", url, "--format", "csv", "--from", "2020-01-01"]) == 0
    csv_text = capsys.readouterr().out
    assert csv_text.startswith("section,key,label,value\nperiod,start,,2020-01-01\n")
    assert f"cases,total,Demandes,{CASES}\n" in csv_text

    chart = tmp_path / "rapport.png"
    assert main(["report", "--db", url, "--format", "png", "--output", str(chart)]) == 0
    assert "Rapport écrit dans" in capsys.readouterr().out
    assert chart.read_bytes().startswith(PNG_MAGIC)

    assert main(["demo-data", "--db", url, "--force"]) == 0
    assert f"{CASES} demandes" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--format", "png"], "--output rapport.png"),
        (["--format", "pdf"], "Format inconnu : « pdf »"),
        (["--from", "2026-02-30"], "Date invalide pour --from : « 2026-02-30 »"),
        (["--from", "2026-03-02", "--to", "2026-03-01"], "(2026-03-02 > 2026-03-01)"),
        (["--from", "2999-01-01"], "commence après sa fin"),
    ],
)
def test_report_mistakes_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    url = databases.url(tmp_path)
    assert main(["report", "--db", url, *args]) == 2
    assert expected in one_line_error(capsys)
    assert capsys.readouterr().out == ""


def test_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = databases.url(tmp_path)
    target = tmp_path / "absent" / "rapport.md"
    assert main(["report", "--db", url, "--output", str(target)]) == 2
    assert "Impossible d'écrire" in one_line_error(capsys)


async def test_demo_history_is_deterministic(tmp_path: Path) -> None:
    now = datetime(2026, 9, 1, 10, 0, tzinfo=UTC)
    reports = []
    for name in ("a.sqlite3", "b.sqlite3"):
        db = Database(databases.url(tmp_path, name))
        await upgrade(db)
        try:
            summary = await fill_demo(db, now)
            config = ReportConfig(start=date(2026, 1, 1))
            async with db.unit() as uow:
                period = await period_of(uow, config, now)
                report = await load_report(uow, config, period, now)
        finally:
            await db.dispose()
        reports.append((summary, report_markdown(report, "fr")))
    assert reports[0] == reports[1]
    summary, md = reports[0]
    assert summary.cases == CASES and summary.interventions > 20 and summary.aiguilleurs == 6
    # Several régions and themes, verified actions, adoptions, every funding.
    assert md.count("| Bretagne |") == 1 and "| Occitanie |" in md
    for funding in ("autofinancement", "subvention", "temps salarié", "budget contributif"):
        assert funding in md
    assert "| Ressource libre | À la place de | Lieux |" in md


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_report_section(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            "[report]\nstart = 2026-01-01\nmilestones = [{ months = 3, interventions = 5 }]\n"
            'active_aiguilleurs = 4\ndigest = "vendredi 17h30"\nqueue_days = 10\n',
        ),
        environ={},
    )
    assert config.report == ReportConfig(
        start=date(2026, 1, 1),
        milestones=(Milestone(months=3, interventions=5),),
        active_aiguilleurs=4,
        digest=Slot(weekday=4, at=datetime(2026, 1, 1, 17, 30).time()),
        queue_days=10,
    )
    assert load_config(write(tmp_path, '[report]\ndigest = ""\n'), environ={}).report.digest is None
    assert load_config(None, environ={}).report == ReportConfig()


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("start = 'demain'", "[report] start"),
        ("milestones = [{ months = 6 }]", "[report] milestones"),
        (
            "milestones = [{ months = 9, interventions = 20 }, { months = 6, interventions = 10 }]",
            "[report] milestones",
        ),
        ("digest = 'jeudi'", "[report] digest"),
        ("queue_days = 0", "[report] queue_days"),
        ("active = 3", "[report] active"),
    ],
)
def test_report_section_errors_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, f"[report]\n{text}\n"), environ={})
    assert key in render_msg("fr", info.value.message)
