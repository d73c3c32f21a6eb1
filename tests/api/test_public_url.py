"""HEADWATER_PUBLIC_URL: the base of the OAuth redirect URI and of content links; unset, the
request's own address (redirect URI) and server-relative links (content)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from headwater.api import create_app
from headwater.api.state import holder_of
from headwater.connectors.core.factory import ConnectorFactory
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.services import accounts, api_tokens
from headwater.settings import Settings
from tests.api.conftest import BASE_URL, PASSWORDS, ApiInstance
from tests.api.seeded_world import ADMIN, MEMBER, World, seeded_instance, world_fixture  # noqa: F401
from tests.fakes.oauth_connector import FAKE_CLOUD, FakeCloudConnector
from tests.fakes.oauth_provider import FakeOAuthProvider

pytestmark = pytest.mark.anyio

PUBLIC = "https://hw.example.test/headwater"
CLIENT_ID, CLIENT_SECRET = "fake-client-id", "client-secret-Kx93"


def test_the_setting_is_normalised_and_checked() -> None:
    assert Settings(public_url="https://hw.example.test/headwater/").public_url == PUBLIC
    assert Settings(public_url="http://10.0.0.5:8000").public_url == "http://10.0.0.5:8000"
    assert Settings(public_url="  ").public_url is None
    assert Settings().public_url is None
    for bad, says in (
        ("hw.example.test", "http(s) URL"),
        ("ftp://hw.example.test", "http(s) URL"),
        ("https://hw.example.test/?next=1", "no ?query"),
    ):
        with pytest.raises(ValidationError, match=r"HEADWATER_PUBLIC_URL") as caught:
            Settings(public_url=bad)
        assert says in str(caught.value)


@pytest.fixture(autouse=True)
def oauth_connector() -> Iterator[None]:
    ConnectorFactory.register_connector(FAKE_CLOUD, FakeCloudConnector)
    yield
    ConnectorFactory.unregister_connector(FAKE_CLOUD)


@pytest.fixture
def provider() -> FakeOAuthProvider:
    return FakeOAuthProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


@asynccontextmanager
async def clients_for(
    settings: Settings, provider: FakeOAuthProvider
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, httpx.AsyncClient, FastAPI]]:
    """(admin client, anonymous client, the vendor network, the app) over an app with `settings`."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=provider.app)) as vendor:
        app = create_app(settings, embedder=HashingEmbedder(), http=vendor)
        try:
            state = await holder_of(app).get()
            token, _ = api_tokens.create_token(state.store, accounts.find_account(state.store, ADMIN), "t")
            transport = httpx.ASGITransport(app=app)
            async with (
                httpx.AsyncClient(
                    transport=transport, base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"}
                ) as admin,
                httpx.AsyncClient(transport=transport, base_url=BASE_URL) as anon,
            ):
                yield admin, anon, vendor, app
        finally:
            await holder_of(app).close()


async def oauth_round_trip(
    admin: httpx.AsyncClient, anon: httpx.AsyncClient, vendor: httpx.AsyncClient
) -> tuple[str, httpx.Response]:
    body = {"name": "Cloud", "type": FAKE_CLOUD, "scope": "team",
            "config": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}}  # fmt: skip
    created = await admin.post("/api/v1/connectors", json=body)
    assert created.status_code == 201, created.text
    started = await admin.get(f"/api/v1/connectors/{created.json()['id']}/oauth/authorize?mode=json")
    url = started.json()["authorizationUrl"]
    [redirect_uri] = parse_qs(urlsplit(url).query)["redirect_uri"]
    at_vendor = await vendor.get(url)
    back = urlsplit(at_vendor.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == redirect_uri  # the vendor calls what we registered
    # the proxy in front strips /headwater; the app sees its own path; the admin's browser comes back
    return redirect_uri, await admin.get(f"/api/v1/oauth/callback?{back.query}")


async def test_oauth_redirect_uri_and_content_links_use_the_public_url(
    instance: ApiInstance, provider: FakeOAuthProvider, world: World
) -> None:
    settings = instance.settings.model_copy(update={"public_url": PUBLIC})
    async with clients_for(settings, provider) as (admin, anon, vendor, _):
        redirect_uri, callback = await oauth_round_trip(admin, anon, vendor)
        assert redirect_uri == f"{PUBLIC}/api/v1/oauth/callback"
        assert callback.status_code == 303, callback.text
        [exchange] = provider.token_requests
        assert exchange["redirect_uri"] == redirect_uri  # the code is redeemed for the same URI

        link = await admin.post(f"/api/v1/records/{world.records['handbook.md']}/content-link")
        url = link.json()["url"]
        assert url.startswith(f"{PUBLIC}/api/v1/content/v1.")
        fetched = await anon.get(url.removeprefix(PUBLIC))
        assert fetched.status_code == 200
        assert b"Hotels are reimbursed" in fetched.content


async def test_without_it_the_request_decides(
    instance: ApiInstance, provider: FakeOAuthProvider, world: World
) -> None:
    async with clients_for(instance.settings, provider) as (admin, anon, vendor, _):
        redirect_uri, callback = await oauth_round_trip(admin, anon, vendor)
        assert redirect_uri == f"{BASE_URL}/api/v1/oauth/callback"
        assert callback.status_code == 303, callback.text
        link = await admin.post(f"/api/v1/records/{world.records['handbook.md']}/content-link")
        assert link.json()["url"].startswith("/api/v1/content/v1.")  # relative: valid wherever it is used


async def test_the_add_form_shows_the_redirect_uri_to_register(
    instance: ApiInstance, provider: FakeOAuthProvider, world: World
) -> None:
    settings = instance.settings.model_copy(update={"public_url": PUBLIC})
    async with clients_for(settings, provider) as (_, anon, _, _):
        login = await anon.post("/api/v1/auth/login", json={"email": MEMBER, "password": PASSWORDS[MEMBER]})
        assert login.status_code == 200, login.text
        form = await anon.get(f"/connectors/new/{FAKE_CLOUD}")
        assert form.status_code == 200, form.text
        assert f"<code>{PUBLIC}/api/v1/oauth/callback</code>" in form.text
