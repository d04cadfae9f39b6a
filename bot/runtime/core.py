"""The runtime: one incoming event → one unit of work → messages to send.

In one transaction it claims the update id (a repeat is refused by the primary
key), loads the chat's state, runs the sans-I/O `step`, executes the effects
(which may feed events back into `step`), saves the new state and queues the
rendered replies in the outbox. Only after the commit does anything leave the
process. Transports call `handle`; they never touch the state themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol, assert_never

from bot.catalog.service import MatchIndexCache, propose_with_sources
from bot.coordination.router import AdminDesk
from bot.delivery.payloads import to_payload, variant_of
from bot.followup.executor import FollowupRuntime
from bot.intake.case_views import lieu_of
from bot.privacy import service as privacy
from bot.runtime.clock import Clock
from bot.runtime.flood import FloodGate, FloodLimit, Verdict
from dialogs.catalog.matching import MatchQuery
from dialogs.intake.engine import step
from dialogs.kernel.context import CaseSummary, Context, RelayView
from dialogs.kernel.effects import (
    AddCaseMessage,
    CaseVerified,
    Effect,
    EndRelay,
    ErasePersonalData,
    Escalate,
    ExportPersonalData,
    ImpactRecorded,
    ImpactStep,
    NudgeAnswered,
    NudgeAsked,
    NudgeCancelled,
    NudgeDeferred,
    NudgeSnoozed,
    RecordConsent,
    RecordInterest,
    RelayEffect,
    RelayToAiguilleur,
    RequestContact,
    SetLocale,
    ShareContacts,
    SubmitCase,
)
from dialogs.kernel.events import CaseCreated, Choice, ContactRouted, Event, Suggestion
from dialogs.kernel.i18n import supported
from dialogs.kernel.render import render_msg
from dialogs.kernel.replies import Say, msg
from dialogs.kernel.state import State
from storage.db import Database, UnitOfWork
from storage.models.core import Case
from storage.repos.conversations import ChatRow
from storage.repos.inbox import DuplicateUpdate

log = logging.getLogger(__name__)

# Effects can feed events back into `step`; a bound guards against a loop
# (rounds of feedback: every event fed back in a round is replayed, in order).
MAX_FEEDBACK = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class Incoming:
    transport: str
    address: str
    update_key: str
    event: Event
    sender_id: str
    sender_name: str | None = None
    locale_hint: str | None = None
    # The message a button press came from, for edits in place.
    source_message: str | None = None


class Desk(Protocol):
    """The aiguilleurs' side (bot/assignment/person.py), called inside the person's
    unit of work: who holds their case, their relay effects, contact requests."""

    async def relay_view(self, uow: UnitOfWork, person_id: int) -> RelayView | None: ...

    async def relay(self, uow: UnitOfWork, effect: RelayEffect, person_id: int | None) -> None: ...

    async def contact_requested(self, uow: UnitOfWork, case: Case) -> None: ...

    # The coordinators' Matrix room ("" without one): who hears of waiting cases.
    coordinators_room: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Handled:
    duplicate: bool = False
    toast: str | None = None
    queued: int = 0
    # Over the sender's flood limit: claimed, not read (bot/runtime/flood.py).
    flooded: bool = False


class Runtime:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        followup: FollowupRuntime | None = None,
        flood: FloodGate | None = None,
        *,
        desk: Desk | None = None,
        admin: AdminDesk | None = None,
        matches: MatchIndexCache | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        # Per-person flood limit on what people send (not on nudges, which the bot sends).
        self.flood = flood if flood is not None else FloodGate(FloodLimit())
        # The match index, rebuilt when the catalog changes (cached on disk by bot/app.py).
        self.matches = matches if matches is not None else MatchIndexCache()
        # Follow-up nudges: scheduled on case creation, their answers recorded.
        self.followup = followup or FollowupRuntime.disabled()
        # Assignment to aiguilleurs and the relay (None without Matrix).
        self.desk = desk
        # Coordination commands (bot/coordination/), answered before the conversation.
        self.admin = admin

    async def handle(self, incoming: Incoming) -> Handled:
        try:
            async with self.db.unit() as uow:
                return await self._handle(uow, incoming, limited=True)
        except DuplicateUpdate:
            log.info("duplicate update %s:%s ignored", incoming.transport, incoming.update_key)
            return Handled(duplicate=True)

    async def handle_in(self, uow: UnitOfWork, incoming: Incoming) -> Handled:
        """The same work inside a unit of work the caller owns (the nudge worker
        claims its row and runs the step in one transaction). A repeat raises
        DuplicateUpdate, which must abandon the whole unit."""
        return await self._handle(uow, incoming)

    async def _handle(self, uow: UnitOfWork, incoming: Incoming, limited: bool = False) -> Handled:
        now = self.clock.now()
        await uow.inbox.claim(incoming.transport, incoming.update_key, now)
        if limited:
            # After the claim: a redelivered duplicate takes no token.
            sender = f"{incoming.transport}:{incoming.sender_id}"
            verdict = self.flood.check(sender, incoming.update_key, now)
            if verdict is not Verdict.ADMIT:
                return await self.refuse(uow, incoming, verdict)
            # A person who had blocked the bot writes again: their follow-up resumes.
            await self.followup.resume_blocked(uow, incoming.transport, incoming.address, now)
        if self.admin is not None:
            answered = await self.admin.from_chat(
                uow,
                transport=incoming.transport,
                address=incoming.address,
                sender_id=incoming.sender_id,
                sender_name=incoming.sender_name,
                locale_hint=incoming.locale_hint,
                event=incoming.event,
                source_message=incoming.source_message,
            )
            if answered is not None:
                return Handled(toast=answered.toast, queued=answered.queued)
        row = await uow.conversations.for_update(incoming.transport, incoming.address)
        state = State.from_json(row.state) if row is not None else None
        person_id = row.person_id if row is not None else None
        ctx = await self.context(uow, person_id, incoming)
        event = incoming.event
        if isinstance(event, Choice) and event.message is None and incoming.source_message:
            # Which message the button is on: the summary is later edited in place.
            event = replace(event, message=incoming.source_message)

        outcome = step(state, event, ctx)
        replies = list(outcome.replies)
        current = outcome.state
        toast = outcome.toast
        effects = list(outcome.effects)
        for _ in range(MAX_FEEDBACK):
            if not effects:
                break
            person_id, fed_back = await self.execute(uow, effects, person_id, incoming)
            # Every event an effect fed back goes through `step`, in order; the
            # effects they decide are executed in the next round.
            effects = []
            for back in fed_back:
                outcome = step(current, back, ctx)
                current = outcome.state
                toast = outcome.toast
                replies.extend(outcome.replies)
                effects.extend(outcome.effects)
        if effects:
            log.error("effects left after %d rounds of feedback: %s", MAX_FEEDBACK, effects)

        final = current
        locale = (
            final.locale if final else (state.locale if state else supported(incoming.locale_hint))
        )
        if final is None:
            await uow.conversations.forget(incoming.transport, incoming.address)
        else:
            await self.save(uow, row, incoming, person_id, final)
        variant = variant_of(incoming.transport)
        payloads = [
            to_payload(reply, locale, incoming.source_message, variant) for reply in replies
        ]
        queued = await uow.outbox.enqueue_all(
            transport=incoming.transport,
            address=incoming.address,
            payloads=[p for p in payloads if p is not None],
            now=now,
        )
        shown_toast = render_msg(locale, toast, variant) if toast else None
        log.debug(
            "handled %s:%s → %s",
            incoming.transport,
            incoming.update_key,
            final.stage if final else "forgotten",
        )
        return Handled(toast=shown_toast, queued=queued)

    async def refuse(self, uow: UnitOfWork, incoming: Incoming, verdict: Verdict) -> Handled:
        """A flooded update: claimed, not read. The first of an episode queues one
        warning saying so; a button press gets a short toast (its spinner must stop)."""
        is_press = isinstance(incoming.event, Choice)
        if verdict is Verdict.DROP and not is_press:
            return Handled(flooded=True)
        row = await uow.conversations.for_update(incoming.transport, incoming.address)
        locale = State.from_json(row.state).locale if row else supported(incoming.locale_hint)
        queued = 0
        if verdict is Verdict.WARN:
            log.warning("flood on %s: updates not read until calm", incoming.transport)
            payload = to_payload(Say(lines=(msg("flood.warning"),)), locale, None)
            assert payload is not None
            await uow.outbox.enqueue(
                transport=incoming.transport,
                address=incoming.address,
                payload=payload,
                now=self.clock.now(),
            )
            queued = 1
        toast = render_msg(locale, msg("flood.toast")) if is_press else None
        return Handled(toast=toast, queued=queued, flooded=True)

    async def save(
        self,
        uow: UnitOfWork,
        row: ChatRow | None,
        incoming: Incoming,
        person_id: int | None,
        state: State,
    ) -> None:
        await uow.conversations.save(
            row,
            transport=incoming.transport,
            address=incoming.address,
            person_id=person_id,
            state=state.to_json(),
            now=self.clock.now(),
        )

    async def context(self, uow: UnitOfWork, person_id: int | None, incoming: Incoming) -> Context:
        """What the step may look at: the person's cases (one query), their
        pending nudge, who holds their case."""
        ctx = Context(
            now=self.clock.now(),
            locale_hint=incoming.locale_hint,
            nudge=await self.followup.view(
                uow, incoming.transport, incoming.address, incoming.event
            ),
            relay=(
                await self.desk.relay_view(uow, person_id)
                if self.desk is not None and person_id is not None
                else None
            ),
        )
        return await self.with_cases(uow, ctx, person_id) if person_id is not None else ctx

    async def with_cases(self, uow: UnitOfWork, ctx: Context, person_id: int | None) -> Context:
        cases: tuple[Case, ...] = ()
        if person_id is not None:
            cases = tuple(await uow.cases.of_person(person_id))
        return replace(
            ctx,
            cases=tuple(
                CaseSummary(
                    ref=c.ref, status=c.status, created_at=c.created_at, lieu_name=c.lieu_name
                )
                for c in cases
            ),
            last_lieu=lieu_of(cases[0]) if cases else None,
        )

    async def execute(
        self, uow: UnitOfWork, effects: list[Effect], person_id: int | None, incoming: Incoming
    ) -> tuple[int | None, list[Event]]:
        fed_back: list[Event] = []
        for effect in effects:
            person_id, event = await self.execute_one(uow, effect, person_id, incoming)
            if event is not None:
                fed_back.append(event)
        return person_id, fed_back

    async def execute_one(
        self, uow: UnitOfWork, effect: Effect, person_id: int | None, incoming: Incoming
    ) -> tuple[int | None, Event | None]:
        now = self.clock.now()
        match effect:
            case RecordConsent(locale=locale):
                person = await uow.people.record_consent(
                    transport=incoming.transport,
                    external_id=incoming.sender_id,
                    display_name=incoming.sender_name,
                    locale=locale,
                    now=now,
                )
                return person.id, None
            case SubmitCase(sheet=sheet, locale=locale):
                case = await uow.cases.create(
                    person_id=person_id,
                    locale=locale,
                    sheet=sheet,
                    now=now,
                )
                await uow.cases.add_event(
                    case, actor="person", kind="submitted", data={"themes": case.themes}, now=now
                )
                log.info("case %s created", case.ref)
                await self.followup.schedule(uow, case, incoming.transport, incoming.address, now)
                resources, people = await self.suggestions(uow, case, now)
                possible = await self.contact_possible(uow, case, proposed=bool(people))
                created = CaseCreated(
                    ref=case.ref,
                    resources=resources,
                    aiguilleurs=people,
                    contact_possible=possible,
                )
                return person_id, created
            case AddCaseMessage(ref=ref, text=text):
                owned = await self.own_case(uow, ref, person_id)
                if owned is not None:
                    await uow.cases.add_event(
                        owned, actor="person", kind="message", data={"text": text}, now=now
                    )
                return person_id, None
            case RecordInterest(ref=ref, resource_id=resource_id, interested=interested):
                owned = await self.own_case(uow, ref, person_id)
                if owned is not None:
                    await uow.cases.record_interest(owned, resource_id, interested, now=now)
                return person_id, None
            case RequestContact(ref=ref):
                owned = await self.own_case(uow, ref, person_id)
                if owned is None:
                    return person_id, None
                await uow.cases.request_contact(owned, now=now)
                routed = await self.contact_requested(uow, owned)
                return person_id, ContactRouted(ref=ref, to=routed)
            case SetLocale(locale=locale):
                speaker = await uow.people.by_id(person_id) if person_id is not None else None
                if speaker is not None:
                    speaker.locale = locale
                return person_id, None
            case RelayToAiguilleur() | EndRelay() | ShareContacts():
                if self.desk is not None:
                    await self.desk.relay(uow, effect, person_id)
                return person_id, None
            case ExportPersonalData(locale=locale, caption=caption):
                await privacy.queue_export(
                    uow,
                    transport=incoming.transport,
                    address=incoming.address,
                    sender_id=incoming.sender_id,
                    person_id=person_id,
                    locale=locale,
                    caption=caption,
                    now=now,
                )
                return person_id, None
            case ErasePersonalData():
                await privacy.erase_on_request(
                    uow,
                    transport=incoming.transport,
                    address=incoming.address,
                    sender_id=incoming.sender_id,
                    person_id=person_id,
                    now=now,
                )
                return None, None
            case (
                NudgeAsked()
                | NudgeDeferred()
                | NudgeCancelled()
                | NudgeAnswered()
                | NudgeSnoozed()
                | CaseVerified()
                | ImpactStep()
                | ImpactRecorded()
                | Escalate()
            ):
                await self.followup.execute(uow, effect, now)
                return person_id, None
            case _:
                assert_never(effect)

    async def suggestions(
        self, uow: UnitOfWork, case: Case, now: datetime
    ) -> tuple[tuple[Suggestion, ...], tuple[Suggestion, ...]]:
        """What the matching engine proposes for a new case, recorded on its timeline."""
        text = "\n".join(t for t in (case.problem, case.tried, case.goal) if t)
        query = MatchQuery(text=text, themes=tuple(case.themes), region=case.region, limit=9)
        # The index and candidates the match used: asking for them again cost
        # three more queries.
        proposal = await propose_with_sources(uow, self.matches, query, now)
        result = proposal.result
        catalog = {doc.resource.id: doc.resource for doc in proposal.index.docs}
        names = {c.profile.id: c.profile.name for c in proposal.candidates}
        resources = tuple(
            Suggestion(
                id=p.id,
                name=catalog[p.id].name,
                url=catalog[p.id].url,
                summary=first_sentence(catalog[p.id].summary),
                summary_en=first_sentence(catalog[p.id].summary_en),
                why=p.why,
            )
            for p in result.resources
            if p.id in catalog
        )
        people = tuple(
            Suggestion(id=p.id, name=names[p.id], why=p.why)
            for p in result.aiguilleurs
            if p.id in names
        )
        await uow.cases.record_proposals(
            case, [r.id for r in resources], [a.id for a in people], now=now
        )
        return resources, people

    async def own_case(self, uow: UnitOfWork, ref: str, person_id: int | None) -> Case | None:
        """A case the person may act on: their own, never someone else's by a forged ref."""
        case = await uow.cases.by_ref(ref)
        return case if case is not None and case.person_id == person_id else None

    async def contact_requested(self, uow: UnitOfWork, case: Case) -> str:
        """Where a contact request goes, in the same unit of work: the Matrix desk
        (offers to aiguilleurs), else the coordinators on Telegram (with buttons to
        assign it), else nowhere — which the person is told (see `ContactRouted`):
        "desk" (offered to an aiguilleur), "queued" (nobody free on Matrix yet),
        "coordinators" or "nobody"."""
        if self.desk is not None:
            await self.desk.contact_requested(uow, case)
            if await uow.assignments.open_for_case(case.id) is not None:
                return "desk"
            # Nobody free: the case waits in the queue (the coordinators' room hears of it).
            return "queued"
        if self.admin is not None and await self.admin.contact_requested(uow, case):
            return "coordinators"
        log.warning(
            "case %s: contact requested but nobody can be reached "
            "(no [matrix], no [coordinators] telegram_ids)",
            case.ref,
        )
        return "nobody"

    async def contact_possible(self, uow: UnitOfWork, case: Case, *, proposed: bool) -> bool:
        """Whether to offer contact: an aiguilleur proposed and the Matrix desk to
        offer them the case, or a coordinator who can take it."""
        if self.desk is not None and (proposed or self.desk.coordinators_room):
            return True
        return self.admin is not None and bool(await self.admin.contact_recipients(uow, case))


def first_sentence(text: str) -> str:
    """One line per resource in a chat: the summary's first sentence."""
    end = text.find(". ")
    return text[: end + 1] if 0 < end < 200 else text[:200]
