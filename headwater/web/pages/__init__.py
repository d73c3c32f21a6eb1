"""The web UI's pages, one module per area; `router` is what the API app includes."""

from __future__ import annotations

from fastapi import APIRouter

from . import ask, assets, auth, connectors, records, search, settings

router = APIRouter(include_in_schema=False)
for _module in (assets, auth, search, ask, records, connectors, settings):
    router.include_router(_module.router)
