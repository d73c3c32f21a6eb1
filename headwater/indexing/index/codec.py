"""How index backends store the record-level facts and chunk locations, and check what they are given.

Both backends keep an `IndexedRecord` as one JSON document (plus the columns they filter on) so a
field added to `IndexedRecord` later needs no schema change.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import fields
from typing import Any

import numpy as np
import orjson

from headwater.indexing.types import IndexedChunk, IndexedRecord, Location

_RECORD_FIELDS = tuple(f.name for f in fields(IndexedRecord))


def record_to_json(record: IndexedRecord) -> str:
    doc: dict[str, Any] = {name: getattr(record, name) for name in _RECORD_FIELDS}
    doc["principals"] = sorted(record.principals)
    return orjson.dumps(doc).decode()


def record_from_json(text: str | bytes) -> IndexedRecord:
    doc = orjson.loads(text)
    doc["principals"] = frozenset(doc.get("principals") or ())
    return IndexedRecord(**{k: v for k, v in doc.items() if k in _RECORD_FIELDS})


def location_to_json(location: Location) -> str:
    return orjson.dumps(location.as_dict()).decode()


def location_from_json(text: str | bytes | None) -> Location:
    return Location.from_dict(orjson.loads(text) if text else None)


def clean_principals(principals: Collection[str]) -> frozenset[str]:
    """The principal set as stored; a bare string would be read as its characters, so it is refused."""
    if isinstance(principals, str):
        raise TypeError("principals must be a collection of principal ids, not one string")
    return frozenset(p for p in principals if p)


def vector_matrix(chunks: Sequence[IndexedChunk], dimensions: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """The chunks' vectors as one contiguous float32 matrix, checked for shape and finiteness.

    Vectors are stored as given (the embedder returns unit vectors); a wrong length or a NaN is a
    caller bug that would silently poison every inner product, so it fails here.
    """
    ordinals = [c.ordinal for c in chunks]
    if len(set(ordinals)) != len(ordinals):
        raise ValueError(f"duplicate chunk ordinals {sorted(ordinals)}")
    if not chunks:
        return np.zeros((0, dimensions), dtype=np.float32)
    matrix = np.ascontiguousarray(np.stack([np.asarray(c.vector, dtype=np.float32) for c in chunks]))
    if matrix.ndim != 2 or matrix.shape[1] != dimensions:
        raise ValueError(f"chunk vectors must have {dimensions} dimensions, got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("chunk vectors contain NaN or infinity")
    return matrix


def query_vector(vector: Any, dimensions: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    query = np.ascontiguousarray(np.asarray(vector, dtype=np.float32).reshape(-1))
    if query.shape[0] != dimensions:
        raise ValueError(f"query vector must have {dimensions} dimensions, got {query.shape[0]}")
    return query
