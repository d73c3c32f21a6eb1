"""Graph store backends by URL scheme."""

from __future__ import annotations

from headwater.backends import load_backend
from headwater.store.base import GraphStore

STORE_BACKENDS = {
    "sqlite": "headwater.store.sqlite:SqliteGraphStore",
    "postgresql": "headwater.store.postgres:PostgresGraphStore",
    "postgres": "headwater.store.postgres:PostgresGraphStore",
}


def create_store(url: str) -> GraphStore:
    """A graph store for `url`, not yet connected."""
    cls = load_backend("graph store", STORE_BACKENDS, url)
    store: GraphStore = cls(url)
    return store


def open_store(url: str) -> GraphStore:
    """A connected graph store for `url`, its schema created if needed."""
    store = create_store(url)
    store.connect()
    return store
