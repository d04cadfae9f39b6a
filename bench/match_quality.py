"""Match quality on the own catalog and on the held-out catalog, next to a
BM25 + Snowball French baseline on the same sets.

Sets:
- own: ``storage/seed/catalog.yaml`` with ``tests/data/match_cases.yaml``
  (grades from the order of ``relevant``: n, n−1, …);
- held-out: ``tests/data/heldout/catalog.yaml`` (another style, written blind)
  with ``requests_dev.yaml`` (the engine may be tuned on it) and
  ``requests_test.yaml`` (reported, never tuned on).

Figures per set: nDCG@5 (gain 2^grade − 1), P@3 (share of the first three
places holding a relevant resource) and its ceiling (the best any ranking could
reach with the labels: a request with fewer than three relevant resources caps
it; key ``match_p3_ceiling_heldout``), proprietary resources in a top 3
(intrusions), aiguilleur top-1 validity (held-out sets: the first proposed
aiguilleur is one of ``aiguilleurs_valid``), main-theme accuracy (held-out
sets, requests with no ticked theme: the first inferred theme is the labelled
``main_theme``; it decides the aiguilleur), catalog coverage (share of the
catalog in some top 3) and the largest share of top-3 places held by one
resource (anti-lock-in).

Run: ``python bench/match_quality.py`` (also run by ``python -m bench``).
Prints a table, then as its last line one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python bench/match_quality.py`
    sys.path.insert(0, str(ROOT))

import Stemmer  # noqa: E402

from dialogs.catalog.load import Catalog, parse_catalog_yaml  # noqa: E402
from dialogs.catalog.matching import AiguilleurCandidate, MatchIndex, MatchQuery, match  # noqa: E402
from dialogs.kernel.textnorm import fold  # noqa: E402

K = 5
HELDOUT = ROOT / "tests" / "data" / "heldout"


@dataclass(frozen=True, slots=True)
class Request:
    text: str
    themes: tuple[str, ...]
    region: str | None
    grades: Mapping[str, int]
    valid_aiguilleurs: frozenset[str]
    # The labelled main theme (held-out sets), or None.
    main_theme: str | None = None


@dataclass(frozen=True, slots=True)
class Ranked:
    resources: tuple[str, ...]
    aiguilleur: str | None
    main_theme: str | None = None


def load_catalog(path: Path) -> Catalog:
    return parse_catalog_yaml(path.read_text(encoding="utf-8"))


def _region(value: object) -> str | None:
    return None if value in (None, "", "null", "~") else str(value)


def own_requests() -> list[Request]:
    raw = yaml.load(
        (ROOT / "tests" / "data" / "match_cases.yaml").read_text(encoding="utf-8"),
        Loader=yaml.BaseLoader,
    )["cases"]
    return [
        Request(
            text=c["text"],
            themes=tuple(c["themes"]),
            region=_region(c["region"]),
            grades={rid: len(c["relevant"]) - i for i, rid in enumerate(c["relevant"])},
            valid_aiguilleurs=frozenset(),
        )
        for c in raw
    ]


def heldout_requests(name: str) -> list[Request] | None:
    path = HELDOUT / f"requests_{name}.yaml"
    if not path.exists():
        return None
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = raw["requests"] if isinstance(raw, dict) else raw
    return [
        Request(
            text=str(r["text"]),
            themes=tuple(r.get("themes") or ()),
            region=_region(r.get("region")),
            grades={str(k): int(v) for k, v in (r.get("relevant") or {}).items()},
            valid_aiguilleurs=frozenset(str(a) for a in r.get("aiguilleurs_valid") or ()),
            main_theme=str(r["main_theme"]) if r.get("main_theme") else None,
        )
        for r in items
    ]


def ndcg(ranked: Sequence[str], grades: Mapping[str, int], k: int = K) -> float:
    dcg = sum((2 ** grades.get(r, 0) - 1) / math.log2(i + 2) for i, r in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    best = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / best if best else 0.0


def precision(ranked: Sequence[str], grades: Mapping[str, int], k: int = 3) -> float:
    return sum(1 for r in ranked[:k] if grades.get(r, 0) > 0) / k


def engine(catalog: Catalog) -> Callable[[Request], Ranked]:
    index = MatchIndex.build(catalog.resources)
    people = [AiguilleurCandidate(profile=p) for p in catalog.aiguilleurs]

    def run(request: Request) -> Ranked:
        result = match(
            index,
            MatchQuery(text=request.text, themes=request.themes, region=request.region, limit=K),
            people,
            limit_aiguilleurs=1,
        )
        return Ranked(
            resources=tuple(p.id for p in result.resources),
            aiguilleur=result.aiguilleurs[0].id if result.aiguilleurs else None,
            main_theme=result.themes[0] if result.themes else None,
        )

    return run


def baseline(catalog: Catalog) -> Callable[[Request], Ranked]:
    """Plain BM25 (k1 1.5, b 0.75) over name, tags and summary, Snowball
    French stems of folded words, no other rule."""
    stemmer = Stemmer.Stemmer("french")

    def terms(text: str) -> list[str]:
        return stemmer.stemWords([w for w in fold(text).split() if len(w) > 2])

    docs = [terms(f"{r.name} {' '.join(r.tags)} {r.summary}") for r in catalog.resources]
    count = len(docs)
    average = sum(map(len, docs)) / max(count, 1)
    frequency: Counter[str] = Counter(t for d in docs for t in set(d))
    idf = {t: math.log(1 + (count - f + 0.5) / (f + 0.5)) for t, f in frequency.items()}
    bags = [Counter(d) for d in docs]

    def run(request: Request) -> Ranked:
        wanted = set(terms(request.text))
        scores = []
        for number, bag in enumerate(bags):
            norm = 1.5 * (1 - 0.75 + 0.75 * len(docs[number]) / average)
            score = sum(idf[t] * bag[t] * 2.5 / (bag[t] + norm) for t in wanted if t in bag)
            if score > 0:
                scores.append((-score, catalog.resources[number].id))
        return Ranked(resources=tuple(rid for _s, rid in sorted(scores)[:K]), aiguilleur=None)

    return run


def evaluate(
    catalog: Catalog, requests: Sequence[Request], ranker: Callable[[Request], Ranked]
) -> dict[str, float]:
    proprietary = {r.id for r in catalog.resources if not r.libre}
    ndcgs, precisions, ceilings, valid, themes = [], [], [], [], []
    intrusions = 0
    places: Counter[str] = Counter()
    for request in requests:
        ranked = ranker(request)
        ndcgs.append(ndcg(ranked.resources, request.grades))
        precisions.append(precision(ranked.resources, request.grades))
        # The best P@3 any ranking could reach: a request labelled with fewer
        # than three relevant resources caps it below 1.
        relevant = sum(1 for grade in request.grades.values() if grade > 0)
        ceilings.append(min(relevant, 3) / 3)
        top3 = ranked.resources[:3]
        intrusions += sum(1 for r in top3 if r in proprietary)
        places.update(top3)
        if request.valid_aiguilleurs:
            valid.append(float(ranked.aiguilleur in request.valid_aiguilleurs))
        # Theme inference decides the aiguilleur: measured where the person
        # ticked no theme ("je ne sais pas encore"), the only case it runs.
        if request.main_theme and not request.themes:
            themes.append(float(ranked.main_theme == request.main_theme))
    total_places = sum(places.values())
    return {
        "ndcg5": sum(ndcgs) / len(ndcgs),
        "p3": sum(precisions) / len(precisions),
        "p3_ceiling": sum(ceilings) / len(ceilings),
        "intrusions": float(intrusions),
        "aiguilleur_top1": (sum(valid) / len(valid)) if valid else float("nan"),
        "theme_top1": (sum(themes) / len(themes)) if themes else float("nan"),
        "coverage": len(places) / max(len(catalog.resources), 1),
        "top_share_max": (max(places.values()) / total_places) if total_places else 0.0,
        "requests": float(len(requests)),
    }


def run(sets: Sequence[str]) -> dict[str, float]:
    own = load_catalog(ROOT / "storage" / "seed" / "catalog.yaml")
    rows: list[tuple[str, str, dict[str, float]]] = []
    found: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    if "own" in sets:
        requests = own_requests()
        for label, make in (("engine", engine), ("bm25", baseline)):
            found["own"][label] = evaluate(own, requests, make(own))
            rows.append(("own", label, found["own"][label]))
    heldout_catalog = HELDOUT / "catalog.yaml"
    if heldout_catalog.exists():
        catalog = load_catalog(heldout_catalog)
        runners = {"engine": engine(catalog), "bm25": baseline(catalog)}
        for name in ("dev", "test"):
            if name not in sets:
                continue
            requests = heldout_requests(name)
            if requests is None:
                print(f"(held-out {name} split not found)")
                continue
            for label, ranker in runners.items():
                found[name][label] = evaluate(catalog, requests, ranker)
                rows.append((f"heldout {name}", label, found[name][label]))

    print(
        f"{'set':<14}{'ranker':<8}{'n':>4}{'nDCG@5':>8}{'P@3':>7}{'P@3max':>7}{'prop3':>7}"
        f"{'aig@1':>7}{'theme1':>7}{'cover':>7}{'share':>7}"
    )
    for name, label, f in rows:
        print(
            f"{name:<14}{label:<8}{int(f['requests']):>4}{f['ndcg5']:>8.3f}{f['p3']:>7.3f}"
            f"{f['p3_ceiling']:>7.3f}"
            f"{int(f['intrusions']):>7}{f['aiguilleur_top1']:>7.3f}{f['theme_top1']:>7.3f}"
            f"{f['coverage']:>7.3f}"
            f"{f['top_share_max']:>7.3f}"
        )

    figures: dict[str, float] = {}

    def put(key: str, value: float) -> None:
        if not math.isnan(value):
            figures[key] = round(value, 4)

    if "own" in found:
        put("match_ndcg5_own", found["own"]["engine"]["ndcg5"])
        put("match_ndcg5_bm25_own", found["own"]["bm25"]["ndcg5"])
    for name, suffix in (("dev", "_dev"), ("test", "")):
        if name not in found:
            continue
        e, b = found[name]["engine"], found[name]["bm25"]
        put(f"match_ndcg5_heldout{suffix}", e["ndcg5"])
        put(f"match_p3_heldout{suffix}", e["p3"])
        put(f"match_p3_ceiling_heldout{suffix}", e["p3_ceiling"])
        put(f"match_intrusions_heldout{suffix}", e["intrusions"])
        put(f"aiguilleur_top1_heldout{suffix}", e["aiguilleur_top1"])
        put(f"match_theme_top1_heldout{suffix}", e["theme_top1"])
        put(f"match_ndcg5_bm25_heldout{suffix}", b["ndcg5"])
        put(f"match_p3_bm25_heldout{suffix}", b["p3"])
        put(f"match_intrusions_bm25_heldout{suffix}", b["intrusions"])
        put(f"match_catalog_coverage{suffix}", e["coverage"])
        put(f"match_top_share_max{suffix}", e["top_share_max"])
        put(f"match_catalog_coverage_bm25{suffix}", b["coverage"])
        put(f"match_top_share_max_bm25{suffix}", b["top_share_max"])
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", nargs="*", default=["own", "dev", "test"], help="own, dev, test")
    parser.add_argument("--quick", action="store_true", help="(same run: it takes seconds)")
    parser.add_argument(
        "--no-test",
        action="store_true",
        help="leave the held-out test split out (while tuning: it is never looked at)",
    )
    args = parser.parse_args(argv)
    sets = [s for s in args.sets if not (args.no_test and s == "test")]
    print(json.dumps(run(sets)))


if __name__ == "__main__":
    main()
