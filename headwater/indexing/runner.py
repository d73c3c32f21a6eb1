"""The indexing worker assembled from settings: what `headwater worker --role indexing` runs alone and
`headwater serve` runs beside the API and the sync worker.

    stop = asyncio.Event()
    await run_indexing_worker(settings, stop)    # returns once `stop` is set and in-flight work ended

Everything not passed in is opened from `settings` (the graph store, the config store, the event
log, the embedder, the search index) and closed on the way out; what the caller passes in (a
process that already holds the store, the index or the embedder) is used and left open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from headwater.config.base import ConfigStore
from headwater.connectors.core.factory import ConnectorFactory
from headwater.events.base import RECORDS_CONSUMER_GROUP, EventLog
from headwater.events.store_log import StoreEventLog
from headwater.indexing.embeddings.base import Embedder
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.sources import ConnectorPool, ContentFetcher
from headwater.indexing.sweeper import StrandedRecordSweeper, SweepOptions, store_backlog_probe
from headwater.indexing.worker import IndexingWorker, WorkerOptions
from headwater.settings import Settings
from headwater.store.base import GraphStore

if TYPE_CHECKING:  # pragma: no cover
    import httpx

log = logging.getLogger("headwater.indexing")


async def run_indexing_worker(
    settings: Settings,
    stop: asyncio.Event,
    *,
    store: GraphStore | None = None,
    config_store: ConfigStore | None = None,
    event_log: EventLog | None = None,
    index: SearchIndex | None = None,
    embedder: Embedder | None = None,
    http_client: httpx.AsyncClient | None = None,
    factory: Any = ConnectorFactory,
    options: WorkerOptions | None = None,
    sweep: SweepOptions | None = None,
    max_content_bytes: int | None = None,
) -> None:
    """Consume `record-events` and `entity-events` as a member of `records_consumer_group` until
    `stop` is set. `http_client` enables downloads from connectors' signed URLs; `factory` is where
    connector classes are found (entry points are discovered first)."""
    async with contextlib.AsyncExitStack() as owned:
        if store is None:
            from headwater.store.registry import open_store

            store = open_store(settings.resolved_store_url)
            owned.callback(store.close)
        if config_store is None:
            from headwater.config.registry import open_config_store

            config_store = await open_config_store(settings)
            owned.push_async_callback(config_store.close)
        if embedder is None:
            from headwater.indexing.embeddings.registry import open_embedder

            embedder = open_embedder(settings)
            owned.callback(embedder.close)
        if index is None:
            from headwater.indexing.index.registry import open_search_index

            index = open_search_index(settings.resolved_index_url, embedder.dimensions)
            owned.callback(index.close)
        if event_log is None:
            from headwater.events.registry import open_event_log

            event_log = open_event_log(settings, store)
            owned.callback(event_log.close)
        factory.discover()
        pool = ConnectorPool(store, config_store, factory)
        fetcher = ContentFetcher(pool, http_client=http_client)
        if max_content_bytes is not None:
            fetcher.max_bytes = max_content_bytes
        sweep = sweep or SweepOptions()
        probe = store_backlog_probe(RECORDS_CONSUMER_GROUP) if isinstance(event_log, StoreEventLog) else None
        worker = IndexingWorker(
            store,
            event_log,
            index,
            embedder,
            fetcher,
            options=options,
            sweeper=StrandedRecordSweeper(store, index, options=sweep, backlog_probe=probe),
            sweep_interval_s=sweep.interval_s,
        )
        log.info("indexing worker started (%s, %s)", embedder.model_name, settings.resolved_index_url)
        try:
            await worker.serve(stop)
        finally:
            await pool.close()
            log.info("indexing worker stopped")
