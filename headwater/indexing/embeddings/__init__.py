"""Text -> vectors. See `base.py` (the seam), `registry.py` (choosing a backend by URL), `local.py`
(the offline default), `openai.py` (any OpenAI-compatible endpoint), `testing.py` (for tests).

Importing this package never imports torch or httpx-based backends; `open_embedder` imports only the
backend its URL names."""

from headwater.indexing.embeddings.base import Embedder
from headwater.indexing.embeddings.registry import open_embedder

__all__ = ["Embedder", "open_embedder"]
