"""What runs beside the sync engine in a sync worker: live progress checkpoints and the central
OAuth token refresh.

    factory = ObservingFactory()
    engine = SyncEngine(store, config_store, factory)
    await asyncio.gather(engine.serve(stop), run_sidecar(platform, engine, factory, stop))

* Progress: every `progress_every_s` the counts of each run this worker has in progress (read from
  its processor, as `syncing.ObservingFactory` exposes it) are written to the run document, so the
  API (another process, perhaps another machine) shows live counts. Only a run still `running`
  and owned by this worker is touched; the engine writes the final counts when the run ends.
* Tokens: `oauth_refresh.refresh_due_tokens` every `refresh_every_s`.
"""

from __future__ import annotations

import asyncio
import logging
import time

import httpx

from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.errors import describe
from headwater.connectors.core.instances import (
    APPS,
    SYNC_RUNS,
    RunOutcome,
    counts_of,
    instance_lock,
)

from .oauth_refresh import refresh_due_tokens
from .platform import Platform
from .syncing import ObservingFactory

log = logging.getLogger("headwater.sync")


def checkpoint_progress(platform: Platform, engine: SyncEngine, factory: ObservingFactory) -> int:
    """Write the live counts of this worker's running syncs to their run documents; how many."""
    written = 0
    for connector_id, processor in list(factory.processors.items()):
        if not engine.is_running(connector_id):
            continue
        counts = counts_of(getattr(processor, "stats", None))
        with platform.store.transaction() as tx:
            tx.lock(instance_lock(connector_id))
            instance = tx.get_node(APPS, connector_id)
            run_id = str((instance or {}).get("lastRunId") or "")
            run = tx.get_node(SYNC_RUNS, run_id) if run_id else None
            if run is None or run.get("outcome") != RunOutcome.RUNNING.value:
                continue
            if run.get("workerId") != engine.worker_id or all(run.get(k) == v for k, v in counts.items()):
                continue
            run.update(counts)
            tx.upsert_nodes(SYNC_RUNS, [run])
            written += 1
    return written


async def run_sidecar(
    platform: Platform,
    engine: SyncEngine,
    factory: ObservingFactory,
    stop: asyncio.Event,
    *,
    http: httpx.AsyncClient | None = None,
    progress_every_s: float = 2.0,
    refresh_every_s: float = 60.0,
) -> None:
    """Checkpoint progress and refresh OAuth tokens until `stop` is set."""
    owned = http is None
    client = http or httpx.AsyncClient(timeout=httpx.Timeout(30.0))
    next_refresh = 0.0
    try:
        while not stop.is_set():
            try:
                checkpoint_progress(platform, engine, factory)
                if time.monotonic() >= next_refresh:
                    next_refresh = time.monotonic() + refresh_every_s
                    await refresh_due_tokens(platform, client)
            except Exception as exc:  # the store briefly unreachable: try again next round
                log.warning("sync sidecar: %s", describe(exc))
            try:
                await asyncio.wait_for(stop.wait(), progress_every_s)
            except TimeoutError:
                pass
    finally:
        if owned:
            await client.aclose()
