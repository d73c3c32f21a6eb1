"""App-only tokens for Microsoft Graph: the OAuth2 client-credentials grant of the Microsoft identity
platform (v2), through Microsoft's own library, msal.

msal is synchronous and does its own HTTP. It gets an adapter that runs each of its requests on the
injected `httpx.AsyncClient` (so tests reach a fake login endpoint through the same transport as Graph,
and production shares one connection pool), while msal itself runs on a worker thread. Tokens live in
msal's token cache; this module decides when one is too old (a margin before expiry, on an injectable
clock) or was refused by Graph, and then evicts it so msal fetches a new one. One refresh at a time.

msal only accepts https authorities, so a fake login endpoint is reached through an ASGI transport at an
https base URL (any host name), not over plain http. It asks the authority for
`{base}/{tenant}/v2.0/.well-known/openid-configuration` once, then posts to the `token_endpoint` named there.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import msal  # type: ignore[import-untyped]

from headwater.clients.microsoft.errors import AuthError, GraphConnectionError

LOGIN_BASE = "https://login.microsoftonline.com"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"
REFRESH_MARGIN_S = 300.0  # msal itself treats a token with less than 5 minutes left as expired
HTTP_TIMEOUT_S = 60.0


class TokenProvider(Protocol):
    """Where the Graph client gets bearer tokens from."""

    async def token(self) -> str:
        """A valid access token (cached until shortly before it expires)."""
        ...

    async def invalidate(self, token: str) -> None:
        """Graph refused `token`: the next `token()` must fetch a new one."""
        ...


@dataclass(frozen=True)
class ClientCredentials:
    """An Entra ID app registration's identity in one tenant. The secret never shows in repr or errors."""

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("tenant_id", "client_id", "client_secret"):
            if not getattr(self, name).strip():
                raise AuthError(
                    f"Microsoft 365: {name} is empty; copy it from the app registration in Entra ID"
                )


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # on the provider's clock


