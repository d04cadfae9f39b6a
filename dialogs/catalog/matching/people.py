"""Ranking aiguilleurs for one query, in a strict order of criteria (each one
only breaks the ties of the one before; nothing adds up):

1. Only available people with room (active cases below capacity) are
   proposed; fictional demo people are the caller's business (the runtime
   never loads them for real users). When themes are known, someone with none
   of them is not proposed: being nearby does not make one able to help.
2. The main theme of the request: people whose own first theme it is (its
   specialists) first, wherever they are; then people who list it among
   others.
3. Place: same région, then people who work everywhere, then the others.
4. How many of the other themes of the request they know.
5. Rotation: the least loaded, then the least recently proposed (never
   proposed first), then the id. The community's rule is to avoid locking
   cases onto a few people; the runtime records each proposal
   (`CatalogRepo.mark_proposed`) so that the next equal choice moves on.
Each choice is explained in one sentence ("spécialiste énergie, dans votre
région (Bretagne), disponible").
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import UTC, datetime

from dialogs.catalog.matching.model import AiguilleurCandidate, Proposal
from dialogs.geo.places import region_codes, region_name
from dialogs.kernel.replies import Msg, msg

SAME_REGION = 2
NATIONAL = 1
ELSEWHERE = 0
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
    scored: list[tuple[int, int, int, float, datetime, str, int]] = []
    for position, candidate in enumerate(candidates):
        profile = candidate.profile
        if not profile.available or candidate.active_cases >= profile.capacity:
            continue
        shared = wanted.intersection(profile.themes)
        if wanted and not shared:
            continue
        skill = (2 if profile.themes[:1] == (main,) else 1) if main in shared else 0
        scored.append(
            (
                -skill,
                -place_tier(profile.regions, region),
                -len(shared - {main}),
                candidate.active_cases / profile.capacity,
                candidate.last_proposed_at or NEVER,
                profile.id,
                position,
            )
        )
    # Ids are unique, so the order never reaches the position.
    best = heapq.nsmallest(limit, scored)
    return tuple(
        Proposal(
            id=row[5],
            score=float(-row[0] + 0.25 * -row[1] + 0.05 * -row[2]),
            why=reasons(candidates[row[6]], themes, region),
        )
        for row in best
    )


def place_tier(regions: Sequence[str], region: str | None) -> int:
    if region is not None and region in regions:
        return SAME_REGION
    if not regions:
        return NATIONAL
    return ELSEWHERE


def reasons(
    candidate: AiguilleurCandidate, themes: tuple[str, ...], region: str | None
) -> tuple[Msg, ...]:
    """One sentence: skill, place, availability."""
    profile = candidate.profile
    known = [t for t in themes if t in profile.themes]
    if known and known[0] == themes[0] and profile.themes[:1] == (known[0],):
        skill = msg("why.skill.main", theme=msg(f"topic.{known[0]}"))
    elif known:
        skill = msg("why.skill.other", theme=msg(f"topic.{known[0]}"))
    else:
        skill = msg("why.skill.any")
    tier = place_tier(profile.regions, region)
    if tier == SAME_REGION and region is not None and region in region_codes():
        place = msg("why.place.same", region=region_name(region))
    elif tier == NATIONAL:
        place = msg("why.place.national")
    else:
        place = msg("why.place.other")
    return (msg("why.person", skill=skill, place=place),)
