"""`headwater serve`'s API: uvicorn in the workers' event loop, on a real port, stopped by the stop event."""

from __future__ import annotations

import asyncio
import re
import socket

import httpx
import pytest

from headwater.errors import ConfigurationError
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.services.workers import Component, Role, run_workers
from tests.api.conftest import PASSWORDS, ApiInstance

pytestmark = pytest.mark.anyio


async def test_serve_runs_the_api_beside_the_workers_until_stopped(instance: ApiInstance) -> None:
    stop = asyncio.Event()
    ready: list[list[Component]] = []
    running = asyncio.create_task(
        run_workers(
            instance.settings,
            [Role.SYNC, Role.INDEXING],
            stop,
            with_api=True,
            api_port=0,
            embedder=HashingEmbedder(),
            on_ready=ready.append,
        )
    )
    try:
        while not ready and not running.done():
            await asyncio.sleep(0.01)
        api = next(c for c in ready[0] if c.name == "HTTP API and web UI")
        found = re.match(r"(http://127\.0\.0\.1:\d+)  \(API docs: ", api.detail)
        assert found is not None, api.detail
        url = found[1]
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for _ in range(200):
                try:
                    health = await client.get("/api/v1/health")
                    break
                except httpx.ConnectError:
                    await asyncio.sleep(0.02)
            assert health.json()["status"] == "ok"
            login = await client.post(
                "/api/v1/auth/login",
                json={"email": "admin@acme.test", "password": PASSWORDS["admin@acme.test"]},
            )
            assert login.status_code == 200
            assert (await client.get("/api/v1/me")).json()["user"]["email"] == "admin@acme.test"
            assert (await client.get("/docs")).status_code == 200
    finally:
        stop.set()
        components = await asyncio.wait_for(running, timeout=20)
    assert [c.name for c in components if c.running] == [
        "sync worker",
        "indexing worker",
        "HTTP API and web UI",
    ]
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(OSError):  # nothing listens there any more
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


async def test_a_taken_port_is_a_clear_error_before_anything_starts(instance: ApiInstance) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(
            ConfigurationError, match=rf"the API cannot listen on 127\.0\.0\.1:{port}: .*--port"
        ):
            await run_workers(
                instance.settings,
                [Role.SYNC],
                asyncio.Event(),
                with_api=True,
                api_port=port,
                embedder=HashingEmbedder(),
            )
