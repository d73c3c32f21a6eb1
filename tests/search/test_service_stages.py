"""The service embeds the query beside BM25 without changing results, and reports its stages."""

from __future__ import annotations

import threading
from pathlib import Path

from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.indexing.index.registry import open_search_index
from headwater.indexing.types import IndexedChunk, IndexedRecord, Location
from headwater.search.service import SearchService
from headwater.store.registry import open_store

TEXTS = [
    "quarterly budget review for the platform team",
    "budget spreadsheet with travel costs",
    "onboarding guide for new engineers",
    "incident review of the storage outage",
    "travel policy and expense limits",
    "platform roadmap and hiring plan",
]


class CountingEmbedder(HashingEmbedder):
    """Records which threads embedded queries."""

    def __init__(self) -> None:
        super().__init__(64)
        self.query_threads: list[str] = []

    def embed_query(self, text: str):  # type: ignore[no-untyped-def]
        self.query_threads.append(threading.current_thread().name)
        return super().embed_query(text)


def test_overlapped_embedding_returns_what_sequential_search_returns(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    embedder = CountingEmbedder()
    index = open_search_index(f"embedded://{tmp_path / 'index'}", embedder.dimensions)
    with store.transaction() as tx:
        tx.upsert_nodes("organizations", [{"_key": "o1"}])
        tx.upsert_nodes("users", [{"_key": "ada", "email": "ada@acme.test", "orgId": "o1"}])
        tx.upsert_nodes("groups", [{"_key": "eng"}])
        tx.upsert_edges("belongsTo", [{"_from": "users/ada", "_to": "groups/eng"}])
    vectors = embedder.embed_documents(TEXTS)
    index.replace_records(
        [
            (
                IndexedRecord(
                    record_key=f"r{i}",
                    org_id="o1",
                    connector_id="c1",
                    record_type="FILE",
                    record_name=f"doc {i}",
                    # odd records belong to someone else: never a hit for ada, in either mode
                    principals=frozenset({"groups/eng" if i % 2 == 0 else "users/bob"}),
                    content_hash="h",
                ),
                [IndexedChunk(0, text, vectors[i], Location(page=1))],
            )
            for i, text in enumerate(TEXTS)
        ]
    )
    overlapped = SearchService(store, index, embedder)
    sequential = SearchService(store, index, embedder, overlap_embedding=False)
    try:
        for query in ("budget review", "travel", "platform hiring", "storage outage"):
            a = overlapped.search(query, user_key="ada")
            b = sequential.search(query, user_key="ada")
            assert [(h.record_key, h.score, h.snippet) for h in a.hits] == [
                (h.record_key, h.score, h.snippet) for h in b.hits
            ]
            assert {h.record_key for h in a.hits} <= {"r0", "r2", "r4"}
            assert set(a.timings) == {"principals", "keyword", "embed", "vector", "hits"}
            assert all(ms >= 0 for ms in a.timings.values())
        assert a.hits
        assert embedder.query_threads[0].startswith("search-embed")  # overlapped: on the pool
        assert embedder.query_threads[1] == threading.current_thread().name  # sequential: here

        keyword_only = overlapped.search("budget", user_key="ada", mode="keyword")
        assert set(keyword_only.timings) == {"principals", "keyword", "hits"}

        # close() stops the pool; a later search starts a new one
        overlapped.close()
        assert [h.record_key for h in overlapped.search("budget review", user_key="ada").hits][0] == "r0"
    finally:
        overlapped.close()
        sequential.close()
        index.close()
        store.close()
