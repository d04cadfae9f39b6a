"""Ranking resources for one query.

Rules, in the order they apply:
1. Relevance fuses two kinds of evidence. Words: BM25F over name, tags,
   summary and replaced tools (Snowball stems, typo correction, synonyms; see
   `query`), a bonus for a multi-word tag found as such, and a strong bonus
   for a resource that replaces a tool the person names. Meaning: the cosine
   of the text's vector and the resource's (`vectors`), which finds "facture
   d'électricité et courants d'air" for an energy renovation guide with no
   word in common. Each is scaled to the best candidate, then added with
   weights fitted on the development split (`SEMANTIC`).
2. Named tools: a resource the person names that is not libre (the tool they
   use or want to leave) is never proposed; its tags and themes stand for
   what they need, and what `replaces` it comes first.
3. Themes: the person's themes (or those read from their words) lift
   resources of those themes, the main theme most, and lower the others.
4. Libre first: a proprietary resource is never in the first three places
   (and not shown at all when fewer than three libre ones fit).
5. A regional resource is shown only in its régions; there it gets a small
   lift when it is relevant on its own merits (never on its région alone).
6. Diversity: a resource too similar to one already chosen (same tags, same
   replaced tools, same kind) is discounted (maximal marginal relevance).
Every proposal says why, in sentences (`reasons`).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from dialogs.catalog.matching.index import POSTINGS_BUDGET, POSTINGS_READ, MatchIndex
from dialogs.catalog.matching.model import MatchQuery, Proposal
from dialogs.catalog.matching.query import ReadQuery, ngrams
from dialogs.geo.places import region_name
from dialogs.kernel.replies import Msg, msg
from dialogs.kernel.textnorm import fold

TAG_PHRASE_BONUS = 1.0
REPLACES_BONUS = 5.0
# Tags of a named (proprietary) tool stand for the need, as weak words.
TOOL_TAG_WEIGHT = 0.5
# Meaning against words: weight of the scaled cosine, and the span below the
# best cosine that still counts (fitted on the development split).
SEMANTIC = 0.3
SEMANTIC_SPAN = 0.1
SEMANTIC_CANDIDATES = 60
# Below this cosine, a text and a resource share no meaning worth a proposal.
SEMANTIC_MIN = 0.35
# A field word ("tiers-lieux") typed by the person and found in a resource's
# name or tags: a fixed hint, the same whatever the catalog's style, that only
# separates resources close on their other merits.
FIELD_BONUS = 0.3
THEME_MAIN = 1.5
THEME_OTHER = 1.25
OFF_THEME = 0.3
THEME_EACH_MORE = 0.1
# Resources of a chosen theme that match no word still rank, faintly: they fill
# the list when the text says little.
THEME_PRIOR_MAIN = 0.15
THEME_PRIOR_OTHER = 0.05
PROPRIETARY = 0.7
LIBRE_FIRST = 3
REGIONAL = 2.0
# Below this share of the best score, a resource is noise rather than a proposal.
RELEVANCE_FLOOR = 0.15
# Words found in more than this share of the catalog explain nothing.
TELLING_SHARE = 0.25
DIVERSITY = 0.5
CANDIDATES = 120
POOL = 20
MAX_REASONS = 3
MAX_TOPICS = 2


@dataclass(slots=True)
class TextScores:
    """Query-dependent, theme-independent evidence per resource."""

    # The `CANDIDATES` most relevant resources (all, when fewer have any
    # evidence), in the order evidence first reached them: ties keep that
    # order wherever they are ranked. Relevance is times `scale` (the words'
    # part is left as BM25 gave it; the few candidates ranked are scaled back
    # with `scale`).
    relevance: dict[int, float] = field(default_factory=dict)
    scale: float = 1.0
    # The words' part of `relevance` for the same resources, and the scaled
    # cosine (0 to 1) of the resources closest in meaning.
    lexical: dict[int, float] = field(default_factory=dict)
    semantic: dict[int, float] = field(default_factory=dict)
    replaced: dict[int, str] = field(default_factory=dict)
    # Resources never to propose: proprietary tools the person names.
    excluded: frozenset[int] = frozenset()
    # The text's unit meaning vector (None without word vectors or known words).
    meaning: npt.NDArray[np.float32] | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Additions to resources' scores, in the order they were made: `docs[i]`
    gets `values[i]`. Summed with `np.bincount`, which adds in that order, so
    every resource's total is the same float as a loop over them would give."""

    docs: npt.NDArray[np.intp]
    values: npt.NDArray[np.float64]


