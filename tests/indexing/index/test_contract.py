"""The search-index contract: every backend (embedded, embedded with its IVF index, PostgreSQL) passes
all of it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Literal

import numpy as np
import pytest

from headwater.indexing.index.base import SearchIndex
from headwater.indexing.types import IndexedChunk, Location, ScoredChunk, SearchFilters
from tests.indexing.index.conftest import IndexOpener
from tests.indexing.index.helpers import Vectors, make_chunks, make_record

Retriever = Literal["keyword", "vector"]
RETRIEVERS: list[Retriever] = ["keyword", "vector"]

U = "users/U"
G = "groups/G"


def search(
    index: SearchIndex,
    retriever: Retriever,
    query: str | np.ndarray,
    principals: Any,
    k: int = 10,
    filters: SearchFilters | None = None,
) -> list[ScoredChunk]:
    if retriever == "keyword":
        assert isinstance(query, str)
        return index.keyword_search(query, principals, k, filters)
    return index.vector_search(query, principals, k, filters)


def keys(hits: list[ScoredChunk]) -> list[str]:
    return [h.record_key for h in hits]


def hit_ids(hits: list[ScoredChunk]) -> list[tuple[str, int]]:
    return [(h.record_key, h.ordinal) for h in hits]


def assert_same_chunks(left: list[IndexedChunk], right: list[IndexedChunk]) -> None:
    assert [(c.ordinal, c.text, c.location) for c in left] == [(c.ordinal, c.text, c.location) for c in right]
    for a, b in zip(left, right, strict=True):
        np.testing.assert_allclose(np.asarray(a.vector), np.asarray(b.vector), rtol=0, atol=1e-6)


def test_replace_and_get_round_trip(index: SearchIndex, vectors: Vectors) -> None:
    record = make_record("rec-1", {U, G}, name="Quarterly report")
    chunks = make_chunks(
        vectors,
        "Revenue grew in the third quarter.",
        "Costs were flat.",
        "Outlook: cautious.",
        locations=[
            Location(page=1, heading="Summary"),
            Location(page=2, row=3),
            Location(sheet="Q3", line=9),
        ],
    )
    index.replace_record(record, chunks)

    assert index.get_record("rec-1") == record
    assert_same_chunks(index.get_chunks("rec-1"), chunks)
    assert index.count_chunks() == 3
    assert index.record_keys() == {"rec-1"}
    assert index.get_record("missing") is None
    assert index.get_chunks("missing") == []


@pytest.mark.parametrize("retriever", RETRIEVERS)
def test_search_returns_only_chunks_the_principals_may_read(
    index: SearchIndex, vectors: Vectors, retriever: Retriever
) -> None:
    secret = make_chunks(vectors, "budget forecast for the merger")
    index.replace_record(make_record("group-only", {G}), secret)
    query: str | np.ndarray = "merger budget" if retriever == "keyword" else secret[0].vector

    assert search(index, retriever, query, {U}) == []
    assert keys(search(index, retriever, query, {U, G})) == ["group-only"]
    assert keys(search(index, retriever, query, [G])) == ["group-only"]
    assert search(index, retriever, query, set()) == []  # fail closed
    assert search(index, retriever, query, {"groups/G2", "users/G"}) == []
    with pytest.raises(TypeError):
        search(index, retriever, query, G)  # a bare string is not a principal set


@pytest.mark.parametrize("retriever", RETRIEVERS)
def test_filters(index: SearchIndex, vectors: Vectors, retriever: Retriever) -> None:
    day = 86_400_000
    specs = {
        "a": {
            "connector_id": "conn-a",
            "record_type": "FILE",
            "record_group_id": "drive-1",
            "updated_at": 10 * day,
        },
        "b": {
            "connector_id": "conn-b",
            "record_type": "MAIL",
            "record_group_id": "mailbox-1",
            "updated_at": 20 * day,
        },
        "c": {
            "connector_id": "conn-a",
            "record_type": "MAIL",
            "record_group_id": None,
            "updated_at": 30 * day,
        },
    }
    shared = vectors.one()
    for key, spec in specs.items():
        chunk = IndexedChunk(0, f"shared topic alpha {key}", vectors.near(shared), Location())
        index.replace_record(make_record(key, {U}, **spec), [chunk])  # type: ignore[arg-type]
    query: str | np.ndarray = "alpha" if retriever == "keyword" else shared

    def found(**filters: Any) -> set[str]:
        return set(keys(search(index, retriever, query, {U}, 10, SearchFilters(**filters))))

    assert found() == {"a", "b", "c"}
    assert found(connector_ids=frozenset({"conn-a"})) == {"a", "c"}
    assert found(connector_ids=frozenset({"conn-a", "conn-b"})) == {"a", "b", "c"}
    assert found(connector_ids=frozenset()) == set()
    assert found(record_types=frozenset({"MAIL"})) == {"b", "c"}
    assert found(record_group_ids=frozenset({"drive-1", "mailbox-1"})) == {"a", "b"}
    assert found(record_group_ids=frozenset({"nope"})) == set()
    assert found(updated_after=20 * day) == {"b", "c"}  # inclusive
    assert found(updated_before=20 * day) == {"a"}  # exclusive
    assert found(updated_after=15 * day, updated_before=30 * day) == {"b"}
    assert found(connector_ids=frozenset({"conn-a"}), record_types=frozenset({"MAIL"})) == {"c"}


@pytest.mark.parametrize("retriever", RETRIEVERS)
def test_set_principals_narrows_and_widens_without_touching_chunks(
    index: SearchIndex, vectors: Vectors, retriever: Retriever
) -> None:
    chunks = make_chunks(vectors, "design review notes", "action items for the design")
    index.replace_record(make_record("doc", {U, G}), chunks)
    query: str | np.ndarray = "design" if retriever == "keyword" else chunks[1].vector
    before = index.get_chunks("doc")

    assert index.set_principals("doc", {G})  # narrow: U loses access
    assert search(index, retriever, query, {U}) == []
    assert set(keys(search(index, retriever, query, {G}))) == {"doc"}
    record = index.get_record("doc")
    assert record is not None
    assert record.principals == frozenset({G})

    assert index.set_principals("doc", [U, "groups/H"])  # widen to others, G loses access
    assert search(index, retriever, query, {G}) == []
    assert set(keys(search(index, retriever, query, {"groups/H"}))) == {"doc"}
    assert set(keys(search(index, retriever, query, {U}))) == {"doc"}

    assert index.set_principals("doc", set())  # nobody
    assert search(index, retriever, query, {U, G, "groups/H"}) == []

    assert_same_chunks(index.get_chunks("doc"), before)
    assert not index.set_principals("unknown", {U})


def test_update_record_renames_and_keeps_chunks(index: SearchIndex, vectors: Vectors) -> None:
    chunks = make_chunks(vectors, "minutes of the weekly sync")
    index.replace_record(make_record("doc", {U}, name="Zanzibar plan"), chunks)
    assert keys(index.keyword_search("zanzibar", {U})) == ["doc"]

    renamed = replace(make_record("doc", {U}, name="Kilimanjaro plan"), content_hash="hash-1")
    assert index.update_record(renamed)

    assert index.keyword_search("zanzibar", {U}) == []
    hits = index.keyword_search("kilimanjaro", {U})
    assert keys(hits) == ["doc"]
    assert hits[0].record.record_name == "Kilimanjaro plan"
    assert index.get_record("doc") == renamed
    assert_same_chunks(index.get_chunks("doc"), chunks)
    assert not index.update_record(make_record("unknown", {U}))
    assert index.get_record("unknown") is None


def test_update_record_can_change_filters_and_principals(index: SearchIndex, vectors: Vectors) -> None:
    chunks = make_chunks(vectors, "release checklist")
    index.replace_record(make_record("doc", {U}, record_group_id="drive-1"), chunks)
    moved = make_record("doc", {G}, record_group_id="drive-2")
    assert index.update_record(moved)

    in_drive_2 = SearchFilters(record_group_ids=frozenset({"drive-2"}))
    assert keys(index.keyword_search("checklist", {G}, 5, in_drive_2)) == ["doc"]
    assert keys(index.vector_search(chunks[0].vector, {G}, 5, in_drive_2)) == ["doc"]
    assert index.keyword_search("checklist", {U}) == []
    assert index.vector_search(chunks[0].vector, {U}) == []


def test_delete_removes_from_keyword_and_vector_search(index: SearchIndex, vectors: Vectors) -> None:
    gone = make_chunks(vectors, "obsolete pricing sheet", "old pricing tiers")
    kept = make_chunks(vectors, "current pricing sheet")
    index.replace_record(make_record("gone", {U}), gone)
    index.replace_record(make_record("kept", {U}), kept)

    assert index.delete_records(["gone", "never-existed", "gone"]) == 1

    assert keys(index.keyword_search("pricing", {U})) == ["kept"]
    assert "gone" not in keys(index.vector_search(gone[0].vector, {U}))
    assert index.get_record("gone") is None
    assert index.get_chunks("gone") == []
    assert index.record_keys() == {"kept"}
    assert index.count_chunks() == 1
    assert index.delete_records([]) == 0
    with pytest.raises(TypeError):
        index.delete_records("kept")  # a bare string is not a list of keys
    assert index.record_keys() == {"kept"}


def test_replace_with_fewer_chunks_removes_the_surplus(index: SearchIndex, vectors: Vectors) -> None:
    first = make_chunks(vectors, "intro paragraph", "middle paragraph", "appendix about xylophones")
    index.replace_record(make_record("doc", {U}, content_hash="v1"), first)
    second = make_chunks(vectors, "rewritten intro")
    index.replace_record(make_record("doc", {U}, content_hash="v2"), second)

    assert_same_chunks(index.get_chunks("doc"), second)
    assert index.count_chunks() == 1
    assert index.keyword_search("xylophones", {U}) == []
    assert hit_ids(index.vector_search(first[2].vector, {U})) == [("doc", 0)]
    record = index.get_record("doc")
    assert record is not None
    assert record.content_hash == "v2"


def test_replace_with_no_chunks_keeps_the_record(index: SearchIndex, vectors: Vectors) -> None:
    index.replace_record(make_record("doc", {U}), make_chunks(vectors, "something"))
    index.replace_record(make_record("doc", {U}, content_hash="empty"), [])
    assert index.get_chunks("doc") == []
    assert index.count_chunks() == 0
    assert index.record_keys() == {"doc"}
    assert index.keyword_search("something", {U}) == []


def test_reopen_keeps_everything(open_index: IndexOpener, vectors: Vectors) -> None:
    index = open_index()
    chunks = make_chunks(vectors, "persistent kangaroo facts", "more about marsupials")
    index.replace_record(make_record("doc", {U}, name="Fauna"), chunks)
    index.replace_record(make_record("other", {G}), make_chunks(vectors, "kangaroo court"))
    index.set_principals("other", {"groups/H"})
    index.delete_records(["nothing"])
    index.close()

    reopened = open_index()
    assert reopened.get_record("doc") == make_record("doc", {U}, name="Fauna")
    assert_same_chunks(reopened.get_chunks("doc"), chunks)
    assert keys(reopened.keyword_search("kangaroo", {U})) == ["doc"]
    assert keys(reopened.keyword_search("kangaroo", {"groups/H"})) == ["other"]
    assert hit_ids(reopened.vector_search(chunks[1].vector, {U}, 1)) == [("doc", 1)]
    assert reopened.count_chunks() == 3
    assert reopened.record_keys() == {"doc", "other"}
    reopened.replace_record(make_record("third", {U}), make_chunks(vectors, "after reopen kangaroo"))
    assert set(keys(reopened.keyword_search("kangaroo", {U}))) == {"doc", "third"}


def test_vector_search_k_and_order(index: SearchIndex, vectors: Vectors) -> None:
    target = vectors.one()
    items = []
    for i in range(12):
        vector = target if i == 5 else vectors.one()
        items.append((make_record(f"r{i:02}", {U}), [IndexedChunk(0, f"text {i}", vector, Location())]))
    index.replace_records(items)

    hits = index.vector_search(target, {U}, k=5)
    assert len(hits) == 5
    assert hits[0].record_key == "r05"
    assert hits[0].score == pytest.approx(1.0, abs=1e-4)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    everything = index.vector_search(target, {U}, k=50)
    assert len(everything) == 12
    expected = sorted(
        (
            (float(np.dot(target, np.asarray(chunks[0].vector))), record.record_key)
            for record, chunks in items
        ),
        reverse=True,
    )
    assert [h.record_key for h in everything] == [key for _, key in expected]
    assert [h.score for h in everything] == pytest.approx([s for s, _ in expected], abs=1e-4)
    assert index.vector_search(target, {U}, k=0) == []


def test_keyword_search_k_order_and_bm25(index: SearchIndex, vectors: Vectors) -> None:
    # "common" is in every chunk, "zeugma" in one: BM25's IDF must rank that one first
    items = []
    for i in range(10):
        text = "a common word in a common sentence" if i != 7 else "a rare zeugma appears here"
        items.append((make_record(f"r{i}", {U}), make_chunks(vectors, text)))
    items.append((make_record("both", {G}), make_chunks(vectors, "common zeugma")))
    index.replace_records(items)

    hits = index.keyword_search("common zeugma", {U}, k=4)
    assert len(hits) == 4
    assert hits[0].record_key == "r7"
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[1]
    assert len(index.keyword_search("common", {U}, k=50)) == 9
    assert keys(index.keyword_search("zeugma", {U, G})) in (["both", "r7"], ["r7", "both"])
    assert index.keyword_search("", {U}) == []
    assert index.keyword_search("   ?! ", {U}) == []
    assert index.keyword_search("absent", {U}) == []


def test_keyword_query_syntax_is_not_interpreted(index: SearchIndex, vectors: Vectors) -> None:
    index.replace_record(make_record("doc", {U}), make_chunks(vectors, "principals are listed here"))
    for query in ('principals:"groups/G"', "record_key:doc OR", "(unbalanced", "a AND NOT b", "text:* -x"):
        hits = index.keyword_search(query, {G})
        assert hits == [], query
    assert keys(index.keyword_search('principals:"groups/G"', {U})) == ["doc"]


def test_unicode_text(index: SearchIndex, vectors: Vectors) -> None:
    chunks = make_chunks(
        vectors, "Crème brûlée à la café — naïve Ünïcödé", "東京 タワー の 夜景", "emoji 🚀 launch"
    )
    index.replace_record(make_record("uni", {U}, name="Ĝénéral ñame"), chunks)

    assert keys(index.keyword_search("brûlée", {U})) == ["uni"]
    assert hit_ids(index.keyword_search("東京", {U})) == [("uni", 1)]
    assert hit_ids(index.keyword_search("launch 🚀", {U})) == [("uni", 2)]
    assert set(keys(index.keyword_search("ñame", {U}))) == {"uni"}  # the name is on every chunk
    assert_same_chunks(index.get_chunks("uni"), chunks)
    record = index.get_record("uni")
    assert record is not None
    assert record.record_name == "Ĝénéral ñame"


def test_batch_commits_together_and_rolls_back_on_error(index: SearchIndex, vectors: Vectors) -> None:
    with index.batch():
        index.replace_record(make_record("a", {U}), make_chunks(vectors, "batched apple"))
        with index.batch():  # nested: joins the outer batch
            index.replace_record(make_record("b", {U}), make_chunks(vectors, "batched banana"))
        index.set_principals("a", {U, G})
        assert index.get_record("a") is not None  # a batch reads its own writes
    assert index.record_keys() == {"a", "b"}
    assert keys(index.keyword_search("apple", {G})) == ["a"]

    def failing_batch() -> None:
        with index.batch():
            index.replace_record(make_record("c", {U}), make_chunks(vectors, "batched cherry"))
            index.delete_records(["a"])
            index.set_principals("b", {G})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        failing_batch()
    assert index.record_keys() == {"a", "b"}
    assert index.keyword_search("cherry", {U}) == []
    assert keys(index.keyword_search("banana", {U})) == ["b"]
    assert index.keyword_search("banana", {G}) == []


def test_replace_records_in_bulk(index: SearchIndex, vectors: Vectors) -> None:
    items = [
        (
            make_record(f"bulk-{i}", {U} if i % 2 else {G}),
            make_chunks(vectors, f"bulk item {i}", f"second part {i}"),
        )
        for i in range(40)
    ]
    index.replace_records(items)
    assert index.count_chunks() == 80
    assert len(index.keyword_search("bulk", {U}, k=100)) == 20
    assert len(index.vector_search(items[3][1][1].vector, {U, G}, k=100)) == 80
    assert hit_ids(index.vector_search(items[3][1][1].vector, {U}, k=1)) == [("bulk-3", 1)]


def test_rejects_malformed_vectors(index: SearchIndex, vectors: Vectors) -> None:
    with pytest.raises(ValueError):
        index.replace_record(make_record("bad", {U}), [IndexedChunk(0, "x", np.zeros(3, dtype=np.float32))])
    nan = np.full(16, np.nan, dtype=np.float32)
    with pytest.raises(ValueError):
        index.replace_record(make_record("bad", {U}), [IndexedChunk(0, "x", nan)])
    with pytest.raises(ValueError):
        index.replace_record(
            make_record("bad", {U}),
            [IndexedChunk(0, "x", vectors.one()), IndexedChunk(0, "y", vectors.one())],
        )
    with pytest.raises(ValueError):
        index.vector_search(np.zeros(3, dtype=np.float32), {U})
    assert index.get_record("bad") is None
