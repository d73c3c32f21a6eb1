"""A worker process for the crash test: `python -m tests.indexing.worker.kill_target <dir>` serves the
store, index and files under <dir> until it is killed."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from headwater.config.crypto import SecretBox
from headwater.config.registry import create_config_store
from headwater.events.store_log import StoreEventLog
from headwater.indexing.index.registry import open_search_index
from headwater.indexing.parsing.base import ParseLimits
from headwater.indexing.sources import ConnectorPool, ContentFetcher
from headwater.indexing.worker import IndexingWorker, WorkerOptions
from headwater.store.registry import open_store

from .doubles import FlakyEmbedder
from .helpers import LOG, MemConnector

LEASE_MS = 1000


async def main(root: Path) -> None:
    MemConnector.ROOT = root / "files"
    store = open_store(f"sqlite:///{root / 'headwater.db'}")
    config = create_config_store(f"sqlite:///{root / 'config.db'}", SecretBox.generate())
    await config.connect()
    embedder = FlakyEmbedder()
    index = open_search_index(f"embedded://{root / 'index'}", embedder.dimensions)
    worker = IndexingWorker(
        store,
        StoreEventLog(store, lease_ms=LEASE_MS, poll_interval_s=0.01),
        index,
        embedder,
        ContentFetcher(ConnectorPool(store, config, logger=LOG)),
        options=WorkerOptions(idle_poll_s=0.02, parse_limits=ParseLimits(isolate=False)),
    )
    await worker.serve(asyncio.Event())  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
