"""The FastAPI application: routers, error mapping, and the stores it opens once per process.

    app = create_app(settings)                      # everything from settings
    app = create_app(settings, embedder=..., http=...)  # tests inject a test embedder, a fake network

OpenAPI is served at /openapi.json and the interactive docs at /docs (Swagger UI from this server,
see `docs.py`; there is no /redoc). Every response says `X-Content-Type-Options: nosniff`. See
`state.py` for when the stores are opened (lazily; under uvicorn at startup) and closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from headwater import __version__
from headwater.settings import Settings
from headwater.web import pages

from . import docs
from .errors import install_error_handlers
from .routes import accounts, auth, connectors, health, oauth, records, search, tokens, webhooks
from .state import StateHolder, lifespan_for

if TYPE_CHECKING:
    from headwater.indexing.embeddings.base import Embedder
    from headwater.indexing.index.base import SearchIndex

ROUTERS = (health, auth, accounts, tokens, connectors, records, search, oauth, webhooks)


def create_app(
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    http: httpx.AsyncClient | None = None,
    search_index: SearchIndex | None = None,
) -> FastAPI:
    """The API and web UI for the instance `settings` points at. `embedder`, `http` (outgoing calls)
    and `search_index` are used instead of opening them from settings, and left open."""
    holder = StateHolder(settings, embedder=embedder, http=http, search_index=search_index)
    app = FastAPI(
        title="Headwater",
        version=__version__,
        description="Permission-aware search over your organisation's sources. Authenticate with "
        "`Authorization: Bearer hw_...` (an API token) or the web UI's session cookie.",
        lifespan=lifespan_for(holder),
        docs_url=None,  # ours, served without a CDN (docs.py)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.holder = holder
    install_error_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.add_middleware(NoSniff)
    return app


class NoSniff:
    """Adds `X-Content-Type-Options: nosniff` to every response that does not say it already, so
    that no browser runs a JSON body (which may echo what a caller sent) as a script or a page.
    Plain ASGI, not BaseHTTPMiddleware: the status streams keep working as streams."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                if not any(name.lower() == b"x-content-type-options" for name, _ in headers):
                    headers.append((b"x-content-type-options", b"nosniff"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_header)
