"""One small history with known figures, given both as plain rows (for the pure
report) and as database rows (for the storage layer, on SQLite and PostgreSQL).

Period: March 2026 (Paris). Roadmap: from 2026-01-01, 3 interventions at 2
months (due 2026-03-01: missed with 2), 10 at 6 months (ongoing with 6), at least
2 active aiguilleurs (3: reached). Expected figures are in EXPECTED.

Cases (created → first contact, verified):
- c0  2026-01-05 BRE gestion               (before the period; interventions i1, i2)
- c1  03-02 09:00 BRE gestion+numerique    contact +2 h (accepted)
- c2  03-05 10:00 BRE gestion              contact +10 h (assigned); status action_verifiee
- c3  03-10 08:00 NAQ energie              contact +1 day; verified 03-20
- c4  03-20 12:00 no région, numerique     no contact
- c5  03-31 21:30 UTC = 23:30 Paris, NAQ gestion: contact 04-02 (after: not counted)
- c6  02-28 23:30 UTC = 03-01 00:30 Paris, OCC alimentation: contact +30 min, verified
- c7  03-31 22:30 UTC = 04-01 00:30 Paris: outside the period
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from dialogs.reports.report import (
    AssignmentRow,
    CaseRow,
    ImpactRow,
    InterventionRow,
    Milestone,
    Period,
    Report,
    ResourceRow,
    Roadmap,
    Rows,
)
from storage.db import Database
from storage.models.assignment import Assignment
from storage.models.catalog import Resource
from storage.models.coordination import Intervention
from tests.coordination.support import aiguilleur_row


def at(month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


PERIOD = Period(start=date(2026, 3, 1), end=date(2026, 3, 31))
ROADMAP = Roadmap(
    start=date(2026, 1, 1),
    milestones=(Milestone(months=2, interventions=3), Milestone(months=6, interventions=10)),
    active_aiguilleurs=2,
)
# name: (created, themes, région, status, first contact (kind, at), verified at)
CASES: dict[str, tuple[datetime, tuple[str, ...], str | None, str, Any, datetime | None]] = {
    "c0": (at(1, 5), ("gestion",), "BRE", "attribue", None, None),
    "c1": (
        at(3, 2, 9),
        ("gestion", "numerique"),
        "BRE",
        "attribue",
        ("accepted", at(3, 2, 11)),
        None,
    ),
    "c2": (at(3, 5, 10), ("gestion",), "BRE", "action_verifiee", ("assigned", at(3, 5, 20)), None),
    "c3": (at(3, 10, 8), ("energie",), "NAQ", "attribue", ("accepted", at(3, 11, 8)), at(3, 20)),
    "c4": (at(3, 20), ("numerique",), None, "en_attente", None, None),
    "c5": (at(3, 31, 21, 30), ("gestion",), "NAQ", "attribue", ("accepted", at(4, 2)), at(4, 5)),
    "c6": (
        at(2, 28, 23, 30),
        ("alimentation",),
        "OCC",
        "clos",
        ("accepted", at(3, 1, 0)),
        at(3, 3),
    ),
    "c7": (at(3, 31, 22, 30), ("gestion",), "BRE", "nouveau", None, None),
}
# (case, aiguilleur, minutes, funding, at)
INTERVENTIONS = (
    ("c0", "alix", 90, "subvention", at(1, 15)),
    ("c0", "alix", 60, "autofinancement", at(2, 10)),
    ("c1", "alix", 45, "subvention", at(3, 3)),
    ("c3", "sacha", 120, "salarie", at(3, 12)),
    ("c3", "sacha", 30, "contributif", at(3, 12, 15)),
    ("c2", "alix", 60, "autofinancement", at(3, 25)),
    ("c1", "lou", 15, "subvention", at(4, 1, 12)),
)
# (case, aiguilleur, state, offered, decided)
ASSIGNMENTS = (
    ("c1", "alix", "accepted", at(3, 2, 10), at(3, 2, 11)),
    ("c3", "camille", "closed", at(2, 10), at(3, 5)),
    ("c0", "lou", "returned", at(1, 10), at(2, 1)),
    ("c4", "sacha", "declined", at(3, 20, 13), at(3, 20, 15)),
)
# (case, at, data)
IMPACTS: tuple[tuple[str, datetime, dict[str, Any]], ...] = (
    (
        "c2",
        at(3, 15),
        {
            "field": "ressources",
            "text": "On utilise Nextcloud au lieu de google drive, et Framadate",
        },
    ),
    (
        "c3",
        at(3, 21),
        {"field": "ressources", "text": "Paheko à la place d'Excel ; Doodle toujours"},
    ),
    ("c3", at(3, 21, 13), {"field": "heures", "range": "5-10"}),
    ("c3", at(3, 21, 14), {"field": "contacts", "range": "3-5"}),
    ("c6", at(3, 4), {"field": "heures", "value": 4.5}),
    ("c6", at(3, 4, 13), {"field": "contacts", "text": "quelques-uns"}),
    ("c6", at(3, 4, 14), {"field": "ressources", "text": "rien de spécial"}),
    ("c1", at(3, 9), {"field": "heures", "range": "nsp"}),
    ("c2", at(3, 10), {"field": "heures", "range": "1-5"}),
    ("c2", at(3, 16), {"field": "heures", "range": "10-20"}),
    ("c5", at(4, 6), {"field": "heures", "range": "20+"}),
)
RESOURCES = (
    ResourceRow(id="nextcloud", name="Nextcloud", libre=True, replaces=("Google Drive", "Dropbox")),
    ResourceRow(id="framadate", name="Framadate", libre=True, replaces=("Doodle",)),
    ResourceRow(id="paheko", name="Paheko (ex-Garradin)", libre=True, replaces=("Excel",)),
    ResourceRow(id="doodle", name="Doodle", libre=False, replaces=()),
)
NAMES = {
    "alix": "Alix Exemple",
    "sacha": "Sacha Fictif",
    "lou": "Lou Démo",
    "camille": "Camille Test",
}

EXPECTED: dict[str, Any] = {
    "cases": 6,
    "by_theme": (("gestion", 3), ("numerique", 2), ("alimentation", 1), ("energie", 1)),
    "by_region": (("BRE", 2), ("NAQ", 2), ("OCC", 1), (None, 1)),
    "reached": 4,
    "waiting": 2,
    "median": 360,  # (120 + 600) / 2 minutes
    "p90": 1440,
    "verified": 3,
    "percent": 50,
    "works": (("sacha", 2, 150), ("alix", 2, 105)),
    "total": (4, 255),
    "funding": (("autofinancement", 60), ("subvention", 45), ("salarie", 120), ("contributif", 30)),
    "active": ("alix", "camille", "sacha"),
    "adoptions": (("framadate", None, 1), ("nextcloud", "Google Drive", 1), ("paheko", "Excel", 1)),
    "adopting": 2,
    "resource_answers": 3,
    "hours": 19,  # 5 (c3) + 4 (c6) + 10 (c2, its latest answer); nsp is no answer
    "hours_answers": 3,
    "contacts": 3,
    "contacts_answers": 1,
    "matches": 1,
    "milestones": ((2, date(2026, 3, 1), 3, 2, "missed"), (6, date(2026, 7, 1), 10, 6, "ongoing")),
    "cumulative": (
        (date(2026, 1, 15), 1),
        (date(2026, 2, 10), 2),
        (date(2026, 3, 3), 3),
        (date(2026, 3, 12), 5),
        (date(2026, 3, 25), 6),
    ),
}
# A coordinator of Bretagne: c1 and c2 only; alix's two interventions on them.
EXPECTED_BRE: dict[str, Any] = {
    "cases": 2,
    "by_theme": (("gestion", 2), ("numerique", 1)),
    "works": (("alix", 2, 105),),
    "active": ("alix",),
    "verified": 1,
}


def plain_rows() -> Rows:
    ids = {name: index + 1 for index, name in enumerate(CASES)}
    cases = tuple(
        CaseRow(
            id=ids[name],
            ref=f"AIG-{ids[name]:04d}",
            created_at=created,
            themes=themes,
            region=region,
            status=status,
            first_contact_at=contact[1] if contact else None,
            verified_at=verified,
        )
        for name, (created, themes, region, status, contact, verified) in CASES.items()
    )
    return Rows(
        cases=cases,
        interventions=tuple(
            InterventionRow(case_id=ids[c], aiguilleur_id=a, minutes=m, funding=f, at=when)
            for c, a, m, f, when in INTERVENTIONS
        ),
        assignments=tuple(
            AssignmentRow(case_id=ids[c], aiguilleur_id=a, state=s, offered_at=o, decided_at=d)
            for c, a, s, o, d in ASSIGNMENTS
        ),
        impacts=tuple(
            ImpactRow(case_id=ids[c], at=when, field=str(data["field"]), data=data)
            for c, when, data in IMPACTS
        ),
        aiguilleurs=NAMES,
        resources=RESOURCES,
    )


async def seed(db: Database) -> dict[str, str]:
    """The same history in the database; returns the refs by name."""
    refs: dict[str, str] = {}
    async with db.unit() as uow:
        for slug, name in NAMES.items():
            uow.session.add(
                aiguilleur_row(slug, name=name, created_at=at(1, 1), updated_at=at(1, 1))
            )
        for r in RESOURCES:
            uow.session.add(
                Resource(
                    id=r.id,
                    name=r.name,
                    url=f"https://{r.id}.example.org",
                    summary="",
                    themes=["numerique"],
                    kind="outil",
                    tags=[],
                    license="inconnue",
                    libre=r.libre,
                    replaces=list(r.replaces),
                    regions=[],
                    active=True,
                    created_at=at(1, 1),
                    updated_at=at(1, 1),
                )
            )
        cases = {}
        for name, (created, themes, region, status, contact, verified) in CASES.items():
            place = {"region": region} if region else {}
            sheet = {"lieu_name": f"Lieu {name}", "place": place, "themes": list(themes)}
            case = await uow.cases.create(person_id=None, locale="fr", sheet=sheet, now=created)
            case.status = status
            await uow.cases.add_event(case, actor="person", kind="submitted", data={}, now=created)
            # Events that are not a first contact must not count as one.
            offered = created + timedelta(minutes=1)
            await uow.cases.add_event(case, actor="bot", kind="offered", data={}, now=offered)
            if contact:
                kind, moment = contact
                await uow.cases.add_event(case, actor="alix", kind=kind, data={}, now=moment)
                later = moment + timedelta(days=1)
                await uow.cases.add_event(case, actor="alix", kind="accepted", data={}, now=later)
            if verified:
                await uow.cases.add_event(
                    case, actor="person", kind="action_verified", data={}, now=verified
                )
            cases[name] = case
            refs[name] = case.ref
        for c, slug, minutes, funding, when in INTERVENTIONS:
            uow.session.add(
                Intervention(
                    case_id=cases[c].id,
                    aiguilleur_id=slug,
                    minutes=minutes,
                    funding=funding,
                    note=None,
                    recorded_by=f"aiguilleur:{slug}",
                    at=when,
                )
            )
        for c, slug, state, offered, decided in ASSIGNMENTS:
            uow.session.add(
                Assignment(
                    case_id=cases[c].id,
                    aiguilleur_id=slug,
                    state=state,
                    room_id=f"!{slug}:example.org",
                    person_noted=False,
                    contacts_shared=False,
                    offered_at=offered,
                    decided_at=decided,
                    updated_at=decided,
                )
            )
        for c, when, data in IMPACTS:
            await uow.cases.add_event(cases[c], actor="person", kind="impact", data=data, now=when)
    return refs


def figures(report: Report) -> dict[str, Any]:
    """The report's figures in the shape of EXPECTED."""
    return {
        "cases": report.cases,
        "by_theme": report.by_theme,
        "by_region": report.by_region,
        "reached": report.contact.reached,
        "waiting": report.contact.waiting,
        "median": report.contact.median_minutes,
        "p90": report.contact.p90_minutes,
        "verified": report.verified,
        "percent": report.verified_percent,
        "works": tuple((w.aiguilleur_id, w.count, w.minutes) for w in report.interventions),
        "total": (report.total.count, report.total.minutes),
        "funding": report.total.by_funding,
        "active": tuple(sorted(slug for slug, _ in report.active)),
        "adoptions": tuple((a.resource_id, a.replaced, a.cases) for a in report.impact.adoptions),
        "adopting": report.impact.adopting_cases,
        "resource_answers": report.impact.resource_answers,
        "hours": report.impact.hours_per_month,
        "hours_answers": report.impact.hours_answers,
        "contacts": report.impact.contacts,
        "contacts_answers": report.impact.contacts_answers,
        "matches": report.impact.matches,
        "milestones": tuple(
            (m.months, m.due, m.target, m.count, m.state) for m in report.milestones
        ),
        "cumulative": report.cumulative,
    }
