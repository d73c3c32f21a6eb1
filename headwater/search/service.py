"""Search as the CLI and the API call it: a query and a user in, one hit per readable record out.

Retrieval is hybrid: BM25 candidates from the keyword index and nearest chunks from the vector
index, both asked WITH the user's principals so that a chunk the user may not read is never a
candidate (filtering after ranking could leak through counts, snippets or timing). The two ranked
lists are fused by reciprocal rank; chunks are then grouped per record, the record taking its best
chunk's fused score, its snippet and its location for the citation.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from headwater.errors import HeadwaterError
from headwater.indexing.embeddings.base import Embedder
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.types import ScoredChunk, SearchFilters
from headwater.search.fusion import DEFAULT_RRF_K, reciprocal_rank_fusion
from headwater.search.principals import PrincipalCache
from headwater.search.snippets import make_snippet
from headwater.settings import Settings
from headwater.store.base import GraphStore

Mode = Literal["hybrid", "keyword", "vector"]
T = TypeVar("T")


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _timed(function: Callable[[str], T], argument: str) -> tuple[T, float]:
    started = time.perf_counter()
    return function(argument), _ms_since(started)


class UnknownUserError(HeadwaterError):
    """Search was asked on behalf of a user the instance does not know."""


@dataclass(slots=True)
class SearchHit:
    record_key: str
    record_name: str
    connector_id: str
    connector_name: str | None
    record_type: str
    web_url: str | None
    score: float
    snippet: str
    location: dict[str, Any]
    chunk_ordinal: int
    text: str = ""  # the whole best chunk: the passage an answer is built from (not in as_dict)
    # other matching chunks of the same record, best first: (ordinal, location)
    more: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "recordKey": self.record_key,
            "recordName": self.record_name,
            "connectorId": self.connector_id,
            "connectorName": self.connector_name,
            "recordType": self.record_type,
            "webUrl": self.web_url,
            "score": round(self.score, 6),
            "snippet": self.snippet,
            "location": self.location,
            "chunk": self.chunk_ordinal,
            "more": self.more,
        }


@dataclass(slots=True)
class SearchResults:
    query: str
    hits: list[SearchHit]
    took_ms: float
    mode: Mode
    # milliseconds per stage (principals, keyword, embed, vector, hits), for benchmarks and logs;
    # embed overlaps keyword (it runs on another thread), so stages can sum to more than took_ms
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "mode": self.mode,
            "tookMs": round(self.took_ms, 2),
            "hits": [h.as_dict() for h in self.hits],
        }


class SearchService:
    """Permission-filtered hybrid search over one index. Thread-safe; share one per process."""

    def __init__(
        self,
        store: GraphStore,
        index: SearchIndex,
        embedder: Embedder | None,
        *,
        candidates: int = 50,
        rrf_k: int = DEFAULT_RRF_K,
        overlap_embedding: bool = True,
    ) -> None:
        self.store = store
        self.index = index
        self.embedder = embedder
        self.candidates = candidates
        self.rrf_k = rrf_k
        self.overlap_embedding = overlap_embedding  # False: embed, then BM25, on the calling thread
        self.principal_cache = PrincipalCache(store)
        self._pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def user_key_for_email(self, email: str) -> str:
        with self.store.read() as tx:
            doc = tx.get_nodes_by_external_ids("users", "", [email]).get(email.lower())
        if doc is None:
            raise UnknownUserError(f"no user with email {email!r}; `headwater users` lists them")
        return str(doc["_key"])

    def search(
        self,
        query: str,
        *,
        user_key: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: Mode = "hybrid",
    ) -> SearchResults:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        principals = self.principal_cache.principals(user_key)
        timings["principals"] = _ms_since(started)
        if not query.strip() or not principals:  # fail closed: no principals, nothing readable
            return SearchResults(query, [], _ms_since(started), mode, timings)

        # the query's embedding (~15-20 ms on 2 cores) runs on another thread while BM25 runs here:
        # the model and tantivy both release the GIL
        embedding: Future[tuple[Any, float]] | None = None
        if mode in ("hybrid", "vector") and self.embedder is not None:
            if self.overlap_embedding:
                embedding = self._embedding_pool().submit(_timed, self.embedder.embed_query, query)
            else:
                embedding = Future()
                embedding.set_result(_timed(self.embedder.embed_query, query))
        rankings: list[list[tuple[str, int]]] = []
        chunks: dict[tuple[str, int], ScoredChunk] = {}
        if mode in ("hybrid", "keyword"):
            stage = time.perf_counter()
            found = self.index.keyword_search(query, principals, self.candidates, filters)
            rankings.append(self._collect(found, chunks))
            timings["keyword"] = _ms_since(stage)
        if embedding is not None:
            vector, timings["embed"] = embedding.result()
            stage = time.perf_counter()
            found = self.index.vector_search(vector, principals, self.candidates, filters)
            rankings.append(self._collect(found, chunks))
            timings["vector"] = _ms_since(stage)

        stage = time.perf_counter()
        hits: dict[str, SearchHit] = {}
        for chunk_id, score in reciprocal_rank_fusion(rankings, self.rrf_k):
            chunk = chunks[chunk_id]
            hit = hits.get(chunk.record_key)
            if hit is None:
                if len(hits) == k:
                    continue
                hits[chunk.record_key] = self._hit(chunk, score, query)
            elif len(hit.more) < 3:
                hit.more.append({"chunk": chunk.ordinal, "location": chunk.location.as_dict()})
        timings["hits"] = _ms_since(stage)
        return SearchResults(query, list(hits.values()), _ms_since(started), mode, timings)

    def _embedding_pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="search-embed")
            return self._pool

    def close(self) -> None:
        """Stop the query-embedding threads (the store, index and embedder belong to the caller)."""
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    @staticmethod
    def _collect(found: list[ScoredChunk], into: dict[tuple[str, int], ScoredChunk]) -> list[tuple[str, int]]:
        ranking = []
        for chunk in found:
            key = (chunk.record_key, chunk.ordinal)
            into.setdefault(key, chunk)
            ranking.append(key)
        return ranking

    @staticmethod
    def _hit(chunk: ScoredChunk, score: float, query: str) -> SearchHit:
        record = chunk.record
        return SearchHit(
            record_key=record.record_key,
            record_name=record.record_name,
            connector_id=record.connector_id,
            connector_name=record.connector_name,
            record_type=record.record_type,
            web_url=record.web_url,
            score=score,
            snippet=make_snippet(chunk.text, query),
            location=chunk.location.as_dict(),
            chunk_ordinal=chunk.ordinal,
            text=chunk.text,
        )


@contextmanager
def open_search_service(settings: Settings, *, with_embedder: bool = True) -> Iterator[SearchService]:
    """A search service over the instance's store, index and embedder, closed on exit."""
    from headwater.indexing.embeddings.registry import open_embedder
    from headwater.indexing.index.registry import open_search_index
    from headwater.store.registry import open_store

    store = open_store(settings.resolved_store_url)
    embedder = open_embedder(settings) if with_embedder else None
    index = open_search_index(settings.resolved_index_url, embedder.dimensions if embedder else 384)
    service = SearchService(store, index, embedder)
    try:
        yield service
    finally:
        service.close()
        index.close()
        if embedder is not None:
            embedder.close()
        store.close()
