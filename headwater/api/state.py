"""What the API opens once per app and every request shares: the settings, the graph store, the
config store, the embedder, the search index and search service, an httpx client for outgoing
calls, and the key CSRF tokens are made with.

Opening is lazy and happens once: the first request (or the lifespan's startup under uvicorn)
opens it; the lifespan's shutdown, or leaving `app_state(app)`, closes it. So the app works the
same under uvicorn and under `httpx.ASGITransport` (which runs no lifespan): tests use

    async with app_state(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://hw") as c:
            ...

Resources passed to `create_app` (an embedder, an httpx client, a search index shared with the
indexing worker in `headwater serve`) are used as they are and never closed here.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import httpx
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from headwater.config.base import ConfigStore
from headwater.config.crypto import load_or_create_key
from headwater.config.registry import open_config_store
from headwater.services.platform import open_store_only
from headwater.services.sessions import csrf_key
from headwater.settings import Settings
from headwater.store.base import GraphStore

if TYPE_CHECKING:
    from headwater.indexing.embeddings.base import Embedder
    from headwater.indexing.index.base import SearchIndex
    from headwater.search.service import SearchService

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class ApiState:
    """The open resources of one app. Sync service calls go through `call` (a worker thread), so
    that store work and password hashing never block the event loop."""

    settings: Settings
    store: GraphStore
    config: ConfigStore
    http: httpx.AsyncClient
    csrf_key: bytes
    _embedder: Embedder | None = None
    _index: SearchIndex | None = None
    _search: SearchService | None = None
    _owned: list[Callable[[], None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await run_in_threadpool(fn, *args, **kwargs)

    @property
    def embedder(self) -> Embedder:
        """The injected embedder, else the configured one (opened on first use, closed with the app)."""
        with self._lock:
            if self._embedder is None:
                from headwater.indexing.embeddings.registry import open_embedder

                embedder = open_embedder(self.settings)
                self._owned.append(embedder.close)
                self._embedder = embedder
            return self._embedder

    @property
    def search_index(self) -> SearchIndex:
        dims = self.embedder.dimensions
        with self._lock:
            if self._index is None:
                from headwater.indexing.index.registry import open_search_index

                index = open_search_index(self.settings.resolved_index_url, dims)
                self._owned.append(index.close)
                self._index = index
            return self._index

    @property
    def search(self) -> SearchService:
        """The process's one search service (thread-safe), built on first use."""
        index, embedder = self.search_index, self.embedder
        with self._lock:
            if self._search is None:
                from headwater.search.service import SearchService

                self._search = SearchService(self.store, index, embedder)
            return self._search

    def close_owned(self) -> None:
        with self._lock:
            owned, self._owned = self._owned, []
            search, self._search = self._search, None
        if search is not None:  # its query-embedding threads, before the index and embedder go
            search.close()
        for close in reversed(owned):
            close()


class StateHolder:
    """Opens the app's `ApiState` once, on first need, and closes it."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        http: httpx.AsyncClient | None = None,
        search_index: SearchIndex | None = None,
    ) -> None:
        self.settings = settings
        self._embedder = embedder
        self._http = http
        self._index = search_index
        self._state: ApiState | None = None
        self._exit: AsyncExitStack | None = None
        self._opening: asyncio.Lock | None = None

    async def get(self) -> ApiState:
        if self._state is not None:
            return self._state
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._state is None:
                self._state = await self._open()
        return self._state

    async def _open(self) -> ApiState:
        stack = AsyncExitStack()
        try:
            store = await run_in_threadpool(open_store_only, self.settings)
            stack.callback(store.close)
            config = await open_config_store(self.settings)
            stack.push_async_callback(config.close)
            http = self._http
            if http is None:
                http = httpx.AsyncClient(timeout=httpx.Timeout(30.0), follow_redirects=False)
                stack.push_async_callback(http.aclose)
            key = csrf_key(await run_in_threadpool(load_or_create_key, self.settings))
            state = ApiState(self.settings, store, config, http, key, self._embedder, self._index)
            stack.callback(state.close_owned)
        except BaseException:
            await stack.aclose()
            raise
        self._exit = stack
        return state

    async def close(self) -> None:
        exit_stack, self._exit, self._state = self._exit, None, None
        if exit_stack is not None:
            await exit_stack.aclose()


def holder_of(app: FastAPI) -> StateHolder:
    holder: StateHolder = app.state.holder
    return holder


@asynccontextmanager
async def app_state(app: FastAPI) -> AsyncIterator[ApiState]:
    """The app's state, open for the block and closed after it (for code that drives the app without
    its lifespan, such as `httpx.ASGITransport`)."""
    holder = holder_of(app)
    try:
        yield await holder.get()
    finally:
        await holder.close()


def lifespan_for(holder: StateHolder) -> Callable[[FastAPI], Any]:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await holder.get()  # under uvicorn: a store that cannot open stops the start, not a request
        try:
            yield
        finally:
            await holder.close()

    return lifespan
