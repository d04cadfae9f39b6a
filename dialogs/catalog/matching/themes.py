"""Theme inference for people who chose "je ne sais pas encore".

Two kinds of evidence add up: words that signal a theme (the ``words.theme.*``
catalog entries people may type for a theme, plus the lexicon of
``dialogs/catalog/matching/data/matching_fr.yaml``), and, when an index is at hand, the themes
of the resources the text matches best, weighted by how well they match. The
bot asks the person to confirm what comes out, so a wrong guess costs one tap.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Mapping, Sequence
from functools import cache
from operator import itemgetter

from dialogs.catalog.matching.index import Doc
from dialogs.catalog.matching.text import lexicon, stem
from dialogs.kernel.i18n import words as catalog_words
from dialogs.kernel.options import THEMES

TOP_RESOURCES = 8
MAIN_VOTE = 1.0
OTHER_VOTE = 0.4
MIN_SCORE = 0.8
SHARE_OF_BEST = 0.5
MAX_THEMES = 3


@cache
def theme_words() -> Mapping[str, frozenset[str]]:
    """Theme → stems that hint at it, from both sources."""
    found = {theme: set(lexicon().theme_stems.get(theme, ())) for theme in THEMES}
    for theme in THEMES:
        for phrase in catalog_words(f"words.theme.{theme}"):
            found[theme].update(stem(w) for w in phrase.split())
    return {theme: frozenset(values) for theme, values in found.items()}


def word_evidence(text_stems: Sequence[str]) -> dict[str, float]:
    evidence: dict[str, float] = defaultdict(float)
    for theme, hints in theme_words().items():
        evidence[theme] += float(len(hints.intersection(text_stems)))
    return evidence


def resource_evidence(docs: Sequence[Doc], relevance: Mapping[int, float]) -> dict[str, float]:
    evidence: dict[str, float] = defaultdict(float)
    best = heapq.nlargest(TOP_RESOURCES, relevance.items(), key=itemgetter(1))
    if not best or best[0][1] <= 0:
        return evidence
    top = best[0][1]
    for number, value in best:
        for position, theme in enumerate(docs[number].resource.themes):
            evidence[theme] += (MAIN_VOTE if position == 0 else OTHER_VOTE) * value / top
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


def infer(
    text_stems: Sequence[str],
    docs: Sequence[Doc] = (),
    relevance: Mapping[int, float] | None = None,
) -> tuple[str, ...]:
    evidence = word_evidence(text_stems)
    if relevance:
        evidence = combine(evidence, resource_evidence(docs, relevance))
    return choose(evidence)
