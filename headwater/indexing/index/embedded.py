"""The embedded search index: SQLite metadata + a vector file (+ IVF index) + tantivy, in one directory.

URL `embedded:///absolute/directory` (the default, `<data_dir>/index`). Files there:

    metadata.sqlite3  records, chunk text and locations, slots, the keyword journal: THE TRUTH
    vectors.f32       one float32 row per slot (see vectors.py)
    vectors.ivf       the IVF index over the slots, once there are many (see ivf.py)
    keyword-v1/       tantivy (see keyword.py)

Write order (one batch = one `batch()` block or one single write call):

    1. new vectors are written to fresh slots of the vector file and fsync'ed;
    2. ONE SQLite transaction writes the records, chunks, `next_slot`, and puts every touched
       record key in `keyword_journal`. Its commit is the moment the batch happens;
    3. the in-memory permission map is updated (vector search sees the batch);
    4. tantivy deletes and re-adds the touched records' documents from the committed text, commits;
    5. the journal entries are removed.

A crash before 2 loses the batch and leaves unreferenced vector rows that are overwritten later.
A crash after 2 leaves tantivy behind SQLite: opening the index replays the journal (delete and
re-add those records' documents), and rebuilds tantivy from SQLite when its document count
disagrees; the permission map is always rebuilt from SQLite on open and the IVF index caught up.
An exception in 3-5 (not a crash) marks the index for the same repair before the next write.

Searches never trust the derived structures alone: every hit is joined with the committed chunk
and record rows and dropped if the chunk is gone or the record no longer grants one of the
user's principals or passes the filters. So a narrowed permission or a deletion is in force from
the SQLite commit on, even while tantivy or the permission map still lag (at worst a search
returns fewer than k hits in that window).

Concurrency: one writer at a time (a mutex; a batch holds it); searches run in parallel with each
other and with a writer's steps 1-2 and 4-5, and wait only for step 3 (a few ms). Within a process,
`open_search_index` hands every caller of one directory the same object (registry.py). A second
process on the same directory can search, but its permission map and vector view are those of its
open (safe, as every hit is checked against the committed rows, but it misses later additions), and
its first write fails on tantivy's writer lock before changing anything.

Vector search: the allowed-slot mask of a principal set (and filters) is cached until the next
write. Allowed sets up to `exact_max_allowed` slots, and every set while the index holds fewer than
`ann_min_vectors` slots, are scanned exactly; larger ones go to the IVF index (ivf.py), whose
candidates are re-scored exactly.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from headwater.errors import ConfigurationError
from headwater.indexing.index.access import AccessMap, BoolArray
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.index.codec import (
    clean_principals,
    location_from_json,
    query_vector,
    vector_matrix,
)
from headwater.indexing.index.ivf import IvfVectors
from headwater.indexing.index.keyword import KeywordIndex
from headwater.indexing.index.metadata import IndexMetadata
from headwater.indexing.index.rwlock import ReadWriteLock
from headwater.indexing.index.vectors import VectorFile, exact_search
from headwater.indexing.types import IndexedChunk, IndexedRecord, ScoredChunk, SearchFilters

log = logging.getLogger(__name__)

# Below this many slots an IVF index is not worth its memory and its recall below 1: an exact scan of
# every allowed slot stays under ~15 ms (2 cores).
ANN_MIN_VECTORS = 250_000
# Allowed sets up to this size are scanned exactly even when an IVF index exists (~7 ms at 1M slots).
EXACT_MAX_ALLOWED = 25_000
MASK_CACHE_SIZE = 16  # principal sets (with filters) whose allowed-slot masks are kept until a write


@dataclass(slots=True)
class _Batch:
    next_slot: int  # the next free vector slot (committed value + rows written in this batch)
    touched: dict[str, None] = field(default_factory=dict)  # record keys, in order, deduplicated


def record_passes(record: IndexedRecord, filters: SearchFilters | None) -> bool:
    if filters is None:
        return True
    return (
        (filters.connector_ids is None or record.connector_id in filters.connector_ids)
        and (filters.record_types is None or record.record_type in filters.record_types)
        and (filters.record_group_ids is None or record.record_group_id in filters.record_group_ids)
        and (filters.updated_after is None or record.updated_at >= filters.updated_after)
        and (filters.updated_before is None or record.updated_at < filters.updated_before)
    )


class EmbeddedSearchIndex(SearchIndex):
    def __init__(
        self,
        directory: Path,
        dimensions: int,
        *,
        ann_min_vectors: int | None = ANN_MIN_VECTORS,
        exact_max_allowed: int = EXACT_MAX_ALLOWED,
    ) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.dimensions = dimensions
        self._ann_min_vectors = ann_min_vectors
        self._exact_max_allowed = exact_max_allowed
        self._write_mutex = threading.RLock()
        self._state_lock = ReadWriteLock()
        self._meta = IndexMetadata(directory / "metadata.sqlite3", dimensions)
        self._vectors = VectorFile(directory / "vectors.f32", dimensions)
        self._keyword = KeywordIndex(directory / "keyword-v1")
        self._ivf: IvfVectors | None = None
        self._access = AccessMap()
        # (principals, filters) -> (mask, allowed count); emptied whenever the access map changes
        self._masks: OrderedDict[tuple[Any, ...], tuple[BoolArray, int]] = OrderedDict()
        self._masks_lock = threading.Lock()
        self._batch: _Batch | None = None
        self._needs_repair = False
        self._closed = False
        try:
            with self._write_mutex:
                self._repair(on_open=True)
        except BaseException:
            self._release()
            raise

    # -- writes --

    @contextmanager
    def batch(self) -> Iterator[None]:
        with self._write_mutex:
            if self._batch is not None:  # nested: part of the outer batch
                yield
                return
            self._check_open()
            # take tantivy's writer lock before changing anything: a second writer of this
            # directory (another process or index object) fails here, not after its commit
            self._keyword.take_writer()
            if self._needs_repair:
                self._repair(on_open=False)
            batch = self._batch = _Batch(next_slot=self._meta.next_slot)
            try:
                with self._meta.transaction():
                    yield
                    if batch.touched:
                        if batch.next_slot > self._meta.next_slot:
                            self._vectors.sync()  # rows durable before the metadata that names them
                            self._meta.set_next_slot(batch.next_slot)
                        self._meta.journal(batch.touched)
            finally:
                self._batch = None
            if batch.touched:
                self._publish(batch)

    def _writing(self) -> _Batch:
        # only reached inside `with self.batch()`, whose mutex keeps other threads out
        assert self._batch is not None
        return self._batch

    def replace_record(self, record: IndexedRecord, chunks: Sequence[IndexedChunk]) -> None:
        rows = vector_matrix(chunks, self.dimensions)
        with self.batch():
            batch = self._writing()
            record_id, _ = self._meta.upsert_record(record)
            first_slot = batch.next_slot
            self._vectors.write(first_slot, rows)
            batch.next_slot += len(rows)
            self._meta.replace_chunks(record_id, first_slot, chunks)
            batch.touched[record.record_key] = None

    def update_record(self, record: IndexedRecord) -> bool:
        with self.batch():
            if not self._meta.update_record(record):
                return False
            self._writing().touched[record.record_key] = None
            return True

    def set_principals(self, record_key: str, principals: Collection[str]) -> bool:
        readers = clean_principals(principals)
        with self.batch():
            found = self._meta.get_record(record_key)
            if found is None:
                return False
            self._meta.update_record(replace(found[1], principals=readers))
            self._writing().touched[record_key] = None
            return True

    def delete_records(self, record_keys: Collection[str]) -> int:
        if isinstance(record_keys, str):
            raise TypeError("delete_records takes a collection of record keys, not one string")
        removed = 0
        with self.batch():
            batch = self._writing()
            for key in dict.fromkeys(record_keys):
                if self._meta.delete_record(key):
                    removed += 1
                    batch.touched[key] = None
        return removed

    def _publish(self, batch: _Batch) -> None:
        """Steps 3-5: bring the derived structures up to the committed batch."""
        keys = list(batch.touched)
        try:
            current = {key: self._meta.get_record(key) for key in keys}
            chunks = {key: self._meta.chunks_of(found[0]) for key, found in current.items() if found}
            with self._state_lock.writing():
                self._access.extend_slots(batch.next_slot)
                for key, found in current.items():
                    if found is None:
                        self._access.remove_record(key)
                    else:
                        slots = np.asarray([c.slot for c in chunks[key]], dtype=np.int64)
                        self._access.put_record(found[0], found[1], slots)
                self._forget_masks()
            self._extend_ann(batch.next_slot)
            for key, found in current.items():
                self._keyword.stage_record(key, found[1] if found else None, chunks.get(key, []))
            self._keyword.commit()
            self._meta.clear_journal(keys)
        except BaseException:
            self._needs_repair = True
            raise

    def _repair(self, *, on_open: bool) -> None:
        """Rebuild the derived structures from the metadata (on open, and after a failed publish)."""
        slot_count = self._meta.next_slot
        if slot_count > self._vectors.rows_on_disk:
            raise ConfigurationError(
                f"the vector file in {self.directory} is shorter than its metadata says ({slot_count} rows):"
                " the index is damaged; move the directory away and re-index"
            )
        access = AccessMap()
        access.extend_slots(slot_count)
        slots_of: dict[int, list[int]] = {}
        for record_id, slot in self._meta.all_chunk_slots():
            slots_of.setdefault(record_id, []).append(slot)
        for record_id, record in self._meta.all_records():
            access.put_record(record_id, record, np.asarray(slots_of.get(record_id, []), dtype=np.int64))
        with self._state_lock.writing():
            self._access = access
            self._forget_masks()
        self._extend_ann(slot_count)
        try:
            self._repair_keywords()
        except ValueError as exc:
            # tantivy's writer lock is held: another process (or index object) writes this index
            # and repairs it; searches here stay safe through the committed-state check
            if not on_open or "LockBusy" not in str(exc):
                raise
            log.warning(
                "the keyword index at %s is being written elsewhere; not repaired: %s", self.directory, exc
            )
        self._needs_repair = False

    def _repair_keywords(self) -> None:
        self._keyword.rollback()
        journaled = self._meta.journaled_keys()
        if journaled:
            log.info("replaying %d journaled records into the keyword index", len(journaled))
            for key in journaled:
                found = self._meta.get_record(key)
                chunks = self._meta.chunks_of(found[0]) if found else []
                self._keyword.stage_record(key, found[1] if found else None, chunks)
            self._keyword.commit()
            self._meta.clear_journal(journaled)
        if self._keyword.document_count() != self._meta.chunk_count():
            log.warning("the keyword index at %s disagrees with its metadata; rebuilding it", self.directory)
            self._keyword.stage_clear()
            for record_id, record in self._meta.all_records():
                self._keyword.stage_record(record.record_key, record, self._meta.chunks_of(record_id))
            self._keyword.commit()

    def _extend_ann(self, slot_count: int) -> None:
        if self._ivf is None:
            if self._ann_min_vectors is None or slot_count < self._ann_min_vectors:
                return
            # the HNSW graph of earlier versions: derived data, replaced by the IVF index
            (self.directory / "vectors.hnsw").unlink(missing_ok=True)
            self._ivf = IvfVectors(self.directory / "vectors.ivf", self.dimensions, self._vectors.view)
            self._ivf.start(slot_count)
        else:
            self._ivf.extend(slot_count)

    def _forget_masks(self) -> None:
        with self._masks_lock:
            self._masks.clear()

    def _allowed(self, readers: frozenset[str], filters: SearchFilters | None) -> tuple[BoolArray, int]:
        """The allowed-slot mask and its count; the caller holds the state lock's read side, so no
        write can change the access map (or empty the cache) meanwhile."""
        key = (readers, None if filters is None else astuple(filters))
        with self._masks_lock:
            cached = self._masks.get(key)
            if cached is not None:
                self._masks.move_to_end(key)
                return cached
        mask = self._access.allowed_slots(readers, filters)
        found = (mask, int(np.count_nonzero(mask)))
        with self._masks_lock:
            self._masks[key] = found
            while len(self._masks) > MASK_CACHE_SIZE:
                self._masks.popitem(last=False)
        return found

    # -- reads --

    def get_record(self, record_key: str) -> IndexedRecord | None:
        found = self._meta.get_record(record_key)
        return None if found is None else found[1]

    def get_chunks(self, record_key: str) -> list[IndexedChunk]:
        found = self._meta.get_record(record_key)
        if found is None:
            return []
        rows = self._meta.chunks_of(found[0])
        vectors = self._vectors.read(np.asarray([r.slot for r in rows], dtype=np.int64))
        return [
            IndexedChunk(
                ordinal=r.ordinal, text=r.text, vector=vectors[i], location=location_from_json(r.location)
            )
            for i, r in enumerate(rows)
        ]

    def keyword_search(
        self, query: str, principals: Collection[str], k: int = 50, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        readers = clean_principals(principals)
        if not readers or k <= 0:
            return []
        return self._confirmed(self._keyword.search(query, readers, k, filters), readers, filters)

    def vector_search(
        self, vector: Any, principals: Collection[str], k: int = 50, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        return self._vector_search(vector, principals, k, filters, approximate=True)

    def exact_vector_search(
        self, vector: Any, principals: Collection[str], k: int = 50, filters: SearchFilters | None = None
    ) -> list[ScoredChunk]:
        """`vector_search` by an exact scan whatever the allowed set's size (recall measurements)."""
        return self._vector_search(vector, principals, k, filters, approximate=False)

    def _vector_search(
        self,
        vector: Any,
        principals: Collection[str],
        k: int,
        filters: SearchFilters | None,
        *,
        approximate: bool,
    ) -> list[ScoredChunk]:
        query = query_vector(vector, self.dimensions)
        readers = clean_principals(principals)
        if not readers or k <= 0:
            return []
        with self._state_lock.reading():
            allowed, allowed_count = self._allowed(readers, filters)
            matrix = self._vectors.view(self._access.slot_count)
            found = None
            ivf = self._ivf
            if approximate and ivf is not None and allowed_count > self._exact_max_allowed:
                found = ivf.search(matrix, query, allowed, k)
            if found is None:
                found = exact_search(matrix, query, allowed, k)
        slots, scores = found
        return self._confirmed(list(zip(slots.tolist(), scores.tolist(), strict=True)), readers, filters)

    def _confirmed(
        self, hits: list[tuple[int, float]], readers: frozenset[str], filters: SearchFilters | None
    ) -> list[ScoredChunk]:
        """Hits joined with their committed rows; any the committed state no longer allows are dropped."""
        rows = self._meta.hits([slot for slot, _ in hits])
        out: list[ScoredChunk] = []
        for slot, score in hits:
            row = rows.get(slot)
            if row is None or not (row.record.principals & readers) or not record_passes(row.record, filters):
                continue
            out.append(
                ScoredChunk(
                    record_key=row.record.record_key,
                    ordinal=row.ordinal,
                    score=score,
                    text=row.text,
                    location=location_from_json(row.location),
                    record=row.record,
                )
            )
        return out

    def count_chunks(self) -> int:
        return self._meta.chunk_count()

    def record_keys(self) -> set[str]:
        return self._meta.record_keys()

    def wait_for_ann(self, timeout_s: float = 60.0) -> bool:
        """Block until the IVF index (if any) covers every committed slot. For tests and benchmarks."""
        ivf = self._ivf
        return ivf is None or ivf.wait_covered(self._access.slot_count, timeout_s)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"the search index at {self.directory} is closed")

    def close(self) -> None:
        with self._write_mutex:
            if self._closed:
                return
            if self._batch is not None:
                raise RuntimeError("close() inside batch()")
            self._closed = True
            self._release()

    def _release(self) -> None:
        if self._ivf is not None:
            self._ivf.close(save=True)
        self._keyword.close()
        self._meta.close()
        self._vectors.close()
