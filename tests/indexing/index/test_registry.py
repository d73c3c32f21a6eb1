"""Choosing the index backend by URL; the embedded default never imports psycopg; one shared
embedded index object per directory per process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from headwater.errors import ConfigurationError
from headwater.indexing.index.embedded import EmbeddedSearchIndex
from headwater.indexing.index.registry import embedded_location, open_search_index
from headwater.indexing.index.shared import EmbeddedIndexHandle
from headwater.indexing.types import IndexedChunk, Location
from headwater.settings import Settings
from tests.indexing.index.helpers import make_record

ROOT = Path(__file__).parents[3]


def test_the_default_url_opens_the_embedded_index_under_the_data_dir(tmp_path: Path) -> None:
    url = Settings(data_dir=tmp_path / "data").resolved_index_url
    assert url == f"embedded://{(tmp_path / 'data' / 'index').resolve()}"
    index = open_search_index(url, 8)
    try:
        assert isinstance(index, EmbeddedIndexHandle)
        assert isinstance(index.embedded, EmbeddedSearchIndex)
        assert index.directory == (tmp_path / "data" / "index").resolve()
        assert (index.directory / "metadata.sqlite3").exists()
    finally:
        index.close()


def test_embedded_default_never_imports_psycopg(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from headwater.indexing.index.registry import open_search_index\n"
        f"index = open_search_index('embedded://{tmp_path}/index', 8)\n"
        "index.keyword_search('x', {'users/u'})\n"
        "index.close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'pgvector')))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "[]"


def test_embedded_url_options() -> None:
    assert embedded_location("embedded:///srv/idx") == (Path("/srv/idx"), {})
    assert embedded_location("embedded:///srv/my%20idx?ann_min_vectors=0&exact_max_allowed=5") == (
        Path("/srv/my idx"),
        {"ann_min_vectors": None, "exact_max_allowed": 5},
    )
    # the name from before the IVF index replaced the HNSW graph still works
    assert embedded_location("embedded:///srv/idx?hnsw_min_vectors=1000") == (
        Path("/srv/idx"),
        {"ann_min_vectors": 1000},
    )
    for bad in (
        "embedded://relative/dir",
        "embedded:///",
        "embedded:///x?colour=blue",
        "embedded:///x?exact_max_allowed=many",
    ):
        with pytest.raises(ConfigurationError):
            embedded_location(bad)
    with pytest.raises(ConfigurationError, match="unknown search index URL scheme"):
        open_search_index("redis://localhost/0", 8)


def test_postgres_dimension_mismatch_is_refused(pgvector_url: str) -> None:
    open_search_index(pgvector_url, 16).close()
    with pytest.raises(ConfigurationError, match="16-dimensional"):
        open_search_index(pgvector_url, 384)


def _one_chunk_record(key: str, principal: str, seed: int) -> tuple:  # type: ignore[type-arg]
    vector = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
    record = make_record(key, frozenset({principal}))
    return record, [IndexedChunk(0, f"{key} shared words", vector / np.linalg.norm(vector), Location())]


def test_two_opens_in_one_process_share_one_index(tmp_path: Path) -> None:
    url = f"embedded://{tmp_path / 'index'}"
    api, worker = open_search_index(url, 8), open_search_index(url, 8)
    assert isinstance(api, EmbeddedIndexHandle)
    assert isinstance(worker, EmbeddedIndexHandle)
    assert api.embedded is worker.embedded
    # each sees the other's writes at once, in keyword and vector search alike
    record, chunks = _one_chunk_record("r1", "users/a", 1)
    worker.replace_records([(record, chunks)])
    assert [h.record_key for h in api.keyword_search("shared", {"users/a"})] == ["r1"]
    assert [h.record_key for h in api.vector_search(chunks[0].vector, {"users/a"}, k=1)] == ["r1"]
    record, chunks = _one_chunk_record("r2", "users/a", 2)
    api.replace_records([(record, chunks)])
    assert worker.record_keys() == {"r1", "r2"}
    assert worker.set_principals("r1", {"users/b"})
    assert [h.record_key for h in api.keyword_search("shared", {"users/a"})] == ["r2"]

    # closing one handle (twice, carelessly) leaves the other working, writes included
    shared = api.embedded
    api.close()
    api.close()
    with pytest.raises(RuntimeError, match="closed"):
        api.keyword_search("shared", {"users/a"})
    record, chunks = _one_chunk_record("r3", "users/a", 3)
    worker.replace_records([(record, chunks)])
    assert {h.record_key for h in worker.keyword_search("shared", {"users/a"})} == {"r2", "r3"}

    # the last close really closes: tantivy's writer lock is free for a new object
    worker.close()
    with pytest.raises(RuntimeError, match="closed"):
        shared.delete_records(["r1"])
    fresh = EmbeddedSearchIndex(tmp_path / "index", 8)
    try:
        assert fresh.record_keys() == {"r1", "r2", "r3"}
        fresh.delete_records(["r3"])  # writing needs the writer lock the shared object held
    finally:
        fresh.close()
    reopened = open_search_index(url, 8)
    try:
        assert isinstance(reopened, EmbeddedIndexHandle)
        assert reopened.embedded is not shared
        assert reopened.record_keys() == {"r1", "r2"}
    finally:
        reopened.close()


def test_concurrent_first_opens_make_one_index(tmp_path: Path) -> None:
    url = f"embedded://{tmp_path / 'index'}"
    handles: list[EmbeddedIndexHandle] = []
    lock = threading.Lock()

    def opener() -> None:
        handle = open_search_index(url, 8)
        assert isinstance(handle, EmbeddedIndexHandle)
        with lock:
            handles.append(handle)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(handles) == 6
        assert len({id(h.embedded) for h in handles}) == 1
    finally:
        for handle in handles:
            handle.close()


def test_a_second_open_with_other_settings_is_refused(tmp_path: Path) -> None:
    url = f"embedded://{tmp_path / 'index'}"
    index = open_search_index(url, 8)
    try:
        with pytest.raises(ConfigurationError, match="8-dimensional"):
            open_search_index(url, 16)
        with pytest.raises(ConfigurationError, match="already open in this process"):
            open_search_index(f"{url}?exact_max_allowed=5", 8)
        index.keyword_search("x", {"users/u"})  # the refusals took no reference and broke nothing
    finally:
        index.close()
