"""French text for matching: words, Snowball stems, typo distance, word lists.

People write "comptabilitée", "on galere avec les adhesions", "NextCloud",
"reserver les machines": comparing raw words would miss most of it.

- Words: lower case with accents kept (the stemmer and the word vectors need
  them), hyphens and apostrophes split ("tiers-lieux" → tiers, lieux;
  "l'asso" → l, asso), compound product names split at their inner capitals
  ("NextCloud" → nextcloud, next, cloud) so that either spelling matches.
- Stems: the Snowball French stemmer (PyStemmer, a kept C implementation)
  applied to the accented word, then folded: "électricité" and "électrique"
  meet on "electr", "réservation" and "réservons" on "reserv". A few words
  the algorithm merges although they mean different things ("commune" the
  town and "communs" the commons) have their own stem in
  ``dialogs/catalog/matching/data/matching_fr.yaml`` (``stems``).
- A word typed without its accents is stemmed through the accented form the
  catalog uses when there is one (`MatchIndex.surface_stems`), since Snowball
  treats "electricite" and "électricité" differently.
- Typos: rapidfuzz's optimal string alignment distance (a swap of
  neighbours counts one) over the few vocabulary stems sharing trigrams.
- Field words ("tiers-lieu", "association", "collectif", "projet"…) are
  neutral by construction: listed in the word lists, they never count as
  evidence, whatever a catalog's style.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import Any

import Stemmer
import yaml
from rapidfuzz.distance import OSA

from dialogs.kernel.textnorm import fold

_WORD = re.compile(r"[^\W_]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "’": "'"})
# "NextCloud", "LibreOffice", "OnlyOffice": a capital after a lower-case letter.
_INNER_CAPITAL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])")


@cache
def _stemmer() -> Any:
    return Stemmer.Stemmer("french")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Word lists from `dialogs/catalog/matching/data/matching_fr.yaml` (folded)."""

    stopwords: frozenset[str]
    # Words of the whole field: never evidence of relevance or of a theme.
    field_words: frozenset[str]
    # Folded word → phrases (tuples of folded words) it stands for.
    synonyms: Mapping[str, tuple[tuple[str, ...], ...]]
    # Theme id → words that hint at it (lower case, accents kept when given).
    theme_words: Mapping[str, tuple[str, ...]]
    # Folded word → stem, where Snowball would merge unrelated words.
    stems: Mapping[str, str]
    # Words that introduce a place ("à Brest", "en Bretagne").
    place_words: frozenset[str]


@cache
def lexicon() -> Lexicon:
    # BaseLoader reads every scalar as text: YAML 1.1 would turn "on" into True.
    # Its C twin (libyaml) reads the same in a tenth of the time.
    raw: dict[str, Any] = yaml.load(
        (files("dialogs.catalog.matching") / "data" / "matching_fr.yaml").read_text(
            encoding="utf-8"
        ),
        Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader),
    )
    return Lexicon(
        stopwords=frozenset(fold(str(w)) for w in raw["stopwords"]),
        field_words=frozenset(fold(str(w)) for w in raw["field_words"]),
        synonyms={
            fold(str(word)): tuple(tuple(fold(str(p)).split()) for p in phrases)
            for word, phrases in raw["synonyms"].items()
        },
        theme_words={
            str(theme): tuple(str(w).lower() for w in words)
            for theme, words in raw["themes"].items()
        },
        stems={fold(str(k)): str(v) for k, v in raw["stems"].items()},
        place_words=frozenset(fold(str(w)) for w in raw["place_words"]),
    )


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The folded Snowball stem of one lower-case word ("adhésions" → "adhes")."""
    folded = fold(word)
    if not folded or folded.isdigit():
        return folded
    special = lexicon().stems.get(folded)
    if special is not None:
        return special
    # Snowball keeps the s of "vélos", "vidéos", "photos": a plural all the same.
    if len(word) > 4 and word.endswith("os"):
        word = word[:-1]
    return fold(_stemmer().stemWord(word)).replace(" ", "")


def split_words(text: str) -> list[str]:
    """Lower-case words (accents kept), in order; hyphens and apostrophes split."""
    return [w.lower() for w in _WORD.findall(text.translate(_LIGATURES))]


def product_words(text: str) -> list[str]:
    """Like `split_words`, plus the parts of compound names after each compound
    ("NextCloud" → nextcloud, next, cloud)."""
    found: list[str] = []
    for token in _WORD.findall(text.translate(_LIGATURES)):
        found.append(token.lower())
        parts = _INNER_CAPITAL.split(token)
        if len(parts) > 1:
            found.extend(p.lower() for p in parts if len(p) > 1)
    return found


@lru_cache(maxsize=1 << 18)
def fold_word(word: str) -> str:
    """`fold` of one word (or a short name: "Google Drive"), remembered: a
    catalog of thousands of resources and the texts people type repeat the
    same few thousand words and tool names."""
    return fold(word)


def is_content(word: str) -> bool:
    """Not a stop word, a field word or a one-letter leftover of an elision."""
    folded = fold_word(word)
    lex = lexicon()
    return len(folded) > 1 and folded not in lex.stopwords and folded not in lex.field_words


def is_field(word: str) -> bool:
    """A word of the whole field ("tiers-lieux", "association", "projet")."""
    return fold_word(word) in lexicon().field_words


def content_words(text: str) -> list[str]:
    return [w for w in split_words(text) if is_content(w)]


def words(text: str) -> list[str]:
    """Folded words, in order, stop words included (phrases need them)."""
    return fold(text).split()


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
    return OSA.distance(a, b, score_cutoff=limit) <= limit
