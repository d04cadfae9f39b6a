"""`aiguillage demo-data`: a realistic FICTIONAL history, so that a newcomer sees
a meaningful report at once.

Eight months of requests ending today, more and more of them as the service
grows, in several régions and themes; the fictional aiguilleurs of the starter
catalog (`demo: true`) accept or decline offers, record interventions with their
funding; follow-up nudges are answered — some with the impact questions (libre
resources adopted in place of proprietary tools, hours saved, new contacts) —
or escalated; a few requests wait in the queue.

Deterministic: the same seed and the same day give the same rows. Nobody real
is in it: no person rows, no chat addresses (nudges point at the "demo"
transport, which no sender serves), no pending nudge, no open offer — a bot
started on this database never writes to anyone because of it. It refuses a
database that already has requests, unless forced.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from bot.catalog.service import load_starter_catalog, starter_catalog
from dialogs.catalog.entries import AiguilleurProfile
from dialogs.coordination.commands import FUNDINGS
from dialogs.kernel.dates import PARIS
from dialogs.kernel.lifecycles import SETTLED_STATUSES, AssignmentState, CaseStatus
from dialogs.kernel.options import HELP_KINDS, ROLES, THEMES, URGENCIES
from dialogs.reports.report import local_day
from storage.db import Database, UnitOfWork
from storage.models.assignment import ACCEPTED, CLOSED, DECLINED, Assignment, CaseQueue
from storage.models.coordination import Intervention
from storage.models.core import Case
from storage.models.followup import Nudge

SEED = 20260105
DAYS = 240
CASES = 40
TRANSPORT = "demo"
# How the fictional national coordinator appears on timelines (Actor.label).
COORDINATOR = "coordinator:demo:coordination"
# (département, commune, région): where the fictional lieux are.
PLACES = (
    ("29", "Brest", "BRE"),
    ("35", "Rennes", "BRE"),
    ("22", "Lannion", "BRE"),
    ("44", "Nantes", "PDL"),
    ("49", "Angers", "PDL"),
    ("33", "Bordeaux", "NAQ"),
    ("87", "Limoges", "NAQ"),
    ("34", "Montpellier", "OCC"),
    ("31", "Toulouse", "OCC"),
    ("93", "Montreuil", "IDF"),
    ("75", "Paris", "IDF"),
    ("59", "Lille", "HDF"),
    ("69", "Lyon", "ARA"),
    ("21", "Dijon", "BFC"),
    ("13", "Marseille", "PAC"),
    ("974", "Saint-Denis", "974"),
    ("45", "Orléans", "CVL"),
)
LIEUX = ("La Fabrique", "Le Hangar", "La Ruche", "L'Atelier", "Le Bocal", "La Grange")
LIEUX_END = ("des Possibles", "du Canal", "Partagé", "Solidaire", "de la Gare", "des Communs")
PROBLEMS = {
    "mobilite": "Nos usagers viennent tous en voiture, on voudrait organiser du covoiturage.",
    "alimentation": "On cherche à monter une épicerie en circuit court avec les producteurs.",
    "energie": "La facture de chauffage du bâtiment explose cet hiver.",
    "gouvernance": "Les décisions se prennent dans un groupe WhatsApp et plus personne ne suit.",
    "gestion": "Nos adhésions et la compta sont dans des tableurs Excel éparpillés.",
    "numerique": "Tous nos documents sont sur Google Drive, on aimerait en sortir.",
    "financement": "On veut financer un nouvel atelier sans dépendre d'une seule subvention.",
    "documentation": "Personne ne sait où sont les procédures, tout est dans Notion.",
}
# What lieux answer to "which libre resources did you adopt, in place of what?".
ADOPTIONS = {
    "mobilite": ("On a lancé une communauté Mobicoop à la place de BlaBlaCar.",),
    "alimentation": ("Les commandes passent par Open Food Network, fini Shopify.",),
    "energie": ("On suit nos consommations dans un tableur LibreOffice au lieu d'Excel.",),
    "gouvernance": (
        "On décide sur Loomio plutôt que dans WhatsApp.",
        "Framadate remplace Doodle pour les réunions.",
    ),
    "gestion": ("Les adhésions sont dans Paheko, plus dans Excel.", "Dolibarr à la place de Sage."),
    "numerique": ("Nextcloud a remplacé Google Drive.", "Jitsi Meet au lieu de Zoom."),
    "financement": ("On a ouvert un Open Collective plutôt qu'une cagnotte Leetchi.",),
    "documentation": ("Notre wiki est sur DokuWiki, on a quitté Notion.",),
}
FUNDING_WEIGHTS = (35, 25, 25, 15)  # in FUNDINGS order
HOURS = ("1-5", "1-5", "5-10", "10-20", "nsp")
CONTACTS = ("1-2", "1-2", "3-5", "0", "5+")


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoSummary:
    cases: int
    interventions: int
    aiguilleurs: int


class DatabaseNotEmpty(Exception):
    def __init__(self, cases: int) -> None:
        super().__init__(f"{cases} cases")
        self.cases = cases


def demo_aiguilleurs() -> tuple[AiguilleurProfile, ...]:
    return tuple(a for a in starter_catalog(True).aiguilleurs if a.demo)


async def fill_demo(
    db: Database, now: datetime, *, seed: int = SEED, force: bool = False
) -> DemoSummary:
    """Add the fictional history; DatabaseNotEmpty when requests exist (unless `force`)."""
    async with db.unit() as uow:
        existing = await uow.cases.count()
    if existing and not force:
        raise DatabaseNotEmpty(existing)
    await load_starter_catalog(db, include_demo_aiguilleurs=True, now=now)
    people = demo_aiguilleurs()
    story = Story(random.Random(seed), now, people)
    async with db.unit() as uow:
        for index in range(CASES):
            await story.case(uow, index)
    return DemoSummary(cases=CASES, interventions=story.interventions, aiguilleurs=len(people))


class Story:
    """One case after another, each lived from its request to today."""

    def __init__(
        self, rng: random.Random, now: datetime, people: tuple[AiguilleurProfile, ...]
    ) -> None:
        self.rng = rng
        self.now = now
        self.people = people
        self.interventions = 0
        start = local_day(now) - timedelta(days=DAYS)
        self.start = datetime.combine(start, time(0, 0), tzinfo=PARIS)

    def moment(self, index: int) -> datetime:
        """More requests as the months go by (the service becomes known)."""
        share = ((index + self.rng.random()) / CASES) ** 0.6
        day = self.start + timedelta(days=int(share * (DAYS - 1)))
        return day + timedelta(hours=self.rng.randint(8, 19), minutes=self.rng.randint(0, 59))

    def later(self, after: datetime, low_hours: float, high_hours: float) -> datetime:
        return after + timedelta(hours=self.rng.uniform(low_hours, high_hours))

    def candidates(self, themes: list[str], region: str) -> list[AiguilleurProfile]:
        def fits(person: AiguilleurProfile) -> int:
            theme = 2 if set(person.themes) & set(themes) else 0
            place = 1 if not person.regions or region in person.regions else 0
            return theme + place

        ranked = sorted(self.people, key=lambda p: (-fits(p), p.id))
        best = [p for p in ranked if fits(p) >= 2] or ranked[:2]
        self.rng.shuffle(best)
        return best

    async def case(self, uow: UnitOfWork, index: int) -> None:
        rng = self.rng
        created = self.moment(index)
        departement, commune, region = rng.choice(PLACES)
        themes = rng.sample(THEMES, k=rng.choice((1, 1, 2)))
        sheet: dict[str, Any] = {
            "lieu_name": f"{rng.choice(LIEUX)} {rng.choice(LIEUX_END)}",
            "place": {"departement": departement, "commune": commune, "region": region},
            "role": rng.choice(ROLES),
            "themes": themes,
            "problem": PROBLEMS[themes[0]],
            "help": [rng.choice(HELP_KINDS)],
            "urgency": rng.choice(URGENCIES),
        }
        case = await uow.cases.create(person_id=None, locale="fr", sheet=sheet, now=created)
        await self.event(uow, case, created, "person", "submitted", {"themes": themes})
        await self.event(
            uow, case, created, "bot", "proposals", {"resources": [], "aiguilleurs": []}
        )
        if rng.random() < 0.2:
            # The resources were enough: no contact asked; a coordinator closes
            # the request after a few weeks.
            closed = self.later(created, 24 * 20, 24 * 40)
            if closed < self.now:
                data = {"text": None, "cancelled_nudges": 0, "aiguilleur": None}
                await self.move(
                    uow, case, CaseStatus.CLOSED, closed, COORDINATOR, "case_closed", data
                )
            return
        asked = self.later(created, 0.1, 2)
        if asked >= self.now:
            return
        await self.move(uow, case, CaseStatus.WAITING, asked, "person", "contact_requested", {})
        held = await self.offers(uow, case, themes, region, asked)
        if held is not None:
            await self.follow(uow, case, held, themes[0])

    async def offers(
        self,
        uow: UnitOfWork,
        case: Case,
        themes: list[str],
        region: str,
        asked: datetime,
    ) -> Assignment | None:
        """Offers in turn until someone accepts; recent cases may still wait."""
        moment = asked
        for person in self.candidates(themes, region):
            offered = self.later(moment, 0.05, 3)
            decided = self.later(offered, 1, 40)
            if decided >= self.now:
                break
            await self.event(uow, case, offered, "bot", "offered", {"aiguilleur": person.id})
            declines = self.rng.random() < 0.25
            row = await self.assignment(
                uow, case, person, offered, decided, DECLINED if declines else ACCEPTED
            )
            if declines:
                await self.event(uow, case, decided, person.id, "declined", {})
                moment = decided
                continue
            await self.move(uow, case, CaseStatus.ASSIGNED, decided, person.id, "accepted", {})
            return row
        assigned = self.later(moment, 24 * 2, 24 * 10)
        if assigned < self.now:
            # Everyone asked declined: a coordinator found someone and assigned it.
            person = self.candidates(themes, region)[0]
            row = await self.assignment(uow, case, person, assigned, assigned, ACCEPTED)
            data = {"aiguilleur": person.id, "previous": None, "previous_status": "en_attente"}
            await self.move(uow, case, CaseStatus.ASSIGNED, assigned, COORDINATOR, "assigned", data)
            return row
        # Nobody yet: the case waits ("en_attente" already) in the queue, as the desk
        # would leave it.
        uow.session.add(CaseQueue(case_id=case.id, queued_at=min(moment, self.now)))
        return None

    async def assignment(
        self,
        uow: UnitOfWork,
        case: Case,
        person: AiguilleurProfile,
        offered: datetime,
        decided: datetime,
        state: AssignmentState,
    ) -> Assignment:
        """An offer and its answer, through the writer of the lifecycle."""
        room = f"!demo-{person.id}:example.org"
        row = await uow.assignments.offer(
            case=case, aiguilleur_id=person.id, room_id=room, deadline=decided, now=offered
        )
        await uow.assignments.move(row, state, now=decided)
        row.person_noted = state == ACCEPTED
        return row

    async def follow(
        self,
        uow: UnitOfWork,
        case: Case,
        held: Assignment,
        theme: str,
    ) -> None:
        rng = self.rng
        moment = held.decided_at or case.created_at
        for _ in range(rng.choice((1, 1, 1, 2))):
            moment = self.later(moment, 12, 24 * 12)
            if moment >= self.now:
                break
            slug = held.aiguilleur_id
            funding = rng.choices(FUNDINGS, weights=FUNDING_WEIGHTS)[0]
            minutes = rng.choice((30, 45, 60, 60, 90, 120, 180))
            uow.session.add(
                Intervention(
                    case_id=case.id,
                    aiguilleur_id=slug,
                    minutes=minutes,
                    funding=funding,
                    note=None,
                    recorded_by=f"aiguilleur:{slug}",
                    at=moment,
                )
            )
            data = {"aiguilleur": slug, "minutes": minutes, "funding": funding}
            await self.event(uow, case, moment, f"aiguilleur:{slug}", "intervention", data)
            self.interventions += 1
        await self.nudges(uow, case, held, theme)

    async def nudges(self, uow: UnitOfWork, case: Case, held: Assignment, theme: str) -> None:
        """The default policy (3, 14, 45 days); only nudges already due are kept."""
        rng = self.rng
        for kind, days in (("ouverture", 3), ("demarrage", 14), ("impact", 45)):
            sent = case.created_at + timedelta(days=days, hours=rng.uniform(0, 4))
            if sent >= self.now or case.status in SETTLED_STATUSES:
                return
            nudge = self.nudge(case, kind, sent)
            uow.session.add(nudge)
            await uow.session.flush()
            await self.event(
                uow, case, sent, "bot", "nudge_sent", {"nudge": nudge.id, "kind": kind}
            )
            roll = rng.random()
            answered = self.later(sent, 0.5, 30)
            if roll < 0.12 or answered >= self.now:
                # Silence: escalated after the grace period, still unanswered.
                escalated = sent + timedelta(days=3)
                if escalated < self.now:
                    nudge.state, nudge.escalated_at = "escalated", escalated
                    data = {"reason": "silence", "nudge": nudge.id, "recipients": 1, "text": None}
                    await self.event(uow, case, escalated, "bot", "escalated", data)
                return
            launched = 0.45 if kind == "ouverture" else 0.6
            answer = "lance" if roll < launched else rng.choice(("cours", "pas"))
            nudge.state, nudge.answer, nudge.answered_at = "answered", answer, answered
            data = {"nudge": nudge.id, "kind": kind, "answer": answer}
            await self.event(uow, case, answered, "person", "nudge_answer", data)
            if answer == "lance":
                await self.verified(uow, case, held, nudge, answered, theme)
                return

    def nudge(self, case: Case, kind: str, sent: datetime) -> Nudge:
        return Nudge(
            case_id=case.id,
            kind=kind,
            transport=TRANSPORT,
            address=f"demo:{case.ref}",
            locale="fr",
            state="sent",
            due_at=None,
            attempts=1,
            deferrals=0,
            sent_at=sent,
            created_at=case.created_at,
            updated_at=sent,
        )

    async def verified(
        self,
        uow: UnitOfWork,
        case: Case,
        held: Assignment,
        nudge: Nudge,
        moment: datetime,
        theme: str,
    ) -> None:
        rng = self.rng
        data = {"nudge": nudge.id, "cancelled_nudges": 0}
        await self.move(uow, case, CaseStatus.VERIFIED, moment, "person", "action_verified", data)
        answers: list[dict[str, object]] = []
        if rng.random() < 0.8:
            answers.append({"field": "ressources", "text": rng.choice(ADOPTIONS[theme])})
        if rng.random() < 0.75:
            answers.append({"field": "heures", "range": rng.choice(HOURS)})
        if rng.random() < 0.7:
            answers.append({"field": "contacts", "range": rng.choice(CONTACTS)})
        for step, answer in enumerate(answers, start=1):
            at = moment + timedelta(minutes=step)
            await self.event(uow, case, at, "person", "impact", {"nudge": nudge.id, **answer})
        if rng.random() < 0.3:
            closed = self.later(moment, 24, 24 * 20)
            if closed < self.now:
                await uow.assignments.move(held, CLOSED, now=closed)
                await self.move(
                    uow, case, CaseStatus.CLOSED, closed, held.aiguilleur_id, "closed", {}
                )

    async def move(
        self,
        uow: UnitOfWork,
        case: Case,
        to: CaseStatus,
        at: datetime,
        actor: str,
        kind: str,
        data: dict[str, Any],
    ) -> None:
        """A status move at a past moment, through the writer of the lifecycle."""
        await uow.cases.move(case, to, actor=actor, kind=kind, data=data, now=at)

    async def event(
        self,
        uow: UnitOfWork,
        case: Case,
        at: datetime,
        actor: str,
        kind: str,
        data: dict[str, Any],
    ) -> None:
        await uow.cases.add_event(case, actor=actor, kind=kind, data=data, now=at)
        case.updated_at = max(case.updated_at, at)
