"""The FastAPI application: routers, error mapping, and the stores it opens once per process.

    app = create_app(settings)                      # everything from settings
    app = create_app(settings, embedder=..., http=...)  # tests inject a test embedder, a fake network

OpenAPI is served at /openapi.json and the interactive docs at /docs. See `state.py` for when the
stores are opened (lazily; under uvicorn at startup) and closed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from fastapi import FastAPI

from headwater import __version__
from headwater.settings import Settings
from headwater.web import pages

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
    )
    app.state.settings = settings
    app.state.holder = holder
    install_error_handlers(app)
    for module in ROUTERS:
        app.include_router(module.router)
    app.include_router(pages.router)
    return app