def lexical_scores(index: MatchIndex, read: ReadQuery, scores: TextScores) -> Evidence:
    terms = dict(read.terms)
    for number in scores.excluded:
        for stems, _tag in index.docs[number].tags:
            for term in stems:
                if term in index.postings and terms.get(term, 0.0) < TOOL_TAG_WEIGHT:
                    terms[term] = TOOL_TAG_WEIGHT
    # Long texts read less of each list, and guesses (synonyms, neighbours in
    # meaning) less than typed words, so that the total work stays bounded.
    total = sum(terms.values()) or 1.0
    docs: list[npt.NDArray[np.intp]] = []
    values: list[npt.NDArray[np.float64]] = []
    for term, weight in terms.items():
        depth = min(POSTINGS_READ, int(POSTINGS_BUDGET * weight / total) + 10)
        start, end = index.posting_spans[term]
        stop = min(end, start + depth)
        docs.append(index.posting_docs[start:stop])
        values.append(index.posting_values[start:stop] * weight)
    bonus_docs: list[int] = []
    bonus_values: list[float] = []
    for key in ngrams(read.stems, 3):
        if len(key) > 1 and key in index.tag_phrases:
            for number in index.tag_phrases[key][:POSTINGS_READ]:
                bonus_docs.append(number)
                bonus_values.append(TAG_PHRASE_BONUS * index.tag_idf[key])
    for key, tool in read.named_tools:
        for number, _written in index.replaces.get(key, ()):
            if number not in scores.replaced:
                bonus_docs.append(number)
                bonus_values.append(REPLACES_BONUS)
                scores.replaced[number] = tool
    docs.append(np.asarray(bonus_docs, dtype=np.intp))
    values.append(np.asarray(bonus_values, dtype=np.float64))
    return Evidence(np.concatenate(docs), np.concatenate(values))


def query_vector(index: MatchIndex, read: ReadQuery) -> npt.NDArray[np.float32] | None:
    """The text's meaning: the mean of its content words' vectors (places and
    field words are already out). Weighting the words by how telling they
    are (SIF) measured no better on the development split."""
    if index.vectors is None:
        return None
    return index.vectors.mean([(w, 1.0) for w in read.content])


def semantic_scores(index: MatchIndex, query: npt.NDArray[np.float32] | None) -> Evidence:
    """Scaled cosine (0 to 1) of the best-matching resources by meaning."""
    none = Evidence(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float64))
    if query is None or index.doc_vectors is None or not len(index.docs):
        return none
    cosines = index.doc_vectors @ query
    count = min(SEMANTIC_CANDIDATES, len(cosines))
    top = np.argpartition(-cosines, count - 1)[:count]
    found = cosines[top].astype(np.float64)
    floor = float(found.max()) - SEMANTIC_SPAN
    kept = (found > floor) & (found >= SEMANTIC_MIN)
    return Evidence(top[kept].astype(np.intp), (found[kept] - floor) / SEMANTIC_SPAN)


def text_scores(index: MatchIndex, read: ReadQuery) -> TextScores:
    excluded = frozenset(n for n in read.named_docs if not index.docs[n].resource.libre)
    scores = TextScores(excluded=excluded, meaning=query_vector(index, read))
    words = lexical_scores(index, read, scores)
    meaning = semantic_scores(index, scores.meaning)
    size = len(index.docs)
    # (Without any entry, bincount gives integers: hence the cast.)
    lexical = np.bincount(words.docs, weights=words.values, minlength=size).astype(np.float64)
    top_lexical = float(lexical.max()) if len(words.docs) else 0.0
    # Words count relative to the best candidate (1 for it): kept as they are,
    # with the other evidence multiplied by the best words' score instead.
    unit = top_lexical if top_lexical > 0 else 1.0
    scores.scale = 1.0 / unit
    read_field = {n for word in read.field for n in index.about.get(word, ())}
    about = np.fromiter(read_field, dtype=np.intp, count=len(read_field))
    relevance = lexical.copy()
    # Each resource appears at most once in each of these: a plain += is exact.
    relevance[meaning.docs] += SEMANTIC * meaning.values * unit
    relevance[about] += FIELD_BONUS * unit
    reached = np.concatenate((words.docs, meaning.docs, about))
    candidates = first_reached(reached, relevance, excluded)
    values = relevance[candidates].tolist()
    numbers = candidates.tolist()
    scores.relevance = dict(zip(numbers, values, strict=True))
    scores.lexical = {n: float(lexical[n]) for n in numbers}
    scores.semantic = dict(zip(meaning.docs.tolist(), meaning.values.tolist(), strict=True))
    return scores


