"""`FakeGraph`: the HTTP face of a `FakeTenant` — Graph v1.0 under `/v1.0`, the identity platform's
token endpoint under `/{tenant}/oauth2/v2.0/token`, and pre-authenticated download URLs — as one
Starlette app, so one transport (or one port) serves the whole of Microsoft 365.

Every Graph call goes through `_graph_endpoint`: it records the request, checks the bearer token,
applies injected faults, and turns the tenant's lookup errors into Graph's error envelope."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from headwater.testing.fake_graph import auth, routes_directory, routes_files, routes_mail, routes_sites
from headwater.testing.fake_graph import notifications as notifications_module
from headwater.testing.fake_graph.faults import FaultPlan
from headwater.testing.fake_graph.model import UnknownObject
from headwater.testing.fake_graph.odata import GraphHTTPError, error_body, error_response, json_response
from headwater.testing.fake_graph.tenant import FakeTenant
from headwater.testing.fake_graph.tokens import TokenSigner
from headwater.testing.fake_graph.validation import SchemaValidator

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    url: str
    headers: dict[str, str]


class FakeGraph:
    """A fake Microsoft Graph + token endpoint over one tenant.

    Args:
        tenant: the state it serves (a new empty `FakeTenant()` when omitted).
        client_id, client_secret: the app registration the token endpoint accepts.
        base_url: the root its links point to (`http://127.0.0.1:8123`); None uses the host the
            client addressed, so `https://graph.microsoft.com` through an ASGI transport works too.
        validate: check every JSON response against the Graph JSON Schemas (`validator.violations`).
        schema_dir: where those schemas are (default: tests/fakes/msgraph_schemas).
        webhook_client: how the fake reaches notification URLs (validation handshake, change
            notifications); an `httpx.AsyncClient`, typically with an ASGI or mock transport.
        page_size_cap: no page is longer than this (small values make tests exercise paging).
        token_lifetime_s: access token lifetime (`expires_in`).
        admin_consent: False issues tokens without application roles, so Graph calls answer 403.
    """

    def __init__(
        self,
        tenant: FakeTenant | None = None,
        *,
        client_id: str = "11111111-2222-3333-4444-555555555555",
        client_secret: str = "fake-client-secret",
        base_url: str | None = None,
        validate: bool = False,
        schema_dir: Path | None = None,
        webhook_client: httpx.AsyncClient | None = None,
        page_size_cap: int | None = None,
        token_lifetime_s: int = 3599,
        admin_consent: bool = True,
    ) -> None:
        self.tenant = tenant or FakeTenant()
        self.client_id = client_id
        self.client_secret = client_secret
        self.base_url = base_url
        self.validator = SchemaValidator(schema_dir) if validate else None
        self.page_size_cap = page_size_cap
        self.token_lifetime_s = token_lifetime_s
        self.admin_consent = admin_consent
        self.signing_key = secrets.token_bytes(32)
        self.signer = TokenSigner(secrets.token_bytes(32))
        self.faults = FaultPlan(self.tenant)
        self.notifications = notifications_module.Notifier(self, webhook_client)
        self.requests: list[RecordedRequest] = []
        self.token_requests = 0
        self.download_lifetime_s = 3600
        self.app = Starlette(routes=self._routes())
        self.app.state.graph = self

    # -- conveniences for tests ---------------------------------------------------------------------

    def transport(self) -> httpx.ASGITransport:
        """An httpx transport that sends requests straight into the app (no socket)."""
        return httpx.ASGITransport(app=self.app)

    def login_base(self, request: Request) -> str:
        return (self.base_url or f"{request.url.scheme}://{request.url.netloc}").rstrip("/")

    def graph_requests(self, path_contains: str = "") -> list[RecordedRequest]:
        return [r for r in self.requests if "/v1.0/" in r.url and path_contains in r.url]

    # -- routing ------------------------------------------------------------------------------------

    def _routes(self) -> list[BaseRoute]:
        graph_routes = [
            *routes_directory.ROUTES,
            *routes_files.ROUTES,
            *routes_sites.ROUTES,
            *routes_mail.ROUTES,
            *notifications_module.ROUTES,
        ]
        wrapped: list[BaseRoute] = []
        for route in graph_routes:
            assert isinstance(route, Route)
            wrapped.append(
                Route(route.path, _graph_endpoint(route.endpoint), methods=sorted(route.methods or {"GET"}))
            )
        return [
            Route("/{tenant}/oauth2/v2.0/token", _unguarded(auth.token_endpoint), methods=["POST"]),
            Route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                _unguarded(_sync(auth.openid_configuration)),
            ),
            Route("/common/discovery/instance", _unguarded(_sync(auth.instance_discovery))),
            Route("/_download/{token}", _unguarded(routes_files.download)),
            *wrapped,
            Route(
                "/v1.0/{rest:path}",
                _graph_endpoint(_no_such_resource),
                methods=["GET", "POST", "PATCH", "DELETE"],
            ),
        ]


def _sync(handler: Callable[[Request], Response]) -> Handler:
    async def run(request: Request) -> Response:
        return handler(request)

    return run


def _record(request: Request) -> None:
    graph: FakeGraph = request.app.state.graph
    graph.requests.append(RecordedRequest(request.method, str(request.url), dict(request.headers)))


def _unguarded(handler: Handler) -> Handler:
    async def run(request: Request) -> Response:
        _record(request)
        try:
            return await handler(request)
        except GraphHTTPError as exc:
            return error_response(request, exc)

    return run


def _graph_endpoint(handler: Callable[..., object]) -> Handler:
    async def run(request: Request) -> Response:
        _record(request)
        graph: FakeGraph = request.app.state.graph
        try:
            auth.require_bearer(request)
            throttle = graph.faults.decide(request.method, request.url.path)
            if throttle is not None:
                return _throttled(request, throttle.status, throttle.retry_after)
            response = handler(request)
            assert not isinstance(response, Response)
            result = await response  # type: ignore[misc]
            assert isinstance(result, Response)
            return result
        except GraphHTTPError as exc:
            return error_response(request, exc)
        except UnknownObject as exc:
            message = str(exc.args[0]) if exc.args else "The resource could not be found."
            code = (
                "Request_ResourceNotFound"
                if "/users/" in request.url.path and "/drive" not in request.url.path
                else "itemNotFound"
            )
            if "/groups/" in request.url.path:
                code = "Request_ResourceNotFound"
            return json_response(request, error_body(code, message), entity="error", status=404)

    return run


def _throttled(request: Request, status: int, retry_after: int) -> Response:
    if status == 429:
        body = error_body("activityLimitReached", "The request has been throttled", "throttledRequest")
    else:
        body = error_body(
            "serviceNotAvailable", "The service is temporarily unavailable. Retry after a delay."
        )
    headers = {
        "Retry-After": str(retry_after),
        "RateLimit-Limit": "1250",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": str(retry_after),
    }
    return json_response(request, body, entity="error", status=status, headers=headers)


async def _no_such_resource(request: Request) -> Response:
    segment = request.path_params["rest"].split("/")[0]
    raise GraphHTTPError(
        400,
        "BadRequest",
        f"Resource not found for the segment '{segment}'. (The fake does not serve {request.url.path}.)",
    )


@contextmanager
def checked_graph(tenant: FakeTenant | None = None, **options: Any) -> Iterator[FakeGraph]:
    """A validating `FakeGraph` that fails the block if any response broke Graph's schemas."""
    graph = FakeGraph(tenant, validate=True, **options)
    yield graph
    assert graph.validator is not None
    if graph.validator.violations:
        raise AssertionError(
            "fake Graph responses broke the schemas:\n" + "\n".join(graph.validator.violations)
        )
