"""Attacks on the HTTP API, as an outsider, a member, a colleague and another organisation would try
them (the security review of issue 7). Each test passes when the API resists the attack.

The review found seven holes (Local FS reading any server folder, FILE fields read as server paths,
the OAuth callback not bound to its user, CDN docs, unthrottled password-change guesses, status
streams outliving their user, another organisation's emails revealed); all are fixed, and the tests
that found them guard them. A new hole found this way is marked `xfail(strict=True, reason="HOLE:
...")` until fixed.

The world (`tests/api/seeded_world.py`): Acme (admin, member, member2) and Other (admin), Local FS
team instances "Admin notes" (admin only), "Handbook" (admin + member), "Group folder" (member2 +
group Readers = {member}), "Other notes" (org Other). Fake Cloud (OAuth) instances are added here.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.routes import connectors as connectors_routes
from headwater.connectors.core.builder import ConnectorBuilder
from headwater.connectors.core.definitions import AuthField, AuthType
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import update_instance_tx
from headwater.services.catalog import discover_connectors
from headwater.services.platform import config_key
from headwater.store.schema import PARTITIONS, TOPICS
from tests.api.conftest import BASE_URL, PASSWORDS, ApiInstance, ClientFactory
from tests.api.oauth_vendor import app_reaching_vendor, state_of, vendor_network  # noqa: F401
from tests.api.seeded_world import (  # noqa: F401  (fixtures)
    ADMIN,
    MEMBER,
    MEMBER2,
    OTHER,
    World,
    seeded_instance,
    world_fixture,
)
from tests.fakes.oauth_connector import FAKE_CLOUD, FakeCloudConnector, _FakeCloudBase
from tests.fakes.oauth_provider import FakeOAuthProvider

pytestmark = pytest.mark.anyio

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "client-secret-Q7vR2mZ9xW4k"  # distinctive, to be looked for everywhere
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# routes that answer without credentials, by design
PUBLIC_ROUTES = {
    ("GET", "/api/v1/health"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/api/v1/oauth/callback"),
    ("GET", "/api/v1/content/{token}"),
    ("POST", "/api/v1/webhooks/microsoft"),
}


KEY_FILE = "Fake Key File"


@(
    ConnectorBuilder(KEY_FILE)
    .in_group("Fake")
    .with_description("A source whose auth takes a key file, as a service-account connector does (tests)")
    .with_scopes(["personal", "team"])
    .with_auth_type(AuthType.API_TOKEN)
    .configure(
        lambda b: b.add_auth_field(
            AuthField(name="keyFile", field_type="FILE", accepted_file_types=[".json"], max_length=100_000)
        )
    )
    .build_decorator()
)
class KeyFileConnector(_FakeCloudBase):
    """A connector with a FILE field (no shipped connector has one yet; the SDK allows it)."""


# ---- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fake_connectors() -> Iterator[None]:
    ConnectorFactory.register_connector(FAKE_CLOUD, FakeCloudConnector)
    ConnectorFactory.register_connector(KEY_FILE, KeyFileConnector)
    yield
    ConnectorFactory.unregister_connector(FAKE_CLOUD)
    ConnectorFactory.unregister_connector(KEY_FILE)


@pytest.fixture
def provider() -> FakeOAuthProvider:
    return FakeOAuthProvider(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)


async def add_cloud(client: httpx.AsyncClient, scope: str, name: str = "Cloud drive") -> str:
    body = {"name": name, "type": FAKE_CLOUD, "scope": scope,
            "config": {"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET}}  # fmt: skip
    response = await client.post("/api/v1/connectors", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def run_ids(client: httpx.AsyncClient, connector_id: str) -> list[str]:
    response = await client.get(f"/api/v1/connectors/{connector_id}/runs")
    assert response.status_code == 200, response.text
    return [str(r["id"]) for r in response.json()["runs"]]


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every documented API route."""
    paths: dict[str, dict[str, Any]] = app.openapi()["paths"]
    return [(m.upper(), p) for p, ops in paths.items() for m in ops if m.upper() != "HEAD"]


def filled(path: str, value: str = "x") -> str:
    return re.sub(r"\{[^}]+\}", value, path)


# ---- who may call at all ----------------------------------------------------------------------------


async def test_every_api_route_but_the_public_ones_refuses_anonymous_callers(
    app: FastAPI, anon: httpx.AsyncClient
) -> None:
    routes = api_routes(app)
    assert len(routes) > 30  # the whole API, not an empty list
    for method, path in routes:
        response = await anon.request(method, filled(path), json={} if method in UNSAFE else None)
        if (method, path) in PUBLIC_ROUTES:
            assert response.status_code != 401, (method, path)
            continue
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"] == "Bearer"
        # a garbage bearer token or another scheme gets the same 401
        for header in ("Bearer hw_not-a-token", "Basic YWRtaW46YWRtaW4=", "Bearer "):
            bad = await anon.request(method, filled(path), headers={"Authorization": header})
            assert bad.status_code == 401, (method, path, header)


