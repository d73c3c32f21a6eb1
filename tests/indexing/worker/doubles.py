"""Test doubles for the indexing worker's seams: a dict-backed search index and an embedder, both of
which can be made to fail the way an unavailable service does."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Any

import numpy as np

from headwater.errors import BackendUnavailableError
from headwater.indexing.embeddings.testing import CountingEmbedder, HashingEmbedder
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.types import IndexedChunk, IndexedRecord, ScoredChunk, SearchFilters

_WORD = re.compile(r"\w+")


class FlakyEmbedder(CountingEmbedder):
    """The project's counting test embedder (over `HashingEmbedder`) that can be made to fail:
    `fail_next` calls raise as an unavailable embedding service would."""

    def __init__(self, dimensions: int = 64) -> None:
        super().__init__(HashingEmbedder(dimensions))
        self.fail_next = 0

    def embed_documents(self, texts: Sequence[str]) -> Any:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise BackendUnavailableError("the embedding service is unavailable")
        return super().embed_documents(texts)


class DictSearchIndex(SearchIndex):
    """The SearchIndex contract over dicts. `fail_writes` makes the next writes raise (the index is
    unavailable); `writes` counts replace_record calls."""

    def __init__(self, dimensions: int = 64) -> None:
        self.dimensions = dimensions
        self.records: dict[str, IndexedRecord] = {}
        self.chunks: dict[str, list[IndexedChunk]] = {}
        self.fail_writes = 0
        self.fail_updates = 0  # like fail_writes, for update_record and set_principals only
        self.replaced = 0

    def _check(self) -> None:
        if self.fail_writes > 0:
            self.fail_writes -= 1
            raise BackendUnavailableError("the search index is unavailable")

    def replace_record(self, record: IndexedRecord, chunks: Sequence[IndexedChunk]) -> None:
        self._check()
        assert len({c.ordinal for c in chunks}) == len(chunks), "chunk ordinals must be distinct"
        self.records[record.record_key] = record
        self.chunks[record.record_key] = list(chunks)
        self.replaced += 1

    def _check_update(self) -> None:
        self._check()
        if self.fail_updates > 0:
            self.fail_updates -= 1
            raise BackendUnavailableError("the search index rejects updates")

    def update_record(self, record: IndexedRecord) -> bool:
        self._check_update()
        if record.record_key not in self.records:
            return False
        self.records[record.record_key] = record
        return True

    def set_principals(self, record_key: str, principals: Collection[str]) -> bool:
        self._check_update()
        current = self.records.get(record_key)
        if current is None:
            return False
        current.principals = frozenset(principals)
        return True

    def delete_records(self, record_keys: Collection[str]) -> int:
        self._check()
        gone = 0
        for key in record_keys:
            if self.records.pop(key, None) is not None:
                gone += 1
            self.chunks.pop(key, None)
        return gone

    def get_record(self, record_key: str) -> IndexedRecord | None:
        return self.records.get(record_key)

    def get_chunks(self, record_key: str) -> list[IndexedChunk]:
        return list(self.chunks.get(record_key, []))

    def keyword_search(
        self, query: str, principals: Collection[str], k: int = 50, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        terms = set(_WORD.findall(query.lower()))
        hits = []
        for key, chunks in self.chunks.items():
            record = self.records[key]
            if not principals or record.principals.isdisjoint(principals):
                continue
            for chunk in chunks:
                score = len(terms & set(_WORD.findall(chunk.text.lower())))
                if score:
                    hits.append(
                        ScoredChunk(key, chunk.ordinal, float(score), chunk.text, chunk.location, record)
                    )
        return sorted(hits, key=lambda h: -h.score)[:k]

    def vector_search(
        self, vector: Any, principals: Collection[str], k: int = 50, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        hits = []
        for key, chunks in self.chunks.items():
            record = self.records[key]
            if not principals or record.principals.isdisjoint(principals):
                continue
            for chunk in chunks:
                score = float(np.dot(np.asarray(vector), np.asarray(chunk.vector)))
                hits.append(ScoredChunk(key, chunk.ordinal, score, chunk.text, chunk.location, record))
        return sorted(hits, key=lambda h: -h.score)[:k]

    def count_chunks(self) -> int:
        return sum(len(c) for c in self.chunks.values())

    def record_keys(self) -> set[str]:
        return set(self.records)
