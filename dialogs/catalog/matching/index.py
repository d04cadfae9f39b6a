"""`MatchIndex`: everything about the catalog that does not depend on the query,
computed once when the catalog is loaded.

Text relevance is BM25F: a resource's name, tags, summary and the names of the
tools it replaces are weighted fields of one bag of Snowball stems (field
words left out, see `text`). The contribution of each (stem, resource) pair
is precomputed, and each stem's posting list is sorted by contribution so that
a query only reads the head of long lists (`POSTINGS_READ`, and
`POSTINGS_BUDGET` for all the words of a long text). The same lists are
also laid end to end in two arrays (`posting_docs`, `posting_values`, with
each stem's span): a query adds its few slices up in one `np.bincount`
instead of a Python loop over thousands of entries.

Meaning: with the French word vectors (`vectors`), each resource also gets
one unit vector, the weighted mean of its words' vectors (tags count double:
they say what the resource is for). A query's vector is compared with all of
them in one matrix product.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

from dialogs.catalog.load import Resource
from dialogs.catalog.matching.text import (
    fold_word,
    is_content,
    is_field,
    max_typos,
    product_words,
    split_words,
    stem,
    trigrams,
    within_distance,
)
from dialogs.catalog.matching.vectors import WordVectors, load_vectors
from dialogs.kernel.options import THEMES

# Field weights: a word in the name or a tag says more than one in the summary.
NAME_WEIGHT = 3.0
TAG_WEIGHT = 2.5
SUMMARY_WEIGHT = 1.0
REPLACES_WEIGHT = 0.7
BM25_K1 = 1.2
BM25_B = 0.5
POSTINGS_READ = 400
POSTINGS_BUDGET = 6_000  # entries read per query, all words together
FUZZY_CACHE = 20_000
# Weights of the words of each field in a resource's meaning vector.
VECTOR_NAME = 0.5
VECTOR_TAG = 2.0
VECTOR_SUMMARY = 1.0


@dataclass(frozen=True, slots=True)
class Doc:
    """What ranking needs of one resource, precomputed."""

    resource: Resource
    main_theme: str
    themes: frozenset[str]
    regions: frozenset[str]
    stems: frozenset[str]
    # Each tag as stemmed words, with the tag as written in the catalog.
    tags: tuple[tuple[tuple[str, ...], str], ...]
    # For diversity: stems of tags, replaced tools, kind and main theme.
    features: frozenset[str]
    # Field words in its name or tags: what it is about ("tiers-lieux").
    about: frozenset[str] = frozenset()


@dataclass(slots=True)
class MatchIndex:
    docs: tuple[Doc, ...]
    # Stem → ((doc, contribution), ...) best contribution first.
    postings: dict[str, tuple[tuple[int, float], ...]]
    # Trigram → stems of the vocabulary containing it (typo lookup).
    trigram_index: dict[str, tuple[str, ...]]
    # Multi-word tag (stemmed) → docs having it, and how rare it is.
    tag_phrases: dict[tuple[str, ...], tuple[int, ...]]
    tag_idf: dict[tuple[str, ...], float]
    # Replaced tool (folded words) → (doc, tool name as written).
    replaces: dict[tuple[str, ...], tuple[tuple[int, str], ...]]
    replaces_longest: int
    # Resource names (folded words, also joined) → docs: a named tool.
    names: dict[tuple[str, ...], tuple[int, ...]]
    # Field word (folded) → docs whose name or tags have it.
    about: dict[str, tuple[int, ...]]
    # Theme → docs with that theme, main theme and libre first (fills short lists).
    by_theme: dict[str, tuple[int, ...]]
    # Folded word as the catalog writes it → its stem (accents restored).
    surface_stems: dict[str, str]
    # One unit meaning vector per doc (rows), or None without word vectors.
    doc_vectors: npt.NDArray[np.float32] | None
    vectors: WordVectors | None
    # Vectors of the catalog's words (one row per distinct vector) and the
    # stems each row stands for: a typed word finds its neighbours in meaning.
    word_matrix: npt.NDArray[np.float32] | None
    word_stems: tuple[tuple[str, ...], ...]
    # One unit vector per theme (rows in `THEMES` order): the mean meaning of
    # the resources whose main theme it is, or None.
    theme_vectors: npt.NDArray[np.float32] | None = None
    # The catalog's words, folded and sorted (shortenings: "covoit").
    prefix_words: tuple[str, ...] = ()
    # The posting lists end to end (same order): stem → (start, end) in
    # `posting_docs` (doc numbers) and `posting_values` (contributions).
    posting_spans: dict[str, tuple[int, int]] = field(default_factory=dict)
    posting_docs: npt.NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    posting_values: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.zeros(0, dtype=np.float64)
    )
    fuzzy_cache: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        resources: Iterable[Resource],
        vectors: WordVectors | bool | None = True,
        analysis: Analysis | None = None,
    ) -> MatchIndex:
        """`vectors`: True loads the shipped word vectors if installed, False
        or None works on words alone. `analysis`: what `analyse` gave for the
        same resources and vectors, kept from an earlier run (the runtime's
        disk cache); without it, the resources are read here."""
        model = load_vectors() if vectors is True else (vectors or None)
        ordered = sorted(resources, key=lambda r: r.id)
        if (
            analysis is None
            or len(analysis.bags) != len(ordered)
            or (analysis.doc_vectors is None) != (model is None)
        ):
            analysis = analyse(ordered, model)
        weighted = analysis.bags
        lengths = analysis.lengths
        surface = analysis.surface
        docs = [
            make_doc(resource, frozenset(bag))
            for resource, bag in zip(ordered, weighted, strict=True)
        ]
        count = len(docs)
        average = (sum(lengths) / count) if count else 1.0
        document_frequency: dict[str, int] = defaultdict(int)
        for bag in weighted:
            for term in bag:
                document_frequency[term] += 1
        lists: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for number, bag in enumerate(weighted):
            norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths[number] / max(average, 1e-9))
            for term, tf in bag.items():
                idf = bm25_idf(count, document_frequency[term])
                lists[term].append((number, idf * tf * (BM25_K1 + 1) / (tf + norm)))
        postings = {
            term: tuple(sorted(entries, key=lambda e: (-e[1], e[0])))
            for term, entries in lists.items()
        }

        grams: dict[str, list[str]] = defaultdict(list)
        for term in postings:
            if max_typos(term):
                for gram in set(trigrams(term)):
                    grams[gram].append(term)

        doc_vectors = analysis.doc_vectors if model is not None else None
        word_matrix = analysis.word_matrix if model is not None else None
        word_stems = analysis.word_stems if model is not None else ()
        tag_phrases, tag_idf = tag_tables(docs)
        replaces, names = replace_tables(docs)
        spans, posting_docs, posting_values = flat_postings(postings)
        return cls(
            docs=tuple(docs),
            postings=postings,
            posting_spans=spans,
            posting_docs=posting_docs,
            posting_values=posting_values,
            trigram_index={g: tuple(terms) for g, terms in grams.items()},
            tag_phrases=tag_phrases,
            tag_idf=tag_idf,
            replaces=replaces,
            replaces_longest=max((len(k) for k in (*replaces, *names)), default=1),
            names=names,
            by_theme=theme_lists(docs),
            about=about_lists(docs),
            surface_stems=surface,
            doc_vectors=doc_vectors,
            vectors=model,
            word_matrix=word_matrix,
            word_stems=word_stems,
            theme_vectors=theme_table(docs, doc_vectors),
            prefix_words=tuple(sorted(w for w in surface if w.isalpha())),
        )

    def __len__(self) -> int:
        return len(self.docs)

    def similar_terms(self, term: str) -> tuple[str, ...]:
        """Vocabulary stems within typo distance of an unknown stem ("comptabilit"
        → "comptabil"), found through shared trigrams; cached, since people
        repeat the same misspellings."""
        cached = self.fuzzy_cache.get(term)
        if cached is not None:
            return cached
        limit = max_typos(term)
        found: tuple[str, ...] = ()
        if limit:
            shared: dict[str, int] = defaultdict(int)
            for gram in set(trigrams(term)):
                for candidate in self.trigram_index.get(gram, ()):
                    shared[candidate] += 1
            # An edit touches at most three trigrams; fewer shared ones cannot be close.
            needed = max(1, len(term) - 3 * limit)
            found = tuple(
                sorted(
                    candidate
                    for candidate, hits in shared.items()
                    if hits >= needed and within_distance(term, candidate, limit)
                )
            )
        if len(self.fuzzy_cache) >= FUZZY_CACHE:
            self.fuzzy_cache.clear()
        self.fuzzy_cache[term] = found
        return found


@dataclass(frozen=True, slots=True)
class Analysis:
    """What reading the resources gives, before any statistics: the costly
    part of `MatchIndex.build` (tokens, Snowball, word vectors), for
    resources sorted by id. The runtime may keep it on disk (as plain
    arrays, `analysis_arrays`) and hand it back to `MatchIndex.build`."""

    # Per resource: stem → weight (fields weighted, in order of reading).
    bags: tuple[dict[str, float], ...]
    # Per resource: total weight of its words (BM25's document length).
    lengths: tuple[float, ...]
    # Folded word as the catalog writes it → its stem.
    surface: dict[str, str]
    # With word vectors: one unit meaning vector per resource, and the
    # catalog's word vectors with the stems each row stands for.
    doc_vectors: npt.NDArray[np.float32] | None
    word_matrix: npt.NDArray[np.float32] | None
    word_stems: tuple[tuple[str, ...], ...]


def analyse(ordered: Sequence[Resource], model: WordVectors | None) -> Analysis:
    bags: list[dict[str, float]] = []
    lengths: list[float] = []
    surface: dict[str, str] = {}
    surface_words: dict[str, str] = {}
    meaning: list[npt.NDArray[np.float32] | None] = []
    for resource in ordered:
        bag: dict[str, float] = defaultdict(float)
        length = 0.0
        for text, weight in field_texts(resource):
            for word in product_words(text):
                if not is_content(word):
                    continue
                term = stem(word)
                surface.setdefault(fold_word(word), term)
                surface_words.setdefault(word, term)
                bag[term] += weight
                length += weight
                # Snowball stems a word typed without its accents apart
                # ("reservons" → reservon): that stem finds the doc too.
                bare = stem(fold_word(word))
                if bare != term:
                    bag[bare] += weight
        bags.append(dict(bag))
        lengths.append(length)
        meaning.append(doc_vector(model, resource) if model is not None else None)
    doc_vectors = None
    if model is not None:
        doc_vectors = np.zeros((len(ordered), model.width), dtype=np.float32)
        for number, vector in enumerate(meaning):
            if vector is not None:
                doc_vectors[number] = vector
    word_matrix, word_stems = (
        neighbour_table(model, surface_words) if model is not None else (None, ())
    )
    return Analysis(
        bags=tuple(bags),
        lengths=tuple(lengths),
        surface=surface,
        doc_vectors=doc_vectors,
        word_matrix=word_matrix,
        word_stems=word_stems,
    )


def analysis_arrays(analysis: Analysis) -> dict[str, npt.NDArray[Any]]:
    """`analysis` as plain arrays (numbers and text, nothing to unpickle),
    the bags in their order of reading."""
    vocabulary: dict[str, int] = {}
    terms: list[int] = []
    weights: list[float] = []
    ends: list[int] = []
    for bag in analysis.bags:
        for term, weight in bag.items():
            terms.append(vocabulary.setdefault(term, len(vocabulary)))
            weights.append(weight)
        ends.append(len(terms))
    found: dict[str, npt.NDArray[Any]] = {
        "vocabulary": np.array(list(vocabulary), dtype=str),
        "bag_terms": np.array(terms, dtype=np.int64),
        "bag_weights": np.array(weights, dtype=np.float64),
        "bag_ends": np.array(ends, dtype=np.int64),
        "lengths": np.array(analysis.lengths, dtype=np.float64),
        "surface_words": np.array(list(analysis.surface), dtype=str),
        "surface_stems": np.array(list(analysis.surface.values()), dtype=str),
        "word_stems": np.array([t for row in analysis.word_stems for t in row], dtype=str),
        "word_stem_ends": np.cumsum([len(row) for row in analysis.word_stems], dtype=np.int64),
    }
    if analysis.doc_vectors is not None:
        found["doc_vectors"] = analysis.doc_vectors
    if analysis.word_matrix is not None:
        found["word_matrix"] = analysis.word_matrix
    return found


def analysis_from_arrays(arrays: Mapping[str, npt.NDArray[Any]]) -> Analysis:
    """The inverse of `analysis_arrays`; KeyError or ValueError when an array
    is missing or does not fit the others."""
    vocabulary = [str(t) for t in arrays["vocabulary"]]
    terms = arrays["bag_terms"].tolist()
    weights = arrays["bag_weights"].tolist()
    bags: list[dict[str, float]] = []
    start = 0
    for end in arrays["bag_ends"].tolist():
        bags.append(
            {vocabulary[t]: w for t, w in zip(terms[start:end], weights[start:end], strict=True)}
        )
        start = end
    if start != len(terms):
        raise ValueError("bags do not cover the terms")
    lengths = tuple(arrays["lengths"].tolist())
    if len(lengths) != len(bags):
        raise ValueError("one length per bag")
    stems = [str(t) for t in arrays["word_stems"]]
    word_stems: list[tuple[str, ...]] = []
    start = 0
    for end in arrays["word_stem_ends"].tolist():
        word_stems.append(tuple(stems[start:end]))
        start = end
    doc_vectors = arrays.get("doc_vectors")
    word_matrix = arrays.get("word_matrix")
    if doc_vectors is not None and len(doc_vectors) != len(bags):
        raise ValueError("one meaning vector per bag")
    if (word_matrix is None and word_stems) or (
        word_matrix is not None and len(word_matrix) != len(word_stems)
    ):
        raise ValueError("one word vector per row of stems")
    return Analysis(
        bags=tuple(bags),
        lengths=lengths,
        surface=dict(
            zip(
                (str(w) for w in arrays["surface_words"]),
                (str(t) for t in arrays["surface_stems"]),
                strict=True,
            )
        ),
        doc_vectors=None if doc_vectors is None else np.asarray(doc_vectors, dtype=np.float32),
        word_matrix=None if word_matrix is None else np.asarray(word_matrix, dtype=np.float32),
        word_stems=tuple(word_stems),
    )


def flat_postings(
    postings: dict[str, tuple[tuple[int, float], ...]],
) -> tuple[dict[str, tuple[int, int]], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    spans: dict[str, tuple[int, int]] = {}
    start = 0
    for term, entries in postings.items():
        spans[term] = (start, start + len(entries))
        start += len(entries)
    docs = np.fromiter(
        (number for entries in postings.values() for number, _value in entries),
        dtype=np.intp,
        count=start,
    )
    values = np.fromiter(
        (value for entries in postings.values() for _number, value in entries),
        dtype=np.float64,
        count=start,
    )
    return spans, docs, values


def field_texts(resource: Resource) -> list[tuple[str, float]]:
    return [
        (resource.name, NAME_WEIGHT),
        (" ".join(resource.tags), TAG_WEIGHT),
        (resource.summary, SUMMARY_WEIGHT),
        (" ".join(resource.replaces), REPLACES_WEIGHT),
    ]


def bm25_idf(count: int, frequency: int) -> float:
    return math.log(1 + (count - frequency + 0.5) / (frequency + 0.5))


@lru_cache(maxsize=1 << 16)
def phrase(text: str) -> tuple[str, ...]:
    # Remembered: a large catalog repeats the same few hundred tags.
    return tuple(stem(w) for w in split_words(text) if is_content(w))


def make_doc(resource: Resource, terms: frozenset[str]) -> Doc:
    tags = tuple((p, tag) for tag in resource.tags if (p := phrase(tag)))
    features = {f"tag:{t}" for p, _tag in tags for t in p}
    features.update(f"replaces:{fold_word(tool)}" for tool in resource.replaces)
    features.add(f"kind:{resource.kind}")
    features.add(f"theme:{resource.themes[0]}")
    about = frozenset(
        fold_word(w)
        for w in product_words(f"{resource.name} {' '.join(resource.tags)}")
        if is_field(w)
    )
    return Doc(
        about=about,
        resource=resource,
        main_theme=resource.themes[0],
        themes=frozenset(resource.themes),
        regions=frozenset(resource.regions),
        stems=terms,
        tags=tags,
        features=frozenset(features),
    )


def tag_tables(
    docs: Sequence[Doc],
) -> tuple[dict[tuple[str, ...], tuple[int, ...]], dict[tuple[str, ...], float]]:
    """Multi-word tags → resources having them, and each tag's rarity (idf)."""
    phrases: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for number, doc in enumerate(docs):
        for key, _tag in doc.tags:
            if len(key) > 1 and number not in phrases[key]:
                phrases[key].append(number)
    count = max(len(docs), 1)
    return (
        {k: tuple(v) for k, v in phrases.items()},
        {k: bm25_idf(count, len(v)) for k, v in phrases.items()},
    )