async def test_cookie_callers_need_the_csrf_token_on_every_unsafe_route(
    app: FastAPI, session_for: ClientFactory
) -> None:
    member = await session_for(MEMBER)
    good = member.headers.pop("X-CSRF-Token")
    for method, path in api_routes(app):
        if method not in UNSAFE or (method, path) in PUBLIC_ROUTES:
            continue
        url = filled(path)
        missing = await member.request(method, url, json={})
        wrong = await member.request(method, url, json={}, headers={"X-CSRF-Token": good[:-4] + "0000"})
        # another session's token is wrong too (tokens are bound to their session)
        as_form = await member.request(method, url, data={"csrf_token": "x" * 64})
        for response in (missing, wrong, as_form):
            assert response.status_code == 403, (method, path, response.text)
            assert "CSRF" in response.json()["error"]["message"]
    # logout is one of them: without the token the session survives
    assert (await member.post("/api/v1/auth/logout")).status_code == 403
    assert (await member.get("/api/v1/me")).status_code == 200


async def test_a_csrf_token_works_only_with_its_own_session(session_for: ClientFactory) -> None:
    member, member2 = await session_for(MEMBER), await session_for(MEMBER2)
    stolen = member2.csrf_token  # type: ignore[attr-defined]
    response = await member.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": stolen})
    assert response.status_code == 403


# ---- members and admin-only actions -----------------------------------------------------------------


async def test_a_member_cannot_do_what_only_admins_may(
    client_for: ClientFactory, world: World, instance: ApiInstance
) -> None:
    member = await client_for(MEMBER)
    handbook = world.connectors["Handbook"]
    admin_key = instance.user_keys[ADMIN]
    record = world.records["handbook.md"]
    forbidden = [
        await member.get("/api/v1/users"),
        await member.post("/api/v1/users", json={"email": "new@acme.test", "role": "admin"}),
        await member.get(f"/api/v1/users/{admin_key}"),
        await member.patch(f"/api/v1/users/{admin_key}", json={"isActive": False}),
        await member.patch(f"/api/v1/users/{instance.user_keys[MEMBER]}", json={"role": "admin"}),
        await member.post("/api/v1/connectors", json={"name": "T", "type": FAKE_CLOUD, "scope": "team"}),
        await member.patch(f"/api/v1/connectors/{handbook}/config", json={"config": {"folders": "/"}}),
        await member.post(f"/api/v1/connectors/{handbook}/enable"),
        await member.post(f"/api/v1/connectors/{handbook}/disable"),
        await member.post(f"/api/v1/connectors/{handbook}/sync", json={"full": True}),
        await member.post(f"/api/v1/connectors/{handbook}/retry-failed"),
        await member.delete(f"/api/v1/connectors/{handbook}"),
        await member.get(f"/api/v1/connectors/{handbook}/filters/folders/options"),
        await member.get(f"/api/v1/connectors/{handbook}/oauth/authorize", params={"mode": "json"}),
        await member.get(f"/api/v1/records/{record}/explain", params={"user": ADMIN}),
    ]
    for response in forbidden:
        assert response.status_code == 403, (response.request.method, response.request.url, response.text)
    runs = await run_ids(member, handbook)  # members see run counts of team instances...
    failures = await member.get(f"/api/v1/connectors/{handbook}/runs/{runs[0]}/failures")
    assert failures.status_code == 403  # ...never the names of the items that failed
    shown = (await member.get(f"/api/v1/connectors/{handbook}")).json()
    assert shown["canManage"] is False
    assert shown.get("config") is None  # no config (not even masked) for those who cannot manage it
    # a member is still a member: nothing changed
    assert (await member.get("/api/v1/me")).json()["user"]["role"] == "member"


# ---- a colleague's personal connector ----------------------------------------------------------------


