"""The config store on etcd v3, through `aetcd` (asyncio gRPC).

URL: ``etcd://[user:password@]host:port[/prefix][?timeout=SECONDS]``. Keys live under the prefix
(default ``/headwater``): ``/services/x`` is stored as ``/headwater/services/x``. Values are the
same encrypted tokens as every other backend.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlparse

import aetcd
import aetcd.exceptions

from headwater.config.base import ConfigStore, validate_key
from headwater.config.crypto import SecretBox
from headwater.errors import BackendUnavailableError, ConfigurationError

DEFAULT_PREFIX = "/headwater"
DEFAULT_PORT = 2379
DEFAULT_TIMEOUT_S = 5

T = TypeVar("T")


class EtcdConfigStore(ConfigStore):
    def __init__(self, url: str, box: SecretBox) -> None:
        super().__init__(url, box)
        parsed = urlparse(url)
        if parsed.scheme != "etcd":
            raise ConfigurationError(f"not an etcd URL: {parsed.scheme}://...; write etcd://host:2379")
        try:
            self.host = parsed.hostname or "127.0.0.1"
            self.port = parsed.port or DEFAULT_PORT
        except ValueError:
            raise ConfigurationError("the etcd URL has an invalid port; write etcd://host:2379") from None
        self._username = unquote(parsed.username) if parsed.username else None
        self._password = unquote(parsed.password) if parsed.password else None
        path = unquote(parsed.path).rstrip("/")
        if path:
            validate_key(path)
        self.prefix = path or DEFAULT_PREFIX
        query = parse_qs(parsed.query)
        try:
            self.timeout_s = int(query.get("timeout", [str(DEFAULT_TIMEOUT_S)])[0])
        except ValueError:
            raise ConfigurationError("the etcd URL's timeout must be whole seconds: ?timeout=5") from None
        self._client: aetcd.Client | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def _unavailable(self, exc: BaseException) -> BackendUnavailableError:
        reason = type(exc).__name__
        return BackendUnavailableError(
            f"cannot reach etcd at {self.where} ({reason}); start etcd there "
            f"(etcd --listen-client-urls http://{self.where} --advertise-client-urls http://{self.where}) "
            "or point HEADWATER_CONFIG_URL at a running server"
        )

    async def _call(self, op: Awaitable[T]) -> T:
        try:
            return await op
        except (aetcd.exceptions.ConnectionFailedError, aetcd.exceptions.ConnectionTimeoutError) as exc:
            raise self._unavailable(exc) from None

    async def connect(self) -> None:
        if self._client is not None:
            return
        client = aetcd.Client(
            host=self.host,
            port=self.port,
            username=self._username,
            password=self._password,
            timeout=self.timeout_s,
        )
        try:
            await client.connect()
            await client.status()  # the channel connects lazily: make one real call now
        except aetcd.exceptions.UnauthenticatedError:
            await client.close()
            raise ConfigurationError(
                f"etcd at {self.where} refused the credentials in HEADWATER_CONFIG_URL; check the user and "
                "password"
            ) from None
        except (aetcd.exceptions.ClientError, OSError) as exc:
            await client.close()
            raise self._unavailable(exc) from None
        self._client = client

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    @property
    def client(self) -> aetcd.Client:
        if self._client is None:
            raise RuntimeError("the config store is not connected; call connect() first")
        return self._client

    def _full(self, key: str) -> bytes:
        return (self.prefix + key).encode("utf-8")

    async def _raw_get(self, key: str) -> str | None:
        found: Any = await self._call(self.client.get(self._full(key)))
        return None if found is None else bytes(found.value).decode("utf-8")

    async def _raw_put(self, key: str, token: str) -> None:
        await self._call(self.client.put(self._full(key), token.encode("utf-8")))

    async def _raw_delete(self, key: str) -> bool:
        deleted: Any = await self._call(self.client.delete(self._full(key)))
        return deleted is not None

    async def _raw_list(self, prefix: str) -> list[str]:
        found: Any = await self._call(self.client.get_prefix(self._full(prefix), keys_only=True))
        cut = len(self.prefix)
        return [bytes(kv.key).decode("utf-8")[cut:] for kv in found]
