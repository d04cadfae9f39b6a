"""The report's figures from plain rows (dialogs/reports/report.py), in microseconds:
the scenario of tests/reports/report_scenario.py, and the rules one by one."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from dialogs.kernel.render import render, render_msg
from dialogs.kernel.replies import Msg
from dialogs.reports.render import duration, report_csv, report_lines, report_markdown
from dialogs.reports.report import (
    AdoptionReader,
    Period,
    ResourceRow,
    Rows,
    add_months,
    build_report,
    percentile,
)
from tests.reports.report_scenario import (
    EXPECTED,
    PERIOD,
    RESOURCES,
    ROADMAP,
    figures,
    plain_rows,
)


def plain(lines: tuple[Msg, ...]) -> str:
    """The text a person reads, no-break spaces as plain ones."""
    return render("fr", lines).plain.replace("\xa0", " ")


def test_scenario_figures() -> None:
    report = build_report(plain_rows(), PERIOD, ROADMAP)
    assert figures(report) == EXPECTED
    assert report.active_reached


def test_the_period_is_made_of_paris_days() -> None:
    period = Period(start=date(2026, 3, 1), end=date(2026, 3, 31))
    # Winter time on 1 March (UTC+1), summer time on 31 March (UTC+2).
    assert period.start_at == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)
    assert period.end_at == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)


def test_percentiles_and_months() -> None:
    assert percentile([10], 90) == 10
    assert percentile(list(range(1, 11)), 90) == 9
    assert percentile(list(range(1, 12)), 90) == 10
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2026, 11, 15), 3) == date(2027, 2, 15)


def test_adoptions_are_read_against_the_catalog() -> None:
    reader = AdoptionReader(RESOURCES)
    assert reader.read("Nextcloud au lieu de Dropbox") == [("nextcloud", "Dropbox")]
    # A proprietary tool no resource claims goes to the one resource named alone.
    extra = (*RESOURCES, ResourceRow(id="jitsi-meet", name="Jitsi Meet", libre=True))
    assert AdoptionReader(extra).read("jitsi meet à la place de Google Drive") == [
        ("jitsi-meet", "Google Drive")
    ]
    # A proprietary product named is never an adoption; a word inside another is no match.
    assert reader.read("On garde Doodle") == []
    assert reader.read("nextclouds") == []
    assert reader.read("PAHEKO !") == [("paheko", None)]


def test_nothing_in_the_period() -> None:
    empty = build_report(Rows(), PERIOD, ROADMAP)
    assert empty.cases == 0 and empty.verified_percent == 0
    assert empty.contact.median_minutes is None
    text = plain(report_lines(empty))
    assert "aucun contact sur la période" in text
    assert "aucune enregistrée" in text
    assert "2 interventions" not in text


def test_durations() -> None:
    shown = [render_msg("fr", duration(m)) for m in (45, 120, 90, 3000)]
    assert shown == ["45 min", "2 h", "1 h 30", "2 j 2 h"]
    assert render_msg("fr", duration(3000, days=False)) == "50 h"


def test_chat_lines() -> None:
    text = plain(report_lines(build_report(plain_rows(), PERIOD, ROADMAP)))
    assert "Rapport du 01/03/2026 au 31/03/2026" in text
    assert "Demandes ouvertes : 6" in text
    assert "Gestion (3), Numérique (2), Alimentation (1), Énergie (1)" in text
    assert "Bretagne (2), Nouvelle-Aquitaine (2), Occitanie (1), sans région (1)" in text
    assert "médiane 6 h, 90 % en 24 h ou moins" in text
    assert "Action vérifiée : 50 % des demandes (3 sur 6)" in text
    assert "Interventions : 4, 4 h 15 au total" in text
    assert "temps salarié 2 h" in text and "budget contributif 30 min" in text
    assert "• Sacha Fictif — interventions : 2, temps : 2 h 30" in text
    assert "Nextcloud plutôt que Google Drive (1)" in text and "Framadate (1)" in text
    assert "au moins 19 h par mois (réponses : 3)" in text
    assert "3 interventions à 2 mois (01/03/2026) : 2/3, non atteint" in text
    assert "10 interventions à 6 mois (01/07/2026) : 6/10, en cours" in text
    assert "Au moins 2 aiguilleur·euses actif·ves : 3/2, atteint" in text


def test_markdown() -> None:
    md = report_markdown(build_report(plain_rows(), PERIOD, ROADMAP), "fr").replace("\xa0", " ")
    assert md.startswith("# Rapport d'activité et d'impact du 01/03/2026 au 31/03/2026\n")
    assert "| Gestion | 3 |" in md
    assert "| Sacha Fictif | 2 | 2 h 30 | — | — | 2 h | 30 min |" in md
    assert "| Total | 4 | 4 h 15 | 1 h | 45 min | 2 h | 30 min |" in md
    assert "| Nextcloud | Google Drive | 1 |" in md
    assert "| 3 interventions à 2 mois | 01/03/2026 | 2 | 3 | non atteint |" in md
    assert "- **Action vérifiée** : 50 % des demandes (3 sur 6)" in md
    assert "<b>" not in md


def test_csv_rows() -> None:
    text = report_csv(build_report(plain_rows(), PERIOD, ROADMAP), "en")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["section", "key", "label", "value"]
    values = {(r[0], r[1]): r[3] for r in rows[1:]}
    assert values[("cases", "total")] == "6"
    assert values[("cases_by_theme", "gestion")] == "3"
    assert values[("cases_by_region", "")] == "1"
    assert values[("first_contact", "median_minutes")] == "360"
    assert values[("first_contact", "p90_minutes")] == "1440"
    assert values[("verified", "percent")] == "50"
    assert values[("interventions", "alix.autofinancement_minutes")] == "60"
    assert values[("interventions", "total.salarie_minutes")] == "120"
    assert values[("adoptions", "paheko:Excel")] == "1"
    assert values[("impact", "hours_per_month_at_least")] == "19"
    assert values[("milestones", "2m.state")] == "missed"
    assert values[("milestones", "active_aiguilleurs.count")] == "3"
    labels = {(r[0], r[1]): r[2] for r in rows[1:]}
    assert labels[("cases_by_theme", "energie")] == "Energy"
