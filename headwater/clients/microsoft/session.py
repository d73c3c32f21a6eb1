"""Sending one request to Microsoft Graph: bearer token, the tenant's rate budget, retries, error mapping.

caller ──▶ GraphSession.send ──▶ RateBudget.slot (waits out the tenant's pause) ──▶ httpx
             ▲   │ 401 once: invalidate the token, send again
             │   │ 429/503/504 (+500/502, network errors): Retry-After pauses the whole tenant,
             └───┘   otherwise exponential backoff for this request; bounded attempts
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx

from headwater.clients.microsoft.auth import TokenProvider
from headwater.clients.microsoft.errors import (
    GraphConnectionError,
    GraphError,
    ThrottledError,
    envelope,
    error_from_response,
)
from headwater.clients.microsoft.throttle import RateBudget, RetryPolicy, parse_retry_after

GRAPH_BASE = "https://graph.microsoft.com/v1.0"
THROTTLED = frozenset({429, 503, 504})
TRANSIENT = THROTTLED | {500, 502}

log = logging.getLogger(__name__)

Params = Mapping[str, str | int]


class GraphSession:
    """Authenticated, throttled, retried requests to one tenant's Graph.

    Args:
        http: the caller's client (its transport decides where requests really go).
        tokens: bearer tokens for the tenant.
        tenant_id: whose rate budget to use when `budget` is not given.
        base_url: Graph's root, e.g. "https://graph.microsoft.com/v1.0" (a fake's in tests).
        budget: the tenant's rate budget; default `RateBudget.for_tenant(tenant_id)`.
        retry: attempts and backoff.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: TokenProvider,
        *,
        tenant_id: str,
        base_url: str = GRAPH_BASE,
        budget: RateBudget | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.tenant_id = tenant_id
        self.base_url = base_url.rstrip("/")
        self.budget = budget if budget is not None else RateBudget.for_tenant(tenant_id)
        self.retry = retry if retry is not None else RetryPolicy()
        self._origin = httpx.URL(self.base_url).copy_with(path="/", query=None, fragment=None)

    def url(self, path_or_link: str) -> str:
        """An absolute Graph URL: a path ("/users") joined to the base; a link from Graph exactly as given.

        Raises:
            GraphError: an absolute link points outside Graph's host (the bearer token would leak there).
        """
        if not path_or_link.startswith(("http://", "https://")):
            return f"{self.base_url}/{path_or_link.lstrip('/')}"
        link = httpx.URL(path_or_link)
        if link.copy_with(path="/", query=None, fragment=None) != self._origin:
            raise GraphError(
                f"refusing to follow a link outside {self._origin}: {link.copy_with(query=None)}"
            )
        return path_or_link

    async def get_json(
        self,
        path: str,
        *,
        params: Params | None = None,
        headers: Mapping[str, str] | None = None,
        scope: str | None = None,
    ) -> dict[str, Any]:
        """GET `path` (or a link) and return its JSON object."""
        response = await self.send("GET", path, params=params, headers=headers, scope=scope)
        return _json_object(response)

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        scope: str | None = None,
    ) -> httpx.Response:
        """Send one request to Graph with auth, budget and retries; the whole body is read.

        Redirects are returned, not followed (a download's 302 must not carry the token elsewhere).

        Args:
            scope: the delta scope this request belongs to, named in a DeltaExpiredError.

        Raises:
            GraphError: (or a subclass) for any error answer that retries did not cure.
        """
        async with self.stream(
            method, path, params=params, json=json, headers=headers, scope=scope
        ) as response:
            await response.aread()
            return response

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        scope: str | None = None,
        authenticated: bool = True,
    ) -> AsyncIterator[httpx.Response]:
        """Like `send`, but the successful response's body is left to read inside the block.

        Args:
            authenticated: False for pre-authenticated URLs (download links): no bearer token is sent, and the
                URL is not required to be Graph's.
        """
        url = self.url(path) if authenticated else path
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            token = None
            delay = 0.0
            self._check_pause(method, url)
            async with self.budget.slot():
                try:
                    if authenticated:
                        token = await self.tokens.token()
                    request = self._build(method, url, params, json, headers, token)
                    response = await self.http.send(request, stream=True, follow_redirects=False)
                except (httpx.TransportError, GraphConnectionError) as exc:
                    if attempt >= self.retry.max_attempts:
                        raise GraphConnectionError(
                            f"{method} {httpx.URL(url).copy_with(query=None)}: no answer after {attempt} "
                            f"attempts ({type(exc).__name__})"
                        ) from None
                    delay = self.retry.backoff(attempt)
                    log.info(
                        "Graph %s %s: %s, retrying in %.1fs", method, _short(url), type(exc).__name__, delay
                    )
                else:
                    if response.status_code < 400:
                        try:
                            yield response
                        finally:
                            await response.aclose()
                        return
                    await response.aread()
                    await response.aclose()
                    if response.status_code == 401 and token is not None and not refreshed:
                        refreshed = True
                        attempt -= 1  # a refused token is not an attempt against the retry budget
                        await self.tokens.invalidate(token)
                        continue
                    if response.status_code not in TRANSIENT:
                        raise error_from_response(response, scope=scope)
                    delay = self._retry_delay(response, attempt, url)
            if delay > 0:
                await self.budget.sleep(delay)

    def _build(
        self,
        method: str,
        url: str,
        params: Params | None,
        json: Any,
        headers: Mapping[str, str] | None,
        token: str | None,
    ) -> httpx.Request:
        merged = dict(headers or {})
        if token is not None:
            merged["Authorization"] = f"Bearer {token}"
        return self.http.build_request(method, url, params=params, json=json, headers=merged)

    def _retry_delay(self, response: httpx.Response, attempt: int, url: str) -> float:
        """Seconds to wait before the next attempt; raises once attempts are spent or the wait is too long."""
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is not None:
            # every request of the tenant waits, not just this one, even when this one gives up now
            self.budget.pause(retry_after)
            log.info(
                "Graph throttled (%s), tenant %s pauses %.1fs",
                response.status_code,
                self.tenant_id,
                retry_after,
            )
        too_long = retry_after is not None and retry_after > self.retry.max_retry_after_s
        if attempt < self.retry.max_attempts and not too_long:
            return 0.0 if retry_after is not None else self.retry.backoff(attempt)
        if response.status_code not in THROTTLED:
            raise error_from_response(response)
        code, _, message, request_id = envelope(response)
        raise ThrottledError(
            f"{response.request.method} {_short(url)}: throttled, gave up after {attempt} attempts "
            f"(Graph answered {response.status_code} {code}: {message}); retry in {retry_after or '?'} s",
            retry_after=retry_after,
            attempts=attempt,
            status=response.status_code,
            code=code,
            graph_message=message,
            request_id=request_id,
        )

    def _check_pause(self, method: str, url: str) -> None:
        """Fail fast, rather than hold a worker, when the tenant is paused longer than retries may wait."""
        paused_for = self.budget.paused_for
        if paused_for > self.retry.max_retry_after_s:
            raise ThrottledError(
                f"{method} {_short(url)}: tenant {self.tenant_id} is throttled {paused_for:.0f} s more",
                retry_after=paused_for,
                attempts=0,
                status=429,
            )


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise GraphError(
            f"{response.request.method} {_short(str(response.request.url))}: expected a JSON object, got "
            f"{response.headers.get('content-type', 'no content type')}",
            status=response.status_code,
        )
    return body


def _short(url: str) -> str:
    return str(httpx.URL(url).copy_with(query=None))