def tool_keys(name: str) -> list[tuple[str, ...]]:
    """Folded word sequences a tool name is recognised by: as written, and
    joined ("Google Drive" → google drive, googledrive; "NextCloud" →
    nextcloud, next cloud)."""
    folded = tuple(fold_word(name).split())
    keys = [folded] if folded else []
    if len(folded) > 1:
        keys.append(("".join(folded),))
    parts = tuple(fold_word(w) for w in product_words(name) if fold_word(w) not in folded)
    if len(parts) > 1:
        keys.append(parts)
    return keys


def replace_tables(
    docs: Sequence[Doc],
) -> tuple[
    dict[tuple[str, ...], tuple[tuple[int, str], ...]], dict[tuple[str, ...], tuple[int, ...]]
]:
    """Replaced tools (folded words) → (resource, tool as written); and the
    names of all resources (folded words) → resources."""
    replaces: dict[tuple[str, ...], list[tuple[int, str]]] = defaultdict(list)
    names: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for number, doc in enumerate(docs):
        for tool in doc.resource.replaces:
            for key in tool_keys(tool):
                if (number, tool) not in replaces[key]:
                    replaces[key].append((number, tool))
        for key in tool_keys(doc.resource.name):
            if number not in names[key]:
                names[key].append(number)
    return {k: tuple(v) for k, v in replaces.items()}, {k: tuple(v) for k, v in names.items()}


