"""Follow-up effects, executed inside the runtime's unit of work.

The dialog (dialogs/followup/steps.py) decides; this module writes: nudge rows, the
case's timeline, and escalation messages queued in the outbox for whoever must
act. Everything here runs in the caller's transaction and never touches the
network: messages leave after the commit, through the outbox.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config.followup import CoordinatorsConfig, FollowupConfig
from bot.delivery import payloads
from bot.followup.schedule import next_allowed, shift_after
from dialogs.followup.steps import IMPACT, PREFIX
from dialogs.kernel.context import NudgeView, Reminder
from dialogs.kernel.dates import short_date
from dialogs.kernel.effects import (
    CaseVerified,
    Effect,
    Escalate,
    ImpactRecorded,
    ImpactStep,
    NudgeAnswered,
    NudgeAsked,
    NudgeCancelled,
    NudgeDeferred,
    NudgeSnoozed,
)
from dialogs.kernel.events import Choice, Event, Text
from dialogs.kernel.lifecycles import SETTLED_STATUSES, CaseStatus
from dialogs.kernel.replies import Msg, Say, msg
from storage.db import UnitOfWork
from storage.models.core import Case
from storage.models.followup import Nudge
from storage.repos.nudges import BLOCKED

log = logging.getLogger(__name__)

FOLLOWUP_EFFECTS = (
    NudgeAsked,
    NudgeDeferred,
    NudgeCancelled,
    NudgeAnswered,
    NudgeSnoozed,
    CaseVerified,
    ImpactStep,
    ImpactRecorded,
    Escalate,
)
# A case in one of these states gets no more nudges (a verified one keeps only
# its impact nudge, which asks what changed).
STOPPED = SETTLED_STATUSES
# Resources a nudge recalls, at most.
RECALLED_RESOURCES = 3
BLOCKED_FLAG = "contact_blocked"
# Escalations where the person asks for a human (the alert says how to answer).
HELP_REASONS = ("help", "help_text")
# A person who blocked the bot writes again: their follow-up starts again this
# long after (not in the middle of what they came to say).
RESUME_DELAY = timedelta(minutes=10)
MATRIX = "matrix"
TELEGRAM = "telegram"


@dataclass(frozen=True, slots=True)
class Target:
    """Where an alert for humans goes: a transport, an address on it, and on
    Matrix the thread of the case (the offer message) when there is one."""

    transport: str
    address: str
    thread: str | None = None


async def assigned_aiguilleur_targets(uow: UnitOfWork, case: Case) -> list[Target]:
    """The aiguilleur who accepted `case` (issue 4's assignments): their Matrix
    room, in the case's thread. Empty while nobody holds the case, and the alert
    then goes to the coordinators. The one place that decides who "owns" a case
    for follow-up alerts."""
    row = await uow.assignments.accepted_for_case(case.id)
    if row is None or not row.room_id:
        return []
    return [Target(MATRIX, row.room_id, thread=row.offer_event_id)]


async def reminder(uow: UnitOfWork, case: Case) -> Reminder:
    """What a nudge recalls of `case` (dialogs/followup/steps.py): its problem, the
    resources the person kept (☆) or else those proposed, whether contact was
    asked for, whether it is verified and an impact nudge is still to come."""
    ids = [str(r) for r in case.interests] or await uow.cases.proposed_resources(case)
    names = await uow.catalog.resource_names(ids[:RECALLED_RESOURCES]) if ids else []
    return Reminder(
        problem=case.problem,
        resources=tuple(names),
        contact=case.contact_requested,
        verified=case.status == CaseStatus.VERIFIED,
        impact_later=await uow.nudges.has_pending(case.id, IMPACT),
    )


@dataclass(slots=True)
class FollowupRuntime:
    config: FollowupConfig = field(default_factory=FollowupConfig)
    coordinators: CoordinatorsConfig = field(default_factory=CoordinatorsConfig)

    @classmethod
    def disabled(cls) -> FollowupRuntime:
        """No nudges are scheduled; answers to earlier ones are still recorded."""
        return cls(config=FollowupConfig(policy=()))

    # -- what the dialog gets to know -----------------------------------------------

    async def view(
        self,
        uow: UnitOfWork,
        transport: str,
        address: str,
        event: Event,
        *,
        awaiting_text: bool | None = None,
    ) -> NudgeView | None:
        """The nudge this event concerns. `awaiting_text`: whether one of the chat's
        nudges waits for typed text, when the caller knows it (the chat's row)."""
        row: Nudge | None = None
        if isinstance(event, Choice) and event.data.startswith(f"{PREFIX}:"):
            number = event.data.split(":")[1]
            if number.isdigit():
                row = await uow.nudges.of_chat(int(number), transport, address)
        elif isinstance(event, Text) and awaiting_text is not False:
            row = await uow.nudges.awaiting_text(transport, address)
        if row is None:
            return None
        case = await uow.cases.by_id(row.case_id)
        if case is None:
            return None
        return NudgeView(
            id=row.id,
            ref=case.ref,
            kind=row.kind,
            answer=row.answer,
            impact_step=row.impact_step,
            reachable=bool(self.coordinator_targets())
            or bool(await assigned_aiguilleur_targets(uow, case)),
            # Button presses redraw the question: the same words as when asked.
            reminder=await reminder(uow, case) if isinstance(event, Choice) else Reminder(),
        )

    # -- scheduling -------------------------------------------------------------------

    async def schedule(
        self, uow: UnitOfWork, case: Case, transport: str, address: str, now: datetime
    ) -> list[Nudge]:
        """The policy's nudges for a new case, in the unit of work that created it."""
        if not self.config.policy:
            return []
        quiet = self.config.quiet
        steps = [(s.kind, next_allowed(now + s.after, quiet)) for s in self.config.policy]
        return await uow.nudges.schedule(
            case_id=case.id,
            transport=transport,
            address=address,
            locale=case.locale,
            steps=steps,
            now=now,
        )

    # -- effects ----------------------------------------------------------------------

    async def execute(self, uow: UnitOfWork, effect: Effect, now: datetime) -> None:
        match effect:
            case NudgeAsked(nudge_id=nudge_id):
                nudge = await uow.nudges.get(nudge_id)
                if nudge is not None:
                    await uow.nudges.mark_sent(
                        nudge_id, now=now, escalate_at=now + self.config.grace
                    )
                    await self.timeline(uow, nudge, "nudge_sent", {"kind": nudge.kind}, now)
            case NudgeDeferred(nudge_id=nudge_id, minutes=minutes):
                until = next_allowed(now + timedelta(minutes=minutes), self.config.quiet)
                await uow.nudges.defer(nudge_id, until=until, now=now)
            case NudgeCancelled(nudge_id=nudge_id, reason=reason):
                nudge = await uow.nudges.get(nudge_id)
                if nudge is not None and await uow.nudges.cancel(nudge_id, reason=reason, now=now):
                    data = {"kind": nudge.kind, "reason": reason}
                    await self.timeline(uow, nudge, "nudge_cancelled", data, now)
            case NudgeAnswered(nudge_id=nudge_id, answer=answer, text=text):
                nudge = await uow.nudges.get(nudge_id)
                if nudge is not None:
                    await uow.nudges.answer(nudge_id, answer=answer, text=text, now=now)
                    answered: dict[str, object] = {"kind": nudge.kind, "answer": answer}
                    if text:
                        answered["text"] = text
                    await self.timeline(uow, nudge, "nudge_answer", answered, now, actor="person")
            case NudgeSnoozed(nudge_id=nudge_id, days=days):
                await self.snooze(uow, nudge_id, days, now)
            case CaseVerified(ref=ref, nudge_id=nudge_id):
                await self.verify(uow, ref, nudge_id, now)
            case ImpactStep(nudge_id=nudge_id, step=step_name):
                await uow.nudges.set_impact_step(nudge_id, step_name, now=now)
            case ImpactRecorded(nudge_id=nudge_id, field=name, value=value):
                nudge = await uow.nudges.get(nudge_id)
                if nudge is not None:
                    data = {"field": name, **value}
                    await self.timeline(uow, nudge, "impact", data, now, actor="person")
            case Escalate(ref=ref, reason=reason, nudge_id=nudge_id, text=text):
                await self.escalate(uow, ref, reason, nudge_id, text, now)

    async def timeline(
        self,
        uow: UnitOfWork,
        nudge: Nudge,
        kind: str,
        data: Mapping[str, object],
        now: datetime,
        actor: str = "bot",
    ) -> None:
        case = await uow.cases.by_id(nudge.case_id)
        if case is not None:
            await uow.cases.add_event(
                case, actor=actor, kind=kind, data={"nudge": nudge.id, **data}, now=now
            )

    async def snooze(self, uow: UnitOfWork, nudge_id: int, days: int, now: datetime) -> None:
        """Ask the same question again in `days`; the case's later nudges move by
        as much as this one did, so the follow-up keeps its rhythm."""
        nudge = await uow.nudges.get(nudge_id)
        if nudge is None:
            return
        quiet = self.config.quiet
        again = next_allowed(now + timedelta(days=days), quiet)
        later = await uow.nudges.pending_of_case(nudge.case_id)
        reference = nudge.sent_at or now
        shift = again - reference
        await uow.nudges.retime(
            shift_after([(n.id, n.due_at) for n in later if n.due_at is not None], shift, quiet),
            now,
        )
        [copy] = await uow.nudges.schedule(
            case_id=nudge.case_id,
            transport=nudge.transport,
            address=nudge.address,
            locale=nudge.locale,
            steps=[(nudge.kind, again)],
            now=now,
        )
        data = {"days": days, "until": again.isoformat(), "next": copy.id}
        await self.timeline(uow, nudge, "nudge_snoozed", data, now, actor="person")

    async def verify(self, uow: UnitOfWork, ref: str, nudge_id: int, now: datetime) -> None:
        case = await uow.cases.by_ref(ref)
        nudge = await uow.nudges.get(nudge_id)
        if case is None or nudge is None or nudge.case_id != case.id:
            return
        # The impact nudge stays: it asks, later, what changed.
        cancelled = await uow.nudges.cancel_for_case(
            case.id, reason="verified", now=now, keep=(IMPACT,)
        )
        await uow.cases.move(
            case,
            CaseStatus.VERIFIED,
            actor="person",
            kind="action_verified",
            data={"nudge": nudge_id, "cancelled_nudges": cancelled},
            now=now,
        )

    # -- a person who had blocked the bot writes again ---------------------------------

    async def resume_blocked(
        self,
        uow: UnitOfWork,
        transport: str,
        address: str,
        now: datetime,
        *,
        blocked: bool | None = None,
    ) -> None:
        """Called for every message a person sends: if their follow-up was stopped
        because they had blocked the bot, it starts again — the refused question
        first, `RESUME_DELAY` from now, the later ones keeping their spacing — the
        flag goes, and whoever was told is told. `blocked`: whether any was, when the
        caller knows it (the chat's row carries it); else one indexed query."""
        if blocked is None:
            blocked = await uow.nudges.any_blocked(transport, address)
        if not blocked:
            return
        rows = await uow.nudges.blocked_of_chat(transport, address)
        by_case: dict[int, list[Nudge]] = {}
        for row in rows:
            by_case.setdefault(row.case_id, []).append(row)
        quiet = self.config.quiet
        start = next_allowed(now + RESUME_DELAY, quiet)
        resumed: list[Case] = []
        for case_id, nudges in by_case.items():
            case = await uow.cases.by_id(case_id)
            if case is None or case.status == CaseStatus.CLOSED:
                for nudge in nudges:  # nothing to resume: out of this query for good
                    await uow.nudges.resume([(nudge.id, now)], now=now)
                    await uow.nudges.cancel(nudge.id, reason=CaseStatus.CLOSED.value, now=now)
                continue

            def planned(nudge: Nudge) -> datetime:
                asked = nudge.sent_at if nudge.state == BLOCKED else nudge.due_at
                return asked or now

            shift = max(start - min(planned(n) for n in nudges), timedelta(0))
            plan = [(n.id, next_allowed(planned(n) + shift, quiet)) for n in nudges]
            await uow.nudges.resume(plan, now=now)
            await uow.nudges.unflag_case(case.id, BLOCKED_FLAG)
            await uow.cases.add_event(
                case, actor="person", kind="contact_unblocked", data={"resumed": len(plan)}, now=now
            )
            resumed.append(case)
        if resumed:
            refs = tuple(c.ref for c in resumed)
            targets = await self.targets_for(uow, resumed[0])
            await self.alert(uow, targets, (msg("escalation.unblocked", refs=refs),), now)
            log.info("contact back for %s; follow-up resumed", ", ".join(refs))

    # -- telling humans ---------------------------------------------------------------

    def coordinator_targets(self) -> list[Target]:
        targets = [Target(TELEGRAM, str(i)) for i in self.coordinators.telegram_ids]
        if self.coordinators.matrix_room:
            targets.append(Target(MATRIX, self.coordinators.matrix_room))
        return targets

    async def targets_for(self, uow: UnitOfWork, case: Case) -> list[Target]:
        return await assigned_aiguilleur_targets(uow, case) or self.coordinator_targets()

    async def alert(
        self,
        uow: UnitOfWork,
        targets: list[Target],
        lines: tuple[Msg, ...],
        now: datetime,
        reply_to: str | None = None,
    ) -> int:
        """Queue `lines` for each target. With `reply_to` (a case's ref), a
        coordinator is also told how to answer the person (``repondre``); an
        aiguilleur holding the case answers in its thread, relayed already."""
        coordinators = self.coordinator_targets()
        for target in targets:
            shown = lines
            if reply_to is not None and target in coordinators:
                prefix = "!" if target.transport == MATRIX else "/"
                shown = (*lines, msg("escalation.reply_hint", prefix=prefix, ref=reply_to))
            payload = payloads.say(Say(lines=shown), self.coordinators.locale)
            # Matrix shows bot messages as notices, in the case's thread if known.
            thread = target.thread if target.transport == MATRIX else None
            await uow.outbox.enqueue(
                transport=target.transport,
                address=target.address,
                payload=dataclasses.replace(payload, thread=thread),
                now=now,
            )
        if not targets:
            log.warning("an alert has no recipient: set [coordinators] in the configuration")
        return len(targets)

    async def escalate(
        self,
        uow: UnitOfWork,
        ref: str,
        reason: str,
        nudge_id: int | None,
        text: str | None,
        now: datetime,
    ) -> None:
        case = await uow.cases.by_ref(ref)
        if case is None:
            return
        nudge = await uow.nudges.get(nudge_id) if nudge_id is not None else None
        if nudge is not None and nudge.case_id != case.id:
            return
        if reason == "silence":
            if nudge is None or nudge.state != "sent" or case.status in STOPPED:
                return  # answered or stopped meanwhile: nobody needs alerting
            await uow.nudges.mark_escalated(nudge.id, now=now)
        lieu: str | Msg = case.lieu_name or msg("escalation.nolieu")
        question: Msg | str = msg(f"followup.kind.{nudge.kind}") if nudge else ""
        sent = (nudge.sent_at if nudge else None) or now
        line = msg(
            f"escalation.{reason}",
            ref=case.ref,
            lieu=lieu,
            question=question,
            date=short_date(sent),
            text=text or "",
        )
        targets = await self.targets_for(uow, case)
        asking = reason in HELP_REASONS
        count = await self.alert(uow, targets, (line,), now, reply_to=case.ref if asking else None)
        data: dict[str, object] = {
            "reason": reason,
            "nudge": nudge_id,
            "recipients": count,
            "text": text,
        }
        if reason == "help" and count:
            # A human has the case now: no more automatic questions about it.
            data["cancelled_nudges"] = await uow.nudges.cancel_for_case(
                case.id, reason="help", now=now
            )
        await uow.cases.add_event(case, actor="bot", kind="escalated", data=data, now=now)
        log.info("case %s escalated (%s) to %d recipient(s)", case.ref, reason, count)
