"""The vectorised scoring (`rank.text_scores`: one `np.bincount` over the flat
posting arrays, candidates picked in NumPy) gives exactly what adding the
evidence up one entry at a time in a dictionary gives: the same candidates,
in the same order, with the same floats, ties included."""

from __future__ import annotations

import heapq
import random
from collections import defaultdict
from operator import itemgetter

import numpy as np

from dialogs.catalog.matching.index import POSTINGS_BUDGET, POSTINGS_READ, MatchIndex
from dialogs.catalog.matching.query import ngrams, read_query
from dialogs.catalog.matching.rank import (
    CANDIDATES,
    FIELD_BONUS,
    REPLACES_BONUS,
    SEMANTIC,
    SEMANTIC_CANDIDATES,
    SEMANTIC_MIN,
    SEMANTIC_SPAN,
    TAG_PHRASE_BONUS,
    TOOL_TAG_WEIGHT,
    first_reached,
    query_vector,
    text_scores,
)
from tests.catalog.helpers import seed_catalog

TEXTS = (
    "on galère avec la compta de l'asso",
    "on utilise Doodle et tout est sur Excel",
    "facture d'électricité énorme et courants d'air dans le tiers-lieu",
    "covoit pour venir le soir, pas de bus",
    "on cherche un logiciel libre pour gérer les adhésions et les réservations de salles",
    "Google Drive Google Forms Trello Slack WhatsApp",
    "jardin partagé compost potager",
    "",
)


def reference(index: MatchIndex, text: str) -> dict[int, float]:
    """The engine's relevance as a plain loop over a dictionary."""
    read = read_query(index, text)
    excluded = {n for n in read.named_docs if not index.docs[n].resource.libre}
    relevance: dict[int, float] = defaultdict(float)
    terms = dict(read.terms)
    for number in excluded:
        for stems, _tag in index.docs[number].tags:
            for term in stems:
                if term in index.postings and terms.get(term, 0.0) < TOOL_TAG_WEIGHT:
                    terms[term] = TOOL_TAG_WEIGHT
    total = sum(terms.values()) or 1.0
    for term, weight in terms.items():
        depth = min(POSTINGS_READ, int(POSTINGS_BUDGET * weight / total) + 10)
        for number, contribution in index.postings[term][:depth]:
            relevance[number] += weight * contribution
    for key in ngrams(read.stems, 3):
        if len(key) > 1 and key in index.tag_phrases:
            for number in index.tag_phrases[key][:POSTINGS_READ]:
                relevance[number] += TAG_PHRASE_BONUS * index.tag_idf[key]
    replaced: set[int] = set()
    for key, _tool in read.named_tools:
        for number, _written in index.replaces.get(key, ()):
            if number not in replaced:
                relevance[number] += REPLACES_BONUS
                replaced.add(number)
    unit = max(relevance.values(), default=0.0) or 1.0
    meaning = query_vector(index, read)
    if meaning is not None and index.doc_vectors is not None:
        cosines = index.doc_vectors @ meaning
        count = min(SEMANTIC_CANDIDATES, len(cosines))
        top = np.argpartition(-cosines, count - 1)[:count]
        floor = float(cosines[top].max()) - SEMANTIC_SPAN
        for n in top:
            if float(cosines[n]) > floor and float(cosines[n]) >= SEMANTIC_MIN:
                relevance[int(n)] += SEMANTIC * ((float(cosines[n]) - floor) / SEMANTIC_SPAN) * unit
    for number in {n for word in read.field for n in index.about.get(word, ())}:
        relevance[number] += FIELD_BONUS * unit
    for number in excluded:
        relevance.pop(number, None)
    return dict(heapq.nlargest(CANDIDATES, relevance.items(), key=itemgetter(1)))


def test_text_scores_are_the_loop_to_the_last_bit() -> None:
    resources = seed_catalog().resources
    for index in (MatchIndex.build(resources), MatchIndex.build(resources, vectors=False)):
        for text in TEXTS:
            fast = text_scores(index, read_query(index, text)).relevance
            slow = reference(index, text)
            picked = dict(heapq.nlargest(CANDIDATES, fast.items(), key=itemgetter(1)))
            assert list(picked.items()) == list(slow.items()), text


def test_candidates_keep_the_first_reached_among_ties() -> None:
    """Many equal scores around the cut: the ones evidence reached first stay,
    in that order, as a dictionary filled in that order would keep them."""
    rng = random.Random(12)
    for _ in range(200):
        size = rng.randint(1, 400)
        reached = np.array([rng.randrange(size) for _ in range(rng.randint(0, 600))], np.intp)
        values = np.array([rng.choice((0.5, 1.0, 1.5, rng.random())) for _ in range(size)])
        excluded = frozenset(rng.sample(range(size), min(size, rng.randint(0, 3))))
        order = [n for n in dict.fromkeys(reached.tolist()) if n not in excluded]
        expected = heapq.nlargest(CANDIDATES, order, key=lambda n: values[n])
        got = first_reached(reached, values, excluded).tolist()
        assert sorted(got, key=order.index) == got
        assert sorted(got, key=lambda n: (-values[n], order.index(n))) == expected
