"""The matching engine: for a confirmed sheet, the libre resources that fit the
problem best and the aiguilleurs best placed to help, each with its reasons.

Pure and deterministic: the runtime builds a `MatchIndex` once per catalog
version, loads the aiguilleurs with their load and rotation data, and calls
`match`. The same call serves the bot and ``aiguillage match``.

Modules: `text` (folding, stemming, typos), `index` (precomputed catalog),
`query` (a person's text), `rank` (resources), `people` (aiguilleurs),
`themes` (inference for "je ne sais pas encore").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from dialogs.catalog.matching.index import MatchIndex
from dialogs.catalog.matching.model import AiguilleurCandidate, MatchQuery, MatchResult, Proposal
from dialogs.catalog.matching.people import rank_aiguilleurs
from dialogs.catalog.matching.query import read_query
from dialogs.catalog.matching.rank import rank_resources, text_scores
from dialogs.catalog.matching.text import content_words, stems
from dialogs.catalog.matching.themes import choose, evidence
from dialogs.catalog.matching.vectors import load_vectors
from dialogs.kernel.options import THEMES

__all__ = [
    "AiguilleurCandidate",
    "MatchIndex",
    "MatchQuery",
    "MatchResult",
    "Proposal",
    "infer_themes",
    "match",
]


def match(
    index: MatchIndex,
    query: MatchQuery,
    aiguilleurs: Sequence[AiguilleurCandidate],
    limit_aiguilleurs: int = 3,
) -> MatchResult:
    read = read_query(index, query.text)
    scores = text_scores(index, read)
    region = query.region or read.region
    if region != query.region:
        query = replace(query, region=region)
    given = tuple(t for t in dict.fromkeys(query.themes) if t in THEMES)
    if given:
        themes, inferred = given, False
    else:
        found = evidence(read.content, read.stems, index.vectors, index.docs, scores.relevance)
        themes, inferred = choose(found), True
    return MatchResult(
        resources=rank_resources(index, query, read, scores, themes, inferred),
        aiguilleurs=rank_aiguilleurs(aiguilleurs, themes, query.region, limit_aiguilleurs),
        themes=themes,
        themes_inferred=inferred and bool(themes),
    )


def infer_themes(text: str, index: MatchIndex | None = None) -> tuple[str, ...]:
    """Themes suggested by a text, best first (at most three, possibly none):
    from its words and their meaning; with an index, the themes of the
    resources the text matches also vote, less."""
    if index is None:
        return choose(evidence(content_words(text), stems(text), load_vectors()))
    read = read_query(index, text)
    scores = text_scores(index, read)
    return choose(evidence(read.content, read.stems, index.vectors, index.docs, scores.relevance))
