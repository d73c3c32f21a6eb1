"""API tokens: shown once, listed by prefix, revoked, expired; each user sees only their own."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.state import holder_of
from headwater.models.timeutil import now_ms
from headwater.services.api_tokens import API_TOKENS
from headwater.services.sessions import token_digest
from tests.api.conftest import BASE_URL, ClientFactory

pytestmark = pytest.mark.anyio


def _bearer(app: FastAPI, token: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, headers={"Authorization": f"Bearer {token}"}
    )


async def test_a_token_is_shown_once_and_then_only_by_prefix(
    app: FastAPI, session_for: ClientFactory
) -> None:
    client = await session_for("member@acme.test")
    created = await client.post("/api/v1/tokens", json={"name": "backup script", "expiresInDays": 30})
    assert created.status_code == 201
    body = created.json()
    token = body["token"]
    assert token.startswith("hw_")
    assert len(token) == 3 + 43
    assert body["prefix"] == token[:11]
    assert body["expiresAt"] - body["createdAt"] == 30 * 86_400_000
    listed = (await client.get("/api/v1/tokens")).json()["tokens"]
    assert listed == [{k: v for k, v in body.items() if k != "token"}]
    assert token not in (await client.get("/api/v1/tokens")).text
    async with _bearer(app, token) as script:
        me = await script.get("/api/v1/me")
        assert me.json()["user"]["email"] == "member@acme.test"
    used = (await client.get("/api/v1/tokens")).json()["tokens"][0]
    assert used["lastUsedAt"] is not None


async def test_revoked_and_expired_tokens_stop_working(app: FastAPI, client_for: ClientFactory) -> None:
    owner = await client_for("member@acme.test")
    first = (await owner.post("/api/v1/tokens", json={"name": "one"})).json()
    second = (await owner.post("/api/v1/tokens", json={"name": "two"})).json()
    assert (await owner.delete(f"/api/v1/tokens/{first['id']}")).status_code == 204
    assert (await owner.delete(f"/api/v1/tokens/{first['id']}")).status_code == 404
    async with _bearer(app, first["token"]) as revoked:
        response = await revoked.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("the API token is unknown, revoked or expired")
    state = await holder_of(app).get()
    with state.store.transaction() as tx:
        doc = tx.get_node(API_TOKENS, token_digest(second["token"]))
        assert doc is not None
        tx.upsert_nodes(API_TOKENS, [doc | {"expiresAt": now_ms() - 1}])
    async with _bearer(app, second["token"]) as expired:
        assert (await expired.get("/api/v1/me")).status_code == 401
    async with _bearer(app, "hw_" + "x" * 43) as made_up:
        assert (await made_up.get("/api/v1/me")).status_code == 401


async def test_nobody_sees_or_revokes_anyone_elses_tokens(client_for: ClientFactory) -> None:
    member = await client_for("member@acme.test")
    colleague = await client_for("member2@acme.test")
    admin = await client_for("admin@acme.test")
    mine = (await member.post("/api/v1/tokens", json={"name": "mine"})).json()
    for other in (colleague, admin, await client_for("admin@other.test")):
        names = [t["name"] for t in (await other.get("/api/v1/tokens")).json()["tokens"]]
        assert "mine" not in names
        assert (await other.delete(f"/api/v1/tokens/{mine['id']}")).status_code == 404
    assert [t["name"] for t in (await member.get("/api/v1/tokens")).json()["tokens"]] == [
        "mine",
        "test client",
    ]


@pytest.mark.parametrize(
    "body",
    [{"name": ""}, {"name": "x" * 101}, {"name": "ok", "expiresInDays": 0}, {"name": "ok", "extra": 1}],
)
async def test_bad_token_requests_are_422(client_for: ClientFactory, body: dict[str, object]) -> None:
    client = await client_for("member@acme.test")
    assert (await client.post("/api/v1/tokens", json=body)).status_code == 422
