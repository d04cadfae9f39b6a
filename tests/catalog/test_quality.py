"""The engine stays above a documented quality floor on the labelled set
(measured values and how to re-measure: docs/catalog.md, « Qualité »)."""

from __future__ import annotations

from dialogs.catalog.matching import MatchIndex, infer_themes
from tests.catalog.helpers import seed_catalog
from tests.catalog.quality import K, accents_and_typo, cases, evaluate, ndcg

# Measured 0.861 as typed and 0.836 without accents and with a typo (issue 12
# engine). The floors were 0.90 and 0.87 when the engine's synonyms and weights
# were fitted on this very set (0.920): it scored 0.57 on a catalog and
# requests written blind in another style. The engine is now fitted on the
# held-out development split (tests/data/heldout, 0.57 → 0.64 there, no
# proprietary resource in a top 3 where there were 14 here), and field words
# ("tiers-lieux") no longer decide relevance, which several cases here relied
# on. The floors sit a little below the new figures (docs/catalog.md, « Qualité »).
NDCG_FLOOR = 0.84
NDCG_FLOOR_TYPOS = 0.81


def test_labelled_set_is_big_enough() -> None:
    assert len(cases()) >= 40
    assert sum(1 for c in cases() if c.region) >= 10


def test_ndcg_definition() -> None:
    assert ndcg(["a", "b"], ["a", "b"]) == 1.0
    assert ndcg(["x", "y"], ["a"]) == 0.0
    assert 0 < ndcg(["b", "a"], ["a", "b"]) < 1


def test_ndcg_at_5_above_floor() -> None:
    mean, misses = evaluate()
    assert mean >= NDCG_FLOOR, f"nDCG@{K} = {mean:.4f}\n" + "\n".join(misses)


def test_ndcg_at_5_without_accents_and_with_typos() -> None:
    mean, misses = evaluate(accents_and_typo)
    assert mean >= NDCG_FLOOR_TYPOS, f"nDCG@{K} = {mean:.4f}\n" + "\n".join(misses)


def test_inferred_themes_find_the_chosen_main_theme() -> None:
    """On cases where the person chose themes, inference from the text alone
    finds their main theme (measured: 32/34 with the index, 29/34 from words;
    it was 34/34 and 31/34 with word lists fitted on these cases, see above)."""
    index = MatchIndex.build(seed_catalog().resources)
    chosen = [c for c in cases() if c.themes]
    with_index = sum(c.themes[0] in infer_themes(c.text, index) for c in chosen)
    from_words = sum(c.themes[0] in infer_themes(c.text) for c in chosen)
    assert with_index >= 0.93 * len(chosen)
    assert from_words >= 0.85 * len(chosen)
