"""The search-index seam: chunks with vectors, BM25 text and the record's effective principals.

Permission filtering is not optional and never happens after ranking: every search takes the
asking user's principals and a backend only ever scores chunks whose record grants one of them.
An empty principal set matches nothing (fail closed).

Backends by URL (`HEADWATER_INDEX_URL`): unset = embedded (tantivy for keywords + faiss for vectors,
under `<data_dir>/index`); `postgresql://...?schema=NAME` = PostgreSQL with pgvector and full-text search.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from headwater.indexing.types import IndexedChunk, IndexedRecord, ScoredChunk, SearchFilters


class SearchIndex(ABC):
    """One index per organisation's instance. Thread-safe for one writer and many readers.

    Every write is durable when the call returns. Writes inside `with index.batch():` become
    visible and durable together when the block exits (one commit instead of one per call: the
    embedded keyword index spends ~90 ms per commit, so the indexing worker should batch).
    """

    dimensions: int

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group writes into one commit. Nested blocks join the outer one. On an exception inside
        the block nothing of it is applied."""
        yield

    def replace_records(self, items: Sequence[tuple[IndexedRecord, Sequence[IndexedChunk]]]) -> None:
        """`replace_record` for many records in one commit."""
        with self.batch():
            for record, chunks in items:
                self.replace_record(record, chunks)

    @abstractmethod
    def replace_record(self, record: IndexedRecord, chunks: Sequence[IndexedChunk]) -> None:
        """Make `chunks` the record's only chunks (old ones go), atomically for readers.
        Chunk ordinals must be distinct within the record."""

    @abstractmethod
    def update_record(self, record: IndexedRecord) -> bool:
        """Change record-level facts (name, principals, web URL, group, ...) without touching chunk
        text or vectors. False if the record is not in the index."""

    @abstractmethod
    def set_principals(self, record_key: str, principals: Collection[str]) -> bool:
        """Replace who may read the record, in place (no re-embedding). False if unknown."""

    @abstractmethod
    def delete_records(self, record_keys: Collection[str]) -> int:
        """Remove records and all their chunks from keyword and vector search. Returns records removed."""

    @abstractmethod
    def get_record(self, record_key: str) -> IndexedRecord | None:
        """What the index holds for a record (its content hash says whether re-embedding is needed)."""

    @abstractmethod
    def get_chunks(self, record_key: str) -> list[IndexedChunk]:
        """The record's chunks in order, with vectors."""

    @abstractmethod
    def keyword_search(
        self,
        query: str,
        principals: Collection[str],
        k: int = 50,
        filters: SearchFilters | None = None,
    ) -> list[ScoredChunk]:
        """BM25 over chunk text (and record name), best first, among chunks readable by `principals`."""

    @abstractmethod
    def vector_search(
        self,
        vector: Any,
        principals: Collection[str],
        k: int = 50,
        filters: SearchFilters | None = None,
    ) -> list[ScoredChunk]:
        """Nearest chunks by cosine similarity, best first, among chunks readable by `principals`."""

    @abstractmethod
    def count_chunks(self) -> int: ...

    @abstractmethod
    def record_keys(self) -> set[str]:
        """Every record key the index holds (for reconciliation and tests)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Flush and release files or connections."""
