"""Themes of a request, from the person's own words first.

Three kinds of evidence add up, strongest first:
1. Words that name a theme (the ``words.theme.*`` catalog entries people may
   type, plus the ``themes`` lists of ``dialogs/catalog/matching/data/matching_fr.yaml``).
2. Meaning: each content word's vector against each theme's vector (the mean
   of its hint words), so "facture", "courants d'air" or "bagnole" point to
   their theme without being listed.
3. Second, and weaker: the themes of the resources the text matches best.
Field words never count (see `text`). The bot asks the person to confirm
what comes out when they chose "je ne sais pas encore", so a wrong guess
costs one tap. Themes the person ticked are taken as they are (main first).
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cache
from operator import itemgetter

import numpy as np
import numpy.typing as npt

from dialogs.catalog.matching.index import Doc
from dialogs.catalog.matching.text import lexicon, split_words, stem
from dialogs.catalog.matching.vectors import WordVectors
from dialogs.kernel.i18n import words as catalog_words
from dialogs.kernel.options import THEMES

TOP_RESOURCES = 5
MAIN_VOTE = 1.0
OTHER_VOTE = 0.3
# Weight of resources' votes against the person's words.
RESOURCE_VOTES = 1.0
WORD_HIT = 1.0
# A word's cosine to a theme counts by how much it exceeds its mean cosine
# to all themes (general words are close to every theme), above a margin.
MEANING_MARGIN = 0.1
MEANING = 4.0
MIN_SCORE = 0.3
SHARE_OF_BEST = 0.5
MAX_THEMES = 3


@cache
def theme_words() -> Mapping[str, tuple[str, ...]]:
    """Theme → words that hint at it (lower case), from both sources."""
    found: dict[str, list[str]] = {theme: [] for theme in THEMES}
    for theme in THEMES:
        found[theme].extend(lexicon().theme_words.get(theme, ()))
        for phrase in catalog_words(f"words.theme.{theme}"):
            found[theme].extend(split_words(phrase))
    return {theme: tuple(dict.fromkeys(values)) for theme, values in found.items()}


@cache
def theme_stems() -> Mapping[str, frozenset[str]]:
    return {theme: frozenset(stem(w) for w in ws) for theme, ws in theme_words().items()}


_CENTROIDS: dict[int, npt.NDArray[np.float32]] = {}


def centroids(vectors: WordVectors) -> npt.NDArray[np.float32]:
    """One unit vector per theme (rows in `THEMES` order)."""
    found = _CENTROIDS.get(id(vectors))
    if found is None:
        rows = []
        for theme in THEMES:
            mean = vectors.mean([(w, 1.0) for w in theme_words()[theme]])
            rows.append(mean if mean is not None else np.zeros(vectors.width, np.float32))
        found = np.vstack(rows).astype(np.float32)
        _CENTROIDS[id(vectors)] = found
    return found


def word_evidence(
    content: Sequence[str], text_stems: Sequence[str], vectors: WordVectors | None
) -> dict[str, float]:
    evidence: dict[str, float] = defaultdict(float)
    unique = set(text_stems)
    for theme, hints in theme_stems().items():
        evidence[theme] += WORD_HIT * len(hints.intersection(unique))
    if vectors is not None:
        table = centroids(vectors)
        for word in dict.fromkeys(content):
            vector = vectors.unit(word)
            if vector is None:
                continue
            cosines = table @ vector
            floor = float(cosines.mean()) + MEANING_MARGIN
            for position, theme in enumerate(THEMES):
                value = float(cosines[position]) - floor
                if value > 0:
                    evidence[theme] += MEANING * value
    return evidence


def resource_evidence(docs: Sequence[Doc], relevance: Mapping[int, float]) -> dict[str, float]:
    evidence: dict[str, float] = defaultdict(float)
    best = heapq.nlargest(TOP_RESOURCES, relevance.items(), key=itemgetter(1))
    if not best or best[0][1] <= 0:
        return evidence
    top = best[0][1]
    for number, value in best:
        for position, theme in enumerate(docs[number].resource.themes):
            vote = MAIN_VOTE if position == 0 else OTHER_VOTE
            evidence[theme] += RESOURCE_VOTES * vote * value / top
    return evidence


def choose(evidence: Mapping[str, float]) -> tuple[str, ...]:
    ranked = sorted(
        (theme for theme in THEMES if evidence.get(theme, 0.0) > 0),
        key=lambda theme: -evidence[theme],
    )
    if not ranked:
        return ()
    threshold = max(MIN_SCORE, SHARE_OF_BEST * evidence[ranked[0]])
    return tuple(t for t in ranked if evidence[t] >= threshold)[:MAX_THEMES]


def combine(*parts: Mapping[str, float]) -> dict[str, float]:
    total: dict[str, float] = defaultdict(float)
    for part in parts:
        for theme, value in part.items():
            total[theme] += value
    return total


def evidence(
    content: Sequence[str],
    text_stems: Sequence[str],
    vectors: WordVectors | None,
    docs: Sequence[Doc] = (),
    relevance: Mapping[int, float] | None = None,
) -> dict[str, float]:
    found = word_evidence(content, text_stems, vectors)
    if relevance:
        found = combine(found, resource_evidence(docs, relevance))
    return found
