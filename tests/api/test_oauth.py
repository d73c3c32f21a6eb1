"""The OAuth flow against a fake authorisation server: authorize -> vendor -> callback with state and
PKCE, tokens stored encrypted and never shown, state tampering / expiry / reuse refused, central
refresh before expiry, a refused refresh -> NEEDS_REAUTH, a transient failure retried later."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.state import ApiState
from headwater.connectors.core.factory import ConnectorFactory
from headwater.models.timeutil import now_ms
from headwater.services import oauth
from headwater.services.oauth_refresh import refresh_due_tokens, refresh_instance
from headwater.services.platform import Platform, config_key
from tests.api.conftest import ApiInstance, ClientFactory
from tests.api.oauth_vendor import app_reaching_vendor, state_of, vendor_network  # noqa: F401
from tests.fakes.oauth_connector import FAKE_CLOUD, FAKE_LEGACY, FakeCloudConnector, FakeLegacyCloudConnector
from tests.fakes.oauth_provider import FakeOAuthProvider

pytestmark = pytest.mark.anyio

CLIENT_ID, CLIENT_SECRET = "fake-client-id", "client-secret-Kx93"
CALLBACK = "http://testserver/api/v1/oauth/callback"


@dataclass(frozen=True)
class Who:
    user_key: str
    org_key: str
    is_admin: bool


@pytest.fixture(autouse=True)
def oauth_connectors() -> Iterator[None]:
    ConnectorFactory.register_connector(FAKE_CLOUD, FakeCloudConnector)
    ConnectorFactory.register_connector(FAKE_LEGACY, FakeLegacyCloudConnector)
    yield
    ConnectorFactory.unregister_connector(FAKE_CLOUD)
    ConnectorFactory.unregister_connector(FAKE_LEGACY)


@pytest.fixture
def provider() -> FakeOAuthProvider:
    return FakeOAuthProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


def platform(state: ApiState) -> Platform:
    return Platform(state.settings, state.store, state.config)


async def add_cloud(client: httpx.AsyncClient, scope: str = "team", type_name: str = FAKE_CLOUD) -> str:
    body = {"name": f"{type_name} {scope}", "type": type_name, "scope": scope,
            "config": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}}  # fmt: skip
    r = await client.post("/api/v1/connectors", json=body)
    assert r.status_code == 201, r.text
    view = r.json()
    assert (view["isActive"], view["isAuthenticated"], view["authType"]) == (False, False, "OAUTH")
    return str(view["id"])


async def authorize(
    client: httpx.AsyncClient, anon: httpx.AsyncClient, vendor: httpx.AsyncClient, cid: str
) -> tuple[dict[str, list[str]], httpx.Response]:
    """The whole browser round trip: our authorize URL -> the vendor -> our callback, in the same
    user's "browser" (`client`; the callback checks that whoever completes a flow started it)."""
    r = await client.get(f"/api/v1/connectors/{cid}/oauth/authorize", params={"mode": "json"})
    assert r.status_code == 200, r.text
    url = r.json()["authorizationUrl"]
    at_vendor = await vendor.get(url)
    assert at_vendor.status_code == 302
    back = urlsplit(at_vendor.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == CALLBACK
    return parse_qs(urlsplit(url).query), await client.get(f"{back.path}?{back.query}")


async def stored_credentials(app: FastAPI, cid: str) -> dict[str, Any]:
    config = await (await state_of(app)).config.get(config_key(cid))
    assert config is not None
    return dict(config.get("credentials") or {})


async def test_authorisation_code_flow_with_pkce(
    client_for: ClientFactory,
    anon: httpx.AsyncClient,
    vendor: httpx.AsyncClient,
    provider: FakeOAuthProvider,
    app: FastAPI,
) -> None:
    admin = await client_for("admin@acme.test")
    cid = await add_cloud(admin)
    assert (await admin.post(f"/api/v1/connectors/{cid}/enable")).status_code == 422  # not authorised yet

    sent, callback = await authorize(admin, anon, vendor, cid)
    assert callback.status_code == 303, callback.text
    assert callback.headers["location"] == f"/connectors/{cid}?oauth=connected"
    assert sent["client_id"] == [CLIENT_ID]
    assert sent["redirect_uri"] == [CALLBACK]
    assert sent["scope"] == ["files.read offline_access"]
    assert sent["access_type"] == ["offline"]
    assert sent["code_challenge_method"] == ["S256"]
    assert len(sent["state"][0]) >= 40
    [exchange] = provider.token_requests
    verifier = exchange["code_verifier"]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert digest == sent["code_challenge"][0]  # the provider verified it too, or it would have refused
    assert exchange["redirect_uri"] == CALLBACK
    assert exchange["grant_type"] == "authorization_code"

    creds = await stored_credentials(app, cid)
    assert creds["access_token"] in provider.access_tokens
    assert creds["refresh_token"] in provider.refresh_tokens
    assert creds["expires_at"] == pytest.approx(now_ms() // 1000 + 3600, abs=5)
    view = await admin.get(f"/api/v1/connectors/{cid}")
    assert view.json()["isAuthenticated"] is True
    assert view.json()["config"]["values"]["auth.clientSecret"] == "••••"
    for secret in (creds["access_token"], creds["refresh_token"], CLIENT_SECRET, verifier):
        assert secret not in view.text
        assert secret not in callback.text
    raw = b"".join(p.read_bytes() for p in (await state_of(app)).settings.data_dir.glob("headwater.db*"))
    assert creds["access_token"].encode() not in raw
    assert creds["refresh_token"].encode() not in raw

    r = await admin.post(f"/api/v1/connectors/{cid}/enable")
    assert (r.status_code, r.json()["isActive"]) == (200, True)
    r = await admin.get(f"/api/v1/connectors/{cid}/filters/folders/options", params={"search": "eng"})
    assert r.status_code == 200
    assert r.json()["options"] == [
        {"id": "engineering", "label": "Engineering"},
        {"id": "engineering-archive", "label": "Engineering Archive"},
    ]
    assert (await admin.get(f"/api/v1/connectors/{cid}/filters/nope/options")).status_code == 422

    # the default answer is a redirect to the vendor
    r = await admin.get(f"/api/v1/connectors/{cid}/oauth/authorize")
    assert r.status_code == 302
    assert r.headers["location"].startswith("https://auth.fakecloud.test/authorize?")


async def test_vendor_without_pkce_and_basic_client_auth(
    client_for: ClientFactory, anon: httpx.AsyncClient, vendor: httpx.AsyncClient, provider: FakeOAuthProvider
) -> None:
    member = await client_for("member@acme.test")
    cid = await add_cloud(member, scope="personal", type_name=FAKE_LEGACY)
    sent, callback = await authorize(member, anon, vendor, cid)
    assert callback.status_code == 303, callback.text
    assert "code_challenge" not in sent
    [exchange] = provider.token_requests
    assert "code_verifier" not in exchange
    assert "client_secret" not in exchange


async def test_who_may_authorise(client_for: ClientFactory, app: FastAPI) -> None:
    admin, member = await client_for("admin@acme.test"), await client_for("member@acme.test")
    other, member2 = await client_for("admin@other.test"), await client_for("member2@acme.test")
    team = await add_cloud(admin)
    personal = await add_cloud(member, scope="personal")
    path = "/api/v1/connectors/{}/oauth/authorize?mode=json"
    assert (await member.get(path.format(team))).status_code == 403
    assert (await other.get(path.format(team))).status_code == 404
    assert (await member2.get(path.format(personal))).status_code == 404
    assert (await admin.get(path.format(personal))).status_code == 404
    assert (await member.get(path.format(personal))).status_code == 200
    r = await member.get(path.format(personal) + "&returnTo=//evil.example/x")
    assert r.status_code == 422


async def test_tampered_expired_reused_and_denied_states_are_refused(
    client_for: ClientFactory,
    anon: httpx.AsyncClient,
    vendor: httpx.AsyncClient,
    provider: FakeOAuthProvider,
    app: FastAPI,
    instance: ApiInstance,
) -> None:
    admin = await client_for("admin@acme.test")
    cid = await add_cloud(admin)
    r = await admin.get(f"/api/v1/connectors/{cid}/oauth/authorize", params={"mode": "json"})
    at_vendor = await vendor.get(r.json()["authorizationUrl"])
    query = parse_qs(urlsplit(at_vendor.headers["location"]).query)
    code, state = query["code"][0], query["state"][0]

    tampered = await anon.get("/api/v1/oauth/callback", params={"code": code, "state": state[:-2] + "xx"})
    assert tampered.status_code == 400
    assert "start the authorisation again" in tampered.json()["error"]["message"]
    assert (await anon.get("/api/v1/oauth/callback", params={"code": code})).status_code == 400
    # nobody signed in: told to log in as the user who started it; the state is kept for them
    anonymous = await anon.get("/api/v1/oauth/callback", params={"code": code, "state": state})
    assert anonymous.status_code == 401
    assert "log in to Headwater with the account that started" in anonymous.json()["error"]["message"]
    first = await admin.get("/api/v1/oauth/callback", params={"code": code, "state": state})
    assert first.status_code == 303
    reused = await admin.get("/api/v1/oauth/callback", params={"code": code, "state": state})
    assert reused.status_code == 400
    assert "used already" in reused.json()["error"]["message"]
    assert len(provider.token_requests) == 1  # neither bad callback reached the vendor

    who = Who(instance.user_keys["admin@acme.test"], instance.org_keys["Acme"], True)
    stale = await oauth.start_authorization(
        platform(await state_of(app)), who, cid, callback_url=CALLBACK, now=now_ms() - 11 * 60 * 1000
    )
    at_vendor = await vendor.get(stale["authorizationUrl"])
    expired = await admin.get(f"/api/v1/oauth/callback?{urlsplit(at_vendor.headers['location']).query}")
    assert expired.status_code == 400
    assert "expired" in expired.json()["error"]["message"]

    provider.deny = True
    r = await admin.get(f"/api/v1/connectors/{cid}/oauth/authorize", params={"mode": "json"})
    at_vendor = await vendor.get(r.json()["authorizationUrl"])
    denied = await admin.get(f"/api/v1/oauth/callback?{urlsplit(at_vendor.headers['location']).query}")
    assert denied.status_code == 400
    assert "access_denied" in denied.json()["error"]["message"]
    assert len(provider.token_requests) == 1


async def test_fake_provider_checks_the_pkce_verifier(
    vendor: httpx.AsyncClient, provider: FakeOAuthProvider
) -> None:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"right-verifier").digest()).rstrip(b"=").decode()
    at_vendor = await vendor.get(
        "https://auth.fakecloud.test/authorize",
        params={"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": CALLBACK, "state": "s",
                "code_challenge": challenge, "code_challenge_method": "S256"},
    )  # fmt: skip
    code = parse_qs(urlsplit(at_vendor.headers["location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code_verifier": "wrong"}  # fmt: skip
    r = await vendor.post("https://auth.fakecloud.test/token", data=form)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"


async def test_central_refresh_before_expiry_and_needs_reauth_when_refused(
    client_for: ClientFactory,
    anon: httpx.AsyncClient,
    vendor: httpx.AsyncClient,
    provider: FakeOAuthProvider,
    app: FastAPI,
) -> None:
    admin, member = await client_for("admin@acme.test"), await client_for("member@acme.test")
    cid = await add_cloud(admin)
    await authorize(admin, anon, vendor, cid)
    assert (await admin.post(f"/api/v1/connectors/{cid}/enable")).status_code == 200
    first = await stored_credentials(app, cid)
    hub = platform(await state_of(app))

    # not due yet: an hour left, the margin is 10 minutes
    assert [(r.connector_id, r.outcome) for r in await refresh_due_tokens(hub, vendor)] == [(cid, "skipped")]
    assert len(provider.token_requests) == 1

    # five minutes before expiry: refreshed, the rotated refresh token replaces the old one
    soon = (int(first["expires_at"]) - 300) * 1000
    assert [r.outcome for r in await refresh_due_tokens(hub, vendor, now=soon)] == ["refreshed"]
    second = await stored_credentials(app, cid)
    assert second["access_token"] != first["access_token"]
    assert second["access_token"] in provider.access_tokens
    assert second["refresh_token"] != first["refresh_token"]
    assert first["refresh_token"] not in provider.refresh_tokens
    assert provider.token_requests[-1]["grant_type"] == "refresh_token"

    # the vendor is down: nothing changes, the next pass retries
    provider.unavailable = True
    late = (int(second["expires_at"]) - 60) * 1000
    assert (await refresh_instance(hub, vendor, cid, now=late)).outcome == "retry_later"
    status = (await member.get(f"/api/v1/connectors/{cid}/status")).json()
    assert (status["status"], status["isAuthenticated"]) == ("IDLE", True)
    assert await stored_credentials(app, cid) == second

    # the vendor refuses the refresh token: NEEDS_REAUTH with a reason that says what to do
    provider.unavailable, provider.refuse_refresh = False, True
    assert [r.outcome for r in await refresh_due_tokens(hub, vendor, now=late)] == ["needs_reauth"]
    status = (await member.get(f"/api/v1/connectors/{cid}/status")).json()
    assert (status["status"], status["isAuthenticated"]) == ("NEEDS_REAUTH", False)
    assert "invalid_grant" in status["error"]
    assert "authorise it again" in status["error"]
    assert await refresh_due_tokens(hub, vendor, now=late) == []  # unauthorised instances are left alone

    # authorising again clears it
    provider.refuse_refresh = False
    _, callback = await authorize(admin, anon, vendor, cid)
    assert callback.status_code == 303
    status = (await member.get(f"/api/v1/connectors/{cid}/status")).json()
    assert (status["status"], status["isAuthenticated"], status["error"]) == ("IDLE", True, None)
