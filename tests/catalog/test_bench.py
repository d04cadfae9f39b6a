"""bench/match.py stays runnable: a tiny run on the smallest catalog."""

from __future__ import annotations

import random

from bench.match import SIZES, measure, queries, synthetic_resources


def test_bench_smoke() -> None:
    rng = random.Random(1)
    assert SIZES == (100, 1_000, 10_000)
    assert len({r.id for r in synthetic_resources(50, rng)}) == 50
    assert len(queries(5, rng)) == 5
    row = measure(100, 10, rng)
    assert 0 < row["p50"] <= row["p99"] <= row["max"]
