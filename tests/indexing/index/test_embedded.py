"""Embedded-only behaviour: repair after a failed write, a lost keyword directory, the HNSW path,
and searches running while a writer commits."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from headwater.indexing.index.access import AccessMap
from headwater.indexing.index.embedded import EmbeddedSearchIndex
from headwater.indexing.index.keyword import KeywordIndex
from headwater.indexing.types import IndexedChunk, Location
from tests.indexing.index.helpers import DIMENSIONS, Vectors, make_chunks, make_record

U = "users/U"
G = "groups/G"


def keys(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.record_key for h in hits]


@pytest.fixture
def embedded(tmp_path: Path):  # type: ignore[no-untyped-def]
    index = EmbeddedSearchIndex(tmp_path / "index", DIMENSIONS)
    yield index
    index.close()


@pytest.mark.parametrize(("module_class", "method"), [(KeywordIndex, "commit"), (AccessMap, "extend_slots")])
def test_a_failed_publish_never_shows_what_the_commit_removed(
    embedded: EmbeddedSearchIndex,
    vectors: Vectors,
    monkeypatch: pytest.MonkeyPatch,
    module_class: type,
    method: str,
) -> None:
    secret = make_chunks(vectors, "plans for the secret merger")
    public = make_chunks(vectors, "plans for the picnic")
    embedded.replace_record(make_record("secret", {U, G}), secret)
    embedded.replace_record(make_record("public", {U}), public)

    def fail(*_: object, **__: object) -> None:
        raise OSError("disk full")

    # the metadata commits, then updating tantivy / the permission map fails
    monkeypatch.setattr(module_class, method, fail)

    def narrow_and_delete() -> None:
        with embedded.batch():
            embedded.set_principals("secret", {G})
            embedded.delete_records(["public"])

    with pytest.raises(OSError, match="disk full"):
        narrow_and_delete()
    monkeypatch.undo()

    # committed is committed: U lost the secret, the public record is gone, from both retrievers
    assert embedded.keyword_search("plans", {U}) == []
    assert embedded.vector_search(secret[0].vector, {U}) == []
    assert "public" not in keys(embedded.vector_search(public[0].vector, {U, G}))
    record = embedded.get_record("secret")
    assert record is not None
    assert record.principals == frozenset({G})

    # the next write repairs the derived structures first
    embedded.replace_record(make_record("later", {U}), make_chunks(vectors, "later plans"))
    assert keys(embedded.keyword_search("plans", {G})) == ["secret"]
    assert keys(embedded.keyword_search("plans", {U})) == ["later"]
    assert keys(embedded.vector_search(secret[0].vector, {G}, 1)) == ["secret"]


def test_a_lost_keyword_directory_is_rebuilt_from_the_metadata(tmp_path: Path, vectors: Vectors) -> None:
    index = EmbeddedSearchIndex(tmp_path / "index", DIMENSIONS)
    index.replace_records(
        [(make_record(f"r{i}", {U}), make_chunks(vectors, f"word{i} text", "shared")) for i in range(5)]
    )
    index.close()
    shutil.rmtree(tmp_path / "index" / "keyword-v1")

    reopened = EmbeddedSearchIndex(tmp_path / "index", DIMENSIONS)
    try:
        assert keys(reopened.keyword_search("word3", {U})) == ["r3"]
        assert len(reopened.keyword_search("shared", {U})) == 5
    finally:
        reopened.close()


def test_dimension_mismatch_is_refused(tmp_path: Path, vectors: Vectors) -> None:
    from headwater.errors import ConfigurationError

    EmbeddedSearchIndex(tmp_path / "index", DIMENSIONS).close()
    with pytest.raises(ConfigurationError, match="16-dimensional"):
        EmbeddedSearchIndex(tmp_path / "index", 384)


def _exact_top(
    items: list[tuple[str, frozenset[str], np.ndarray]], query: np.ndarray, principals: set[str], k: int
) -> list[str]:
    scored = sorted(((float(v @ query), key) for key, p, v in items if p & principals), reverse=True)
    return [key for _, key in scored[:k]]


def test_hnsw_path_finds_what_exact_search_finds(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    groups = [f"groups/g{i}" for i in range(4)]
    items = []
    for i in range(400):
        v = rng.standard_normal(DIMENSIONS).astype(np.float32)
        items.append((f"r{i:03}", frozenset({groups[i % 4]}), v / np.linalg.norm(v)))
    index = EmbeddedSearchIndex(tmp_path / "index", DIMENSIONS, hnsw_min_vectors=100, exact_max_allowed=10)
    try:
        index.replace_records([(make_record(k, p), [IndexedChunk(0, k, v, Location())]) for k, p, v in items])
        assert index.wait_for_graph()
        # newer slots than the graph covers are scanned exactly: add some and do not wait
        more = []
        for i in range(400, 420):
            v = rng.standard_normal(DIMENSIONS).astype(np.float32)
            more.append((f"r{i:03}", frozenset({groups[0]}), v / np.linalg.norm(v)))
        index.replace_records([(make_record(k, p), [IndexedChunk(0, k, v, Location())]) for k, p, v in more])
        index.delete_records(["r000", "r001"])
        live = [item for item in items + more if item[0] not in {"r000", "r001"}]
        for trial in range(10):
            query = items[trial * 7][2] if trial % 2 else more[trial][2]
            for principals in ({groups[0]}, {groups[0], groups[1]}, set(groups)):
                hits = index.vector_search(query, principals, k=10)
                assert keys(hits) == _exact_top(live, query, principals, 10), (trial, principals)
                assert [h.score for h in hits] == pytest.approx(
                    sorted((float(v @ query) for k, p, v in live if p & principals), reverse=True)[:10],
                    abs=1e-5,
                )
    finally:
        index.close()
    assert (tmp_path / "index" / "vectors.hnsw").exists()  # saved on close, loaded on the next open


def test_searches_run_while_a_writer_commits(embedded: EmbeddedSearchIndex, vectors: Vectors) -> None:
    """Readers never fail and never see a record for a principal it does not grant, mid-write."""
    errors: list[BaseException] = []
    stop = threading.Event()
    probe = vectors.one()

    def reader(principal: str) -> None:
        try:
            while not stop.is_set():
                for hit in embedded.keyword_search("note", {principal}, 20) + embedded.vector_search(
                    probe, {principal}, 20
                ):
                    assert principal in hit.record.principals
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(p,)) for p in (U, G)]
    for thread in threads:
        thread.start()
    try:
        for n in range(12):
            with embedded.batch():
                owner = U if n % 2 else G
                embedded.replace_record(
                    make_record(f"r{n}", {owner}), make_chunks(vectors, f"note {n}", "note again")
                )
                if n >= 1:
                    embedded.set_principals(f"r{n - 1}", {owner})
                if n >= 3:
                    embedded.delete_records([f"r{n - 3}"])
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert errors == []
    assert embedded.record_keys() == {"r9", "r10", "r11"}


def test_a_second_writer_of_the_same_directory_fails_before_changing_anything(
    embedded: EmbeddedSearchIndex, vectors: Vectors
) -> None:
    embedded.replace_record(make_record("first", {U}), make_chunks(vectors, "first words"))
    second = EmbeddedSearchIndex(embedded.directory, DIMENSIONS)
    try:
        # a second index object may search (it sees the state as of its open)...
        assert keys(second.keyword_search("first", {U})) == ["first"]
        # ...but not write while the first one holds the writer lock
        with pytest.raises(ValueError, match="LockBusy"):
            second.replace_record(make_record("second", {U}), make_chunks(vectors, "second words"))
    finally:
        second.close()
    assert embedded.record_keys() == {"first"}
    embedded.replace_record(make_record("third", {U}), make_chunks(vectors, "third words"))
    assert keys(embedded.keyword_search("third", {U})) == ["third"]


def test_a_truncated_vector_file_is_reported(tmp_path: Path, vectors: Vectors) -> None:
    from headwater.errors import ConfigurationError

    index = EmbeddedSearchIndex(tmp_path / "index", DIMENSIONS)
    index.replace_record(make_record("doc", {U}), make_chunks(vectors, "words"))
    index.close()
    (tmp_path / "index" / "vectors.f32").write_bytes(b"")
    with pytest.raises(ConfigurationError, match="damaged"):
        EmbeddedSearchIndex(tmp_path / "index", DIMENSIONS)
