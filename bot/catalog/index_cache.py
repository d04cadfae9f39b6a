"""The match index's disk cache, so that a cold `aiguillage match` (and the
bot's start) skip the costly part of building it.

Two kinds of files, in ``<data_dir>/cache/`` (only when the data folder
already exists: nothing here ever creates it, and `aiguillage match --db …`
run elsewhere leaves no ``./data`` behind):

- ``vectors-<key>-keys.npy`` and ``-rows.npy``: the word vectors' index
  (half a million word hashes, sorted, and their rows), decoded once from
  the package's MessagePack file, then memory-mapped. Keyed by where the
  vectors package is and its file's size and date.
- ``index-<key>.npz``: the catalog's `Analysis` (stems and their weights per
  resource, the catalog's words, the meaning vectors) as plain arrays, never
  a pickle. Keyed by a hash of the resources' content, of the engine's
  source and word lists (so any change of the engine invalidates it without
  anyone remembering to bump a number) and of the vectors' key. The
  statistics (BM25, posting lists, tables) are recomputed from it: they are
  the cheap part.

A file that does not load (truncated, corrupt, another format) is rebuilt; a
folder that cannot be written to only means no cache. Deleting the folder is
always safe: ``rm -r data/cache``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Iterable, Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from dialogs.catalog.load import Resource
from dialogs.catalog.matching.index import (
    Analysis,
    MatchIndex,
    analyse,
    analysis_arrays,
    analysis_from_arrays,
)
from dialogs.catalog.matching.vectors import (
    WordVectors,
    load_vectors,
    open_vectors,
    read_keys,
    vectors_folder,
)

log = logging.getLogger(__name__)

CACHE_FOLDER = "cache"
# Errors of a cache file that is missing, truncated or not what it claims.
UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


def cache_folder(data_dir: Path) -> Path | None:
    """``<data_dir>/cache``, made if needed; None when the data folder does
    not exist (it is never created here) or the cache folder cannot be made."""
    if not data_dir.is_dir():
        return None
    folder = data_dir / CACHE_FOLDER
    try:
        folder.mkdir(exist_ok=True)
    except OSError as error:
        log.debug("no match cache in %s: %s", folder, error)
        return None
    return folder


def _digest(*parts: str | bytes) -> str:
    hasher = hashlib.sha256()
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        hasher.update(len(data).to_bytes(8, "little"))
        hasher.update(data)
    return hasher.hexdigest()


@cache
def engine_version() -> str:
    """A hash of everything an `Analysis` depends on besides the catalog and
    the vectors: the matching engine's modules and word lists, text folding,
    and the Snowball library."""
    import Stemmer

    parts: list[str | bytes] = []
    root = files("dialogs.catalog.matching")
    sources = [
        root / name for name in sorted(p.name for p in root.iterdir()) if name.endswith(".py")
    ]
    data = root / "data"
    sources += [data / name for name in sorted(p.name for p in data.iterdir())]
    sources.append(files("dialogs.kernel") / "textnorm.py")
    for source in sources:
        if source.is_file():
            parts += [source.name, source.read_bytes()]
    stemmer = Path(Stemmer.__file__ or "")
    parts.append(f"{stemmer}:{stemmer.stat().st_size if stemmer.is_file() else 0}")
    return _digest(*parts)


def vectors_key(folder: Path) -> str:
    stat = (folder / "key2row").stat()
    return _digest(str(folder.resolve()), f"{stat.st_size}:{stat.st_mtime_ns}")[:24]


def catalog_key(resources: Iterable[Resource]) -> str:
    """A hash of the resources' content, whatever their order."""
    names = [f.name for f in dataclasses.fields(Resource)]
    rows = [[getattr(r, n) for n in names] for r in sorted(resources, key=lambda r: r.id)]
    return _digest(json.dumps([names, rows], ensure_ascii=False))


