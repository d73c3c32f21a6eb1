"""Watch mode: a change on disk asks for a sync, once per burst, through a callback or the engine."""

from __future__ import annotations

import asyncio
from pathlib import Path

from headwater.connectors.sources.localfs.watch import sync_requester, watch_roots

from .helpers import run


def test_a_burst_of_changes_asks_for_one_sync(tmp_path: Path) -> None:
    calls: list[int] = []

    async def body() -> int:
        stop = asyncio.Event()

        def on_change() -> None:
            calls.append(1)
            stop.set()

        watcher = asyncio.create_task(
            watch_roots([str(tmp_path)], on_change, stop=stop, debounce_ms=500, quiet_ms=100)
        )
        for n in range(50):  # until the watcher is up and reports (it starts asynchronously)
            for i in range(3):
                (tmp_path / f"file-{n}-{i}.txt").write_text("x")
            try:
                await asyncio.wait_for(asyncio.shield(stop.wait()), 0.2)
                break
            except TimeoutError:
                continue
        return await asyncio.wait_for(watcher, 5)

    assert run(body()) == 1
    assert calls == [1]


def test_a_failing_callback_does_not_stop_watching(tmp_path: Path) -> None:
    async def body() -> int:
        stop = asyncio.Event()
        seen: list[int] = []

        def on_change() -> None:
            seen.append(1)
            if len(seen) >= 2:
                stop.set()
            raise RuntimeError("the engine is down")

        watcher = asyncio.create_task(
            watch_roots([str(tmp_path)], on_change, stop=stop, debounce_ms=200, quiet_ms=50)
        )
        for n in range(100):
            (tmp_path / f"f{n}.txt").write_text("x")
            await asyncio.sleep(0.1)
            if stop.is_set():
                break
        return await asyncio.wait_for(watcher, 5)

    assert run(body()) == 2


def test_the_engine_requester_asks_for_a_sync_of_the_instance() -> None:
    class Engine:
        def __init__(self) -> None:
            self.requested: list[str] = []

        def request_sync(self, connector_id: str) -> None:
            self.requested.append(connector_id)

    engine = Engine()
    request = sync_requester(engine, "localfs-1")
    request()
    assert engine.requested == ["localfs-1"]
