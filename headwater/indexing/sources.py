"""Where indexing gets a record's bytes: its connector instance's `stream_record` (or, with an HTTP
client injected, the connector's signed URL), through connectors built and initialised once and
reused for every record of that instance.

A connector is built the way a sync builds it (`engine.build_connector`: the factory, the
instance's config) and `init()`-ed before its first use. It is rebuilt after `max_age_s`, so a
reconnected account's new credentials are picked up, and at once after an authentication error.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from headwater.config.base import ConfigStore
from headwater.connectors.core.connector import BaseConnector, maybe_await
from headwater.connectors.core.engine import build_connector
from headwater.connectors.core.errors import SourceAuthError, describe, find_cause
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import get_instance
from headwater.errors import HeadwaterError
from headwater.indexing.content import DEFAULT_MAX_CONTENT_BYTES, ContentUnavailable, download, read_content
from headwater.models.entities import Record
from headwater.store.base import GraphStore

if TYPE_CHECKING:  # pragma: no cover
    import httpx

log = logging.getLogger("headwater.indexing")


class ConnectorInitFailed(HeadwaterError):
    """The connector could not be built or initialised (its source or credentials may come back)."""


class InstanceUnavailable(HeadwaterError):
    """The record's connector instance is gone or disabled: its records are not indexed."""

    def __init__(self, message: str, *, disabled: bool) -> None:
        super().__init__(message)
        self.disabled = disabled


@dataclass(slots=True)
class _Pooled:
    connector: BaseConnector
    built_at: float


class ConnectorPool:
    """Initialised connectors by connector instance id. One per instance; built on first use."""

    def __init__(
        self,
        store: GraphStore,
        config_store: ConfigStore,
        factory: Any = ConnectorFactory,
        *,
        max_age_s: float = 600.0,
        logger: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.config_store = config_store
        self.factory = factory
        self.max_age_s = max_age_s
        self.logger = logger or log
        self._pooled: dict[str, _Pooled] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, connector_id: str) -> BaseConnector:
        """The instance's initialised connector. InstanceUnavailable when the instance does not
        exist or is disabled; ConnectorInitFailed when building or `init()` failed (nothing is
        cached then: the next record tries again)."""
        lock = self._locks.setdefault(connector_id, asyncio.Lock())
        async with lock:
            pooled = self._pooled.get(connector_id)
            if pooled is not None and time.monotonic() - pooled.built_at < self.max_age_s:
                return pooled.connector
            if pooled is not None:
                await self._close(connector_id)
            instance = await asyncio.to_thread(get_instance, self.store, connector_id)
            if instance is None:
                raise InstanceUnavailable(
                    f"connector instance {connector_id!r} does not exist", disabled=False
                )
            if instance.get("isActive") is False:
                raise InstanceUnavailable("the connector instance is disabled", disabled=True)
            try:
                connector = await build_connector(
                    self.store, self.config_store, instance, self.factory, self.logger
                )
            except Exception as exc:
                raise ConnectorInitFailed(f"the connector could not be built: {describe(exc)}") from exc
            try:
                ready = await connector.init()
            except Exception as exc:
                await _cleanup(connector, self.logger)
                raise ConnectorInitFailed(f"the connector could not be initialised: {describe(exc)}") from exc
            if not ready:
                await _cleanup(connector, self.logger)
                raise ConnectorInitFailed("the connector could not be initialised (init() returned False)")
            self._pooled[connector_id] = _Pooled(connector, time.monotonic())
            return connector

    async def discard(self, connector_id: str) -> None:
        """Forget the instance's connector (after an authentication error): the next use rebuilds it."""
        async with self._locks.setdefault(connector_id, asyncio.Lock()):
            await self._close(connector_id)

    async def close(self) -> None:
        for connector_id in list(self._pooled):
            await self.discard(connector_id)

    async def _close(self, connector_id: str) -> None:
        pooled = self._pooled.pop(connector_id, None)
        if pooled is not None:
            await _cleanup(pooled.connector, self.logger)


class ContentFetcher:
    """A record's bytes through its connector: the signed URL when an HTTP client was injected and
    the connector offers one (falling back to `stream_record` if that download fails), else
    `stream_record`. Content over `max_bytes` is refused (`ContentTooLarge`)."""

    def __init__(
        self,
        pool: ConnectorPool,
        *,
        http_client: httpx.AsyncClient | None = None,
        max_bytes: int = DEFAULT_MAX_CONTENT_BYTES,
    ) -> None:
        self.pool = pool
        self.http_client = http_client
        self.max_bytes = max_bytes

    async def fetch(self, record: Record) -> bytes:
        connector = await self.pool.get(record.connector_id)
        try:
            if self.http_client is not None:
                url = await maybe_await(connector.get_signed_url(record))
                if url:
                    try:
                        return await download(url, self.http_client, max_bytes=self.max_bytes)
                    except ContentUnavailable as exc:
                        log.info("record %s: signed URL download failed (%s); streaming", record.id, exc)
            return await read_content(await connector.stream_record(record), max_bytes=self.max_bytes)
        except Exception as exc:
            if find_cause(exc, SourceAuthError) is not None:
                await self.pool.discard(record.connector_id)
            raise


async def _cleanup(connector: BaseConnector, logger: logging.Logger) -> None:
    try:
        await maybe_await(connector.cleanup())
    except Exception as exc:  # a connector that fails to close must not stop indexing
        logger.warning("connector %s: cleanup failed: %s", connector.connector_id, describe(exc))
