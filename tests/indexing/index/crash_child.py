"""A process that writes the embedded index and dies mid-write; the operations it runs, as a model.

    python crash_child.py URL points CRASH_POINT   batches 0..3, then dies in batch 4 at CRASH_POINT
    python crash_child.py URL loop START           batches START, START+1, ... until killed,
                                                   printing "batch N" after each

Batch n adds record r{n} (readable by one group), narrows r{n-1} to another group, shrinks r{n-2}
to one chunk, and deletes r{n-3} every third batch: additions, narrowing, surplus chunks and
deletions all in one commit. `model_after(n)` is what the index must hold after batch n.
"""

from __future__ import annotations

import hashlib
import os
import sys
from typing import Any

import numpy as np

DIMENSIONS = 16
GROUPS = ["groups/g0", "groups/g1", "groups/g2"]
NARROW = "groups/narrow"
ALL_PRINCIPALS = frozenset([*GROUPS, NARROW])
SETUP_BATCHES = 4

# key -> (principals, chunk texts)
Model = dict[str, tuple[frozenset[str], list[str]]]


def vector_for(text: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
    v = np.random.default_rng(seed).standard_normal(DIMENSIONS).astype(np.float32)
    return v / np.linalg.norm(v)


def operations(n: int) -> list[tuple[Any, ...]]:
    ops: list[tuple[Any, ...]] = [
        ("replace", f"r{n}", frozenset({GROUPS[n % 3]}), [f"alpha{n} body", f"beta{n} tail"])
    ]
    if n >= 1:
        ops.append(("principals", f"r{n - 1}", frozenset({NARROW})))
    if n >= 2:
        ops.append(("shrink", f"r{n - 2}", [f"gamma{n} short"]))
    if n >= 3 and n % 3 == 0:
        ops.append(("delete", f"r{n - 3}"))
    return ops


def model_after(n: int) -> Model:
    model: Model = {}
    for batch in range(n + 1):
        for op in operations(batch):
            kind, key = op[0], op[1]
            if kind == "replace":
                model[key] = (op[2], op[3])
            elif kind == "principals" and key in model:
                model[key] = (op[2], model[key][1])
            elif kind == "shrink" and key in model:
                model[key] = (model[key][0], op[2])
            elif kind == "delete":
                model.pop(key, None)
    return model


def tokens_up_to(n: int) -> list[str]:
    """Every distinctive word any batch up to n wrote."""
    return [f"{word}{batch}" for batch in range(n + 1) for word in ("alpha", "beta", "gamma")]


def run_batch(index: Any, n: int) -> None:
    from headwater.indexing.types import IndexedChunk, IndexedRecord

    def record(key: str, principals: frozenset[str]) -> IndexedRecord:
        return IndexedRecord(key, "org", "conn", "FILE", key, principals, "hash")

    def chunks(texts: list[str]) -> list[IndexedChunk]:
        return [IndexedChunk(i, text, vector_for(text)) for i, text in enumerate(texts)]

    with index.batch():
        for op in operations(n):
            kind, key = op[0], op[1]
            if kind == "replace":
                index.replace_record(record(key, op[2]), chunks(op[3]))
            elif kind == "principals":
                index.set_principals(key, op[2])
            elif kind == "shrink":
                current = index.get_record(key)
                if current is not None:
                    index.replace_record(current, chunks(op[2]))
            elif kind == "delete":
                index.delete_records([key])


def _die(*_: Any, **__: Any) -> None:
    os._exit(77)


CRASH_POINTS = {
    # (module, class, method) patched to kill the process when called
    "vectors_written": ("headwater.indexing.index.metadata", "IndexMetadata", "set_next_slot"),
    "metadata_committed": ("headwater.indexing.index.access", "AccessMap", "extend_slots"),
    "keyword_staged": ("headwater.indexing.index.keyword", "KeywordIndex", "commit"),
    "keyword_committed": ("headwater.indexing.index.metadata", "IndexMetadata", "clear_journal"),
}


def main() -> None:
    import importlib

    from headwater.indexing.index.registry import open_search_index

    url, mode = sys.argv[1], sys.argv[2]
    index = open_search_index(url, DIMENSIONS)
    if mode == "points":
        for n in range(SETUP_BATCHES):
            run_batch(index, n)
        module, cls, method = CRASH_POINTS[sys.argv[3]]
        setattr(getattr(importlib.import_module(module), cls), method, _die)
        run_batch(index, SETUP_BATCHES)
        print("batch finished without crashing", flush=True)
        return
    n = int(sys.argv[3])
    while True:
        run_batch(index, n)
        print(f"batch {n}", flush=True)
        n += 1


if __name__ == "__main__":
    main()
