"""Ranking resources for one query.

Rules, in the order they apply:
1. Text relevance (BM25F over name, tags, summary, replaced tools), with typo
   correction and synonyms (see `query`), plus a bonus for a multi-word tag
   found as such ("budget participatif").
2. `replaces`: naming a proprietary tool ("on utilise Doodle") strongly favours
   what replaces it; the proprietary resource itself, already known to the
   person, is pushed down.
3. Themes: the person's themes lift resources of those themes (main theme
   most) and lower the others; inferred themes only lift, and less.
4. Libre before proprietary: a non-libre resource needs clearly more relevance.
5. A regional resource is shown only in its régions, and ahead of national
   ones there (when it fits at all: at least `REGIONAL_AHEAD` of the best
   score); with no région known, regional resources are left out.
6. Diversity: a resource too similar to one already chosen (same tags, same
   replaced tools, same kind) is discounted, so five near-twins never fill
   the list (maximal marginal relevance).
Every proposal says why, from the strongest reason down.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass, field
from operator import itemgetter

from dialogs.catalog.matching.index import POSTINGS_BUDGET, POSTINGS_READ, MatchIndex
from dialogs.catalog.matching.model import MatchQuery, Proposal
from dialogs.catalog.matching.query import ReadQuery, ngrams
from dialogs.kernel.replies import Msg, msg

TAG_PHRASE_BONUS = 1.0
REPLACES_BONUS = 5.0
ALREADY_USED = 0.3
THEME_MAIN = 1.5
THEME_OTHER = 1.25
OFF_THEME = 0.8
THEME_EACH_MORE = 0.15
INFERRED_MAIN = 1.2
INFERRED_OTHER = 1.1
# Resources of a chosen theme that match no word still rank, faintly: they fill
# the list when the text says little.
THEME_PRIOR_MAIN = 0.4
THEME_PRIOR_OTHER = 0.2
PROPRIETARY = 0.7
REGIONAL = 1.6
REGIONAL_AHEAD = 0.35
# Below this share of the best score, a resource is noise rather than a proposal.
RELEVANCE_FLOOR = 0.15
# Words found in more than this share of the catalog explain nothing ("lieu").
TELLING_SHARE = 0.25
DIVERSITY = 0.5
CANDIDATES = 120
POOL = 20
MAX_REASONS = 3
MAX_KEYWORDS = 3


@dataclass(slots=True)
class TextScores:
    """Query-dependent, theme-independent evidence per resource."""

    relevance: dict[int, float] = field(default_factory=lambda: defaultdict(float))
    replaced: dict[int, str] = field(default_factory=dict)
    already_used: set[int] = field(default_factory=set)


def text_scores(index: MatchIndex, read: ReadQuery) -> TextScores:
    scores = TextScores()
    relevance = scores.relevance
    # Long texts read less of each list, so that the total work stays bounded.
    depth = min(POSTINGS_READ, POSTINGS_BUDGET // max(len(read.terms), 1))
    for term, weight in read.terms.items():
        for number, contribution in index.postings[term][:depth]:
            relevance[number] += weight * contribution
    for key in ngrams(read.stems, 3):
        if len(key) > 1 and key in index.tag_phrases:
            for number in index.tag_phrases[key][:POSTINGS_READ]:
                relevance[number] += TAG_PHRASE_BONUS * index.tag_idf[key]
    for key in ngrams(read.folded, index.replaces_longest):
        for number, tool in index.replaces.get(key, ()):
            if number not in scores.replaced:
                relevance[number] += REPLACES_BONUS
                scores.replaced[number] = tool
        scores.already_used.update(index.proprietary_names.get(key, ()))
    return scores


def rank_resources(
    index: MatchIndex,
    query: MatchQuery,
    read: ReadQuery,
    scores: TextScores,
    themes: tuple[str, ...],
    inferred: bool,
) -> tuple[Proposal, ...]:
    if query.limit <= 0:
        return ()
    pool = dict(heapq.nlargest(CANDIDATES, scores.relevance.items(), key=itemgetter(1)))
    if themes and not inferred:
        for theme in themes:
            for number in index.by_theme.get(theme, ())[: 3 * query.limit]:
                pool.setdefault(number, 0.0)

    wanted = frozenset(themes)
    adjusted: dict[int, float] = {}
    for number, relevance in pool.items():
        doc = index.docs[number]
        if doc.regions and query.region not in doc.regions:
            continue
        score = relevance
        if wanted:
            main = doc.main_theme in wanted
            shared = len(doc.themes & wanted)
            other = not main and shared > 0
            # Covering several of the person's themes fits better than one.
            extra = THEME_EACH_MORE * max(shared - 1, 0)
            if inferred:
                score *= (INFERRED_MAIN if main else INFERRED_OTHER if other else 1.0) + extra
            else:
                score *= (THEME_MAIN if main else THEME_OTHER if other else OFF_THEME) + extra
                score += THEME_PRIOR_MAIN if main else THEME_PRIOR_OTHER if other else 0.0
        if not doc.resource.libre:
            score *= PROPRIETARY
        if number in scores.already_used:
            score *= ALREADY_USED
        if doc.regions:
            score *= REGIONAL
        if score > 0:
            adjusted[number] = score
    if not adjusted:
        return ()
    best = max(adjusted.values())
    floor = RELEVANCE_FLOOR * best
    for number, score in adjusted.items():
        if index.docs[number].regions and score >= REGIONAL_AHEAD * best:
            # Ahead of every national resource, in their own order.
            adjusted[number] = best + score
    shortlist = heapq.nsmallest(
        POOL,
        ((n, s) for n, s in adjusted.items() if s >= floor),
        key=lambda item: (-item[1], index.docs[item[0]].resource.id),
    )
    chosen = diversify(index, shortlist, query.limit)
    return tuple(
        Proposal(
            id=index.docs[number].resource.id,
            score=round(score, 4),
            why=reasons(index, number, query, read, scores, wanted),
        )
        for number, score in chosen
    )


def diversify(
    index: MatchIndex, shortlist: list[tuple[int, float]], limit: int
) -> list[tuple[int, float]]:
    """Greedy maximal marginal relevance: each pick is the best score discounted
    by its similarity (Jaccard of features) to every resource already picked,
    multiplicatively, so a third near-twin pays more than a second. The
    discount is updated with the last pick only: O(shortlist × limit)."""
    remaining = [(number, score, 1.0) for number, score in shortlist]
    chosen: list[tuple[int, float]] = []
    while remaining and len(chosen) < limit:
        best_at, best_value = 0, -1.0
        for position, (_number, score, discount) in enumerate(remaining):
            if score * discount > best_value:
                best_at, best_value = position, score * discount
        picked = remaining.pop(best_at)[0]
        chosen.append((picked, best_value))
        features = index.docs[picked].features
        remaining = [
            (
                number,
                score,
                discount * (1 - DIVERSITY * jaccard(features, index.docs[number].features)),
            )
            for number, score, discount in remaining
        ]
    return chosen


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    shared = len(a & b)
    total = len(a) + len(b) - shared
    return shared / total if total else 0.0


def reasons(
    index: MatchIndex,
    number: int,
    query: MatchQuery,
    read: ReadQuery,
    scores: TextScores,
    wanted: frozenset[str],
) -> tuple[Msg, ...]:
    doc = index.docs[number]
    why: list[Msg] = []
    if number in scores.replaced:
        why.append(msg("why.replaces", tool=scores.replaced[number]))
    if doc.regions and query.region in doc.regions:
        why.append(msg("why.same_region"))
    keywords = matched_words(index, number, read)
    if keywords:
        why.append(msg("why.keywords", words=keywords))
    shared = [t for t in doc.resource.themes if t in wanted]
    if shared:
        why.append(msg("why.theme", theme=msg(f"topic.{shared[0]}")))
    if doc.resource.libre:
        why.append(msg("why.libre"))
    return tuple(why[:MAX_REASONS])


def matched_words(index: MatchIndex, number: int, read: ReadQuery) -> tuple[str, ...]:
    """The person's own words that hit this resource, rarest in the catalog
    (most telling) first."""
    doc = index.docs[number]
    common = TELLING_SHARE * len(index.docs)
    hits = sorted(
        (
            term
            for term in read.terms
            if term in doc.stems and len(index.postings[term]) <= max(common, 3)
        ),
        key=lambda term: (len(index.postings[term]) / read.terms[term], term),
    )
    words: list[str] = []
    for term in hits:
        word = read.surface[term]
        if word not in words:
            words.append(word)
    return tuple(words[:MAX_KEYWORDS])