def _write(path: Path, save: Any) -> None:
    """Write through a temporary file in the same folder, then rename: a
    reader never sees half a file."""
    descriptor, name = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            save(handle)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def _remove_others(folder: Path, pattern: str, keep: Iterable[Path]) -> None:
    kept = set(keep)
    for old in folder.glob(pattern):
        if old not in kept:
            old.unlink(missing_ok=True)


@cache
def cached_vectors(folder: Path | None) -> WordVectors | None:
    """The word vectors, their key index read from the cache when it is
    there (memory-mapped) and written to it otherwise; once per process and
    folder (the vectors' own caches, and the themes' centroids, live on)."""
    source = vectors_folder()
    if folder is None or source is None:
        return load_vectors()
    try:
        key = vectors_key(source)
    except OSError:
        return load_vectors()
    keys_path = folder / f"vectors-{key}-keys.npy"
    rows_path = folder / f"vectors-{key}-rows.npy"
    try:
        keys = np.load(keys_path, mmap_mode="r", allow_pickle=False)
        rows = np.load(rows_path, mmap_mode="r", allow_pickle=False)
        if (
            keys.dtype != np.uint64
            or rows.dtype != np.int32
            or keys.ndim != 1
            or keys.shape != rows.shape
            or not len(keys)
            or bool(np.any(keys[1:] < keys[:-1]))
        ):
            raise ValueError("not a sorted key index")
        return open_vectors(source, keys, rows)
    except UNREADABLE as error:
        if not isinstance(error, FileNotFoundError):
            log.info("match cache %s unreadable (%s): rebuilt", keys_path.name, error)
    try:
        keys, rows = read_keys(source)
        vectors = open_vectors(source, keys, rows)
    except (OSError, ValueError, ImportError):
        return load_vectors()  # says why, once
    try:
        _write(keys_path, lambda f: np.save(f, keys, allow_pickle=False))
        _write(rows_path, lambda f: np.save(f, rows, allow_pickle=False))
        _remove_others(folder, "vectors-*.npy", (keys_path, rows_path))
    except OSError as error:
        log.debug("match cache not written in %s: %s", folder, error)
    return vectors


def _read_analysis(path: Path, key: str) -> Analysis | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays: Mapping[str, npt.NDArray[Any]] = {name: stored[name] for name in stored.files}
        if str(arrays["key"]) != key:
            raise ValueError("another catalog or engine")
        return analysis_from_arrays(arrays)
    except UNREADABLE as error:
        if not isinstance(error, FileNotFoundError):
            log.info("match cache %s unreadable (%s): rebuilt", path.name, error)
        return None


def build_index(resources: Iterable[Resource], folder: Path | None) -> MatchIndex:
    """`MatchIndex.build` with its analysis (and the vectors' key index) kept
    in `folder`; without a folder, a plain build. Either way the index is the
    same, to the last bit."""
    items = sorted(resources, key=lambda r: r.id)
    vectors = cached_vectors(folder)
    if folder is None:
        return MatchIndex.build(items, vectors or False)
    source = vectors_folder() if vectors is not None else None
    try:
        meaning = vectors_key(source) if source is not None else "none"
    except OSError:
        meaning = "unknown"
    key = _digest(engine_version(), meaning, catalog_key(items))
    path = folder / f"index-{key[:24]}.npz"
    analysis = _read_analysis(path, key)
    if analysis is not None:
        return MatchIndex.build(items, vectors or False, analysis)
    analysis = analyse(items, vectors)
    arrays = {**analysis_arrays(analysis), "key": np.array(key)}
    try:
        # (cast: numpy's stub types every keyword as its own `allow_pickle`.)
        savez = cast(Any, np.savez)
        _write(path, lambda f: savez(f, allow_pickle=False, **arrays))
        _remove_others(folder, "index-*.npz", (path,))
    except OSError as error:
        log.debug("match cache not written in %s: %s", folder, error)
    return MatchIndex.build(items, vectors or False, analysis)