class _MsalHttp:
    """The requests-like HTTP client msal expects, running each request on the injected async client.

    msal calls it from a worker thread; the requests run on the event loop that started the call."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.loop: asyncio.AbstractEventLoop | None = None

    def _run(self, request: Coroutine[Any, Any, httpx.Response]) -> httpx.Response:
        if self.loop is None:  # pragma: no cover - only MsalTokenProvider drives msal
            request.close()
            raise RuntimeError("msal ran outside MsalTokenProvider")
        return asyncio.run_coroutine_threadsafe(request, self.loop).result(timeout=HTTP_TIMEOUT_S)

    def post(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> httpx.Response:
        if isinstance(data, str | bytes):
            return self._run(self.http.post(url, params=params, content=data, headers=headers))
        return self._run(self.http.post(url, params=params, data=data, headers=headers))

    def get(
        self,
        url: str,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        **_: Any,
    ) -> httpx.Response:
        return self._run(self.http.get(url, params=params, headers=headers))

    def close(self) -> None:
        """The injected client belongs to the caller, who closes it."""


class MsalTokenProvider:
    """Client-credentials tokens for one app registration in one tenant.

    Args:
        credentials: tenant id, client id, client secret.
        http: the client msal's requests go through (the same one as Graph's is fine).
        authority_base: the login host, https (a fake's base URL in tests).
        scope: the resource's `.default` scope.
        clock: seconds, used to decide when the cached token is too old.
        refresh_margin_s: refresh this long before expiry (at most half the token's lifetime).
    """

    def __init__(
        self,
        credentials: ClientCredentials,
        http: httpx.AsyncClient,
        *,
        authority_base: str = LOGIN_BASE,
        scope: str = GRAPH_SCOPE,
        clock: Callable[[], float] = time.monotonic,
        refresh_margin_s: float = REFRESH_MARGIN_S,
    ) -> None:
        self.credentials = credentials
        self.authority = f"{authority_base.rstrip('/')}/{credentials.tenant_id}"
        self.scope = scope
        self.clock = clock
        self.refresh_margin_s = refresh_margin_s
        self.token_cache = msal.TokenCache()
        self.fetches = 0  # tokens fetched from the identity platform (not from msal's cache)
        self._http = _MsalHttp(http)
        self._app: Any = None
        self._current: _Token | None = None
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    async def token(self) -> str:
        current = self._current
        if current is not None and self.clock() < current.refresh_at:
            return current.value
        async with self._lock():
            current = self._current
            if current is not None and self.clock() < current.refresh_at:
                return current.value  # another task refreshed it while this one waited
            if current is not None:
                self._evict(current.value)  # msal would hand out the old one until 5 min before expiry
            self._current = await self._acquire()
            return self._current.value

    async def invalidate(self, token: str) -> None:
        async with self._lock():
            if self._current is not None and self._current.value == token:
                self._current = None
            self._evict(token)

    def _evict(self, token: str) -> None:
        kind = msal.TokenCache.CredentialType.ACCESS_TOKEN
        stale = [entry for entry in self.token_cache.search(kind) if entry.get("secret") == token]
        for entry in stale:
            self.token_cache.remove_at(entry)

    async def _acquire(self) -> _Token:
        self._http.loop = asyncio.get_running_loop()
        started = self.clock()
        try:
            result = await asyncio.to_thread(self._acquire_blocking)
        except httpx.TransportError as exc:
            raise GraphConnectionError(
                f"Microsoft 365: could not reach the login endpoint {self.authority} ({type(exc).__name__})"
            ) from None
        except ValueError as exc:  # msal's tenant discovery failed: no such tenant
            raise AuthError(self._redact(self._discovery_hint(str(exc)))) from None
        if "access_token" not in result:
            raise AuthError(self._redact(self._token_hint(result)), code=str(result.get("error") or ""))
        if result.get("token_source") != "cache":
            self.fetches += 1
        lifetime = float(result.get("expires_in") or 0)
        margin = min(self.refresh_margin_s, lifetime / 2)
        return _Token(value=str(result["access_token"]), refresh_at=started + lifetime - margin)

    def _acquire_blocking(self) -> dict[str, Any]:
        if self._app is None:
            self._app = msal.ConfidentialClientApplication(
                self.credentials.client_id,
                client_credential=self.credentials.client_secret,
                authority=self.authority,
                token_cache=self.token_cache,
                http_client=self._http,
                instance_discovery=False,  # never ask login.microsoftonline.com about the host
            )
        result: dict[str, Any] = self._app.acquire_token_for_client(scopes=[self.scope])
        return result

    def _discovery_hint(self, detail: str) -> str:
        return (
            f"Microsoft 365: tenant {self.credentials.tenant_id!r} was not found at {self.authority}; "
            f"use the Directory (tenant) id of the app registration ({detail[:200]})"
        )

    def _token_hint(self, result: Mapping[str, Any]) -> str:
        error = str(result.get("error") or "unknown_error")
        description = str(result.get("error_description") or "").split("\r\n")[0][:200]
        codes = {int(code) for code in result.get("error_codes") or [] if str(code).isdigit()}
        app = f"app {self.credentials.client_id!r} in tenant {self.credentials.tenant_id!r}"
        if codes & {7000215, 7000222} or error == "invalid_client":
            fix = "the client secret is wrong or expired: paste the secret's Value (not its Secret ID)"
        elif codes & {700016} or error == "unauthorized_client":
            fix = "no such application in this tenant: check the Application (client) id and the tenant id"
        elif codes & {90002, 90023}:
            fix = "the tenant is unknown: use the Directory (tenant) id of the app registration"
        elif codes & {65001, 50105} or error == "consent_required":
            fix = (
                "admin consent is missing: an administrator must grant admin consent to the app's permissions"
            )
        elif error == "invalid_scope":
            fix = f"the scope {self.scope!r} was refused: app-only tokens need a '.default' scope"
        else:
            fix = "check the tenant id, client id and secret, and that admin consent was granted"
        return f"Microsoft 365: no token for {app}: {fix} ({error}: {description})"

    def _redact(self, text: str) -> str:
        return text.replace(self.credentials.client_secret, "***")
