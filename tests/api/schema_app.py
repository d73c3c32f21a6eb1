"""For schemathesis tests, which run outside the async fixtures: an app over an instance's settings
and a bearer token of one of its users, closed on exit."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI

from headwater.api import create_app
from headwater.api.state import holder_of
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.services import accounts, api_tokens
from headwater.settings import Settings
from headwater.store.registry import open_store


@contextmanager
def app_with_token(settings: Settings, email: str) -> Iterator[tuple[FastAPI, str]]:
    store = open_store(settings.resolved_store_url)
    try:
        token, _ = api_tokens.create_token(store, accounts.find_account(store, email), "schemathesis")
    finally:
        store.close()
    app = create_app(settings, embedder=HashingEmbedder())
    try:
        yield app, token
    finally:
        asyncio.run(holder_of(app).close())
