"""A small programmable stand-in for the Microsoft identity platform and Graph, for the behaviours of the
client that need a particular answer (a 401 on a valid-looking token, a 429 at a chosen moment, a 302 to
a download host). Scenario-level tests use the stateful fake in `headwater.testing.fake_graph`.

One ASGI app serves three hosts by path: the login endpoint (`/{tenant}/...`), Graph (`/v1.0/...`) and a
download host (`/blob/...`). Every request is recorded with the clock's time."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from headwater.clients.microsoft import ClientCredentials, GraphClient, RateBudget, RetryPolicy

TENANT = "contoso-tenant-id"
CLIENT_ID = "11111111-2222-3333-4444-555555555555"
SECRET = "s3cr3t-Value~never-shown"
LOGIN = "https://login.test"
GRAPH = "https://graph.test/v1.0"

Handler = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")


class FakeClock:
    """Virtual time: `sleep` advances it at once and records how long was asked."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class Seen:
    method: str
    url: str
    headers: dict[str, str]
    at: float
    body: bytes = b""


@dataclass
class MiniGraph:
    clock: Callable[[], float] = lambda: 0.0
    expires_in: int = 3599
    tokens_issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)

    def on(self, method: str, path: str) -> Callable[[Handler], Handler]:
        """Register a Graph handler for `path` (below /v1.0, without query)."""

        def register(handler: Handler) -> Handler:
            self.routes[(method, path)] = handler
            return handler

        return register

    def graph_requests(self, path: str | None = None) -> list[Seen]:
        return [s for s in self.seen if "/v1.0/" in s.url and (path is None or f"/v1.0{path}" in s.url)]

    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/{path:path}", self._dispatch, methods=["GET", "POST", "PATCH", "DELETE"])]
        )

    async def _dispatch(self, request: Request) -> Response:
        body = await request.body()
        self.seen.append(Seen(request.method, str(request.url), dict(request.headers), self.clock(), body))
        path = request.url.path
        if path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
            return JSONResponse(_openid_configuration())
        if path.endswith("/v2.0/.well-known/openid-configuration"):
            return JSONResponse(
                {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."}, 400
            )
        if path == f"/{TENANT}/oauth2/v2.0/token":
            return self._token(dict((await request.form()).items()))  # type: ignore[arg-type]
        if path.startswith("/blob/"):
            return Response(b"bytes of " + path.encode(), media_type="application/octet-stream")
        if not path.startswith("/v1.0/"):
            return JSONResponse({"error": "not here"}, 404)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens_issued or token in self.revoked:
            return _graph_error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        handler = self.routes.get((request.method, path.removeprefix("/v1.0")))
        if handler is None:
            return _graph_error(404, "itemNotFound", f"no handler for {path}")
        return await handler(request)

    def _token(self, form: dict[str, str]) -> Response:
        self.token_requests.append(form)
        if form.get("client_id") != CLIENT_ID:
            return _login_error("unauthorized_client", 700016, "Application was not found in the directory.")
        if form.get("client_secret") != SECRET:
            return _login_error("invalid_client", 7000215, "Invalid client secret provided.")
        if form.get("grant_type") != "client_credentials" or not form.get("scope", "").endswith("/.default"):
            return _login_error("invalid_request", 900144, "bad request")
        token = f"token-{len(self.tokens_issued) + 1}"
        self.tokens_issued.append(token)
        return JSONResponse({"token_type": "Bearer", "expires_in": self.expires_in, "access_token": token})


def _openid_configuration() -> dict[str, Any]:
    return {
        "issuer": f"{LOGIN}/{TENANT}/v2.0",
        "authorization_endpoint": f"{LOGIN}/{TENANT}/oauth2/v2.0/authorize",
        "token_endpoint": f"{LOGIN}/{TENANT}/oauth2/v2.0/token",
    }


def _login_error(error: str, code: int, description: str) -> Response:
    body = {"error": error, "error_description": f"AADSTS{code}: {description}", "error_codes": [code]}
    return JSONResponse(body, 401 if error == "invalid_client" else 400)


def _graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "innerError": {"request-id": "req-1", "date": "x"}}}
    return JSONResponse(body, status, headers=headers)


graph_error = _graph_error


def client_for(mini: MiniGraph) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=mini.app()))


def run(mini: MiniGraph, scenario: Callable[[GraphClient], Awaitable[T]], **options: Any) -> T:
    async def main() -> T:
        async with client_for(mini) as http:
            client = GraphClient.from_credentials(
                http,
                ClientCredentials(TENANT, CLIENT_ID, SECRET),
                base_url=GRAPH,
                authority_base=LOGIN,
                budget=options.get("budget", RateBudget()),
                retry=options.get("retry", RetryPolicy(base_delay_s=0.001, rng=random.Random(1))),
            )
            return await scenario(client)

    return asyncio.run(main())


def ids(objects: Any) -> Awaitable[list[str]]:
    async def collect() -> list[str]:
        return [item["id"] async for item in objects]

    return collect()
