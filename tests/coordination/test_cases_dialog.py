"""What coordinators read about cases, rendered in both languages: the paged
list, the sheet and timeline, the nudges (pure, microseconds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialogs.coordination.cases import (
    KNOWN_KINDS,
    TIMELINE_LIMIT,
    CaseRow,
    Entry,
    Holder,
    NudgeRow,
    case_lines,
    event_line,
    listing_lines,
    nudge_lines,
    pages_of,
    timeline_lines,
    who,
)
from dialogs.coordination.commands import COMMANDS, FILTERS, Filters
from dialogs.kernel.commands import Parsed, parse_command
from dialogs.kernel.options import CASE_STATUSES
from dialogs.kernel.render import html_to_plain, render_lines
from dialogs.kernel.replies import Msg

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10h00 in Paris (winter time)
SUMMER = datetime(2026, 7, 2, 9, 0, tzinfo=UTC)  # 11h00 in Paris
NAMES = {"camille-durand": "Camille Durand", "coordinator:telegram:1": "Coralie"}
# Data a real timeline row of each kind carries (see where each is written).
SAMPLES: dict[str, dict[str, object]] = {
    "submitted": {"themes": ["gestion"]},
    "message": {"text": "Nous avons aussi un souci de badges."},
    "interest_added": {"resource": "nextcloud"},
    "interest_removed": {"resource": "nextcloud"},
    "proposals": {"resources": ["nextcloud", "dolibarr"], "aiguilleurs": ["camille-durand"]},
    "offered": {"aiguilleur": "camille-durand"},
    "declined": {"text": "pas le temps"},
    "note": {"text": "appel prévu lundi"},
    "nudge_sent": {"nudge": 1, "kind": "ouverture"},
    "nudge_answer": {"nudge": 1, "kind": "demarrage", "answer": "cours"},
    "nudge_snoozed": {"nudge": 1, "days": 7},
    "impact": {"nudge": 3, "field": "heures", "range": "1-5"},
    "escalated": {"reason": "silence", "nudge": 1, "recipients": 2},
    "relay_message": {"length": 42},
    "assigned": {"aiguilleur": "camille-durand", "previous": "alix"},
    "case_closed": {"text": "doublon", "previous_status": "nouveau"},
    "case_reopened": {"status": "nouveau"},
    "nudges_postponed": {"days": 1, "count": 2},
    "nudges_cancelled": {"count": 3},
    "nudge_cancelled": {"nudge": 2, "kind": "impact", "reason": "forgotten"},
    "intervention": {"aiguilleur": "camille-durand", "minutes": 90, "funding": "subvention"},
}


def plain(locale: str, lines: tuple[Msg, ...]) -> str:
    return html_to_plain(render_lines(locale, lines))


def assert_complete(text: str) -> None:
    """Every key found in the catalog and every parameter filled."""
    assert "admin.cases." not in text and "{" not in text, text


def row(number: int, **fields: object) -> CaseRow:
    values: dict[str, object] = {
        "ref": f"AIG-{number:04d}",
        "created_at": T0 + timedelta(days=number),
        "status": "nouveau",
        "lieu_name": "La Fabrique",
        "region": "BRE",
        "themes": ("gestion", "numerique"),
    }
    values.update(fields)
    return CaseRow(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_listing_line_and_footer(locale: str) -> None:
    rows = [
        row(3, holder=Holder(name="Camille Durand", state="accepted"), status="attribue"),
        row(2, holder=Holder(name="Alix", state="offered")),
        row(1, region=None, themes=()),
    ]
    filters = Filters(status="attribue", theme="gestion", region="BRE", page=1)
    text = plain(
        locale,
        listing_lines(rows, filters=filters, page=1, total=25, prefix="/", scope=None),
    )
    assert_complete(text)
    assert "AIG-0003" in text and "05/03/2026" in text
    assert "Camille Durand" in text and "Alix" in text
    # The next page's command, typed back, gives the same filters.
    assert "/dossiers attribue gestion BRE page 2" in text
    again = parse_command("dossiers", "attribue gestion BRE page 2", COMMANDS)
    assert isinstance(again, Parsed) and again.get(FILTERS) == Filters(
        status="attribue", theme="gestion", region="BRE", page=2
    )
    if locale == "fr":
        assert "Page 1/3" in text and "25 au total" in text
        assert "suivi par Camille Durand" in text and "proposé à Alix" in text
        assert "région inconnue" in text and "Bretagne" in text


def test_listing_last_page_empty_and_scope() -> None:
    last = plain(
        "fr",
        listing_lines([row(1)], filters=Filters(page=3), page=3, total=21, prefix="!", scope=None),
    )
    assert "Page 3/3" in last and "la suite" not in last
    single = plain(
        "fr", listing_lines([row(1)], filters=Filters(), page=1, total=1, prefix="/", scope=None)
    )
    assert "Page" not in single
    empty = plain(
        "fr",
        listing_lines(
            [], filters=Filters(), page=1, total=0, prefix="/", scope=frozenset({"BRE", "PDL"})
        ),
    )
    assert "Aucun dossier ne correspond" in empty
    assert "Vos régions : Bretagne, Pays de la Loire" in empty.replace("\u00a0", " ")
    assert pages_of(0) == 1 and pages_of(10) == 1 and pages_of(11) == 2


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("kind", sorted(KNOWN_KINDS))
def test_every_known_kind_reads_well(locale: str, kind: str) -> None:
    entry = Entry(at=T0, actor="bot", kind=kind, data=SAMPLES.get(kind, {}))
    text = plain(locale, (event_line(entry, NAMES),))
    assert_complete(text)
    # A line of its own, not the generic one of unknown kinds.
    assert text and "événement «" not in text and "event “" not in text


def test_a_timeline_line_with_its_details() -> None:
    def line(event_kind: str, actor: str = "person", **data: object) -> str:
        entries = [Entry(at=T0, actor=actor, kind=event_kind, data=data)]
        return plain("fr", timeline_lines(entries, NAMES)).replace("\u00a0", " ")

    assert "02/03/2026 10h00 — la personne : ajoute un message" in line("message", text="badges")
    assert "« badges »" in line("message", text="badges")
    assert "Camille Durand : note : « appel »" in line("note", "camille-durand", text="appel")
    # Erased text: the event stays, without words.
    assert line("note", "camille-durand").endswith("ajoute une note")
    assert "Coralie : confie le dossier à Camille Durand, suivi jusque-là par alix" in line(
        "assigned", "coordinator:telegram:1", aiguilleur="camille-durand", previous="alix"
    )
    assert "la coordination : clôt le dossier : « doublon »" in line(
        "case_closed", "coordinator:telegram:2", text="doublon"
    )
    assert "Aiguillage : envoie la relance « ouverture des ressources »" in line(
        "nudge_sent", "bot", kind="ouverture"
    )
    assert "répond à la relance « démarrage de l'action » : En cours" in line(
        "nudge_answer", kind="demarrage", answer="cours"
    )
    assert "reporte de 1 jour les relances en attente (2)" in line(
        "nudges_postponed", "coordinator:telegram:1", days=1, count=2
    )
    assert "événement « intervention_recorded »" in line("intervention_recorded", "bot")
    assert (
        "temps d'intervention noté pour Camille Durand : 1 h 30 (subvention) — « visio »"
        in line(
            "intervention",
            "aiguilleur:camille-durand",
            aiguilleur="camille-durand",
            minutes=90,
            funding="subvention",
            note="visio",
        )
    )


def test_relayed_messages_show_metadata_only() -> None:
    entries = [Entry(at=T0, actor="camille-durand", kind="relay_message", data={"length": 42})]
    text = plain("fr", timeline_lines(entries, NAMES))
    assert "Camille Durand" in text and "message relayé (42 caractères)" in text


def test_times_are_shown_in_paris_summer_and_winter() -> None:
    entries = [
        Entry(at=T0, actor="bot", kind="queued"),
        Entry(at=SUMMER, actor="bot", kind="queued"),
    ]
    fr = plain("fr", timeline_lines(entries, {}))
    assert "02/03/2026 10h00" in fr and "02/07/2026 11h00" in fr
    assert "2026-07-02 11:00" in plain("en", timeline_lines(entries, {}))


def test_long_timelines_show_the_last_ones_with_a_count() -> None:
    entries = [
        Entry(at=T0 + timedelta(minutes=i), actor="person", kind="note", data={"text": f"n°{i}"})
        for i in range(TIMELINE_LIMIT + 12)
    ]
    text = plain("fr", timeline_lines(entries, {}))
    assert "12 événements plus anciens non affichés" in text
    assert "n°11 " not in text and "« n°12 »" in text.replace("\u00a0", " ")
    assert text.count("• ") == TIMELINE_LIMIT
    one = plain("fr", timeline_lines(entries[: TIMELINE_LIMIT + 1], {}))
    assert "1 événement plus ancien non affiché" in one
    assert "Aucun événement" in plain("fr", timeline_lines([], {}))


def test_who() -> None:
    assert who("camille-durand", NAMES) == "Camille Durand"
    assert who("aiguilleur:camille-durand", NAMES) == "Camille Durand"
    assert who("aiguilleur:inconnu", NAMES) == "inconnu"
    assert who("coordinator:matrix:@c:x", {}) == Msg(key="admin.cases.who.coordination")
    assert who("someone-else", {}) == "someone-else"


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_case_sheet_and_timeline(locale: str) -> None:
    answers = {"lieu_name": "La Fabrique", "themes": ["gestion"], "problem": "Un tableur"}
    entries = [Entry(at=T0, actor="person", kind="submitted")]
    text = plain(
        locale,
        case_lines(row(42, status="clos"), answers, "Dominique", entries, {}),
    )
    assert_complete(text)
    assert "AIG-0042" in text and "Dominique" in text and "Un tableur" in text
    if locale == "fr":
        assert "Dossier AIG-0042 — clos — reçu le" in text
        assert "Historique" in text and "envoie sa demande" in text


def test_every_status_has_a_short_label() -> None:
    for status in CASE_STATUSES:
        text = plain(
            "fr",
            listing_lines(
                [row(1, status=status)], filters=Filters(), page=1, total=1, prefix="/", scope=None
            ),
        )
        assert_complete(text)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_nudges(locale: str) -> None:
    rows = [
        NudgeRow(kind="ouverture", state="answered", sent_at=T0, answered_at=T0, answer="lance"),
        NudgeRow(kind="demarrage", state="sent", sent_at=T0),
        NudgeRow(kind="impact", state="escalated", sent_at=T0, escalated_at=SUMMER),
        NudgeRow(kind="impact", state="pending", due_at=SUMMER),
        NudgeRow(kind="ouverture", state="cancelled"),
        NudgeRow(kind="custom", state="odd"),
    ]
    text = plain(locale, nudge_lines("AIG-0042", rows, "/"))
    assert_complete(text)
    assert "/relances AIG-0042 reporter 7j" in text and "/relances AIG-0042 annuler" in text
    if locale == "fr":
        assert "prévue le 02/07/2026 11h00" in text
        assert "répondue le 02/03/2026 10h00" in text and "C'est lancé" in text
    none = plain(locale, nudge_lines("AIG-0042", [], "/"))
    assert "AIG-0042" in none
    done = plain(locale, nudge_lines("AIG-0042", rows[:1], "!"))
    assert "reporter" not in done  # nothing left to postpone