async def test_a_personal_connector_is_invisible_to_everyone_but_its_owner(
    session_for: ClientFactory, client_for: ClientFactory
) -> None:
    owner = await session_for(MEMBER)
    cid = await add_cloud(owner, "personal", "Member's drive")
    runs_url = f"/api/v1/connectors/{cid}/runs"
    for email in (MEMBER2, ADMIN, OTHER):  # a colleague, an admin of the organisation, an outsider
        other = await client_for(email)
        listed = (await other.get("/api/v1/connectors")).json()["connectors"]
        assert cid not in {c["id"] for c in listed}
        attempts = [
            await other.get(f"/api/v1/connectors/{cid}"),
            await other.patch(f"/api/v1/connectors/{cid}/config", json={"config": {"clientId": "evil"}}),
            await other.post(f"/api/v1/connectors/{cid}/enable"),
            await other.post(f"/api/v1/connectors/{cid}/disable"),
            await other.post(f"/api/v1/connectors/{cid}/sync"),
            await other.post(f"/api/v1/connectors/{cid}/retry-failed"),
            await other.get(f"/api/v1/connectors/{cid}/status"),
            await other.get(f"/api/v1/connectors/{cid}/events", params={"limit": 1}),
            await other.get(runs_url),
            await other.get(f"{runs_url}/x/failures"),
            await other.get(f"/api/v1/connectors/{cid}/filters/folders/options"),
            await other.get(f"/api/v1/connectors/{cid}/oauth/authorize", params={"mode": "json"}),
            await other.delete(f"/api/v1/connectors/{cid}"),
        ]
        for response in attempts:
            # 404, never 403: the id does not even tell that the instance exists
            assert response.status_code == 404, (email, response.request.url, response.text)
            assert "Member's drive" not in response.text
    mine = (await owner.get(f"/api/v1/connectors/{cid}")).json()
    assert mine["config"]["values"]["auth.clientId"] == CLIENT_ID  # the owner's view was not changed


# ---- another organisation ----------------------------------------------------------------------------


async def test_another_organisation_reaches_nothing_of_acme(
    client_for: ClientFactory, world: World, instance: ApiInstance
) -> None:
    acme_admin, outsider = await client_for(ADMIN), await client_for(OTHER)
    team = world.connectors["Handbook"]
    record = world.records["handbook.md"]
    acme_run = (await run_ids(acme_admin, team))[0]
    acme_token = (await acme_admin.post("/api/v1/tokens", json={"name": "acme script"})).json()
    attempts = [
        await outsider.get(f"/api/v1/connectors/{team}"),
        await outsider.patch(f"/api/v1/connectors/{team}/config", json={"config": {}}),
        await outsider.post(f"/api/v1/connectors/{team}/sync"),
        await outsider.post(f"/api/v1/connectors/{team}/disable"),
        await outsider.get(f"/api/v1/connectors/{team}/status"),
        await outsider.get(f"/api/v1/connectors/{team}/events", params={"limit": 1}),
        await outsider.get(f"/api/v1/connectors/{team}/runs"),
        await outsider.get(f"/api/v1/connectors/{team}/runs/{acme_run}/failures"),
        await outsider.get(f"/api/v1/connectors/{team}/filters/folders/options"),
        await outsider.get(f"/api/v1/connectors/{team}/oauth/authorize", params={"mode": "json"}),
        await outsider.delete(f"/api/v1/connectors/{team}"),
        await outsider.get(f"/api/v1/records/{record}"),
        await outsider.get(f"/api/v1/records/{record}/explain"),
        await outsider.get(f"/api/v1/records/{record}/explain", params={"user": MEMBER}),
        await outsider.post(f"/api/v1/records/{record}/content-link"),
        await outsider.get(f"/api/v1/users/{instance.user_keys[MEMBER]}"),
        await outsider.patch(f"/api/v1/users/{instance.user_keys[ADMIN]}", json={"role": "member"}),
        await outsider.delete(f"/api/v1/tokens/{acme_token['id']}"),
    ]
    for response in attempts:
        assert response.status_code == 404, (response.request.method, response.request.url, response.text)
        for secret_name in ("Handbook", "handbook.md", "Acme Member"):
            assert secret_name not in response.text
    # asking about an Acme user on the outsider's own record: "no such user"
    own = world.records["other-secret.md"]
    asked = await outsider.get(f"/api/v1/records/{own}/explain", params={"user": MEMBER})
    assert asked.status_code == 404
    # lists, browsing, search and answers hold only the outsider's own organisation
    assert {u["email"] for u in (await outsider.get("/api/v1/users")).json()["users"]} == {OTHER}
    names = {c["name"] for c in (await outsider.get("/api/v1/connectors")).json()["connectors"]}
    assert names == {"Other notes"}
    browsed = (await outsider.get("/api/v1/records", params={"connectorId": team})).json()
    assert (browsed["records"], browsed["total"]) == ([], 0)
    filters = {"connectorIds": [team], "recordGroupIds": [world.groups["Handbook"]]}
    found = await outsider.post("/api/v1/search", json={"query": "quarterly", "filters": filters})
    assert found.json()["hits"] == []
    everything = await outsider.post("/api/v1/search", json={"query": "quarterly hotels budget", "k": 50})
    assert {h["recordName"] for h in everything.json()["hits"]} <= {"other-secret.md"}
    answer = await outsider.post("/api/v1/ask", json={"question": "hotels reimbursed", "stream": False})
    assert "150 euros" not in answer.text
    assert "handbook" not in answer.text.lower()
    # the Acme token the outsider tried to revoke still works
    still = await acme_admin.get("/api/v1/me", headers={"Authorization": f"Bearer {acme_token['token']}"})
    assert still.status_code == 200


