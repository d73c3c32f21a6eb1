"""An inverted-file (IVF) index over the vector slots, for allowed sets too large to scan exactly in time.

At 1,000,000 chunks a user who may read half of them makes an exact scan cost ~40-70 ms on 2 cores;
a faiss IVF index searched with the same bitmap selector answers in ~4 ms. It is only an accelerator:

- the slots are split into `nlist` ~ sqrt(n) clusters (k-means on a sample); a search scores only
  the allowed slots of the `nprobe` clusters nearest to the query (see `probe_count`), with vectors
  stored as short codes (1/32 of the float32 bytes: product quantisation); its candidates
  are then re-scored with the exact float32 vectors from the vector file, so scores equal the exact
  path's and only recall can differ (measured in bench/search.py against an exact scan);
- training and adding run in a background thread: the indexing writer never waits. Only appending
  codes to the lists takes the lock, the expensive cluster assignment happens before it;
- it covers slots 0..covered-1; a search asks it for that prefix and scans the newer slots
  exactly, so nothing committed is ever missing from results;
- when the index has grown `RETRAIN_GROWTH` times since training, a new one (more clusters,
  trained on the current data) is built beside it and swapped in;
- deleted and replaced slots stay in the lists and are excluded by the selector;
- it is saved on close and loaded (in the background) on open; an unreadable, mismatched or
  too-long file (more entries than committed slots: metadata lost to a power failure) is dropped
  and rebuilt.

If a search yields fewer hits than it asked for while the allowed set holds more (the user's
chunks all sit far from the query, outside the probed clusters), the caller scans exactly.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from headwater.indexing.index.access import BoolArray, IntArray
from headwater.indexing.index.rwlock import ReadWriteLock
from headwater.indexing.index.vectors import FloatMatrix, FloatVector, exact_search, top_k

log = logging.getLogger(__name__)

MAX_LISTS = 4096
TRAINING_POINTS_PER_LIST = 64  # k-means sample: 64 x nlist rows (65,536 at 1,000,000 slots)
# Lists probed: nlist / 5, at least 16, for a reader of half the chunks (recall@10 0.96 on real
# MiniLM sentence embeddings, 20,000 of them in 141 lists: `bench/search.py --real-recall 20000`;
# nlist / 8 gave 0.91); a sparser allowed set probes up to 8x more, so that about as many allowed
# vectors are scored (the selector skips the others cheaply)
PROBE_FRACTION = 5
MIN_PROBES = 16
MAX_SPARSE_FACTOR = 8
RETRAIN_GROWTH = 4  # retrain once the slots have grown 4x since training
# Codes: one byte per 8 dimensions (product quantisation, 48 bytes for MiniLM's 384): a search at
# 1,000,000 slots scans 200 lists in ~4 ms, against ~10 ms for 8-bit scalar codes (384 bytes), with
# the same recall once enough candidates are re-scored exactly. PQ needs ~10,000 rows to train.
PQ_DIMS_PER_CODE = 8
PQ_MIN_TRAINING_ROWS = 10_000
# candidates taken from the codes and re-scored with the exact vectors (at least 4 k): the codes'
# error is larger than the gaps between close neighbours (200 gave recall 0.895 on the bench's
# 1,000,000 clustered vectors, 500 gave 1.000, for ~0.5 ms more)
RESCORED = 500
ADD_BLOCK_ROWS = 16_384  # rows assigned per step (outside the lock) and appended per lock hold


def _new_index(dimensions: int, lists: int, training_rows: int) -> Any:
    """An untrained IVF index: product-quantised codes where there is enough to train them on,
    8-bit scalar codes otherwise (small indexes, and tests)."""
    quantizer = faiss.IndexFlatIP(dimensions)  # kept alive by the index's Python wrapper
    index: Any
    if training_rows >= PQ_MIN_TRAINING_ROWS and dimensions % PQ_DIMS_PER_CODE == 0:
        index = faiss.IndexIVFPQ(
            quantizer, dimensions, lists, dimensions // PQ_DIMS_PER_CODE, 8, faiss.METRIC_INNER_PRODUCT
        )
    else:
        index = faiss.IndexIVFScalarQuantizer(
            quantizer,
            dimensions,
            lists,
            faiss.ScalarQuantizer.QT_8bit,  # type: ignore[arg-type]
            faiss.METRIC_INNER_PRODUCT,
        )
    index.cp.spherical = True  # unit vectors: centroids on the sphere suit inner product
    index.cp.min_points_per_centroid = 1  # small indexes (tests) train on what there is
    return index


def list_count(rows: int) -> int:
    return max(1, min(MAX_LISTS, int(math.sqrt(rows)), rows))


def probe_count(lists: int, allowed_fraction: float = 0.5) -> int:
    sparse = min(MAX_SPARSE_FACTOR, max(1, round(0.5 / max(allowed_fraction, 1e-9))))
    return min(lists, sparse * max(MIN_PROBES, lists // PROBE_FRACTION))


class IvfVectors:
    def __init__(self, path: Path, dimensions: int, view: Callable[[int], FloatMatrix]) -> None:
        self.path = path
        self.dimensions = dimensions
        self._view = view  # rows 0..n-1 of the vector file
        self._lock = ReadWriteLock()  # read: a search; write: appending codes, swapping the index
        self._index: Any = None  # faiss.IndexIVFScalarQuantizer once trained
        self._trained_on = 0  # slots that existed when the current index was trained
        self._target = 0  # slots the background thread should cover
        self._wake = threading.Condition()
        self._stopping = False
        self._failed = False
        self._thread: threading.Thread | None = None
        self._dirty = False

    @property
    def covered(self) -> int:
        index = self._index
        return 0 if index is None else int(index.ntotal)

    def start(self, slot_count: int) -> None:
        """In the background: load the saved index if it fits `slot_count` committed slots (hundreds
        of MB at a million slots: opening the search index does not wait), then keep it caught up."""
        self._thread = threading.Thread(
            target=self._maintain, args=(slot_count,), name="ivf-vectors", daemon=True
        )
        self._thread.start()

    def extend(self, slot_count: int) -> None:
        """Committed slots now run to `slot_count`: cover the new ones in the background."""
        with self._wake:
            self._target = max(self._target, slot_count)
            self._wake.notify()

    def wait_covered(self, slot_count: int, timeout_s: float = 60.0) -> bool:
        """Block until the index covers `slot_count` slots and no retraining is due."""
        with self._wake:
            return self._wake.wait_for(
                lambda: self._stopping or self._failed or self._covers(slot_count), timeout_s
            )

    def _covers(self, slot_count: int) -> bool:
        return self.covered >= slot_count and not self._retrain_due()

    def _retrain_due(self) -> bool:
        if self._target == 0:
            return False
        return self._index is None or self._target >= RETRAIN_GROWTH * self._trained_on

    def _maintain(self, slot_count: int) -> None:
        loaded = self._load(slot_count)
        with self._wake:
            if loaded is not None:
                self._index = loaded
                self._trained_on = max(1, int(loaded.nlist) ** 2)  # the size `list_count` was sized for
            self._target = max(self._target, slot_count)
            self._wake.notify_all()
        while True:
            with self._wake:
                self._wake.wait_for(
                    lambda: self._stopping or self._target > self.covered or self._retrain_due()
                )
                if self._stopping:
                    return
                target = self._target
            try:
                if self._retrain_due():
                    self._rebuild(target)
                else:
                    self._append(self._index, target, locked=True)
            except Exception:  # a failure must not kill searches: they scan exactly instead
                log.exception("building the IVF vector index failed; vector searches scan exactly")
                with self._wake:
                    self._failed = True
                    self._wake.notify_all()
                return
            with self._wake:
                self._wake.notify_all()

    def _rebuild(self, target: int) -> None:
        """Train a new index on a sample of slots 0..target-1, fill it, and swap it in."""
        lists = list_count(target)
        rng = np.random.default_rng(target)
        sample_size = min(target, max(TRAINING_POINTS_PER_LIST * lists, PQ_MIN_TRAINING_ROWS))
        picked = np.sort(rng.choice(target, size=sample_size, replace=False))
        sample = np.ascontiguousarray(self._view(target)[picked], dtype=np.float32)
        index = _new_index(self.dimensions, lists, sample_size)
        index.train(sample)
        self._append(index, target, locked=False)
        with self._lock.writing():
            self._index = index
            self._trained_on = target
        self._dirty = True

    def _append(self, index: Any, target: int, *, locked: bool) -> None:
        """Add slots index.ntotal..target-1: assign clusters outside the lock, append under it."""
        while index.ntotal < target and not self._stopping:
            start = int(index.ntotal)
            rows = np.ascontiguousarray(self._view(target)[start : min(target, start + ADD_BLOCK_ROWS)])
            _, assigned = index.quantizer.search(rows, 1)
            ids = np.arange(start, start + len(rows), dtype=np.int64)
            assigned = np.ascontiguousarray(assigned[:, 0], dtype=np.int64)
            if locked:
                with self._lock.writing():
                    self._add_core(index, rows, ids, assigned)
                self._dirty = True
            else:
                self._add_core(index, rows, ids, assigned)

    @staticmethod
    def _add_core(index: Any, rows: FloatMatrix, ids: IntArray, assigned: IntArray) -> None:
        index.add_core(len(rows), faiss.swig_ptr(rows), faiss.swig_ptr(ids), faiss.swig_ptr(assigned))

    def search(
        self, matrix: FloatMatrix, query: FloatVector, allowed: BoolArray, k: int
    ) -> tuple[IntArray, FloatVector] | None:
        """Best k allowed slots, or None when there is no usable index or it found fewer than it
        should have (the caller scans exactly)."""
        with self._lock.reading():
            index = self._index
            covered = 0 if index is None else int(index.ntotal)
            if index is None or covered == 0:
                return None
            in_index = allowed[:covered]
            allowed_in_index = int(np.count_nonzero(in_index))
            if allowed_in_index == 0:
                return None
            candidates = min(allowed_in_index, max(4 * k, RESCORED))
            bitmap = np.packbits(in_index, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))
            params = faiss.SearchParametersIVF()
            params.sel = selector
            params.nprobe = probe_count(int(index.nlist), allowed_in_index / covered)
            _, labels = index.search(query.reshape(1, -1), candidates, params=params)
        found = np.sort(labels[0][labels[0] >= 0])
        if len(found) < min(k, allowed_in_index):
            return None
        # re-score exactly, and scan the slots committed after the index's last add
        scores = np.asarray(matrix[found] @ query, dtype=np.float32)
        tail_slots, tail_scores = exact_search(matrix[covered:], query, allowed[covered:], k)
        slots = np.concatenate([found, tail_slots + covered])
        return top_k(slots, np.concatenate([scores, tail_scores]), k)

    def _load(self, slot_count: int) -> Any:
        if not self.path.exists():
            return None
        try:
            index = faiss.read_index(str(self.path))
        except RuntimeError:
            log.warning("the IVF vector index %s is unreadable; rebuilding it", self.path)
            return None
        if index.d != self.dimensions or index.ntotal > slot_count or not hasattr(index, "nlist"):
            log.warning("the IVF vector index %s does not match the index; rebuilding it", self.path)
            return None
        return index

    def close(self, save: bool = True) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join()
        if save and self._dirty and self._index is not None:
            # written beside and renamed, so a crash mid-save leaves the previous file
            partial = self.path.with_suffix(".partial")
            faiss.write_index(self._index, str(partial))
            partial.replace(self.path)
        self._index = None