def neighbour_table(
    model: WordVectors, words: dict[str, str]
) -> tuple[npt.NDArray[np.float32] | None, tuple[tuple[str, ...], ...]]:
    """Unit vectors of the catalog's words, one row per distinct vector, with
    the stems of the words sharing it."""
    by_row: dict[int, set[str]] = defaultdict(set)
    for word, term in words.items():
        row = model.row(word)
        if row is not None:
            by_row[row].add(term)
    if not by_row:
        return None, ()
    found = [(row, vector) for row in sorted(by_row) if (vector := model.unit_row(row)) is not None]
    if not found:
        return None, ()
    matrix = np.vstack([vector for _row, vector in found]).astype(np.float32)
    return matrix, tuple(tuple(sorted(by_row[row])) for row, _vector in found)


def doc_vector(model: WordVectors, resource: Resource) -> npt.NDArray[np.float32] | None:
    weighted: list[tuple[str, float]] = []
    for text, weight in (
        (resource.name, VECTOR_NAME),
        (" ".join(resource.tags), VECTOR_TAG),
        (resource.summary, VECTOR_SUMMARY),
    ):
        weighted.extend((w, weight) for w in split_words(text) if is_content(w))
    return model.mean(weighted)


def about_lists(docs: Sequence[Doc]) -> dict[str, tuple[int, ...]]:
    lists: dict[str, list[int]] = defaultdict(list)
    for number, doc in enumerate(docs):
        for word in doc.about:
            lists[word].append(number)
    return {word: tuple(numbers) for word, numbers in lists.items()}


def theme_lists(docs: Sequence[Doc]) -> dict[str, tuple[int, ...]]:
    lists: dict[str, list[int]] = defaultdict(list)
    for number, doc in enumerate(docs):
        for theme in doc.themes:
            lists[theme].append(number)
    return {
        theme: tuple(
            sorted(
                numbers,
                key=lambda n: (
                    docs[n].main_theme != theme,
                    not docs[n].resource.libre,
                    docs[n].resource.id,
                ),
            )
        )
        for theme, numbers in lists.items()
    }


def theme_table(
    docs: Sequence[Doc], doc_vectors: npt.NDArray[np.float32] | None
) -> npt.NDArray[np.float32] | None:
    """Each theme's meaning as this catalog describes it: the unit mean of the
    vectors of the resources whose main theme it is (zero when none)."""
    if doc_vectors is None or not len(docs):
        return None
    table = np.zeros((len(THEMES), doc_vectors.shape[1]), dtype=np.float32)
    for position, theme in enumerate(THEMES):
        rows = [n for n, doc in enumerate(docs) if doc.main_theme == theme]
        if rows:
            mean = doc_vectors[rows].sum(axis=0)
            norm = float(np.linalg.norm(mean))
            if norm > 0:
                table[position] = mean / norm
    return table
