"""Scenario tests run on SQLite (fast); the contract test also runs on PostgreSQL (`store`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.store.base import GraphStore
from headwater.store.registry import open_store

from .helpers import World, seed


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[GraphStore]:
    store = open_store(f"sqlite:///{tmp_path / 'graph.db'}")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def world(tmp_path: Path, sqlite_store: GraphStore) -> World:
    """The seeded tree (see `seed`) under tmp_path/root, synced by nobody yet."""
    root = tmp_path / "root"
    root.mkdir()
    seed(root)
    return World(sqlite_store, [root])