async def test_run_ids_of_one_instance_do_not_open_another(client_for: ClientFactory, world: World) -> None:
    acme_admin, outsider = await client_for(ADMIN), await client_for(OTHER)
    acme_runs = await run_ids(acme_admin, world.connectors["Admin notes"])
    other_runs = await run_ids(outsider, world.connectors["Other notes"])
    # a run of another instance named under an instance the caller manages
    probes = [
        (acme_admin, world.connectors["Handbook"], acme_runs[0]),
        (acme_admin, world.connectors["Handbook"], other_runs[0]),
        (outsider, world.connectors["Other notes"], acme_runs[0]),
    ]
    for client, connector_id, run_id in probes:
        response = await client.get(f"/api/v1/connectors/{connector_id}/runs/{run_id}/failures")
        assert response.status_code == 404, response.text


async def test_tokens_of_another_user_can_be_neither_listed_nor_revoked(
    client_for: ClientFactory, session_for: ClientFactory
) -> None:
    member, member2 = await session_for(MEMBER), await client_for(MEMBER2)
    created = (await member.post("/api/v1/tokens", json={"name": "mine"})).json()
    assert created["id"] not in {t["id"] for t in (await member2.get("/api/v1/tokens")).json()["tokens"]}
    assert (await member2.delete(f"/api/v1/tokens/{created['id']}")).status_code == 404
    bearer = {"Authorization": f"Bearer {created['token']}"}
    assert (await member2.get("/api/v1/me", headers=bearer)).json()["user"]["email"] == MEMBER
    assert "token" not in (await member.get("/api/v1/tokens")).json()["tokens"][0]


# ---- records, search, answers, explain ----------------------------------------------------------------


async def test_records_a_member_cannot_read_leak_nowhere(client_for: ClientFactory, world: World) -> None:
    member = await client_for(MEMBER)
    hidden = world.records["admin-plan.md"]
    for response in (
        await member.get(f"/api/v1/records/{hidden}"),
        await member.get(f"/api/v1/records/{hidden}/explain"),
        await member.post(f"/api/v1/records/{hidden}/content-link"),
    ):
        assert response.status_code == 404
        assert "admin-plan" not in response.text
        assert "Board plan" not in response.text
    # the same answer as a record that does not exist
    missing = await member.get("/api/v1/records/no-such-record")
    assert (
        missing.json()["error"]["message"].replace("no-such-record", hidden)
        == ((await member.get(f"/api/v1/records/{hidden}")).json()["error"]["message"])
    )
    # search: words only in the hidden record find nothing; snippets, `more` and citations hold
    # only readable records
    salaries = await member.post("/api/v1/search", json={"query": "salaries budget", "k": 50})
    assert "admin-plan" not in salaries.text
    assert "percent" not in salaries.text
    found = await member.post("/api/v1/search", json={"query": "quarterly", "k": 50, "mode": "keyword"})
    readable = {"handbook.md", "member-diary.md", "group-minutes.md"}
    assert {h["recordName"] for h in found.json()["hits"]} == readable
    answer = await member.post("/api/v1/ask", json={"question": "quarterly budget salaries", "stream": False})
    assert answer.status_code == 200, answer.text
    assert {c["recordKey"] for c in answer.json()["citations"]} <= {world.records[n] for n in readable}
    assert "percent" not in answer.text
    streamed = await member.post(
        "/api/v1/ask", json={"question": "quarterly budget salaries", "stream": True}
    )
    assert "admin-plan" not in streamed.text
    assert "percent" not in streamed.text
    # browsing: the hidden record is neither listed nor counted
    page = (await member.get("/api/v1/records", params={"limit": 500})).json()
    assert hidden not in {r["key"] for r in page["records"]}
    assert page["total"] == len(page["records"])
    by_group = await member.get("/api/v1/records", params={"recordGroupId": world.groups["Admin notes"]})
    assert by_group.json()["total"] == 0
    # there is no "as another user" for search or answers
    for path, body in (("/api/v1/search", {"query": "budget"}), ("/api/v1/ask", {"question": "budget"})):
        response = await member.post(path, json=body | {"asUser": ADMIN})
        assert response.status_code == 422


# ---- content links ---------------------------------------------------------------------------------


