"""Nothing secret in plaintext: not in responses, not in logs, not in the database files."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.state import holder_of
from headwater.services.accounts import CREDENTIALS
from tests.api.conftest import PASSWORDS, ApiInstance, ClientFactory

pytestmark = pytest.mark.anyio


async def test_no_password_hash_token_or_cookie_leaks_anywhere(
    app: FastAPI,
    anon: httpx.AsyncClient,
    session_for: ClientFactory,
    instance: ApiInstance,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    responses: list[httpx.Response] = []
    admin = await session_for("admin@acme.test")
    cookie = admin.cookies["hw_session"]
    new_password = "the-new-admin-password"
    responses.append(
        await anon.post("/api/v1/auth/login", json={"email": "admin@acme.test", "password": "wrong-wrong"})
    )
    created = await admin.post("/api/v1/tokens", json={"name": "script"})
    token = created.json()["token"]
    responses += [
        await admin.get("/api/v1/me"),
        await admin.get("/api/v1/users"),
        await admin.get(f"/api/v1/users/{instance.user_keys['member@acme.test']}"),
        await admin.get("/api/v1/tokens"),
        await admin.post("/api/v1/users", json={"email": "n@acme.test", "password": "initial-password-1"}),
        await admin.post("/api/v1/users", json={"email": "m@acme.test", "password": "short"}),
        await admin.put(
            "/api/v1/me/password",
            json={"currentPassword": PASSWORDS["admin@acme.test"], "newPassword": new_password},
        ),
        await admin.get("/api/v1/organization"),
        await anon.get("/api/v1/me", headers={"Authorization": f"Bearer {token}x"}),
    ]
    state = await holder_of(app).get()
    with state.store.read() as tx:
        stored_hash = tx.get_node(CREDENTIALS, instance.user_keys["admin@acme.test"])["passwordHash"]  # type: ignore[index]
    secrets = [
        *PASSWORDS.values(),
        new_password,
        "initial-password-1",
        token,
        cookie,
        stored_hash,
        stored_hash[-20:],
    ]

    exposed = [r.text + str(r.headers) for r in responses] + [caplog.text]
    for secret in secrets:
        for text in exposed:
            assert secret not in text
    assert "passwordHash" not in "".join(exposed)

    state.store.close()  # flush the WAL into the file, then read every byte the store keeps
    data = b"".join(p.read_bytes() for p in Path(instance.data_dir).glob("headwater.db*"))
    for secret in [*PASSWORDS.values(), new_password, "initial-password-1", token, cookie]:
        assert secret.encode() not in data
