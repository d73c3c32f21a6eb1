"""Watch mode: sync soon after something changes on disk, instead of waiting for the schedule.

    stop = asyncio.Event()
    await watch_roots(["/srv/notes"], sync_requester(engine, connector_id), stop=stop)

`watchfiles` (inotify on Linux) reports changes; it groups a burst of them (an editor's save, a
copied folder) until nothing happened for `quiet_ms`, or at most `debounce_ms`, and then the
callback runs once. The callback only asks for a sync: the sync itself is the ordinary
incremental one, which finds what changed by listing, so a missed or merged notification can never
leave the graph wrong, only later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from watchfiles import awatch

from headwater.connectors.core.connector import maybe_await

log = logging.getLogger(__name__)

OnChange = Callable[[], Awaitable[None] | None]


async def watch_roots(
    roots: Sequence[str],
    on_change: OnChange,
    *,
    stop: asyncio.Event,
    debounce_ms: int = 2_000,
    quiet_ms: int = 300,
) -> int:
    """Call `on_change` after each burst of changes below `roots` until `stop` is set; returns how
    many times it was called. A failing callback is logged; watching goes on."""
    calls = 0
    async for changes in awatch(
        *roots,
        stop_event=stop,
        debounce=debounce_ms,
        step=quiet_ms,
        watch_filter=None,  # every change matters: the sync imports every file
        recursive=True,
    ):
        log.debug("local folders changed (%d events); requesting a sync", len(changes))
        calls += 1
        try:
            await maybe_await(on_change())
        except Exception as exc:
            log.warning("requesting a sync after a change on disk failed: %s: %s", type(exc).__name__, exc)
    return calls


def sync_requester(engine: Any, connector_id: str) -> OnChange:
    """A callback asking `engine` (a SyncEngine) for an incremental sync of the instance."""

    def request() -> None:
        engine.request_sync(connector_id)

    return request
