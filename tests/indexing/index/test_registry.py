"""Choosing the index backend by URL; the embedded default never imports psycopg."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from headwater.errors import ConfigurationError
from headwater.indexing.index.embedded import EmbeddedSearchIndex
from headwater.indexing.index.registry import embedded_location, open_search_index
from headwater.settings import Settings

ROOT = Path(__file__).parents[3]


def test_the_default_url_opens_the_embedded_index_under_the_data_dir(tmp_path: Path) -> None:
    url = Settings(data_dir=tmp_path / "data").resolved_index_url
    assert url == f"embedded://{(tmp_path / 'data' / 'index').resolve()}"
    index = open_search_index(url, 8)
    try:
        assert isinstance(index, EmbeddedSearchIndex)
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
    assert embedded_location("embedded:///srv/my%20idx?hnsw_min_vectors=0&exact_max_allowed=5") == (
        Path("/srv/my idx"),
        {"hnsw_min_vectors": None, "exact_max_allowed": 5},
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
