"""Fixtures for API tests whose app talks to a fake OAuth vendor: `vendor` (the network the app
reaches the vendor through) and `app` (the instance's app with that network injected). A test
module defines its own `provider` fixture (a `FakeOAuthProvider` with the client secret it wants to
look for) and imports these::

    from tests.api.oauth_vendor import app_reaching_vendor, vendor_network  # noqa: F401
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from headwater.api import create_app
from headwater.api.state import ApiState, holder_of
from headwater.indexing.embeddings.testing import HashingEmbedder
from tests.api.conftest import ApiInstance
from tests.fakes.oauth_provider import FakeOAuthProvider


@pytest.fixture(name="vendor")
async def vendor_network(provider: FakeOAuthProvider) -> AsyncIterator[httpx.AsyncClient]:
    """The network the app reaches the vendor through (the fake provider, whatever the host)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=provider.app)) as client:
        yield client


@pytest.fixture(name="app")
async def app_reaching_vendor(
    anyio_backend: str, instance: ApiInstance, embedder: HashingEmbedder, vendor: httpx.AsyncClient
) -> AsyncIterator[FastAPI]:
    """The instance's app, reaching the fake OAuth vendor for its outgoing calls."""
    application = create_app(instance.settings, embedder=embedder, http=vendor)
    try:
        yield application
    finally:
        await holder_of(application).close()


async def state_of(app: FastAPI) -> ApiState:
    return await holder_of(app).get()