async def test_content_links_are_bound_to_record_user_and_current_access(
    app: FastAPI,
    client_for: ClientFactory,
    session_for: ClientFactory,
    anon: httpx.AsyncClient,
    world: World,
    instance: ApiInstance,
) -> None:
    member, member2, admin = await client_for(MEMBER), await client_for(MEMBER2), await session_for(ADMIN)
    link = (await member.post(f"/api/v1/records/{world.records['group-minutes.md']}/content-link")).json()
    url = str(link["url"])
    # whoever holds the link reads it (documented: it is a 5-minute capability, like a download URL)
    assert (await member2.get(url)).status_code == 200
    # ...but it says whose it is and which record: changing the record key breaks the signature
    prefix, payload, mac = url.rsplit("/", 1)[1].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for claim in ({"r": world.records["admin-plan.md"]}, {"u": instance.user_keys[ADMIN]}):
        forged = base64.urlsafe_b64encode(json.dumps(claims | claim).encode()).decode().rstrip("=")
        assert (await anon.get(f"/api/v1/content/{prefix}.{forged}.{mac}")).status_code == 403
    # the member leaves the group that gave access: the link stops at once
    state = await state_of(app)
    with state.store.transaction() as tx:
        member_id = f"users/{instance.user_keys[MEMBER]}"
        groups = [e["_to"] for e in tx.get_edges("belongsTo", from_ids=[member_id]) if "groups/" in e["_to"]]
        readers = [g for g in groups if "Readers" in str(tx.get_node("groups", g.split("/", 1)[1]))]
        assert len(readers) == 1
        assert tx.delete_edges("belongsTo", from_id=member_id, to_id=readers[0]) == 1
    assert (await member2.get(url)).status_code == 403
    # deactivating the user stops their other links too
    diary = (await member.post(f"/api/v1/records/{world.records['member-diary.md']}/content-link")).json()
    assert (await anon.get(str(diary["url"]))).status_code == 200
    changed = await admin.patch(f"/api/v1/users/{instance.user_keys[MEMBER]}", json={"isActive": False})
    assert changed.status_code == 200
    assert (await anon.get(str(diary["url"]))).status_code == 403


# ---- accounts: deactivation, last admin, enumeration, throttling ---------------------------------------


async def test_deactivated_users_lose_sessions_and_tokens(
    session_for: ClientFactory, client_for: ClientFactory, instance: ApiInstance
) -> None:
    admin = await session_for(ADMIN)
    member_session, member_token = await session_for(MEMBER), await client_for(MEMBER)
    off = await admin.patch(f"/api/v1/users/{instance.user_keys[MEMBER]}", json={"isActive": False})
    assert off.status_code == 200
    assert (await member_session.get("/api/v1/me")).status_code == 401
    assert (await member_token.get("/api/v1/me")).status_code == 401
    login = await member_token.post(
        "/api/v1/auth/login", json={"email": MEMBER, "password": PASSWORDS[MEMBER]}
    )
    assert login.status_code == 401
    assert login.json()["error"]["message"] == "wrong email or password"  # not "deactivated"
    # reactivated: they log in again, but what they held before stays dead
    on = await admin.patch(f"/api/v1/users/{instance.user_keys[MEMBER]}", json={"isActive": True})
    assert on.status_code == 200
    assert (await member_session.get("/api/v1/me")).status_code == 401
    assert (await member_token.get("/api/v1/me")).status_code == 401


async def test_the_last_admin_stays_an_admin(
    session_for: ClientFactory, instance: ApiInstance, client_for: ClientFactory
) -> None:
    admin = await session_for(ADMIN)
    me = instance.user_keys[ADMIN]
    assert (await admin.patch(f"/api/v1/users/{me}", json={"role": "member"})).status_code == 409
    assert (await admin.patch(f"/api/v1/users/{me}", json={"isActive": False})).status_code == 403
    promoted = await admin.patch(f"/api/v1/users/{instance.user_keys[MEMBER]}", json={"role": "admin"})
    assert promoted.status_code == 200
    assert (await admin.patch(f"/api/v1/users/{me}", json={"role": "member"})).status_code == 200
    # the old admin is a member at once, in the same session
    assert (await admin.get("/api/v1/users")).status_code == 403
    new_admin = await client_for(MEMBER)
    demote_self = await new_admin.patch(
        f"/api/v1/users/{instance.user_keys[MEMBER]}", json={"role": "member"}
    )
    assert demote_self.status_code == 409
    # the other organisation's only admin is out of reach too
    other = instance.user_keys[OTHER]
    assert (await new_admin.patch(f"/api/v1/users/{other}", json={"isActive": False})).status_code == 404


async def test_unknown_email_and_wrong_password_look_the_same(anon: httpx.AsyncClient) -> None:
    def attempt(email: str) -> dict[str, Any]:
        return {"email": email, "password": "not-the-password-123"}

    timings: dict[str, list[float]] = {"unknown": [], "wrong": []}
    bodies: dict[str, set[str]] = {"unknown": set(), "wrong": set()}
    for n in range(3):
        for kind, email in (("unknown", f"nobody{n}@acme.test"), ("wrong", MEMBER2)):
            started = time.perf_counter()
            response = await anon.post("/api/v1/auth/login", json=attempt(email))
            timings[kind].append(time.perf_counter() - started)
            assert response.status_code == 401
            assert "set-cookie" not in response.headers
            bodies[kind].add(response.text)
    assert bodies["unknown"] == bodies["wrong"]
    # both verify an argon2 hash: the fastest of each differ by far less than a hash takes
    fastest_unknown, fastest_wrong = min(timings["unknown"]), min(timings["wrong"])
    assert fastest_unknown > fastest_wrong / 3
    assert fastest_wrong > fastest_unknown / 3


