"""French text for matching: folding, tokens, a light stemmer, typo distance.

People write "comptabilitée", "on galere avec les adhesions", "reserver les
machines": comparing raw words would miss most of it. Every word goes through
`fold` (no accents, lower case), stop words are dropped, and the rest is reduced
to a stem by a small suffix stripper (plural, feminine, common verb endings and
derivations), so that "réservation", "réserver" and "réservons" meet on
"reserv". The stemmer does not need to be linguistically right, only the same on
both sides: the catalog is stemmed with it too.

Typos are handled at query time by `within_distance` (optimal string alignment:
an insertion, deletion, substitution or swap of neighbours counts one) over the
few vocabulary stems that share trigrams with an unknown word.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

import yaml

from dialogs.kernel.textnorm import fold

# Suffixes stripped by `stem`, longest first, by the shortest stem each may
# leave: derivations ("-ation", "-ement", "-ite") and verb endings ("-erons",
# "-aient", "-er") all collapse onto the same root.
_KEEP_3 = (
    "issements issement ements ement ations ation ateurs ateur atrices atrice euses euse "
    "eux ives ive ifs ions ion eraient erions eriez erons eront erait erais erai eras era "
    "erez aient ons iez ez er ees ee es atives ative atifs atif etiques etique aisons aison"
)
_KEEP_4 = (
    "ments ment ances ance ences ence ites ite iques ique ismes isme istes iste ables able "
    "ibles ible if ais ait ant ants antes ante ent ie ies ir"
)
_SUFFIXES: tuple[tuple[str, int], ...] = tuple(
    sorted(
        [(s, 3) for s in _KEEP_3.split()] + [(s, 4) for s in _KEEP_4.split()],
        key=lambda pair: -len(pair[0]),
    )
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The root of one folded word ("adhesions" → "adhes", "reserver" → "reserv")."""
    if len(word) <= 3 or word.isdigit():
        return word
    # Feminine participles and typos alike: "reservee", "comptabilitee" → "...e".
    if word.endswith("ees"):
        word = word[:-2]
    elif word.endswith("ee"):
        word = word[:-1]
    stripped = _strip_suffix(word)
    if stripped == word and word[-1] in "sx" and len(word) > 4 and not word.endswith("ss"):
        # A plural the suffix list does not know ("velos", "panneaux").
        stripped = _strip_suffix(word[:-1])
    word = stripped
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    # "bretonne"/"breton", "collecte"/"collect": a doubled final consonant is noise.
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "aeiouy":
        word = word[:-1]
    return word


def _strip_suffix(word: str) -> str:
    for suffix, keep in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= keep:
            return word[: -len(suffix)]
    return word


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Word lists from `dialogs/catalog/matching/data/matching_fr.yaml` (folded)."""

    stopwords: frozenset[str]
    # Folded word → phrases (tuples of folded words) it stands for.
    synonyms: Mapping[str, tuple[tuple[str, ...], ...]]
    # Theme id → stems that hint at it.
    theme_stems: Mapping[str, frozenset[str]]


@cache
def lexicon() -> Lexicon:
    # BaseLoader reads every scalar as text: YAML 1.1 would turn "on" into True.
    raw: dict[str, Any] = yaml.load(
        (files("dialogs.catalog.matching") / "data" / "matching_fr.yaml").read_text(
            encoding="utf-8"
        ),
        Loader=yaml.BaseLoader,
    )
    stopwords = frozenset(fold(str(w)) for w in raw["stopwords"])
    synonyms = {
        fold(str(word)): tuple(tuple(fold(str(p)).split()) for p in phrases)
        for word, phrases in raw["synonyms"].items()
    }
    themes = {
        str(theme): frozenset(stem(w) for word in words for w in fold(str(word)).split())
        for theme, words in raw["themes"].items()
    }
    return Lexicon(stopwords=stopwords, synonyms=synonyms, theme_stems=themes)


def words(text: str) -> list[str]:
    """Folded words, in order, stop words included (phrases need them)."""
    return fold(text).split()


def content_words(text: str) -> list[str]:
    """Folded words without stop words nor one-letter leftovers of elisions."""
    return without_stopwords(words(text))


def without_stopwords(folded: list[str]) -> list[str]:
    stop = lexicon().stopwords
    return [w for w in folded if len(w) > 1 and w not in stop]


def stems(text: str) -> list[str]:
    return [stem(w) for w in content_words(text)]


def trigrams(term: str) -> Iterator[str]:
    """Trigrams of a stem padded at the start, so that first letters weigh."""
    padded = f"  {term}"
    for i in range(len(padded) - 2):
        yield padded[i : i + 3]


def max_typos(term: str) -> int:
    """How many edits a word of this length may carry and still be recognised:
    none under five letters (too many neighbours), one up to seven, then two."""
    if len(term) < 5:
        return 0
    return 1 if len(term) < 8 else 2


def within_distance(a: str, b: str, limit: int) -> bool:
    """Optimal string alignment distance of `a` and `b` is at most `limit`."""
    if abs(len(a) - len(b)) > limit:
        return False
    if a == b:
        return True
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        row_min = i
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            row_min = min(row_min, value)
        if row_min > limit:
            return False
        previous2, previous = previous, current
    return previous[len(b)] <= limit
