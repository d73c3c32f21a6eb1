"""Fixtures: an index URL of every backend, an opener that reopens it, and small unit vectors.

`index_url` runs each contract test against: the embedded index (exact vector search), the
embedded index with its IVF index forced on for every search, and PostgreSQL with pgvector (one
private server per test session, a fresh schema per test).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from headwater.indexing.index.base import SearchIndex
from headwater.indexing.index.registry import open_search_index
from tests.indexing.index.helpers import DIMENSIONS, Vectors
from tests.indexing.index.pgvector_server import start_pgvector_server

IndexOpener = Callable[[], SearchIndex]


@pytest.fixture(scope="session")
def pgvector_base_url() -> Iterator[str]:
    server = start_pgvector_server()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def pgvector_url(pgvector_base_url: str) -> Iterator[str]:
    import psycopg

    schema = f"hw_index_{uuid.uuid4().hex[:12]}"
    yield f"{pgvector_base_url}&schema={schema}"
    with psycopg.connect(pgvector_base_url, autocommit=True) as admin:
        admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["embedded", "embedded-ivf", "postgres"])
def index_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgres":
        url: str = request.getfixturevalue("pgvector_url")
        return url
    options = "?ann_min_vectors=1&exact_max_allowed=0" if request.param == "embedded-ivf" else ""
    return f"embedded://{tmp_path / 'index'}{options}"


@pytest.fixture
def open_index(index_url: str) -> Iterator[IndexOpener]:
    """Opens the test's index (again, after a close: same directory or schema); closes all at the end."""
    opened: list[SearchIndex] = []

    def opener() -> SearchIndex:
        index = open_search_index(index_url, DIMENSIONS)
        opened.append(index)
        return index

    yield opener
    for index in opened:
        index.close()


@pytest.fixture
def index(open_index: IndexOpener) -> SearchIndex:
    return open_index()


@pytest.fixture
def vectors() -> Vectors:
    return Vectors()
