"""The match index's disk cache (`bot/catalog/index_cache.py`): the same
index as a plain build, reused while nothing changed, rebuilt when the catalog
or the engine changes or the file is damaged, and never in the way when the
folder refuses writes."""

from __future__ import annotations

import dataclasses
import errno
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bot.catalog import index_cache
from bot.catalog.index_cache import build_index, cache_folder, cached_vectors
from dialogs.catalog.matching import AiguilleurCandidate, MatchIndex, MatchQuery, match
from tests.catalog.helpers import seed_catalog

QUERIES = (
    MatchQuery(text="on galère avec la compta de l'asso", region="BRE"),
    MatchQuery(text="on utilise Doodle pour caler les réunions"),
    MatchQuery(text="facture d'électricité énorme et courants d'air", themes=("energie",)),
    MatchQuery(text="covoit pour venir le soir, pas de bus", region="OCC"),
)


@pytest.fixture(autouse=True)
def fresh_process() -> Iterator[None]:
    """Each test starts as a new process would: nothing remembered in memory."""
    cached_vectors.cache_clear()
    index_cache.engine_version.cache_clear()
    yield
    cached_vectors.cache_clear()
    index_cache.engine_version.cache_clear()


@pytest.fixture
def analyses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the catalog analyses actually run (a cache miss each)."""
    calls: list[int] = []
    original = index_cache.analyse

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]  # passed through

    monkeypatch.setattr(index_cache, "analyse", counting)
    return calls


def outputs(index: MatchIndex) -> list[object]:
    people = [AiguilleurCandidate(profile=p) for p in seed_catalog().aiguilleurs]
    return [match(index, query, people) for query in QUERIES]


def same_index(a: MatchIndex, b: MatchIndex) -> None:
    assert a.postings == b.postings
    assert a.surface_stems == b.surface_stems
    assert a.word_stems == b.word_stems
    assert a.trigram_index.keys() == b.trigram_index.keys()
    for left, right in (
        (a.doc_vectors, b.doc_vectors),
        (a.word_matrix, b.word_matrix),
        (a.theme_vectors, b.theme_vectors),
        (a.posting_values, b.posting_values),
    ):
        assert left is not None and right is not None
        assert np.array_equal(left, right)
    assert outputs(a) == outputs(b)


def test_a_cached_index_is_the_plain_one_and_is_reused(tmp_path: Path, analyses: list[int]) -> None:
    resources = seed_catalog().resources
    plain = MatchIndex.build(resources)
    first = build_index(resources, tmp_path)
    cached_vectors.cache_clear()  # as in a new process
    second = build_index(resources, tmp_path)
    assert len(analyses) == 1, "the second build reads the analysis from the disk"
    assert len(list(tmp_path.glob("index-*.npz"))) == 1
    assert len(list(tmp_path.glob("vectors-*.npy"))) == 2
    same_index(plain, first)
    same_index(plain, second)


def test_a_changed_catalog_is_analysed_again(tmp_path: Path, analyses: list[int]) -> None:
    resources = list(seed_catalog().resources)
    build_index(resources, tmp_path)
    (old,) = tmp_path.glob("index-*.npz")
    resources[0] = dataclasses.replace(resources[0], summary="Un tout autre résumé du vélo.")
    index = build_index(resources, tmp_path)
    assert len(analyses) == 2
    (new,) = tmp_path.glob("index-*.npz")
    assert new != old, "one file per catalog, the old one removed"
    same_index(MatchIndex.build(resources), index)
    # The order the resources come in does not matter.
    build_index(reversed(resources), tmp_path)
    assert len(analyses) == 2


def test_another_engine_version_is_analysed_again(
    tmp_path: Path, analyses: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    resources = seed_catalog().resources
    build_index(resources, tmp_path)
    build_index(resources, tmp_path)
    assert len(analyses) == 1
    monkeypatch.setattr(index_cache, "engine_version", lambda: "une autre version")
    build_index(resources, tmp_path)
    assert len(analyses) == 2


def test_the_engine_version_follows_the_word_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any change of the engine's modules or word lists changes the key
    (the package is read from the file system, as `pathlib.Path`)."""
    before = index_cache.engine_version()
    real = Path.read_bytes
    monkeypatch.setattr(
        Path,
        "read_bytes",
        lambda self: real(self) + (b"#" if self.name == "matching_fr.yaml" else b""),
    )
    index_cache.engine_version.cache_clear()
    assert index_cache.engine_version() != before


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_damaged_file_is_rebuilt(tmp_path: Path, analyses: list[int], damage: str) -> None:
    resources = seed_catalog().resources
    build_index(resources, tmp_path)
    cached_vectors.cache_clear()
    for path in [*tmp_path.glob("index-*.npz"), *tmp_path.glob("vectors-*-keys.npy")]:
        data = path.read_bytes()
        path.write_bytes(
            {"garbage": b"not numpy" * 50, "truncated": data[: len(data) // 2], "empty": b""}[
                damage
            ]
        )
    index = build_index(resources, tmp_path)
    assert len(analyses) == 2
    same_index(MatchIndex.build(resources), index)
    # Rewritten whole: the next process reads it again.
    cached_vectors.cache_clear()
    build_index(resources, tmp_path)
    assert len(analyses) == 2


def test_a_folder_refusing_writes_only_means_no_cache(
    tmp_path: Path, analyses: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only folder (EROFS on the first file written; a chmod does not
    stop root, which runs these tests) costs a plain build, nothing else."""

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(index_cache.tempfile, "mkstemp", refuse)
    resources = seed_catalog().resources
    index = build_index(resources, tmp_path)
    build_index(resources, tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert len(analyses) == 2
    same_index(MatchIndex.build(resources), index)


def test_the_cache_folder_never_creates_the_data_folder(tmp_path: Path) -> None:
    missing = tmp_path / "data"
    assert cache_folder(missing) is None
    assert not missing.exists()
    missing.mkdir()
    assert cache_folder(missing) == missing / "cache"
    assert (missing / "cache").is_dir()
    # A file where the folder would be: no cache, no error.
    other = tmp_path / "other"
    other.mkdir()
    (other / "cache").write_text("", encoding="utf-8")
    assert cache_folder(other) is None