def first_reached(
    reached: npt.NDArray[np.intp], relevance: npt.NDArray[np.float64], excluded: frozenset[int]
) -> npt.NDArray[np.intp]:
    """The `CANDIDATES` best resources among those reached, in the order
    evidence first reached them; among equal scores, the first reached wins."""
    never = len(reached)
    first = np.full(len(relevance), never, dtype=np.intp)
    np.minimum.at(first, reached, np.arange(never, dtype=np.intp))
    if excluded:
        first[np.fromiter(excluded, dtype=np.intp, count=len(excluded))] = never
    found = np.flatnonzero(first < never)
    if len(found) > CANDIDATES:
        values = relevance[found]
        cut = len(values) - CANDIDATES
        threshold = np.partition(values, cut)[cut]
        found = found[values >= threshold]  # ties at the threshold included
        if len(found) > CANDIDATES:
            best = np.lexsort((first[found], -relevance[found]))[:CANDIDATES]
            found = found[best]
    return found[np.argsort(first[found])]


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
    if themes:
        for theme in themes[:1]:
            for number in index.by_theme.get(theme, ())[: 3 * query.limit]:
                pool.setdefault(number, 0.0)

    wanted = frozenset(themes)
    main_theme = themes[0] if themes else None
    adjusted: dict[int, float] = {}
    for number, relevance in pool.items():
        doc = index.docs[number]
        if number in scores.excluded:
            continue
        if doc.regions and query.region not in doc.regions:
            continue
        score = relevance * scores.scale
        if wanted:
            main = doc.main_theme == main_theme
            primary = doc.main_theme in wanted
            shared = len(doc.themes & wanted)
            extra = THEME_EACH_MORE * max(shared - 1, 0)
            if main:
                factor, prior = THEME_MAIN, THEME_PRIOR_MAIN
            elif primary or main_theme in doc.themes:
                factor, prior = THEME_OTHER, THEME_PRIOR_OTHER
            elif shared:
                factor, prior = 1.0, 0.0
            else:
                factor, prior = OFF_THEME, 0.0
            score = score * (factor + extra) + prior
        if not doc.resource.libre:
            score *= PROPRIETARY
        if doc.regions:
            score *= REGIONAL
        if score > 0:
            adjusted[number] = score
    if not adjusted:
        return ()
    best = max(adjusted.values())
    floor = RELEVANCE_FLOOR * best
    shortlist = heapq.nsmallest(
        POOL,
        ((n, s) for n, s in adjusted.items() if s >= floor),
        key=lambda item: (-item[1], index.docs[item[0]].resource.id),
    )
    chosen = libre_first(index, diversify(index, shortlist, query.limit + LIBRE_FIRST))
    tools = frozenset(fold("".join(key)) for key, _tool in read.named_tools)
    return tuple(
        Proposal(
            id=index.docs[number].resource.id,
            score=round(score, 4),
            why=reasons(index, number, query, read, scores, wanted, tools),
        )
        for number, score in chosen[: query.limit]
    )


def libre_first(index: MatchIndex, chosen: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """No proprietary resource in the first `LIBRE_FIRST` places: libre ones
    move up past it (in their order); with fewer libre ones, none is shown."""
    libre = [item for item in chosen if index.docs[item[0]].resource.libre]
    other = [item for item in chosen if not index.docs[item[0]].resource.libre]
    head = libre[:LIBRE_FIRST]
    if len(head) < LIBRE_FIRST:
        return head
    rest = sorted(libre[LIBRE_FIRST:] + other, key=lambda item: chosen.index(item))
    return head + rest


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
        if len(chosen) == limit:
            break
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
    tools: frozenset[str],
) -> tuple[Msg, ...]:
    """Sentences a volunteer understands, strongest first: "remplace Excel
    pour adhésions", "pour les tiers-lieux de la région Bretagne", "utile
    pour : comptabilité", "thème gestion", "libre, licence AGPL-3.0".
    `tools`: the named tools, folded without spaces (no topic repeats one)."""
    doc = index.docs[number]
    why: list[Msg] = []
    topics = matched_topics(index, number, read)
    if tools:
        topics = [t for t in topics if fold(t).replace(" ", "") not in tools]
    if number in scores.replaced:
        tool = scores.replaced[number]
        if topics:
            why.append(msg("why.replaces_for", tool=tool, need=topics[0]))
            topics = topics[1:]
        else:
            why.append(msg("why.replaces", tool=tool))
    if doc.regions and query.region in doc.regions and query.region is not None:
        why.append(msg("why.regional", region=region_name(query.region)))
    if topics:
        why.append(msg("why.about", topics=tuple(topics)))
    elif number not in scores.replaced:
        shared = [t for t in doc.resource.themes if t in wanted]
        if shared:
            why.append(msg("why.theme", theme=msg(f"topic.{shared[0]}")))
    if doc.resource.libre:
        license = doc.resource.license
        if license and license not in ("inconnue", "proprietaire"):
            why.append(msg("why.libre_license", license=license))
        else:
            why.append(msg("why.libre"))
    return tuple(why[:MAX_REASONS])


def matched_topics(index: MatchIndex, number: int, read: ReadQuery) -> list[str]:
    """The resource's own tags (as the catalog writes them) that the person's
    words hit, else the person's words that hit it (rarest first)."""
    doc = index.docs[number]
    hits = {term for term in read.terms if term in doc.stems}
    # A tag written without its accents ("adhesions") is shown as the person
    # typed it ("adhésions") when they typed that very word.
    topics = [read.typed.get(fold(tag), tag) for stems, tag in doc.tags if hits.intersection(stems)]
    if not topics:
        common = TELLING_SHARE * len(index.docs)
        ordered = sorted(
            (t for t in hits if len(index.postings[t]) <= max(common, 3)),
            key=lambda t: (len(index.postings[t]) / read.terms[t], t),
        )
        topics = [read.surface[t] for t in ordered]
    unique: list[str] = []
    for topic in topics:
        if topic not in unique:
            unique.append(topic)
    return unique[:MAX_TOPICS]
