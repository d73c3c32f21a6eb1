"""The long-running roles: the sync worker (the engine's scheduler and `sync-events` consumer) and the
indexing worker (`record-events` -> the search index), alone (`worker --role`) or together in one
process (`serve`), until a stop event is set.

The indexing worker lives in `headwater.indexing.worker` (issue 5) and is imported lazily, so that
the sync role never loads parsers or the embedding model; the contract expected of it is

    async def serve(settings: Settings, stop: asyncio.Event) -> None

Where it is missing, `serve` runs without it and says so; `worker --role indexing` refuses.

With `with_api`, the HTTP API and web UI (`headwater.api`, imported only then) are served by
uvicorn in the same event loop, on `api_host:api_port` (default: the settings'). When the indexing
worker runs beside it, both use ONE embedder and ONE search index object (the embedded index must
not be opened twice in a process), so searches see what the worker writes at once.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from headwater.connectors.core.engine import SyncEngine
from headwater.settings import Settings

from .catalog import discover_connectors
from .errors import NotBuiltYetError
from .local_folders import forbid_headwater_data
from .platform import open_platform
from .sync_sidecar import run_sidecar
from .syncing import ObservingFactory

if TYPE_CHECKING:
    from headwater.indexing.embeddings.base import Embedder
    from headwater.indexing.index.base import SearchIndex

INDEXING_MODULE = "headwater.indexing.worker"
log = logging.getLogger("headwater.worker")


class Role(StrEnum):
    SYNC = "sync"
    INDEXING = "indexing"


@dataclass(frozen=True)
class Component:
    """One part of a running process, as the startup banner lists it."""

    name: str
    running: bool
    detail: str


WorkerEntry = Callable[[Settings, asyncio.Event], Coroutine[Any, Any, None]]


def indexing_entry() -> WorkerEntry | None:
    """The indexing worker's `serve`, or None while it is not built."""
    try:
        module = importlib.import_module(INDEXING_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name and INDEXING_MODULE.startswith(exc.name):
            return None
        raise
    entry = getattr(module, "serve", None)
    return entry if callable(entry) else None


async def _sync_role(settings: Settings, stop: asyncio.Event, poll_s: float) -> None:
    discover_connectors()
    forbid_headwater_data(settings)  # Local FS syncs here never read Headwater's own data
    async with open_platform(settings) as platform:
        factory = ObservingFactory()  # the sidecar reads running syncs' counts through it
        engine = SyncEngine(
            platform.store, platform.config_store, factory, logger=logging.getLogger("headwater.sync")
        )
        await asyncio.gather(
            engine.serve(stop, poll_interval_s=poll_s), run_sidecar(platform, engine, factory, stop)
        )


@dataclass
class _Shared:
    """The embedder and search index that the API and the indexing worker share in one process."""

    embedder: Embedder
    index: SearchIndex
    owns_embedder: bool

    def close(self) -> None:
        try:
            self.index.close()
        finally:
            if self.owns_embedder:
                self.embedder.close()


def _open_shared(settings: Settings, embedder: Embedder | None) -> _Shared:
    from headwater.indexing.embeddings.registry import open_embedder
    from headwater.indexing.index.registry import open_search_index

    owned = embedder is None
    embedder = embedder or open_embedder(settings)
    try:
        index = open_search_index(settings.resolved_index_url, embedder.dimensions)
    except BaseException:
        if owned:
            embedder.close()
        raise
    return _Shared(embedder, index, owned)


async def _indexing_with(settings: Settings, stop: asyncio.Event, shared: _Shared) -> None:
    from headwater.indexing.runner import run_indexing_worker

    await run_indexing_worker(settings, stop, embedder=shared.embedder, index=shared.index)


async def run_workers(
    settings: Settings,
    roles: Iterable[Role],
    stop: asyncio.Event,
    *,
    with_api: bool = False,
    api_host: str | None = None,
    api_port: int | None = None,
    embedder: Embedder | None = None,
    require_all: bool = False,
    on_ready: Callable[[list[Component]], None] | None = None,
    poll_s: float = 0.1,
) -> list[Component]:
    """Run the roles (and the API, `with_api`) until `stop` is set; returns what ran. A role that is
    not built is skipped (listed as not running), or NotBuiltYetError with `require_all`. If one
    part crashes, the others are stopped and its error is raised. `embedder` replaces the
    configured one for the API and the indexing worker (tests)."""
    chosen = list(dict.fromkeys(roles))
    components: list[Component] = []
    coroutines: list[Coroutine[Any, Any, None]] = []
    entry = indexing_entry() if Role.INDEXING in chosen else None
    if Role.INDEXING in chosen and entry is None and require_all:
        raise NotBuiltYetError("the indexing worker is not built yet (issue 5)")
    shared = _open_shared(settings, embedder) if with_api or (entry is not None and embedder) else None
    try:
        if Role.SYNC in chosen:
            coroutines.append(_sync_role(settings, stop, poll_s))
            components.append(Component("sync worker", True, "scheduled syncs and the sync-events consumer"))
        if Role.INDEXING in chosen:
            if entry is None:
                components.append(Component("indexing worker", False, "not built yet (issue 5)"))
            else:
                coroutines.append(_indexing_with(settings, stop, shared) if shared else entry(settings, stop))
                components.append(Component("indexing worker", True, "record-events -> the search index"))
        if with_api:
            assert shared is not None
            url, serving = _api_role(settings, stop, shared, api_host, api_port)
            coroutines.append(serving)
            components.append(Component("HTTP API and web UI", True, f"{url}  (API docs: {url}/docs)"))
        if on_ready is not None:
            on_ready(components)
        await _run_until_stopped(coroutines, stop)
        return components
    finally:
        for coroutine in coroutines:
            coroutine.close()  # those that never became tasks (a step before them failed)
        if shared is not None:
            shared.close()


def _api_role(
    settings: Settings, stop: asyncio.Event, shared: _Shared, host: str | None, port: int | None
) -> tuple[str, Coroutine[Any, Any, None]]:
    """Bind the API's port now (a taken port fails before anything starts); returns the URL and
    the coroutine that serves until `stop`."""
    from headwater.api.app import create_app
    from headwater.api.server import ApiServer

    app = create_app(settings, embedder=shared.embedder, search_index=shared.index)
    server = ApiServer(app, host or settings.api_host, settings.api_port if port is None else port)
    return server.bind(), server.serve(stop)


async def _run_until_stopped(coroutines: list[Coroutine[Any, Any, None]], stop: asyncio.Event) -> None:
    tasks = [asyncio.create_task(c) for c in coroutines]
    coroutines.clear()  # the tasks own them now
    if not tasks:
        await stop.wait()
        return
    failed: list[asyncio.Task[None]] = []
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failed = [t for t in done if not t.cancelled() and t.exception() is not None]
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    if failed:
        raise failed[0].exception()  # type: ignore[misc]
