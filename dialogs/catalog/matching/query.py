"""A person's text read once for matching: stems with weights, the words as
they typed them (for reasons), the tools and places they name.

Order of the reading:
1. Place names come out first (`dialogs.geo.places` tables): a région or a
   département by name, or a capitalised commune name, or any of them after
   "à", "en", "dans"…: "à Bourges" or "en Bretagne" is a place, not a word
   to match ("Plouguerneau" says nothing of the problem).
2. Tools: word sequences naming a catalog resource or a tool some resource
   replaces ("Google Drive", "La Ruche qui dit Oui", "NextCloud"). Their
   words count little as words: what they stand for comes through
   `replaces` and the named resource's tags (see `rank`).
3. The other content words, stemmed (through the catalog's accented form
   when the person typed none), plus synonyms and typo corrections.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import numpy as np

from dialogs.catalog.matching.index import MatchIndex
from dialogs.catalog.matching.text import (
    is_content,
    is_field,
    lexicon,
    max_typos,
    stem,
    within_distance,
)
from dialogs.geo.places import place_name_length, region_of_place
from dialogs.kernel.textnorm import fold

# A synonym or an expansion counts less than the word itself, and a typo
# correction less still: they are guesses.
SYNONYM_WEIGHT = 0.6
FUZZY_WEIGHT = 0.7
# A word that is part of a named tool: the tool says what is needed, its
# words do not ("Google" in "Google Forms").
TOOL_WORD_WEIGHT = 0.3
# Meaning: each typed word also brings the catalog words closest to it in
# the word vectors (at most `NEIGHBOURS`, cosine at least `NEIGHBOUR_FLOOR`),
# weighted by that cosine times `NEIGHBOUR_WEIGHT`.
NEIGHBOURS = 8
NEIGHBOUR_FLOOR = 0.5
NEIGHBOUR_WEIGHT = 0.4
# Words the French language uses everywhere ("bout", "soir", "monde") say
# little about a problem whatever the catalog: the vectors' rows are in order
# of frequency in the corpus they were trained on, so a word of row r weighs
# log(r) / log(COMMON_RANK), at least COMMON_FLOOR, at most 1.
COMMON_RANK = 3000.0
COMMON_FLOOR = 0.4
# Shortenings: a word of at least SHORTENING_MIN letters unknown to the
# catalog stands for the SHORTENINGS shortest catalog words it begins.
SHORTENING_MIN = 4
SHORTENING_MORE = 2
SHORTENINGS = 2
# Bounds for long texts (a whole sheet): words kept, typo corrections tried.
MAX_TERMS = 40
MAX_CORRECTIONS = 12
_TOKEN = re.compile(r"[^\W_]+")
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "’": "'"})
_INNER_CAPITAL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])")


@dataclass(frozen=True, slots=True)
class ReadQuery:
    # Index stem → weight (after synonyms and typo correction).
    terms: dict[str, float]
    # Index stem → the word the person typed that led to it.
    surface: dict[str, str]
    # Folded `surface` word → that word: a tag written without its accents is
    # shown as the person typed it (`rank.matched_topics`).
    typed: dict[str, str]
    # Folded words without place names, stop words kept: tool phrases.
    folded: tuple[str, ...]
    # Stems of content words, in order, for multi-word tags.
    stems: tuple[str, ...]
    # Lower-case content words (accents kept), for meaning and themes.
    content: tuple[str, ...]
    # Docs whose name the person wrote, and tools some doc replaces:
    # (folded key, as typed).
    named_docs: frozenset[int]
    named_tools: tuple[tuple[tuple[str, ...], str], ...]
    # Place names taken out of the text, and the région they name if one.
    places: tuple[str, ...]
    region: str | None
    # Field words the person used (folded): a faint, fixed hint (see `rank`).
    field: frozenset[str] = frozenset()
    # Stems of what synonyms and shortenings stand for ("covoit" → covoitur).
    guessed: tuple[str, ...] = ()


def tokens(text: str) -> list[str]:
    """Words as typed (case kept), compound names followed by their parts."""
    found: list[str] = []
    for token in _TOKEN.findall(text.translate(_LIGATURES)):
        found.append(token)
    return found


def find_places(typed: list[str], folded: list[str]) -> tuple[set[int], list[str], str | None]:
    """Positions of place-name words, the names as typed, the région named.
    A région is a place in any case ("bretagne"); a département when
    capitalised or after "à", "en", "dans"… ("le Cher", "dans le cher", not
    "trop cher"); a commune only when capitalised past the first word (many
    are common nouns: a lower-case "ferme" is a farm)."""
    marks: set[int] = set()
    names: list[str] = []
    region: str | None = None
    place_words = lexicon().place_words
    i = 0
    while i < len(folded):
        introduced = i > 0 and folded[i - 1] in place_words
        capital = typed[i][:1].isupper()
        size, kind = place_name_length(folded[i:])
        accepted = (
            kind == "region"
            or (kind == "departement" and (capital or introduced))
            or (kind == "commune" and capital and (i > 0 or introduced))
        )
        if size and accepted:
            marks.update(range(i, i + size))
            names.append(" ".join(typed[i : i + size]))
            region = region or region_of_place(folded[i : i + size])
            i += size
        else:
            i += 1
    return marks, names, region


def find_tools(
    index: MatchIndex, folded: list[str], skip: set[int]
) -> tuple[set[int], frozenset[int], tuple[tuple[tuple[str, ...], str], ...]]:
    """Positions of words naming tools, the docs named, the replaced tools named."""
    marks: set[int] = set()
    docs: set[int] = set()
    tools: list[tuple[tuple[str, ...], str]] = []
    longest = index.replaces_longest
    i = 0
    while i < len(folded):
        found = 0
        # A tool's name never spans a place name: stop at the first one.
        free = 0
        while free < longest and i + free < len(folded) and i + free not in skip:
            free += 1
        for size in range(free, 0, -1):
            key = tuple(folded[i : i + size])
            if size == 1 and (not is_content(key[0]) or len(key[0]) < 3):
                continue
            hit = False
            if key in index.names:
                docs.update(index.names[key])
                hit = True
            if key in index.replaces:
                tools.append((key, index.replaces[key][0][1]))
                hit = True
            if hit:
                found = size
                break
        if found:
            marks.update(range(i, i + found))
            i += found
        else:
            i += 1
    return marks, frozenset(docs), tuple(tools)


def read_query(index: MatchIndex, text: str) -> ReadQuery:
    typed = tokens(text)
    folded_all = [fold(t).replace(" ", "") for t in typed]
    place_marks, places, region = find_places(typed, folded_all)
    tool_marks, named_docs, named_tools = find_tools(index, folded_all, place_marks)
    kept = [i for i in range(len(typed)) if i not in place_marks and folded_all[i]]
    folded = [folded_all[i] for i in kept]
    wanted: dict[str, tuple[float, str]] = {}

    def want(term: str, weight: float, word: str) -> None:
        if weight > wanted.get(term, (0.0, ""))[0]:
            wanted[term] = (weight, word)

    synonyms = lexicon().synonyms
    content: list[str] = []
    content_stems: list[str] = []
    guessed: list[str] = []
    for i in kept:
        word = typed[i].lower()
        key = folded_all[i]
        expansions = synonyms.get(key)
        if not is_content(word):
            # Abbreviations that are also stop words ("ag") count through synonyms.
            for expansion in expansions or ():
                for part in expansion:
                    if is_content(part):
                        want(stem(part), SYNONYM_WEIGHT, key)
            continue
        content.append(word)
        term = index.surface_stems.get(key) or stem(word)
        content_stems.append(term)
        base = TOOL_WORD_WEIGHT if i in tool_marks else generality(index, word)
        want(term, base, key)
        for part in _INNER_CAPITAL.split(typed[i]):
            if part != typed[i] and len(part) > 2 and is_content(part.lower()):
                want(stem(part.lower()), base * SYNONYM_WEIGHT, key)
        if expansions is None and term not in index.postings:
            expansions = misspelt_synonym(key) or shortening(index, key)
        for expansion in expansions or ():
            for part in expansion:
                if is_content(part):
                    guess = index.surface_stems.get(part) or stem(part)
                    want(guess, SYNONYM_WEIGHT, key)
                    guessed.append(guess)

    expand_by_meaning(
        index, [(typed[i].lower(), folded_all[i]) for i in kept if i not in tool_marks], want
    )

    typed_by_folded = {folded_all[i]: typed[i].lower() for i in kept}
    terms: dict[str, float] = {}
    surface: dict[str, str] = {}
    corrections = 0
    for term, (weight, word) in wanted.items():
        if term in index.postings:
            if weight > terms.get(term, 0.0):
                terms[term] = weight
                surface[term] = typed_by_folded.get(word, word)
            continue
        corrections += 1
        if corrections > MAX_CORRECTIONS:
            continue
        for near in index.similar_terms(term):
            if weight * FUZZY_WEIGHT > terms.get(near, 0.0):
                terms[near] = weight * FUZZY_WEIGHT
                surface[near] = typed_by_folded.get(word, word)
    if len(terms) > MAX_TERMS:
        # A whole sheet pasted as one text: keep the most telling words (rare in
        # the catalog, typed rather than guessed) so that the work stays bounded.
        top = sorted(terms, key=lambda t: (len(index.postings[t]) / terms[t], t))[:MAX_TERMS]
        terms = {t: terms[t] for t in top}
    return ReadQuery(
        terms=terms,
        surface=surface,
        typed={fold(word): word for word in dict.fromkeys(surface.values())},
        folded=tuple(folded),
        stems=tuple(content_stems),
        content=tuple(content),
        named_docs=named_docs,
        named_tools=named_tools,
        places=tuple(places),
        region=region,
        field=frozenset(folded_all[i] for i in kept if is_field(typed[i])),
        guessed=tuple(dict.fromkeys(guessed)),
    )


def generality(index: MatchIndex, word: str) -> float:
    """1 for a telling word, less for one of the commonest words of French."""
    if index.vectors is None or COMMON_RANK <= 1:
        return 1.0
    row = index.vectors.row(word)
    if row is None:
        return 1.0
    return min(1.0, max(COMMON_FLOOR, math.log(row + 2) / math.log(COMMON_RANK)))


def expand_by_meaning(
    index: MatchIndex, typed: list[tuple[str, str]], want: Callable[[str, float, str], None]
) -> None:
    """Catalog stems near each content word in meaning ("thune" → argent)."""
    if index.vectors is None or index.word_matrix is None:
        return
    found = [
        (key, vector)
        for word, key in dict.fromkeys(typed)
        if is_content(word) and (vector := index.vectors.unit(word)) is not None
    ]
    if not found:
        return
    cosines = np.vstack([v for _k, v in found]) @ index.word_matrix.T
    count = min(NEIGHBOURS, cosines.shape[1])
    nearest = np.argpartition(-cosines, count - 1, axis=1)[:, :count]
    values = np.take_along_axis(cosines, nearest, axis=1)
    for (key, _vector), columns, row in zip(found, nearest.tolist(), values.tolist(), strict=True):
        for column, value in zip(columns, row, strict=True):
            if value >= NEIGHBOUR_FLOOR:
                for term in index.word_stems[column]:
                    want(term, NEIGHBOUR_WEIGHT * value, key)


def shortening(index: MatchIndex, word: str) -> tuple[tuple[str, ...], ...]:
    """The catalog words a shortening may stand for ("covoit" → covoiturage,
    "subv" → subventions): the shortest few that start with it and are
    longer by at least `SHORTENING_MORE` letters."""
    if len(word) < SHORTENING_MIN:
        return ()
    words = index.prefix_words
    found: list[str] = []
    at = bisect.bisect_left(words, word)
    while at < len(words) and words[at].startswith(word) and len(found) < 50:
        if len(words[at]) >= len(word) + SHORTENING_MORE:
            found.append(words[at])
        at += 1
    found.sort(key=lambda w: (len(w), w))
    return tuple((w,) for w in found[:SHORTENINGS])


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


def ngrams(sequence: tuple[str, ...], longest: int) -> list[tuple[str, ...]]:
    return [
        sequence[start : start + size]
        for size in range(1, longest + 1)
        for start in range(len(sequence) - size + 1)
    ]
