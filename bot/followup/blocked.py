"""A chat that refuses the bot's messages (Telegram's 403): its nudges stop and
the coordinators hear of it. Called by the outbox (bot/delivery/outbox.py,
`on_blocked`), which is built after this and before the nudge worker."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.delivery.payloads import EditMessage, Message, Payload
from bot.followup.executor import BLOCKED_FLAG, FollowupRuntime
from bot.runtime.clock import Clock
from dialogs.followup.steps import PREFIX
from dialogs.kernel.lifecycles import CaseStatus
from dialogs.kernel.replies import msg
from storage.db import Database
from storage.models.core import Case
from storage.repos.nudges import BLOCKED_REASON

log = logging.getLogger(__name__)


class BlockedChats:
    def __init__(self, db: Database, clock: Clock, followup: FollowupRuntime) -> None:
        self.db = db
        self.clock = clock
        self.followup = followup

    async def contact_failed(
        self,
        transport: str,
        address: str,
        reason: str,
        refused: Sequence[Payload] = (),
    ) -> None:
        """The outbox's hook on `Blocked`: a person blocked the bot (403). A nudge
        among the refused messages was not asked after all (state ``blocked``, its
        line of the timeline says so); the chat's open cases are flagged, their
        follow-up stopped, and the coordinators told, once per blocking. When the
        person writes again, `FollowupRuntime.resume_blocked` starts it again."""
        now = self.clock.now()
        async with self.db.unit() as uow:
            for nudge in await uow.nudges.mark_blocked(nudge_ids_in(refused), now=now):
                blocked_case = await uow.cases.by_id(nudge.case_id)
                if blocked_case is not None:
                    await uow.cases.retag_nudge_event(
                        blocked_case,
                        nudge_id=nudge.id,
                        kind="nudge_sent",
                        to="nudge_blocked",
                        data={"reason": reason[:200]},
                    )
            case_ids = await uow.nudges.case_ids_of_chat(transport, address)
            flagged: list[Case] = []
            for case_id in case_ids:
                case = await uow.cases.by_id(case_id)
                if case is None or case.status == CaseStatus.CLOSED:
                    continue
                if not await uow.nudges.flag_case(case.id, BLOCKED_FLAG, now=now):
                    continue  # known already: the coordinators were told
                stopped = await uow.nudges.cancel_for_case(case.id, reason=BLOCKED_REASON, now=now)
                await uow.cases.add_event(
                    case,
                    actor="bot",
                    kind="contact_blocked",
                    data={"reason": reason[:200], "cancelled_nudges": stopped},
                    now=now,
                )
                flagged.append(case)
            if flagged:
                refs = tuple(c.ref for c in flagged)
                targets = await self.followup.targets_for(uow, flagged[0])
                alert = (msg("escalation.blocked", refs=refs),)
                await self.followup.alert(uow, targets, alert, now)
                log.warning("contact blocked for %s", ", ".join(refs))


def nudge_ids_in(refused: Sequence[Payload]) -> set[int]:
    """The nudges whose question is among these payloads (its buttons carry
    ``f:<nudge id>:…``, dialogs/followup/steps.py)."""
    ids: set[int] = set()
    for payload in refused:
        if not isinstance(payload, Message | EditMessage):
            continue
        for row in payload.buttons:
            for _, data in row:
                parts = data.split(":")
                if len(parts) > 2 and parts[0] == PREFIX and parts[1].isdigit():
                    ids.add(int(parts[1]))
    return ids