async def test_logins_are_throttled_per_email(anon: httpx.AsyncClient) -> None:
    for _ in range(5):
        await anon.post("/api/v1/auth/login", json={"email": MEMBER2, "password": "guess-guess-guess"})
    right = await anon.post("/api/v1/auth/login", json={"email": MEMBER2, "password": PASSWORDS[MEMBER2]})
    assert right.status_code == 429  # locked even for the right password: no oracle while locked
    assert int(right.headers["retry-after"]) > 0
    upper = await anon.post("/api/v1/auth/login", json={"email": f" {MEMBER2.upper()} ", "password": "x"})
    assert upper.status_code == 429  # spelling the email differently is the same email


async def test_guessing_the_current_password_is_throttled(client_for: ClientFactory) -> None:
    member = await client_for(MEMBER)
    for n in range(6):
        guess = {"currentPassword": f"wrong-guess-{n}", "newPassword": "a-brand-new-password"}
        await member.put("/api/v1/me/password", json=guess)
    right = {"currentPassword": PASSWORDS[MEMBER], "newPassword": "a-brand-new-password"}
    assert (await member.put("/api/v1/me/password", json=right)).status_code == 429


# ---- sessions and cookies ----------------------------------------------------------------------------


def cookie_attributes(response: httpx.Response, name: str) -> dict[str, str]:
    header = next(h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}="))
    parts = [p.strip() for p in header.split(";")]
    attributes = {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts[1:]}
    return {"value": parts[0].split("=", 1)[1], **attributes}


async def test_login_issues_a_fresh_locked_down_session(app: FastAPI, anon: httpx.AsyncClient) -> None:
    planted = "attacker-chosen-session-value"
    anon.cookies.set("hw_session", planted)
    credentials = {"email": MEMBER, "password": PASSWORDS[MEMBER]}
    first = await anon.post("/api/v1/auth/login", json=credentials)
    cookie = cookie_attributes(first, "hw_session")
    assert cookie["value"] != planted  # session fixation: the planted id is never adopted
    assert "httponly" in cookie
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert "secure" not in cookie  # plain http (a local instance)...
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE_URL.replace("http:", "https:")
    ) as tls:
        over_tls = cookie_attributes(await tls.post("/api/v1/auth/login", json=credentials), "hw_session")
        assert "secure" in over_tls  # ...Secure over HTTPS
    second = cookie_attributes(await anon.post("/api/v1/auth/login", json=credentials), "hw_session")
    assert second["value"] != cookie["value"]  # every login is a new session
    # the planted value is no session at all
    probe = httpx.Cookies({"hw_session": planted})
    anon.cookies = probe
    assert (await anon.get("/api/v1/me")).status_code == 401


async def test_a_cross_site_simple_request_cannot_log_in(anon: httpx.AsyncClient) -> None:
    """Another site can POST without a CORS preflight only as text/plain, a form, or with no type:
    none of those is read as the JSON login (login CSRF through the API)."""
    body = f'{{"email": "{MEMBER}", "password": "{PASSWORDS[MEMBER]}"}}'.encode()
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        headers = {"content-type": content_type} if content_type else {}
        response = await anon.post("/api/v1/auth/login", content=body, headers=headers)
        assert response.status_code in (400, 415, 422), content_type
        assert "set-cookie" not in response.headers


async def test_logout_ends_the_session_on_the_server(session_for: ClientFactory) -> None:
    member = await session_for(MEMBER)
    cookie = member.cookies["hw_session"]
    assert (await member.post("/api/v1/auth/logout")).status_code == 204
    member.cookies.set("hw_session", cookie)  # a copy of the cookie kept by someone
    assert (await member.get("/api/v1/me")).status_code == 401


# ---- OAuth -----------------------------------------------------------------------------------------


async def start_flow(client: httpx.AsyncClient, vendor: httpx.AsyncClient, cid: str) -> str:
    """The callback URL (path and query) the vendor sends the browser back to."""
    started = await client.get(f"/api/v1/connectors/{cid}/oauth/authorize", params={"mode": "json"})
    assert started.status_code == 200, started.text
    at_vendor = await vendor.get(started.json()["authorizationUrl"])
    assert at_vendor.status_code == 302
    back = urlsplit(at_vendor.headers["location"])
    return f"{back.path}?{back.query}"


