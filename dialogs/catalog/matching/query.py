"""A person's text read once for matching: stems with weights, the words as
they typed them (for reasons), and phrases for tools and tags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from dialogs.catalog.matching.index import MatchIndex
from dialogs.catalog.matching.text import (
    lexicon,
    max_typos,
    stem,
    within_distance,
    without_stopwords,
    words,
)
from dialogs.kernel.textnorm import fold

# A synonym or an expansion counts less than the word itself, and a typo
# correction less still: they are guesses.
SYNONYM_WEIGHT = 0.6
FUZZY_WEIGHT = 0.7
# Bounds for long texts (a whole sheet): words kept, typo corrections tried.
MAX_TERMS = 40
MAX_CORRECTIONS = 12
_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class ReadQuery:
    # Index stem → weight (after synonyms and typo correction).
    terms: dict[str, float]
    # Index stem → the word the person typed that led to it.
    surface: dict[str, str]
    # Folded words, stop words kept: tool names like "La Ruche qui dit Oui".
    folded: tuple[str, ...]
    # Stems of content words, in order, for multi-word tags.
    stems: tuple[str, ...]


def read_query(index: MatchIndex, text: str) -> ReadQuery:
    typed = typed_forms(text)
    folded = words(text)
    content = without_stopwords(folded)
    wanted: dict[str, tuple[float, str]] = {}

    def want(term: str, weight: float, word: str) -> None:
        if weight > wanted.get(term, (0.0, ""))[0]:
            wanted[term] = (weight, word)

    synonyms = lexicon().synonyms
    for word in content:
        want(stem(word), 1.0, word)
        expansions = synonyms.get(word)
        if expansions is None and stem(word) not in index.postings:
            expansions = misspelt_synonym(word)
        for expansion in expansions or ():
            for part in expansion:
                if part not in lexicon().stopwords:
                    want(stem(part), SYNONYM_WEIGHT, word)
    # Abbreviations that are also stop words ("ag") only count through synonyms.
    kept = set(content)
    for word in folded:
        if word not in kept:
            for expansion in synonyms.get(word, ()):
                for part in expansion:
                    want(stem(part), SYNONYM_WEIGHT, word)

    terms: dict[str, float] = {}
    surface: dict[str, str] = {}
    corrections = 0
    for term, (weight, word) in wanted.items():
        if term in index.postings:
            if weight > terms.get(term, 0.0):
                terms[term] = weight
                surface[term] = typed.get(word, word)
            continue
        corrections += 1
        if corrections > MAX_CORRECTIONS:
            continue
        for near in index.similar_terms(term):
            if weight * FUZZY_WEIGHT > terms.get(near, 0.0):
                terms[near] = weight * FUZZY_WEIGHT
                surface[near] = typed.get(word, word)
    if len(terms) > MAX_TERMS:
        # A whole sheet pasted as one text: keep the most telling words (rare in
        # the catalog, typed rather than guessed) so that the work stays bounded.
        kept = sorted(terms, key=lambda t: (len(index.postings[t]) / terms[t], t))[:MAX_TERMS]
        terms = {t: terms[t] for t in kept}
    return ReadQuery(
        terms=terms,
        surface=surface,
        folded=tuple(folded),
        stems=tuple(stem(w) for w in content),
    )


def misspelt_synonym(word: str) -> tuple[tuple[str, ...], ...]:
    """The expansions of a synonym the word is a typo of ("crowfunding")."""
    limit = max_typos(word)
    if not limit:
        return ()
    for key in synonym_keys().get((word[0], len(word)), ()):
        if within_distance(word, key, limit):
            return lexicon().synonyms[key]
    return ()


@cache
def synonym_keys() -> dict[tuple[str, int], tuple[str, ...]]:
    """Synonym keys by (first letter, length ± typos): a typo rarely hits the
    first letter, and this keeps the lookup to a handful of comparisons."""
    found: dict[tuple[str, int], list[str]] = {}
    for key in sorted(lexicon().synonyms):
        spread = max_typos(key)
        for length in range(len(key) - spread, len(key) + spread + 1):
            found.setdefault((key[0], length), []).append(key)
    return {k: tuple(v) for k, v in found.items()}


def typed_forms(text: str) -> dict[str, str]:
    """Folded word → the word as the person wrote it (lower case, accents kept),
    so that reasons quote them ("mots-clés : vélo") rather than our folding."""
    forms: dict[str, str] = {}
    for token in _WORD.findall(text):
        # Plain ASCII words fold to their lower case: skip the Unicode work.
        folded = token.lower() if token.isascii() and token.isalnum() else fold(token)
        if folded and " " not in folded:
            forms.setdefault(folded, token.lower())
    return forms


def ngrams(sequence: tuple[str, ...], longest: int) -> list[tuple[str, ...]]:
    return [
        sequence[start : start + size]
        for size in range(1, longest + 1)
        for start in range(len(sequence) - size + 1)
    ]
