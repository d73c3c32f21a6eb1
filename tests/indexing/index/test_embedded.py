"""Embedded-only behaviour: repair after a failed write, a lost keyword directory, the IVF path,
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


def test_ivf_path_finds_what_exact_search_finds(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    groups = [f"groups/g{i}" for i in range(4)]
    centres = rng.standard_normal((8, DIMENSIONS)).astype(np.float32)

    def clustered(i: int, group: str) -> tuple[str, frozenset[str], np.ndarray]:
        v = centres[i % 8] + 0.3 * rng.standard_normal(DIMENSIONS).astype(np.float32)
        return (f"r{i:03}", frozenset({group}), v / np.linalg.norm(v))

    items = [clustered(i, groups[i % 4]) for i in range(400)]
    index = EmbeddedSearchIndex(tmp_path / "index", DIMENSIONS, ann_min_vectors=100, exact_max_allowed=10)
    try:
        index.replace_records([(make_record(k, p), [IndexedChunk(0, k, v, Location())]) for k, p, v in items])
        assert index.wait_for_ann()
        # newer slots than the IVF index covers are scanned exactly: add some and do not wait
        more = [clustered(i, groups[0]) for i in range(400, 420)]
        index.replace_records([(make_record(k, p), [IndexedChunk(0, k, v, Location())]) for k, p, v in more])
        index.delete_records(["r000", "r001"])
        live = [item for item in items + more if item[0] not in {"r000", "r001"}]
        vector_of = {key: v for key, _, v in live}
        found = wanted = 0
        for trial in range(10):
            key, readers, query = items[trial * 7 + 2] if trial % 2 else more[trial]
            for principals in ({groups[0]}, {groups[0], groups[1]}, set(groups)):
                hits = index.vector_search(query, principals, k=10)
                exact = _exact_top(live, query, principals, 10)
                assert keys(index.exact_vector_search(query, principals, k=10)) == exact
                assert len(hits) == 10
                if readers & principals:
                    assert hits[0].record_key == key  # a stored vector finds itself, covered or not
                for hit in hits:  # only readable chunks, with their exact scores, best first
                    assert hit.record.principals & principals
                    assert hit.score == pytest.approx(float(vector_of[hit.record_key] @ query), abs=1e-5)
                assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
                found += len(set(keys(hits)) & set(exact))
                wanted += len(exact)
        assert found / wanted >= 0.9, found / wanted
    finally:
        index.close()
    assert (tmp_path / "index" / "vectors.ivf").exists()  # saved on close, loaded on the next open


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


def test_frequent_words_pass_returns_what_the_full_query_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import headwater.indexing.index.keyword as keyword_module

    rng = np.random.default_rng(11)
    common = ["alpha", "beta", "gamma"]  # in most documents
    rare = [f"rare{i}" for i in range(40)]  # each in a few percent
    groups = [f"groups/g{i}" for i in range(5)]
    index = EmbeddedSearchIndex(tmp_path / "index", DIMENSIONS)
    vectors = Vectors()
    try:
        items = []
        for r in range(400):
            words = [w for w in common if rng.random() < 0.7] + list(rng.choice(rare, size=2))
            words += ["filler"] * int(rng.integers(0, 6))
            text = " ".join(rng.permutation(words))
            items.append((make_record(f"r{r}", {groups[r % 5]}), make_chunks(vectors, text)))
        index.replace_records(items)
        keyword = index._keyword  # noqa: SLF001 - the pass is internal to the keyword index
        queries = [f"{c} {w}" for c in common for w in rare[:10]] + ["alpha beta rare3", "gamma rare7 rare9"]
        readers_sets = [frozenset(groups[:1]), frozenset(groups[:3]), frozenset(groups)]
        for k in (5, 20):
            for query in queries:
                for readers in readers_sets:
                    monkeypatch.setattr(keyword_module, "FREQUENT_FRACTION", 0.05)
                    two_pass = keyword.search(query, readers, k, None)
                    monkeypatch.setattr(keyword_module, "FREQUENT_FRACTION", 1.0)  # nothing is frequent
                    full = keyword.search(query, readers, k, None)
                    assert [s for s, _ in two_pass] == [s for s, _ in full], (query, readers, k)
                    assert [x for _, x in two_pass] == pytest.approx([x for _, x in full], rel=1e-5)
        assert keyword.first_pass_answers > 0  # the pass did answer some of them
    finally:
        index.close()


def test_ivf_product_codes_are_rescored_exactly_and_survive_a_reopen(tmp_path: Path) -> None:
    from headwater.indexing.index.ivf import PQ_MIN_TRAINING_ROWS, IvfVectors
    from headwater.indexing.index.vectors import exact_search

    rng = np.random.default_rng(5)
    rows = PQ_MIN_TRAINING_ROWS + 2_000  # enough to train product-quantised codes
    centres = rng.standard_normal((50, DIMENSIONS)).astype(np.float32)
    matrix = centres[rng.integers(50, size=rows)] + 0.4 * rng.standard_normal((rows, DIMENSIONS)).astype(
        np.float32
    )
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    allowed = rng.random(rows) < 0.5
    queries = matrix[rng.integers(rows, size=30)] + 0.1 * rng.standard_normal((30, DIMENSIONS)).astype(
        np.float32
    )
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    path = tmp_path / "vectors.ivf"

    def results(ivf: IvfVectors) -> list[list[int]]:
        out = []
        for query in queries:
            found = ivf.search(matrix, query, allowed, 10)
            assert found is not None
            slots, scores = found
            assert allowed[slots].all()  # only allowed slots, with their exact scores
            np.testing.assert_allclose(scores, matrix[slots] @ query, atol=1e-5)
            out.append(slots.tolist())
        return out

    ivf = IvfVectors(path, DIMENSIONS, lambda n: matrix[:n])
    ivf.start(rows)
    assert ivf.wait_covered(rows, 120)
    assert "PQ" in type(ivf._index).__name__  # noqa: SLF001 - which codes were chosen
    first = results(ivf)
    exact = [exact_search(matrix, q, allowed, 10)[0].tolist() for q in queries]
    recall = sum(len(set(a) & set(e)) for a, e in zip(first, exact, strict=True)) / (10 * len(queries))
    assert recall >= 0.9, recall
    ivf.close(save=True)

    reopened = IvfVectors(path, DIMENSIONS, lambda n: matrix[:n])
    reopened.start(rows)
    assert reopened.wait_covered(rows, 120)
    assert results(reopened) == first  # loaded, not retrained: the same answers
    reopened.close(save=False)
