"""`run_indexing_worker(settings, stop)` opens what the settings name, indexes, and stops when told."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from headwater.indexing.index.registry import open_search_index
from headwater.indexing.runner import run_indexing_worker
from headwater.indexing.worker import WorkerOptions
from headwater.settings import Settings

from .doubles import DictSearchIndex, FlakyEmbedder
from .helpers import ALICE, doc, grant, make_env, run


def test_the_worker_runs_from_settings_until_stopped(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    env = make_env(tmp_path, DictSearchIndex(), FlakyEmbedder())  # the same store file the settings name
    assert env.store.url == settings.resolved_store_url
    env.put("a.txt", "the lighthouse log")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    embedder = FlakyEmbedder()

    async def go() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(
            run_indexing_worker(settings, stop, embedder=embedder, options=WorkerOptions(idle_poll_s=0.02))
        )
        deadline = time.monotonic() + 30
        while env.status("a.txt")[0] != "COMPLETED":
            assert time.monotonic() < deadline, env.status("a.txt")
            assert not worker.done(), worker
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(worker, 30)

    run(go())
    index = open_search_index(settings.resolved_index_url, embedder.dimensions)  # closed by the worker
    try:
        assert index.record_keys() == {env.key("a.txt")}
    finally:
        index.close()
        run(env.config.close())
        env.store.close()
