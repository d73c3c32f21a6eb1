"""Who may read which vector slot, in memory: the allowed set of a vector search in a few milliseconds.

The embedded index stores every chunk's vector in a numbered slot. A vector search must only
score slots whose record grants one of the asking user's principals and passes the filters, so
before searching it builds a boolean mask over all slots:

    principal -> records (posting sets)  =>  allowed records  =>  allowed slots (slot -> record)

Everything is record-level (a record's chunks share its principals and attributes), so a
permission change touches one posting entry per principal, not one per chunk. The mask is built
with numpy: at 1,000,000 slots it costs ~3 ms whatever the user's share of the corpus.

This map is a cache of the SQLite metadata, rebuilt from it on open. It is not thread-safe by
itself: the index reads it under the read side of its lock and changes it under the write side.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from headwater.indexing.types import IndexedRecord, SearchFilters

NO_RECORD = -1  # a slot that holds no live chunk (deleted, replaced, or never committed)
NO_CODE = -1  # an attribute a record does not have (no record group)

IntArray = np.ndarray[Any, np.dtype[np.int64]]
BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


def _grown(array: np.ndarray[Any, Any], size: int, fill: Any) -> np.ndarray[Any, Any]:
    """`array` with room for `size` entries (doubling, so appends are amortised O(1))."""
    if size <= len(array):
        return array
    bigger = np.full(max(size, 2 * len(array), 1024), fill, dtype=array.dtype)
    bigger[: len(array)] = array
    return bigger


class AccessMap:
    def __init__(self) -> None:
        self._record_ids: dict[str, int] = {}  # record key -> record id (the SQLite rowid)
        self._record_principals: dict[int, frozenset[str]] = {}
        self._record_slots: dict[int, IntArray] = {}
        self._readers: dict[str, set[int]] = {}  # principal -> record ids
        self._reader_arrays: dict[str, IntArray] = {}  # the same as arrays, built on first use
        self._codes: dict[str, int] = {}  # interned attribute values
        self._live = np.zeros(0, dtype=np.bool_)
        self._connector = np.zeros(0, dtype=np.int32)
        self._record_type = np.zeros(0, dtype=np.int32)
        self._record_group = np.zeros(0, dtype=np.int32)
        self._updated_at = np.zeros(0, dtype=np.int64)
        self._slot_record = np.zeros(0, dtype=np.int32)
        self.slot_count = 0  # slots 0..slot_count-1 exist in the vector file

    # -- changes (under the index's write lock) --

    def put_record(self, record_id: int, record: IndexedRecord, slots: IntArray) -> None:
        """The record's current facts and chunk slots, replacing whatever the map held for it."""
        previous = self._record_ids.get(record.record_key)
        if previous is not None and previous != record_id:
            self.remove_record(record.record_key)
        self._record_ids[record.record_key] = record_id
        size = record_id + 1
        self._live = _grown(self._live, size, False)
        self._connector = _grown(self._connector, size, NO_CODE)
        self._record_type = _grown(self._record_type, size, NO_CODE)
        self._record_group = _grown(self._record_group, size, NO_CODE)
        self._updated_at = _grown(self._updated_at, size, 0)
        self._live[record_id] = True
        self._connector[record_id] = self._code(record.connector_id)
        self._record_type[record_id] = self._code(record.record_type)
        group = record.record_group_id
        self._record_group[record_id] = NO_CODE if group is None else self._code(group)
        self._updated_at[record_id] = record.updated_at
        self._set_principals(record_id, record.principals)
        self._set_slots(record_id, slots)

    def remove_record(self, record_key: str) -> None:
        record_id = self._record_ids.pop(record_key, None)
        if record_id is None:
            return
        self._live[record_id] = False
        self._set_principals(record_id, frozenset())
        self._set_slots(record_id, np.zeros(0, dtype=np.int64))
        self._record_principals.pop(record_id, None)
        self._record_slots.pop(record_id, None)

    def extend_slots(self, slot_count: int) -> None:
        """Slots up to `slot_count` exist now (new ones hold no record until `put_record`)."""
        self._slot_record = _grown(self._slot_record, slot_count, NO_RECORD)
        self.slot_count = max(self.slot_count, slot_count)

    def _set_principals(self, record_id: int, principals: frozenset[str]) -> None:
        old = self._record_principals.get(record_id, frozenset())
        for principal in old - principals:
            readers = self._readers[principal]
            readers.discard(record_id)
            if not readers:
                del self._readers[principal]
            self._reader_arrays.pop(principal, None)
        for principal in principals - old:
            self._readers.setdefault(principal, set()).add(record_id)
            self._reader_arrays.pop(principal, None)
        self._record_principals[record_id] = principals

    def _set_slots(self, record_id: int, slots: IntArray) -> None:
        old = self._record_slots.get(record_id)
        if old is not None and len(old):
            self._slot_record[old] = NO_RECORD
        if len(slots):
            self.extend_slots(int(slots.max()) + 1)
            self._slot_record[slots] = record_id
        self._record_slots[record_id] = slots

    def _code(self, value: str) -> int:
        return self._codes.setdefault(value, len(self._codes))

    # -- reads (under the index's read lock) --

    def allowed_slots(self, principals: frozenset[str], filters: SearchFilters | None) -> BoolArray:
        """A mask over slots 0..slot_count-1: True where the chunk may be shown to `principals`."""
        record_count = len(self._live)
        # one extra False entry at the end: slots holding no record (-1) index it
        allowed = np.zeros(record_count + 1, dtype=np.bool_)
        for principal in principals:
            record_ids = self._reader_array(principal)
            if record_ids is not None:
                allowed[record_ids] = True
        if filters is not None:
            allowed[:record_count] &= self._filter_mask(filters, record_count)
        allowed[:record_count] &= self._live
        mask: BoolArray = allowed[self._slot_record[: self.slot_count]]
        return mask

    def _reader_array(self, principal: str) -> IntArray | None:
        cached = self._reader_arrays.get(principal)
        if cached is not None:
            return cached
        readers = self._readers.get(principal)
        if not readers:
            return None
        array = np.fromiter(readers, dtype=np.int64, count=len(readers))
        self._reader_arrays[principal] = array
        return array

    def _filter_mask(self, filters: SearchFilters, record_count: int) -> BoolArray:
        mask = np.ones(record_count, dtype=np.bool_)
        for values, column in (
            (filters.connector_ids, self._connector),
            (filters.record_types, self._record_type),
            (filters.record_group_ids, self._record_group),
        ):
            if values is not None:
                codes = [self._codes[v] for v in values if v in self._codes]
                mask &= np.isin(column[:record_count], np.asarray(codes, dtype=np.int32))
        if filters.updated_after is not None:
            mask &= self._updated_at[:record_count] >= filters.updated_after
        if filters.updated_before is not None:
            mask &= self._updated_at[:record_count] < filters.updated_before
        return mask

    def record_count(self) -> int:
        return len(self._record_ids)
