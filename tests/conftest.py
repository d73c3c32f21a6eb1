"""Shared fixtures: a fresh PostgreSQL schema per test, and a graph store of every backend.

PostgreSQL is the machine's server (127.0.0.1:5432, database `test`, trust auth) unless
HEADWATER_TEST_POSTGRES_URL names another. Tests that need it fail, never skip, when it is down:
`scripts/test` starts it first.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.store.base import GraphStore
from headwater.store.registry import open_store

PG_BASE_URL = os.environ.get("HEADWATER_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose `schema` parameter names a fresh, empty schema, dropped afterwards."""
    import psycopg

    schema = f"hw_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_BASE_URL, autocommit=True)
    except psycopg.OperationalError as exc:  # pragma: no cover - environment problem
        pytest.fail(f"PostgreSQL at {PG_BASE_URL} is not reachable ({exc}); start it (scripts/test does)")
    try:
        yield f"{PG_BASE_URL}?schema={schema}"
    finally:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'headwater.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[GraphStore]:
    s = open_store(store_url)
    try:
        yield s
    finally:
        s.close()
