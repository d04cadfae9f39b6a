"""nDCG@5 of the matching engine on the labelled problem statements of
``tests/data/match_cases.yaml`` — shared by the quality test and
``python -m tests.catalog.quality`` (which prints the figure and the misses).

Graded relevance: in a case listing n relevant ids best first, the i-th
(from 0) has grade n − i; gain 2^grade − 1, discount log2(rank + 1).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import yaml

from dialogs.catalog.matching import MatchIndex, MatchQuery, match
from dialogs.kernel.textnorm import fold
from tests.catalog.helpers import ROOT, seed_catalog

CASES = ROOT / "tests" / "data" / "match_cases.yaml"
K = 5


@dataclass(frozen=True, slots=True)
class Case:
    text: str
    themes: tuple[str, ...]
    region: str | None
    relevant: tuple[str, ...]


@cache
def cases() -> tuple[Case, ...]:
    # BaseLoader: région codes such as 974 stay text.
    raw = yaml.load(CASES.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)["cases"]
    return tuple(
        Case(
            text=c["text"],
            themes=tuple(c["themes"]),
            region=c["region"] if c["region"] not in ("", "null", "~") else None,
            relevant=tuple(c["relevant"]),
        )
        for c in raw
    )


def ndcg(ranked: Sequence[str], relevant: Sequence[str], k: int = K) -> float:
    grades = {rid: len(relevant) - i for i, rid in enumerate(relevant)}
    dcg = sum((2 ** grades.get(r, 0) - 1) / math.log2(i + 2) for i, r in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best


def accents_and_typo(text: str) -> str:
    """What a phone keyboard in a hurry does: no accents, and two letters
    swapped in the longest word."""
    words = fold(text).split()
    longest = max(range(len(words)), key=lambda i: (len(words[i]), -i))
    w = words[longest]
    if len(w) >= 6:
        words[longest] = w[:2] + w[3] + w[2] + w[4:]
    return " ".join(words)


def evaluate(transform: Callable[[str], str] = lambda t: t) -> tuple[float, list[str]]:
    index = MatchIndex.build(seed_catalog().resources)
    scores: list[float] = []
    misses: list[str] = []
    for case in cases():
        query = MatchQuery(
            text=transform(case.text), themes=case.themes, region=case.region, limit=K
        )
        ranked = [p.id for p in match(index, query, []).resources]
        score = ndcg(ranked, case.relevant)
        scores.append(score)
        if score < 0.8:
            misses.append(f"{score:.2f} {case.text!r}: {ranked} / {list(case.relevant)}")
    return sum(scores) / len(scores), misses


if __name__ == "__main__":
    for label, transform in (("tel quel", None), ("sans accents + faute", accents_and_typo)):
        mean, misses = evaluate(transform) if transform else evaluate()
        print(f"nDCG@{K} {label}: {mean:.4f} ({len(cases())} cas)")
        if "-v" in sys.argv:
            print("\n".join(misses))