async def test_oauth_return_to_stays_on_this_server(
    session_for: ClientFactory, vendor: httpx.AsyncClient
) -> None:
    admin = await session_for(ADMIN)
    cid = await add_cloud(admin, "team")
    url = f"/api/v1/connectors/{cid}/oauth/authorize"
    for target in (
        "//evil.test/x",
        "https://evil.test/",
        "/\\evil.test",
        "\\\\evil.test",
        "javascript:alert(1)",
    ):
        response = await admin.get(url, params={"mode": "json", "returnTo": target})
        assert response.status_code == 422, target
    # a path a browser would normalise into another host (tab, newline) lands on this server
    started = await admin.get(url, params={"mode": "json", "returnTo": "/\t/evil.test"})
    at_vendor = await vendor.get(started.json()["authorizationUrl"])
    back = urlsplit(at_vendor.headers["location"])
    done = await admin.get(f"{back.path}?{back.query}")
    assert done.status_code == 303
    location = re.sub(r"[\t\r\n]", "", done.headers["location"])
    assert location.startswith("/")
    assert not location.startswith(("//", "/\\"))


async def test_an_oauth_state_works_once_and_only_for_its_instance(
    app: FastAPI, session_for: ClientFactory, vendor: httpx.AsyncClient, anon: httpx.AsyncClient
) -> None:
    admin = await session_for(ADMIN)
    cid = await add_cloud(admin, "team")
    back = await start_flow(admin, vendor, cid)
    assert (await admin.get(back)).status_code == 303
    replay = await anon.get(back)
    assert replay.status_code == 400
    assert "used already" in replay.text
    forged = await anon.get("/api/v1/oauth/callback", params={"state": "made-up", "code": "x"})
    assert forged.status_code == 400


async def test_the_oauth_callback_refuses_another_users_flow(
    app: FastAPI, session_for: ClientFactory, vendor: httpx.AsyncClient
) -> None:
    attacker, victim = await session_for(MEMBER), await session_for(MEMBER2)
    cid = await add_cloud(attacker, "personal", "Attacker's drive")
    back = await start_flow(attacker, vendor, cid)
    completed = await victim.get(back)  # the victim's browser, logged in as the victim
    config = await (await state_of(app)).config.get(config_key(cid)) or {}
    assert not (config.get("credentials") or {}).get("access_token")
    assert completed.status_code in (400, 403)


# ---- secrets -----------------------------------------------------------------------------------------


