"""The search-index seam: chunks with vectors, BM25 text and the record's effective principals.

Permission filtering is not optional and never happens after ranking: every search takes the
asking user's principals and a backend only ever scores chunks whose record grants one of them.
An empty principal set matches nothing (fail closed).

Backends by URL (`HEADWATER_INDEX_URL`): unset = embedded (tantivy for keywords + faiss for vectors,
under `<data_dir>/index`); `postgresql://...?schema=NAME` = PostgreSQL with pgvector and full-text search.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from typing import Any

from headwater.indexing.types import IndexedChunk, IndexedRecord, ScoredChunk, SearchFilters


class SearchIndex(ABC):
    """One index per organisation's instance. Thread-safe for one writer and many readers."""

    dimensions: int

    @abstractmethod
    def replace_record(self, record: IndexedRecord, chunks: Sequence[IndexedChunk]) -> None:
        """Make `chunks` the record's only chunks (old ones go), atomically for readers."""

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
