"""Fixtures for API tests: an initialised instance with two organisations, the app, and clients.

The instance (built once per session, copied into each test's tmp_path so tests never share state):

    org "Acme":  admin@acme.test (admin), member@acme.test (member), member2@acme.test (member)
    org "Other": admin@other.test (admin)
    every password is PASSWORDS[email]; SQLite store, embedded index under <data_dir>/index,
    `HashingEmbedder` (no model loads).

Fixtures (async tests: mark the module `pytestmark = pytest.mark.anyio`; the backend is asyncio):

    instance        ApiInstance: .settings, .data_dir, .org_keys {"Acme": key, "Other": key},
                    .user_keys {email: key}
    embedder        the HashingEmbedder the app uses (index documents with the same one)
    app             create_app(instance.settings, embedder=embedder); its state (stores, index) is
                    opened on the first request and closed after the test. The app's state:
                    `await holder_of(app).get()` -> ApiState (.store, .config, .search, ...).
    client_for      async factory: `c = await client_for("member@acme.test")` -> httpx.AsyncClient over
                    ASGITransport (base_url http://testserver) sending `Authorization: Bearer hw_...`
                    (a fresh API token of that user; no CSRF needed).
    session_for     async factory: `c = await session_for("admin@acme.test")` -> an AsyncClient that
                    logged in through POST /api/v1/auth/login: it carries the hw_session cookie and
                    sends `X-CSRF-Token` on every request; `c.csrf_token` is the token.
    anon            an AsyncClient with no credentials.

`ASGITransport` runs no lifespan; that is why the state opens lazily (see headwater/api/state.py).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from headwater.api import create_app
from headwater.api.state import holder_of
from headwater.bootstrap import init_instance
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.services import accounts, api_tokens
from headwater.settings import Settings
from headwater.store.registry import open_store

PASSWORDS = {
    "admin@acme.test": "acme-admin-password",
    "member@acme.test": "acme-member-password",
    "member2@acme.test": "acme-member2-password",
    "admin@other.test": "other-admin-password",
}
BASE_URL = "http://testserver"

ClientFactory = Callable[[str], Awaitable[httpx.AsyncClient]]


@dataclass(frozen=True)
class ApiInstance:
    settings: Settings
    data_dir: Path
    org_keys: dict[str, str]
    user_keys: dict[str, str]


def _build_template(data_dir: Path) -> tuple[dict[str, str], dict[str, str]]:
    settings = Settings(data_dir=data_dir)
    acme = init_instance(
        settings,
        "Acme",
        (
            ("admin@acme.test", "Acme Admin", "admin"),
            ("member@acme.test", "Acme Member", "member"),
            ("member2@acme.test", "Acme Member Two", "member"),
        ),
    )
    store = open_store(settings.resolved_store_url)
    try:
        other = accounts.create_organization(store, "Other")["id"]
        accounts.create_user(store, other, "admin@other.test", name="Other Admin", role="admin")
        user_keys = {}
        for email, password in PASSWORDS.items():
            account = accounts.find_account(store, email)
            accounts.set_password(store, account.key, password)
            user_keys[email] = account.key
    finally:
        store.close()
    return {"Acme": acme, "Other": other}, user_keys


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], dict[str, str]]:
    data_dir = tmp_path_factory.mktemp("api-template") / "data"
    orgs, users = _build_template(data_dir)
    return data_dir, orgs, users


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def instance(_template: tuple[Path, dict[str, str], dict[str, str]], tmp_path: Path) -> ApiInstance:
    source, orgs, users = _template
    data_dir = tmp_path / "data"
    shutil.copytree(source, data_dir)
    return ApiInstance(Settings(data_dir=data_dir), data_dir, dict(orgs), dict(users))


@pytest.fixture
def embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture
async def app(anyio_backend: str, instance: ApiInstance, embedder: HashingEmbedder) -> AsyncIterator[FastAPI]:
    application = create_app(instance.settings, embedder=embedder)
    try:
        yield application
    finally:
        await holder_of(application).close()


def _client(app: FastAPI, **kwargs: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def client_for(app: FastAPI) -> AsyncIterator[ClientFactory]:
    opened: list[httpx.AsyncClient] = []

    async def make(email: str) -> httpx.AsyncClient:
        state = await holder_of(app).get()
        account = accounts.find_account(state.store, email)
        token, _ = api_tokens.create_token(state.store, account, "test client")
        client = _client(app, headers={"Authorization": f"Bearer {token}"})
        opened.append(client)
        return client

    try:
        yield make
    finally:
        for client in opened:
            await client.aclose()


@pytest.fixture
async def session_for(app: FastAPI) -> AsyncIterator[ClientFactory]:
    opened: list[httpx.AsyncClient] = []

    async def make(email: str) -> httpx.AsyncClient:
        client = _client(app)
        opened.append(client)
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORDS[email]}
        )
        assert response.status_code == 200, response.text
        token = response.json()["csrfToken"]
        client.headers["X-CSRF-Token"] = token
        client.csrf_token = token  # type: ignore[attr-defined]
        return client

    try:
        yield make
    finally:
        for client in opened:
            await client.aclose()


@pytest.fixture
async def anon(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(app) as client:
        yield client
