"""Embedders for tests of the parts around embedding (worker, index, search, API).

`HashingEmbedder` exists for test and CI speed: it needs no torch, loads in no time and gives the
same vectors on every machine. It is NOT a stand-in for the real model's quality: it knows words, not
meaning (a paraphrase with other words scores 0), so tests of relevance that depend on semantics must
use the local model. What it does guarantee is what the seam promises: float32 rows of unit length in
input order, deterministic across processes, and texts that share words score higher than texts that
share none (up to rare hash collisions), which is enough for indexing and hybrid-search tests to assert
real rankings.

`CountingEmbedder` wraps any embedder and records what it was asked to embed, so a test can say
"a permission-only change re-embeds nothing" (`counter.texts_embedded == 0`).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from headwater.indexing.embeddings.base import Embedder

_WORD = re.compile(r"\w+")


class HashingEmbedder(Embedder):
    """Feature hashing of lower-cased word tokens into `dimensions` signed buckets, then normalised.

    Each word adds +1 or -1 (a second hash bit chooses) to one bucket chosen by BLAKE2b of the word,
    so collisions cancel out on average instead of piling up. A text without words gets a zero row.
    """

    def __init__(self, dimensions: int = 384, *, model_name: str | None = None) -> None:
        if dimensions < 2:
            raise ValueError("dimensions must be at least 2")
        self.dimensions = dimensions
        # Part of the model name, so an index built with one size is never mixed with another.
        self.model_name = model_name or f"test-hashing-{dimensions}"

    def _slot(self, word: str) -> tuple[int, float]:
        digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
        return (digest >> 1) % self.dimensions, 1.0 if digest & 1 else -1.0

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                slot, sign = self._slot(word)
                out[row, slot] += sign
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def embed_query(self, text: str) -> NDArray[np.float32]:
        vector: NDArray[np.float32] = self.embed_documents([text])[0]
        return vector


class CountingEmbedder(Embedder):
    """Wraps an embedder (a `HashingEmbedder` by default) and counts what passes through.

    `calls`: embed_documents calls; `texts`: every document text in order; `texts_embedded`: their
    number; `queries`: every embed_query text. `reset()` starts counting again (after a first sync).
    """

    def __init__(self, inner: Embedder | None = None) -> None:
        self.inner = inner or HashingEmbedder()
        self.model_name = self.inner.model_name
        self.calls = 0
        self.texts: list[str] = []
        self.queries: list[str] = []
        self._lock = threading.Lock()  # the worker may embed from several threads

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    @dimensions.setter
    def dimensions(self, value: int) -> None:
        self.inner.dimensions = value

    @property
    def texts_embedded(self) -> int:
        return len(self.texts)

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        with self._lock:
            self.calls += 1
            self.texts.extend(texts)
        vectors: NDArray[np.float32] = self.inner.embed_documents(texts)
        return vectors

    def embed_query(self, text: str) -> NDArray[np.float32]:
        with self._lock:
            self.queries.append(text)
        vector: NDArray[np.float32] = self.inner.embed_query(text)
        return vector

    def reset(self) -> None:
        with self._lock:
            self.calls = 0
            self.texts.clear()
            self.queries.clear()

    def close(self) -> None:
        self.inner.close()
