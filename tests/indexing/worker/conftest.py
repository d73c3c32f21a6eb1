"""Fixtures: a worker environment over test doubles (`env`), or over the real embedded index (`real_env`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.indexing.index.registry import open_search_index

from .doubles import DictSearchIndex, FlakyEmbedder
from .helpers import Env, make_env, run


def _close(env: Env) -> None:
    env.index.close()
    run(env.config.close())
    env.store.close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(tmp_path, DictSearchIndex(), FlakyEmbedder())
    try:
        yield e
    finally:
        _close(e)


@pytest.fixture
def real_env(tmp_path: Path) -> Iterator[Env]:
    embedder = FlakyEmbedder()
    index = open_search_index(f"embedded://{tmp_path / 'index'}", embedder.dimensions)
    e = make_env(tmp_path, index, embedder)
    try:
        yield e
    finally:
        _close(e)
