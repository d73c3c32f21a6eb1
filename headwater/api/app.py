"""The FastAPI application: routers, error mapping, and the stores it opens once per process."""

from __future__ import annotations

from fastapi import FastAPI

from headwater.settings import Settings
from headwater.web import pages

from .routes import accounts, auth, connectors, health, oauth, records, search, tokens, webhooks

ROUTERS = (health, auth, accounts, tokens, connectors, records, search, oauth, webhooks)


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="Headwater", version="0.1.0")
    app.state.settings = settings
    for module in ROUTERS:
        app.include_router(module.router)
    app.include_router(pages.router)
    return app
