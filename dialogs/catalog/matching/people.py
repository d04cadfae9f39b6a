"""Ranking aiguilleurs for one query.

Rules:
- Only available people with room (active cases below capacity) are proposed;
  fictional demo people are the caller's business (the runtime never loads
  them for real users).
- Theme skills first (the main theme of the request counts most), then place:
  same région, then people who work everywhere, then the others. When themes
  are known, someone with none of them is not proposed: being nearby does not
  make one able to help.
- Rotation: among people who fit equally, the least loaded, then the least
  recently proposed (never proposed first), then the id. The community's rule
  is to avoid locking cases onto a few people; the runtime records each
  proposal (`CatalogRepo.mark_proposed`) so that the next equal choice moves on.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import UTC, datetime

from dialogs.catalog.matching.model import AiguilleurCandidate, Proposal
from dialogs.kernel.replies import Msg, msg

MAIN_SKILL = 2.0
OTHER_SKILL = 1.0
SAME_REGION = 1.5
NATIONAL = 1.0
# Before anyone in the past: never-proposed people come first in rotation.
NEVER = datetime.min.replace(tzinfo=UTC)


def rank_aiguilleurs(
    candidates: Sequence[AiguilleurCandidate],
    themes: tuple[str, ...],
    region: str | None,
    limit: int,
) -> tuple[Proposal, ...]:
    if limit <= 0:
        return ()
    main = themes[0] if themes else None
    wanted = frozenset(themes)
    scored: list[tuple[float, float, datetime, str, int]] = []
    for position, candidate in enumerate(candidates):
        profile = candidate.profile
        if not profile.available or candidate.active_cases >= profile.capacity:
            continue
        shared = wanted.intersection(profile.themes)
        if wanted and not shared:
            continue
        skills = OTHER_SKILL * len(shared) + (MAIN_SKILL - OTHER_SKILL) * (main in shared)
        if region is not None and region in profile.regions:
            place = SAME_REGION
        elif not profile.regions:
            place = NATIONAL
        else:
            place = 0.0
        scored.append(
            (
                -(skills + place),
                candidate.active_cases / profile.capacity,
                candidate.last_proposed_at or NEVER,
                profile.id,
                position,
            )
        )
    # Ids are unique, so the order never reaches the position.
    best = heapq.nsmallest(limit, scored)
    return tuple(
        Proposal(id=row[3], score=-row[0], why=reasons(candidates[row[4]], wanted, region))
        for row in best
    )


def reasons(
    candidate: AiguilleurCandidate, wanted: frozenset[str], region: str | None
) -> tuple[Msg, ...]:
    profile = candidate.profile
    why = [
        msg("why.specialist", theme=msg(f"topic.{theme}"))
        for theme in profile.themes
        if theme in wanted
    ][:2]
    if region is not None and region in profile.regions:
        why.append(msg("why.same_region"))
    elif not profile.regions:
        why.append(msg("why.national"))
    why.append(msg("why.availability"))
    return tuple(why)