def stored_bytes(data_dir: Path) -> bytes:
    """Every byte the instance keeps on disk (database, WAL, config store, index)."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.rglob("*")) if p.is_file())


async def test_connector_secrets_and_oauth_tokens_appear_nowhere(
    app: FastAPI,
    session_for: ClientFactory,
    vendor: httpx.AsyncClient,
    provider: FakeOAuthProvider,
    instance: ApiInstance,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    admin = await session_for(ADMIN)
    cid = await add_cloud(admin, "team")
    assert (await admin.get(await start_flow(admin, vendor, cid))).status_code == 303
    assert (await admin.post(f"/api/v1/connectors/{cid}/enable")).status_code == 200
    new_secret = "rotated-secret-N5pL8sQ3"
    secret_with_newline = "bad\nsecret-V6tY1uI0"
    responses = [
        await admin.get(f"/api/v1/connectors/{cid}"),
        await admin.get("/api/v1/connectors"),
        await admin.get(f"/api/v1/connectors/{cid}/status"),
        await admin.get(f"/api/v1/connectors/{cid}/events", params={"limit": 1}),
        await admin.get(f"/api/v1/connectors/{cid}/filters/folders/options"),
        await admin.post(f"/api/v1/connectors/{cid}/sync"),
        await admin.patch(f"/api/v1/connectors/{cid}/config", json={"config": {"clientSecret": "••••"}}),
        await admin.patch(f"/api/v1/connectors/{cid}/config", json={"config": {"clientSecret": new_secret}}),
        await admin.patch(
            f"/api/v1/connectors/{cid}/config", json={"config": {"clientSecret": secret_with_newline}}
        ),
        await admin.patch(f"/api/v1/connectors/{cid}/config", json={"config": {"clientSecret": 12345678901}}),
        await admin.post(
            "/api/v1/connectors",
            json={
                "name": "Dup",
                "type": FAKE_CLOUD,
                "config": {"clientSecret": new_secret, "nope": new_secret},
            },
        ),
        await admin.get(f"/connectors/{cid}"),  # the web page
        await admin.get("/connectors"),
    ]
    assert responses[0].json()["config"]["values"]["auth.clientSecret"] == "••••"
    assert responses[4].status_code == 200  # the connector used its stored token
    secrets = [
        CLIENT_SECRET,
        new_secret,
        "secret-V6tY1uI0",
        "12345678901",
        *provider.access_tokens,
        *provider.refresh_tokens,
    ]
    assert len(secrets) >= 6
    shown = [r.text + str(r.headers) for r in responses] + [caplog.text]
    for secret in secrets:
        for text in shown:
            assert secret not in text
    state = await state_of(app)
    with state.store.read() as tx:  # events carry no secret either
        events = [e for t in TOPICS for p in range(PARTITIONS) for e in tx.read_events(t, p, -1, 10_000)]
    assert len(events) > 10
    assert not any(secret in str(events) for secret in secrets)
    data = stored_bytes(instance.data_dir)
    for secret in secrets:
        assert secret.encode() not in data


# ---- server files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("who", "scope"), [(MEMBER, "personal"), (OTHER, "team")])
async def test_nobody_indexes_server_folders_to_read_what_they_may_not(
    app: FastAPI, client_for: ClientFactory, world: World, who: str, scope: str
) -> None:
    client = await client_for(who)
    admins_folder = world.data_dir.parent / "folders" / "admin"
    assert (admins_folder / "admin-plan.md").exists()
    body = {"name": "Grab", "type": "Local FS", "scope": scope, "config": {"folders": str(admins_folder)}}
    created = await client.post("/api/v1/connectors", json=body)
    if created.status_code in (403, 422):
        return  # refused up front
    assert created.status_code == 201, created.text
    discover_connectors()
    state = await state_of(app)
    await SyncEngine(state.store, state.config).run_sync(str(created.json()["id"]))  # a sync worker
    found = (await client.get("/api/v1/records", params={"nameContains": "admin-plan"})).json()
    assert found["records"] == []


async def test_file_fields_do_not_read_files_on_the_server(
    app: FastAPI, client_for: ClientFactory, tmp_path: Path
) -> None:
    member = await client_for(MEMBER)
    private = tmp_path / "server-only.json"
    private.write_text('{"private_key": "SERVER-ONLY-K3y9"}')
    body = {"name": "Keys", "type": KEY_FILE, "scope": "personal", "check": False,
            "config": {"keyFile": str(private)}}  # fmt: skip
    created = await member.post("/api/v1/connectors", json=body)
    assert "SERVER-ONLY-K3y9" not in created.text
    missing = await member.post("/api/v1/connectors", json=body | {"config": {"keyFile": "/nope/x.json"}})
    assert "No such file" not in missing.text  # nor tell which server paths exist
    if created.status_code == 201:
        config = await (await state_of(app)).config.get(config_key(str(created.json()["id"]))) or {}
        assert "SERVER-ONLY-K3y9" not in str(config)


# ---- the API's own documentation -------------------------------------------------------------------


async def test_the_openapi_document_is_public_and_holds_nothing_secret(
    anon: httpx.AsyncClient, session_for: ClientFactory
) -> None:
    """Decision: the schema is public (it is the documented API of open-source software, it holds
    no data), and no web page is in it."""
    admin = await session_for(ADMIN)  # an instance in use: a session and a token exist
    token = (await admin.post("/api/v1/tokens", json={"name": "t"})).json()["token"]
    document = await anon.get("/openapi.json")
    assert document.status_code == 200
    paths = document.json()["paths"]
    assert all(path.startswith("/api/v1/") for path in paths)
    for secret in (*PASSWORDS.values(), token, admin.cookies["hw_session"], "passwordHash"):
        assert secret not in document.text


async def test_the_api_docs_pages_run_no_third_party_script(anon: httpx.AsyncClient) -> None:
    for path in ("/docs", "/redoc"):
        page = await anon.get(path)
        if page.status_code == 404:
            continue
        assert re.search(r"<script[^>]+src=[\"']https?://", page.text) is None, path
        assert "frame-ancestors 'none'" in page.headers.get("content-security-policy", ""), path


# ---- live status streams ---------------------------------------------------------------------------


async def test_a_status_stream_stops_when_its_user_is_deactivated(
    app: FastAPI,
    client_for: ClientFactory,
    session_for: ClientFactory,
    world: World,
    instance: ApiInstance,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(connectors_routes, "SSE_POLL_S", 0.02)
    member, admin = await client_for(MEMBER), await session_for(ADMIN)
    cid = world.connectors["Handbook"]
    watching = asyncio.create_task(member.get(f"/api/v1/connectors/{cid}/events", params={"limit": 2}))
    await asyncio.sleep(0.3)
    off = await admin.patch(f"/api/v1/users/{instance.user_keys[MEMBER]}", json={"isActive": False})
    assert off.status_code == 200
    state = await state_of(app)
    with state.store.transaction() as tx:  # the instance changes after the member is gone
        update_instance_tx(tx, cid, {"status": "FAILED", "statusReason": "after-deactivation-Z8"})
    response = await asyncio.wait_for(watching, 10)
    assert "event: status" in response.text  # the first event, while still active
    assert "after-deactivation-Z8" not in response.text
