"""Test data for the index tests: deterministic unit vectors, records and chunks."""

from __future__ import annotations

import numpy as np

from headwater.indexing.types import IndexedChunk, IndexedRecord, Location

DIMENSIONS = 16


class Vectors:
    """Deterministic random unit vectors."""

    def __init__(self, seed: int = 7) -> None:
        self._rng = np.random.default_rng(seed)

    def one(self) -> np.ndarray:
        v = self._rng.standard_normal(DIMENSIONS).astype(np.float32)
        return v / np.linalg.norm(v)

    def near(self, vector: np.ndarray, noise: float = 0.05) -> np.ndarray:
        v = vector + noise * self._rng.standard_normal(DIMENSIONS).astype(np.float32)
        return (v / np.linalg.norm(v)).astype(np.float32)


def make_record(
    key: str,
    principals: set[str] | frozenset[str],
    *,
    name: str = "Untitled",
    connector_id: str = "conn-a",
    record_type: str = "FILE",
    record_group_id: str | None = "drive-1",
    updated_at: int = 1_700_000_000_000,
    content_hash: str = "hash-1",
) -> IndexedRecord:
    return IndexedRecord(
        record_key=key,
        org_id="org-1",
        connector_id=connector_id,
        record_type=record_type,
        record_name=name,
        principals=frozenset(principals),
        content_hash=content_hash,
        record_group_id=record_group_id,
        connector_name="LOCAL_FILESYSTEM",
        web_url=f"https://example.test/{key}",
        mime_type="text/plain",
        updated_at=updated_at,
    )


def make_chunks(vectors: Vectors, *texts: str, locations: list[Location] | None = None) -> list[IndexedChunk]:
    return [
        IndexedChunk(
            ordinal=i,
            text=text,
            vector=vectors.one(),
            location=locations[i] if locations else Location(line=i + 1),
        )
        for i, text in enumerate(texts)
    ]
