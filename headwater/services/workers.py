"""The long-running roles: the sync worker (the engine's scheduler and `sync-events` consumer) and the
indexing worker (`record-events` -> the search index), alone (`worker --role`) or together in one
process (`serve`), until a stop event is set.

The indexing worker lives in `headwater.indexing.worker` (issue 5) and is imported lazily, so that
the sync role never loads parsers or the embedding model; the contract expected of it is

    async def serve(settings: Settings, stop: asyncio.Event) -> None

Where it is missing, `serve` runs without it and says so; `worker --role indexing` refuses.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from headwater.connectors.core.engine import SyncEngine
from headwater.settings import Settings

from .catalog import discover_connectors
from .errors import NotBuiltYetError
from .platform import open_platform

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
    async with open_platform(settings) as platform:
        engine = SyncEngine(platform.store, platform.config_store, logger=logging.getLogger("headwater.sync"))
        await engine.serve(stop, poll_interval_s=poll_s)


async def run_workers(
    settings: Settings,
    roles: Iterable[Role],
    stop: asyncio.Event,
    *,
    with_api: bool = False,
    require_all: bool = False,
    on_ready: Callable[[list[Component]], None] | None = None,
    poll_s: float = 0.1,
) -> list[Component]:
    """Run the roles until `stop` is set; returns what ran. A role that is not built is skipped
    (listed as not running), or NotBuiltYetError with `require_all`. If one role crashes, the
    others are stopped and its error is raised."""
    chosen = list(dict.fromkeys(roles))
    components: list[Component] = []
    coroutines: list[Coroutine[Any, Any, None]] = []
    if Role.SYNC in chosen:
        coroutines.append(_sync_role(settings, stop, poll_s))
        components.append(Component("sync worker", True, "scheduled syncs and the sync-events consumer"))
    if Role.INDEXING in chosen:
        entry = indexing_entry()
        if entry is None and require_all:
            for coroutine in coroutines:
                coroutine.close()
            raise NotBuiltYetError("the indexing worker is not built yet (issue 5)")
        if entry is None:
            components.append(Component("indexing worker", False, "not built yet (issue 5)"))
        else:
            coroutines.append(entry(settings, stop))
            components.append(Component("indexing worker", True, "record-events -> the search index"))
    if with_api:
        components.append(Component("HTTP API and web UI", False, "not built yet (issue 7)"))
    if on_ready is not None:
        on_ready(components)
    tasks = [asyncio.create_task(c) for c in coroutines]
    if not tasks:
        await stop.wait()
        return components
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        failed = [t for t in done if not t.cancelled() and t.exception() is not None]
        if failed:
            stop.set()
    finally:
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
    if failed:
        raise failed[0].exception()  # type: ignore[misc]
    return components
