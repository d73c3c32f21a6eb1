"""Smaller guards from the security review: nosniff on every response, the API docs served from
this server under a strict CSP, tracebacks logged redacted, status streams that end with the
session, and the current-password throttle sharing the login counter."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.routes import connectors as connectors_routes
from headwater.api.state import holder_of
from headwater.connectors.core.instances import update_instance_tx
from headwater.services import accounts
from tests.api.conftest import BASE_URL, PASSWORDS, ClientFactory
from tests.api.seeded_world import (  # noqa: F401  (fixtures)
    ADMIN,
    MEMBER,
    MEMBER2,
    World,
    seeded_instance,
    world_fixture,
)

pytestmark = pytest.mark.anyio


async def test_every_response_says_nosniff(
    anon: httpx.AsyncClient, client_for: ClientFactory, world: World
) -> None:
    member = await client_for(MEMBER)
    for response in (
        await anon.get("/api/v1/health"),
        await anon.get("/api/v1/me"),  # 401
        await member.get("/api/v1/me"),
        await member.get("/api/v1/records/no-such-record"),  # 404
        await member.post("/api/v1/search", json={"query": 3}),  # 422
        await anon.get("/openapi.json"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.request.url
        assert response.headers.get_list("x-content-type-options") == ["nosniff"]  # said once


async def test_the_docs_page_and_its_files_come_from_this_server(anon: httpx.AsyncClient) -> None:
    page = await anon.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert sources
    assert all(s.startswith("/docs/") for s in sources), sources
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    # the one inline script (Swagger UI's start) is allowed by its hash, and nothing else inline
    [inline] = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in csp
    for source in sources:
        asset = await anon.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert (await anon.get("/docs/assets/index.html")).status_code == 404  # only the files it needs
    assert (await anon.get("/docs/assets/..%2F..%2Fswagger_ui_bundle%2F__init__.py")).status_code == 404
    assert (await anon.get("/redoc")).status_code == 404
    # Swagger UI 4 reads the same document labelled 3.0; the API's own schema stays 3.1
    real, for_ui = (await anon.get("/openapi.json")).json(), (await anon.get("/docs/openapi.json")).json()
    assert real["openapi"].startswith("3.1")
    assert for_ui["openapi"] == "3.0.3"
    assert for_ui["paths"] == real["paths"]


async def test_an_unexpected_error_is_logged_with_its_traceback_redacted(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    def leaky() -> None:
        try:
            raise KeyError('{"client_secret": "cause-secret-H4x9"}')
        except KeyError as exc:
            raise RuntimeError(
                "upstream said access_token=token-secret-P2q7 and Bearer abcdefgh12345678"
            ) from exc

    async def boom() -> None:
        leaky()

    app.add_api_route("/boom", boom)
    caplog.set_level(logging.ERROR, logger="headwater.api")
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    logged = caplog.text
    assert "Traceback" in logged
    assert "leaky" in logged  # the traceback is there...
    assert "direct cause" in logged  # ...with its cause
    for secret in ("cause-secret-H4x9", "token-secret-P2q7", "abcdefgh12345678"):
        assert secret not in logged
        assert secret not in response.text
    assert "***" in logged


@pytest.fixture
def fast_stream(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connectors_routes, "SSE_POLL_S", 0.02)


async def watch_until_changed(
    app: FastAPI, client: httpx.AsyncClient, cid: str, end_it: AsyncIterator[None]
) -> str:
    watching = asyncio.create_task(client.get(f"/api/v1/connectors/{cid}/events", params={"limit": 2}))
    await asyncio.sleep(0.3)
    await anext(end_it)
    state = await holder_of(app).get()
    with state.store.transaction() as tx:
        update_instance_tx(tx, cid, {"status": "FAILED", "statusReason": "after-the-end-Q1"})
    return (await asyncio.wait_for(watching, 10)).text


async def test_a_status_stream_ends_with_its_session(
    app: FastAPI, session_for: ClientFactory, world: World, fast_stream: None
) -> None:
    member = await session_for(MEMBER)

    async def log_out() -> AsyncIterator[None]:
        assert (await member.post("/api/v1/auth/logout")).status_code == 204
        yield

    text = await watch_until_changed(app, member, world.connectors["Handbook"], log_out())
    assert "event: status" in text
    assert "event: ended" in text
    assert "after-the-end-Q1" not in text


async def test_a_status_stream_ends_when_its_token_is_revoked(
    app: FastAPI, session_for: ClientFactory, world: World, fast_stream: None
) -> None:
    member = await session_for(MEMBER)
    token = (await member.post("/api/v1/tokens", json={"name": "watcher"})).json()
    scripted = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url=BASE_URL,
        headers={"Authorization": f"Bearer {token['token']}"},
    )

    async def revoke() -> AsyncIterator[None]:
        assert (await member.delete(f"/api/v1/tokens/{token['id']}")).status_code == 204
        yield

    async with scripted:
        text = await watch_until_changed(app, scripted, world.connectors["Handbook"], revoke())
    assert "event: ended" in text
    assert "after-the-end-Q1" not in text


async def test_wrong_current_passwords_count_with_failed_logins(
    client_for: ClientFactory, anon: httpx.AsyncClient
) -> None:
    member = await client_for(MEMBER2)
    for n in range(accounts.MAX_FAILURES):
        guess = {"currentPassword": f"wrong-guess-{n}", "newPassword": "a-brand-new-password"}
        assert (await member.put("/api/v1/me/password", json=guess)).status_code == 403
    right = {"currentPassword": PASSWORDS[MEMBER2], "newPassword": "a-brand-new-password"}
    locked = await member.put("/api/v1/me/password", json=right)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    # the same counter as logins of that email: logging in is locked too
    login = await anon.post("/api/v1/auth/login", json={"email": MEMBER2, "password": PASSWORDS[MEMBER2]})
    assert login.status_code == 429
    # another user is not affected
    other = await client_for(ADMIN)
    changed = {"currentPassword": PASSWORDS[ADMIN], "newPassword": "admins-new-password"}
    assert (await other.put("/api/v1/me/password", json=changed)).status_code == 204


async def test_a_right_current_password_clears_earlier_misses(client_for: ClientFactory) -> None:
    member = await client_for(MEMBER2)
    password = PASSWORDS[MEMBER2]
    for round_ in range(2):  # 4 misses, a success, 4 misses: never locked
        for n in range(accounts.MAX_FAILURES - 1):
            miss = {"currentPassword": f"miss-{round_}-{n}", "newPassword": "whatever-password-1"}
            assert (await member.put("/api/v1/me/password", json=miss)).status_code == 403
        new = f"new-password-round-{round_}"
        change = {"currentPassword": password, "newPassword": new}
        assert (await member.put("/api/v1/me/password", json=change)).status_code == 204
        password = new
