"""Indexing what an API test's app has synced, in process, until the worker is idle: the app's own
store, config, index and embedder, so searches through the app see the result at once."""

from __future__ import annotations

import logging

from headwater.api.state import ApiState
from headwater.events.store_log import StoreEventLog
from headwater.indexing.parsing.base import ParseLimits
from headwater.indexing.sources import ConnectorPool, ContentFetcher
from headwater.indexing.status import RetryPolicy
from headwater.indexing.worker import IndexingWorker, WorkerOptions

LOG = logging.getLogger("tests.indexing")


async def index_until_idle(state: ApiState, timeout_s: float = 60) -> None:
    worker = IndexingWorker(
        state.store,
        StoreEventLog(state.store, lease_ms=2000, poll_interval_s=0.01),
        state.search_index,
        state.embedder,
        ContentFetcher(ConnectorPool(state.store, state.config, logger=LOG)),
        options=WorkerOptions(
            idle_poll_s=0.02,
            parse_limits=ParseLimits(isolate=False),
            retry=RetryPolicy(base_delay_s=0.01, max_delay_s=0.05),
        ),
    )
    await worker.run_until_idle(timeout_s)
