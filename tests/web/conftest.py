"""Fixtures for page tests: the API tests' instance and app (re-used from tests/api/conftest.py),
browsers that log in through the login FORM, and seeded content.

    browser_for   async factory: `b = await browser_for("member@acme.test")` -> an httpx.AsyncClient
                  that logged in through GET+POST /login like a browser (cookies only, no CSRF header);
                  `b.csrf_token` is the session's token (read from the page's meta tag).
    seeded        two Local FS connectors synced and indexed into the app (see seed.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.state import holder_of
from tests.api.conftest import (  # noqa: F401  (fixtures)
    BASE_URL,
    PASSWORDS,
    ApiInstance,
    ClientFactory,
    _template,
    anon,
    anyio_backend,
    app,
    embedder,
    instance,
)

from .seed import Seeded, seed

_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_LOGIN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def page_client(app: FastAPI) -> httpx.AsyncClient:  # noqa: F811
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    form = await client.get("/login")
    token = _LOGIN_TOKEN.search(form.text)
    assert token is not None, form.text
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token.group(1), "next": "/"}
    )


def csrf_of(html: str) -> str:
    found = _META_CSRF.search(html)
    assert found is not None, "the page has no csrf-token meta tag"
    return found.group(1)


@pytest.fixture
async def browser_for(app: FastAPI) -> AsyncIterator[ClientFactory]:  # noqa: F811
    opened: list[httpx.AsyncClient] = []

    async def make(email: str) -> httpx.AsyncClient:
        client = page_client(app)
        opened.append(client)
        response = await log_in(client, email, PASSWORDS[email])
        assert response.status_code == 303, response.text
        home = await client.get("/")
        assert home.status_code == 200, home.text
        client.csrf_token = csrf_of(home.text)  # type: ignore[attr-defined]
        return client

    try:
        yield make
    finally:
        for client in opened:
            await client.aclose()


@pytest.fixture
async def seeded(app: FastAPI, instance: ApiInstance, tmp_path: Path) -> Seeded:  # noqa: F811
    state = await holder_of(app).get()
    return await seed(
        state, instance.org_keys["Acme"], instance.user_keys["admin@acme.test"], tmp_path / "src"
    )
