"""Match latency on synthetic catalogs of 100, 1,000 and 10,000 resources with
1,000 aiguilleurs.

Synthetic resources are recombined from the starter catalog (sentences of real
summaries, real tags, real replaced tools, random themes, kinds and régions),
so the vocabulary and text lengths are realistic French. Queries are the
labelled problem statements of ``tests/data/match_cases.yaml`` and copies with
accents dropped and a typo, so the typo path is exercised. The typo cache is
emptied before each query: figures are for text never seen before.

Each query is timed twice over: wall clock, which on a shared machine
measures the neighbours' load as much as the engine, and the CPU time of the
thread (``time.thread_time_ns``), which does not count the time the process
waits for a core and so shows the engine's own cost whatever the load.

Run: ``python bench/match.py`` (``--queries N`` per size). Prints a table, then
as its last line one JSON object (keys ``match_p50_ms_<size>``,
``match_p99_ms_<size>``, ``match_cpu_p50_ms_<size>``, ``match_cpu_p99_ms_<size>``,
``match_cpu_mean_ms_<size>``, plus build times, wall and CPU, and the growth
ratio).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # runnable as `python bench/match.py`
    sys.path.insert(0, str(ROOT))

from dialogs.catalog.load import KINDS, AiguilleurProfile, Resource, parse_catalog_yaml  # noqa: E402
from dialogs.catalog.matching import (  # noqa: E402
    AiguilleurCandidate,
    MatchIndex,
    MatchQuery,
    match,
)
from dialogs.geo.places import region_codes  # noqa: E402
from dialogs.kernel.options import THEMES  # noqa: E402
from dialogs.kernel.textnorm import fold  # noqa: E402

SIZES = (100, 1_000, 10_000)
AIGUILLEURS = 1_000
SEED = 20261128
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def starter() -> tuple[Resource, ...]:
    text = (ROOT / "storage" / "seed" / "catalog.yaml").read_text(encoding="utf-8")
    return parse_catalog_yaml(text).resources


def synthetic_resources(count: int, rng: random.Random) -> list[Resource]:
    seed = starter()
    sentences = [s for r in seed for s in _SENTENCE.split(r.summary) if s]
    tags = sorted({t for r in seed for t in r.tags})
    tools = sorted({t for r in seed for t in r.replaces})
    name_words = sorted({w for r in seed for w in r.name.split() if len(w) > 3})
    regions = region_codes()
    resources = []
    for number in range(count):
        themes = rng.sample(THEMES, rng.choice((1, 1, 2, 3)))
        resources.append(
            Resource(
                id=f"res-{number:05d}",
                name=f"{rng.choice(name_words)} {rng.choice(name_words)} {number}",
                url=f"https://exemple-{number}.org",
                summary=" ".join(rng.sample(sentences, rng.choice((2, 2, 3)))),
                themes=tuple(themes),
                kind=rng.choice(KINDS),
                tags=tuple(rng.sample(tags, rng.randint(3, 6))),
                license=rng.choice(("AGPL-3.0", "MIT", "inconnue", "proprietaire")),
                libre=rng.random() < 0.8,
                replaces=tuple(rng.sample(tools, rng.choice((0, 0, 0, 1, 2)))),
                regions=tuple(rng.sample(regions, 1)) if rng.random() < 0.2 else (),
            )
        )
    return resources


def synthetic_aiguilleurs(count: int, rng: random.Random) -> list[AiguilleurCandidate]:
    regions = region_codes()
    now = datetime(2026, 11, 28, tzinfo=UTC)
    people = []
    for number in range(count):
        capacity = rng.randint(1, 5)
        people.append(
            AiguilleurCandidate(
                profile=AiguilleurProfile(
                    id=f"aig-{number:04d}",
                    name=f"Personne {number}",
                    matrix_id=f"@p{number}:example.org",
                    themes=tuple(rng.sample(THEMES, rng.randint(1, 3))),
                    regions=tuple(rng.sample(regions, rng.choice((0, 1, 1, 2)))),
                    capacity=capacity,
                    available=rng.random() < 0.9,
                ),
                active_cases=rng.randint(0, capacity),
                last_proposed_at=(
                    now - timedelta(hours=rng.randint(1, 2000)) if rng.random() < 0.7 else None
                ),
            )
        )
    return people


def typo(text: str, rng: random.Random) -> str:
    """Accents dropped and two neighbouring letters swapped in one long word."""
    words = fold(text).split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 6]
    if long_words:
        i = rng.choice(long_words)
        w = words[i]
        j = rng.randrange(1, len(w) - 2)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def queries(count: int, rng: random.Random) -> list[MatchQuery]:
    data = yaml.load(
        (ROOT / "tests" / "data" / "match_cases.yaml").read_text(encoding="utf-8"),
        Loader=yaml.BaseLoader,
    )
    cases = data["cases"]
    found = []
    for number in range(count):
        case = cases[number % len(cases)]
        text = case["text"] if number % 2 == 0 else typo(case["text"], rng)
        region = case["region"] if case["region"] not in ("null", "") else None
        found.append(MatchQuery(text=text, themes=tuple(case["themes"]), region=region))
    return found


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    position = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[position]


def measure(size: int, count: int, rng: random.Random) -> dict[str, float]:
    resources = synthetic_resources(size, rng)
    people = synthetic_aiguilleurs(AIGUILLEURS, rng)
    started, started_cpu = time.perf_counter(), time.process_time()
    index = MatchIndex.build(resources)
    build, build_cpu = time.perf_counter() - started, time.process_time() - started_cpu
    asked = queries(count, rng)
    for query in asked[:20]:  # warm-up: imports, stem cache of common words
        match(index, query, people)
    timings = []
    cpu = []
    for query in asked:
        index.fuzzy_cache.clear()
        started_cpu = time.thread_time_ns()
        started = time.perf_counter_ns()
        match(index, query, people)
        timings.append((time.perf_counter_ns() - started) / 1e6)
        cpu.append((time.thread_time_ns() - started_cpu) / 1e6)
    return {
        "p50": percentile(timings, 0.50),
        "p99": percentile(timings, 0.99),
        "mean": statistics.fmean(timings),
        "max": max(timings),
        "cpu_p50": percentile(cpu, 0.50),
        "cpu_p99": percentile(cpu, 0.99),
        "cpu_mean": statistics.fmean(cpu),
        "build_s": build,
        "build_cpu_s": build_cpu,
    }


def run(count: int = 500) -> dict[str, float]:
    rng = random.Random(SEED)
    figures: dict[str, float] = {}
    columns = (
        "resources",
        "p50 ms",
        "p99 ms",
        "mean ms",
        "max ms",
        "cpu p50",
        "cpu p99",
        "build s",
        "build cpu",
    )
    print(f"{columns[0]:>10}", *(f"{c:>9}" for c in columns[1:]))
    for size in SIZES:
        row = measure(size, count, rng)
        print(
            f"{size:>10} {row['p50']:>9.3f} {row['p99']:>9.3f} {row['mean']:>9.3f}"
            f" {row['max']:>9.3f} {row['cpu_p50']:>9.3f} {row['cpu_p99']:>9.3f}"
            f" {row['build_s']:>9.2f} {row['build_cpu_s']:>9.2f}"
        )
        figures[f"match_p50_ms_{size}"] = round(row["p50"], 3)
        figures[f"match_p99_ms_{size}"] = round(row["p99"], 3)
        figures[f"match_cpu_p50_ms_{size}"] = round(row["cpu_p50"], 3)
        figures[f"match_cpu_p99_ms_{size}"] = round(row["cpu_p99"], 3)
        figures[f"match_cpu_mean_ms_{size}"] = round(row["cpu_mean"], 3)
        figures[f"build_s_{size}"] = round(row["build_s"], 3)
        figures[f"build_cpu_s_{size}"] = round(row["build_cpu_s"], 3)
    figures["aiguilleurs"] = AIGUILLEURS
    figures["queries_per_size"] = count
    # Catalog 100× larger: how many times slower at p99 (linear would be 100).
    figures["p99_growth_100_to_10000"] = round(
        figures["match_p99_ms_10000"] / figures["match_p99_ms_100"], 2
    )
    return figures


def pin_to_one_core() -> int | None:
    """Bind the process to one CPU (Linux only). The engine is single-threaded
    anyway; pinning only makes figures worse on a machine whose first core is
    busy, so it is opt-in (``--pin``)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--pin", action="store_true", help="bind to one CPU")
    args = parser.parse_args(argv)
    cpu = pin_to_one_core() if args.pin else None
    figures = run(args.queries)
    if cpu is not None:
        figures["cpu"] = cpu
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
