"""One embedded index object per directory per process, shared through reference-counted handles.

The embedded index keeps in-memory state (the permission map, the vector map, the IVF index, the
mask cache) and holds tantivy's writer lock while it writes: two objects on one directory in one
process would not see each other's writes and the second could not write at all. `headwater serve`
runs the API and the indexing worker in one process, so `open_search_index` gives every caller of a
directory a handle on the same `EmbeddedSearchIndex`; each handle's `close()` releases one reference
and the last one really closes the index. A handle is closed once (a second close does nothing), so a
careless double close cannot release another holder's reference.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from headwater.errors import ConfigurationError
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.index.embedded import ANN_MIN_VECTORS, EXACT_MAX_ALLOWED, EmbeddedSearchIndex
from headwater.indexing.types import IndexedChunk, IndexedRecord, ScoredChunk, SearchFilters


class EmbeddedIndexHandle(SearchIndex):
    """A reference to a shared `EmbeddedSearchIndex`; every call goes to it."""

    def __init__(self, shared: EmbeddedSearchIndex, release: Callable[[], None]) -> None:
        self._shared: EmbeddedSearchIndex | None = shared
        self._release = release
        self._lock = threading.Lock()
        self.dimensions = shared.dimensions
        self.directory = shared.directory

    @property
    def embedded(self) -> EmbeddedSearchIndex:
        """The shared index itself (for its extras: `wait_for_ann`, `exact_vector_search`)."""
        shared = self._shared
        if shared is None:
            raise RuntimeError(f"this handle on the search index at {self.directory} is closed")
        return shared

    @contextmanager
    def batch(self) -> Iterator[None]:
        with self.embedded.batch():
            yield

    def replace_records(self, items: Sequence[tuple[IndexedRecord, Sequence[IndexedChunk]]]) -> None:
        self.embedded.replace_records(items)

    def replace_record(self, record: IndexedRecord, chunks: Sequence[IndexedChunk]) -> None:
        self.embedded.replace_record(record, chunks)

    def update_record(self, record: IndexedRecord) -> bool:
        return self.embedded.update_record(record)

    def set_principals(self, record_key: str, principals: Collection[str]) -> bool:
        return self.embedded.set_principals(record_key, principals)

    def delete_records(self, record_keys: Collection[str]) -> int:
        return self.embedded.delete_records(record_keys)

    def get_record(self, record_key: str) -> IndexedRecord | None:
        return self.embedded.get_record(record_key)

    def get_chunks(self, record_key: str) -> list[IndexedChunk]:
        return self.embedded.get_chunks(record_key)

    def keyword_search(
        self, query: str, principals: Collection[str], k: int = 50, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        return self.embedded.keyword_search(query, principals, k, filters)

    def vector_search(
        self, vector: Any, principals: Collection[str], k: int = 50, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        return self.embedded.vector_search(vector, principals, k, filters)

    def count_chunks(self) -> int:
        return self.embedded.count_chunks()

    def record_keys(self) -> set[str]:
        return self.embedded.record_keys()

    def close(self) -> None:
        with self._lock:
            if self._shared is None:
                return
            self._shared = None
        self._release()


class _Entry:
    def __init__(self, index: EmbeddedSearchIndex, options: dict[str, int | None]) -> None:
        self.index = index
        self.options = options
        self.references = 0


_open: dict[Path, _Entry] = {}
_open_lock = threading.Lock()  # held while an index opens or closes, so two first opens make one


def _open_embedded(directory: Path, dimensions: int, options: dict[str, int | None]) -> EmbeddedSearchIndex:
    exact = options.get("exact_max_allowed")
    return EmbeddedSearchIndex(
        directory,
        dimensions,
        ann_min_vectors=options.get("ann_min_vectors", ANN_MIN_VECTORS),
        exact_max_allowed=EXACT_MAX_ALLOWED if exact is None else exact,
    )


def open_shared(directory: Path, dimensions: int, options: dict[str, int | None]) -> EmbeddedIndexHandle:
    """A new handle on the process's index for `directory`, opening it on first use."""
    directory = directory.resolve()
    with _open_lock:
        entry = _open.get(directory)
        if entry is None:
            entry = _open[directory] = _Entry(_open_embedded(directory, dimensions, options), options)
        elif entry.index.dimensions != dimensions:
            raise ConfigurationError(
                f"the search index at {directory} holds {entry.index.dimensions}-dimensional vectors,"
                f" but the embedder makes {dimensions}; use the same embedding model or a new index directory"
            )
        elif entry.options != options:
            raise ConfigurationError(
                f"the search index at {directory} is already open in this process with options"
                f" {entry.options or 'none'}, not {options or 'none'}: use one URL for it everywhere"
            )
        entry.references += 1
        shared = entry.index

    def release() -> None:
        with _open_lock:
            entry.references -= 1
            if entry.references > 0:
                return
            del _open[directory]
            shared.close()

    return EmbeddedIndexHandle(shared, release)
