"""Running the indexing worker in a CLI test, the way `headwater serve` would, until it is idle."""

from __future__ import annotations

import asyncio
import time

from headwater.events.base import RECORDS_CONSUMER_GROUP
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.runner import run_indexing_worker
from headwater.indexing.status import indexing_status_counts
from headwater.indexing.sweeper import store_backlog_probe
from headwater.settings import Settings
from headwater.store.registry import open_store


def index_until_idle(settings: Settings, index: SearchIndex, timeout_s: float = 60.0) -> None:
    """Run the indexing worker until nothing is queued and every record event is consumed."""

    async def work() -> None:
        stop = asyncio.Event()
        worker = asyncio.create_task(
            run_indexing_worker(settings, stop, index=index, embedder=HashingEmbedder())
        )
        store = open_store(settings.resolved_store_url)
        probe = store_backlog_probe(RECORDS_CONSUMER_GROUP)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                await asyncio.sleep(0.1)
                assert not worker.done(), "the indexing worker stopped early"
                counts = indexing_status_counts(store)
                with store.read() as tx:
                    backlog = probe(tx)
                if not counts.get("QUEUED") and not counts.get("IN_PROGRESS") and not backlog:
                    return
                assert time.monotonic() < deadline, f"indexing did not finish: {counts}"
        finally:
            stop.set()
            await asyncio.gather(worker, return_exceptions=True)
            store.close()

    asyncio.run(work())
