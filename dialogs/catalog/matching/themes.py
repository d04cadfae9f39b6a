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

import bisect
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
from dialogs.kernel.textnorm import fold

TOP_RESOURCES = 5
MAIN_VOTE = 1.0
OTHER_VOTE = 0.3
# Weight of resources' votes against the person's words.
RESOURCE_VOTES = 1.5
WORD_HIT = 1.0
SHORTENING_HIT = 1.0
SHORTENING_MIN = 4
# A word's cosine to a theme counts by how much it exceeds its mean cosine
# to all themes (general words are close to every theme), above a margin.
MEANING_MARGIN = 0.1
MEANING = 4.0
# The text's meaning against each theme as the catalog describes it (the mean
# of its resources' vectors, `MatchIndex.theme_vectors`), above the mean.
CATALOG_MEANING = 5.0
CATALOG_MARGIN = 0.05
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
def shared_hints() -> Mapping[str, Mapping[str, frozenset[str]]]:
    """Hint stems of several themes → theme → its hint words (folded) with
    that stem. Snowball gives "données" (numérique) and "dons" (financement)
    the same stem: the stem alone cannot tell the two themes apart."""
    forms: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for theme, words in theme_words().items():
        for word in words:
            forms[stem(word)][theme].add(singular(fold(word)))
    return {
        hint: {theme: frozenset(ws) for theme, ws in by_theme.items()}
        for hint, by_theme in forms.items()
        if len(by_theme) > 1
    }


def singular(folded: str) -> str:
    """A folded word without its plural s ("donnees" and "donnee" alike)."""
    return folded[:-1] if len(folded) > 3 and folded.endswith("s") else folded


def typed_forms(content: Sequence[str]) -> frozenset[str]:
    """The person's words (folded, singular) and the words of their synonyms
    ("cagnotte" also stands for "dons")."""
    found: set[str] = set()
    synonyms = lexicon().synonyms
    for word in content:
        folded = fold(word)
        found.add(singular(folded))
        for expansion in synonyms.get(folded, ()):
            found.update(singular(part) for part in expansion)
    return frozenset(found)


def names_theme(hint: str, theme: str, typed: frozenset[str]) -> bool:
    """Whether a hint stem found in the text counts for a theme: always, unless
    several themes share it; then only if the person typed the theme's own
    hint word, singular or plural ("dons" is financement, "donnée" numérique,
    "donné" neither)."""
    shared = shared_hints().get(hint)
    return shared is None or bool(typed & shared.get(theme, frozenset()))


@cache
def theme_folded() -> Mapping[str, tuple[str, ...]]:
    """Theme → its hint words folded, sorted: the words a shortening begins
    are found by bisection (`begins_longer`)."""
    return {theme: tuple(sorted({fold(w) for w in ws})) for theme, ws in theme_words().items()}


def begins_longer(word: str, ordered: tuple[str, ...]) -> bool:
    """Some word of `ordered` (sorted) starts with `word` and is longer by two
    letters at least."""
    at = bisect.bisect_left(ordered, word)
    while at < len(ordered) and ordered[at].startswith(word):
        if len(ordered[at]) >= len(word) + 2:
            return True
        at += 1
    return False


@cache
def unique_hints() -> frozenset[str]:
    return frozenset(s for stems in theme_stems().values() for s in stems)


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
    typed = typed_forms(content)
    for theme, hints in theme_stems().items():
        found = hints.intersection(unique)
        evidence[theme] += WORD_HIT * sum(1 for s in found if names_theme(s, theme, typed))
    # Shortenings of a theme's words ("covoit", "subv", "compta").
    for word in dict.fromkeys(fold(w) for w in content):
        if len(word) < SHORTENING_MIN or stem(word) in unique_hints():
            continue
        for theme, folded in theme_folded().items():
            if begins_longer(word, folded):
                evidence[theme] += SHORTENING_HIT
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


def catalog_evidence(
    query: npt.NDArray[np.float32] | None,
    table: npt.NDArray[np.float32] | None,
) -> dict[str, float]:
    """The text's meaning against each theme as this catalog describes it
    (the mean vector of the resources whose main theme it is), above the
    mean over themes: it works whatever words the catalog uses."""
    evidence: dict[str, float] = defaultdict(float)
    if query is None:
        return evidence
    if table is not None and CATALOG_MEANING > 0:
        cosines = table @ query
        # Themes the catalog has no resource for (zero rows) do not count.
        present = np.abs(table).sum(axis=1) > 0
        if present.sum() < 2:
            return evidence
        floor = float(cosines[present].mean()) + CATALOG_MARGIN
        for position, theme in enumerate(THEMES):
            value = float(cosines[position]) - floor
            if value > 0 and present[position]:
                evidence[theme] += CATALOG_MEANING * value
    return evidence


def evidence(
    content: Sequence[str],
    text_stems: Sequence[str],
    vectors: WordVectors | None,
    docs: Sequence[Doc] = (),
    relevance: Mapping[int, float] | None = None,
    query: npt.NDArray[np.float32] | None = None,
    table: npt.NDArray[np.float32] | None = None,
) -> dict[str, float]:
    found = combine(word_evidence(content, text_stems, vectors), catalog_evidence(query, table))
    if relevance:
        found = combine(found, resource_evidence(docs, relevance))
    return found
