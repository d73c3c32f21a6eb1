"""User management: who may do what (admin vs member), and nobody sees another organisation."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.state import holder_of
from headwater.services import accounts
from tests.api.conftest import PASSWORDS, ApiInstance, ClientFactory

pytestmark = pytest.mark.anyio


async def test_admin_lists_only_their_organisations_users(client_for: ClientFactory) -> None:
    acme = await client_for("admin@acme.test")
    other = await client_for("admin@other.test")
    acme_users = (await acme.get("/api/v1/users")).json()["users"]
    assert [(u["email"], u["role"], u["isActive"]) for u in acme_users] == [
        ("admin@acme.test", "admin", True),
        ("member2@acme.test", "member", True),
        ("member@acme.test", "member", True),
    ]
    assert [u["email"] for u in (await other.get("/api/v1/users")).json()["users"]] == ["admin@other.test"]


async def test_another_organisations_user_is_not_found(
    client_for: ClientFactory, instance: ApiInstance
) -> None:
    other = await client_for("admin@other.test")
    member_key = instance.user_keys["member@acme.test"]
    for response in (
        await other.get(f"/api/v1/users/{member_key}"),
        await other.patch(f"/api/v1/users/{member_key}", json={"role": "admin"}),
        await other.patch(f"/api/v1/users/{member_key}", json={"isActive": False}),
        await other.get("/api/v1/users/no-such-id"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    acme = await client_for("admin@acme.test")
    assert (await acme.get(f"/api/v1/users/{member_key}")).json()["role"] == "member"  # unchanged


async def test_members_cannot_manage_users(client_for: ClientFactory, instance: ApiInstance) -> None:
    member = await client_for("member@acme.test")
    me = instance.user_keys["member@acme.test"]
    other = instance.user_keys["member2@acme.test"]
    denied = [
        await member.get("/api/v1/users"),
        await member.post("/api/v1/users", json={"email": "new@acme.test"}),
        await member.patch(f"/api/v1/users/{me}", json={"role": "admin"}),
        await member.get(f"/api/v1/users/{other}"),
    ]
    assert [r.status_code for r in denied] == [403, 403, 403, 403]
    assert denied[0].json()["error"]["message"] == "this needs an admin of your organisation"
    assert (await member.get(f"/api/v1/users/{me}")).json()["email"] == "member@acme.test"


async def test_admin_creates_a_user_who_can_then_log_in(
    client_for: ClientFactory, anon: httpx.AsyncClient
) -> None:
    admin = await client_for("admin@acme.test")
    created = await admin.post(
        "/api/v1/users",
        json={
            "email": "New.Person@Acme.test",
            "name": "New Person",
            "role": "member",
            "password": "welcome-to-acme",
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["email"], body["name"], body["role"], body["isActive"]) == (
        "new.person@acme.test",
        "New Person",
        "member",
        True,
    )
    login = await anon.post(
        "/api/v1/auth/login", json={"email": "new.person@acme.test", "password": "welcome-to-acme"}
    )
    assert login.status_code == 200
    assert login.json()["user"]["id"] == body["id"]
    duplicate = await admin.post("/api/v1/users", json={"email": "new.person@acme.test"})
    assert duplicate.status_code == 409
    taken_elsewhere = await (await client_for("admin@other.test")).post(
        "/api/v1/users", json={"email": "member@acme.test"}
    )
    assert taken_elsewhere.status_code == 409
    assert (
        taken_elsewhere.json()["error"]["message"]
        == "member@acme.test is already in use: an email address belongs to one account"
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"email": "not-an-email"},
            "invalid request — body.email: 'not-an-email' is not an email address "
            "(expected name@example.com)",
        ),
        (
            {"email": "x@acme.test", "password": "short"},
            "invalid request — body.password: String should have at least 10 characters",
        ),
    ],
)
async def test_bad_user_input_is_a_clear_422(
    client_for: ClientFactory, body: dict[str, str], message: str
) -> None:
    admin = await client_for("admin@acme.test")
    response = await admin.post("/api/v1/users", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith(message)


async def test_bad_role_is_a_validation_error_naming_the_field(client_for: ClientFactory) -> None:
    admin = await client_for("admin@acme.test")
    response = await admin.post("/api/v1/users", json={"email": "x@acme.test", "role": "owner"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"][0]["loc"] == ["body", "role"]


async def test_role_changes_take_effect_on_the_next_request(
    client_for: ClientFactory, instance: ApiInstance
) -> None:
    admin = await client_for("admin@acme.test")
    member = await client_for("member@acme.test")
    key = instance.user_keys["member@acme.test"]
    assert (await member.get("/api/v1/users")).status_code == 403
    promoted = await admin.patch(f"/api/v1/users/{key}", json={"role": "admin"})
    assert promoted.json()["role"] == "admin"
    assert (await member.get("/api/v1/users")).status_code == 200


async def test_the_last_admin_stays_and_nobody_deactivates_themselves(
    client_for: ClientFactory, instance: ApiInstance
) -> None:
    admin = await client_for("admin@acme.test")
    key = instance.user_keys["admin@acme.test"]
    demote = await admin.patch(f"/api/v1/users/{key}", json={"role": "member"})
    assert demote.status_code == 409
    assert (
        demote.json()["error"]["message"]
        == "this is the organisation's last admin: make someone else admin first"
    )
    itself = await admin.patch(f"/api/v1/users/{key}", json={"isActive": False})
    assert itself.status_code == 403


async def test_deactivation_ends_sessions_and_tokens_and_blocks_login(
    client_for: ClientFactory, session_for: ClientFactory, anon: httpx.AsyncClient, instance: ApiInstance
) -> None:
    email = "member2@acme.test"
    token_client = await client_for(email)
    session_client = await session_for(email)
    admin = await client_for("admin@acme.test")
    response = await admin.patch(f"/api/v1/users/{instance.user_keys[email]}", json={"isActive": False})
    assert response.json()["isActive"] is False
    assert (await token_client.get("/api/v1/me")).status_code == 401
    assert (await session_client.get("/api/v1/me")).status_code == 401
    assert (
        await anon.post("/api/v1/auth/login", json={"email": email, "password": PASSWORDS[email]})
    ).status_code == 401
    listed = {u["email"]: u["isActive"] for u in (await admin.get("/api/v1/users")).json()["users"]}
    assert listed[email] is False
    reactivated = await admin.patch(f"/api/v1/users/{instance.user_keys[email]}", json={"isActive": True})
    assert reactivated.json()["isActive"] is True
    assert (
        await anon.post("/api/v1/auth/login", json={"email": email, "password": PASSWORDS[email]})
    ).status_code == 200


async def test_an_identity_seen_in_a_grant_becomes_the_account(
    app: FastAPI, client_for: ClientFactory, instance: ApiInstance
) -> None:
    """A connector recorded a grant to carol@acme.test before she joined: her account is that node."""
    state = await holder_of(app).get()
    with state.store.transaction() as tx:
        tx.upsert_nodes(
            "users",
            [
                {
                    "_key": "carol-from-a-grant",
                    "email": "carol@acme.test",
                    "orgId": instance.org_keys["Acme"],
                    "isActive": False,
                }
            ],
        )
    admin = await client_for("admin@acme.test")
    before = [u["email"] for u in (await admin.get("/api/v1/users")).json()["users"]]
    assert "carol@acme.test" not in before  # a source identity is not an account
    created = await admin.post("/api/v1/users", json={"email": "carol@acme.test", "name": "Carol"})
    assert created.status_code == 201
    assert created.json()["id"] == "carol-from-a-grant"
    with state.store.read() as tx:
        assert tx.edge_targets("belongsTo", ["users/carol-from-a-grant"]) == {
            f"organizations/{instance.org_keys['Acme']}"
        }


async def test_organization_is_the_callers_own(client_for: ClientFactory, instance: ApiInstance) -> None:
    for email, org in (("member@acme.test", "Acme"), ("admin@other.test", "Other")):
        body = (await (await client_for(email)).get("/api/v1/organization")).json()
        assert (body["id"], body["name"]) == (instance.org_keys[org], org)


async def test_service_rejects_an_unknown_role(app: FastAPI, instance: ApiInstance) -> None:
    state = await holder_of(app).get()
    with pytest.raises(accounts.InvalidArgumentError, match="role must be admin or member, not 'owner'"):
        accounts.create_user(state.store, instance.org_keys["Acme"], "z@acme.test", role="owner")
