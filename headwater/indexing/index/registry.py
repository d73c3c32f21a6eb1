"""Search index backends by URL scheme (`HEADWATER_INDEX_URL`; `Settings.resolved_index_url`).

- `embedded:///absolute/directory[?ann_min_vectors=N&exact_max_allowed=N]` (default:
  `<data_dir>/index`): tantivy + a vector file + SQLite metadata, no server. `ann_min_vectors=0`
  turns the IVF index for large allowed sets off (`hnsw_min_vectors`, its name before the IVF index
  replaced the HNSW graph, is still read). Every open of one directory in a process shares one
  index object (shared.py); `close()` releases a reference.
- `postgresql://user@host:5432/db?schema=NAME`: PostgreSQL with pgvector and full-text search.

Backends are imported only when chosen, so the embedded default never imports psycopg.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from headwater.backends import load_backend
from headwater.errors import ConfigurationError
from headwater.indexing.index.base import SearchIndex

INDEX_BACKENDS = {
    "embedded": "headwater.indexing.index.embedded:EmbeddedSearchIndex",
    "postgresql": "headwater.indexing.index.postgres:PostgresSearchIndex",
    "postgres": "headwater.indexing.index.postgres:PostgresSearchIndex",
}

_EMBEDDED_OPTIONS = ("ann_min_vectors", "exact_max_allowed")
_OPTION_ALIASES = {"hnsw_min_vectors": "ann_min_vectors"}


def open_search_index(url: str, dimensions: int) -> SearchIndex:
    """An open search index for `url` holding `dimensions`-dimensional vectors, created if missing."""
    cls = load_backend("search index", INDEX_BACKENDS, url)
    if urlsplit(url).scheme != "embedded":
        index: SearchIndex = cls(url, dimensions)
        return index
    from headwater.indexing.index.shared import open_shared

    directory, options = embedded_location(url)
    return open_shared(directory, dimensions, options)


def embedded_location(url: str) -> tuple[Path, dict[str, int | None]]:
    """`embedded:///abs/dir?option=N` -> (directory, constructor options)."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if parts.netloc or not path.startswith("/") or path == "/":
        raise ConfigurationError(
            f"the embedded index URL {url!r} must name an absolute directory: embedded:///path/to/index"
        )
    options: dict[str, int | None] = {}
    for given, value in parse_qsl(parts.query, keep_blank_values=True):
        name = _OPTION_ALIASES.get(given, given)
        if name not in _EMBEDDED_OPTIONS:
            raise ConfigurationError(
                f"unknown option {name!r} in {url!r}; known: {', '.join(_EMBEDDED_OPTIONS)}"
            )
        try:
            number = int(value)
        except ValueError:
            raise ConfigurationError(
                f"option {given} in {url!r} must be a whole number, got {value!r}"
            ) from None
        options[name] = None if name == "ann_min_vectors" and number <= 0 else number
    return Path(path), options
