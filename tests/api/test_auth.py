"""Logging in and out, sessions (cookie flags, expiry, revocation), CSRF, and password handling."""

from __future__ import annotations

import json

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from headwater.api.state import holder_of
from headwater.models.timeutil import now_ms
from headwater.services import accounts
from headwater.services.accounts import FAILURE_WINDOW_MS, LOCKOUT_MS, LOGIN_THROTTLE, MAX_FAILURES
from headwater.services.errors import AuthenticationError
from headwater.services.sessions import SESSIONS, token_digest
from tests.api.conftest import BASE_URL, PASSWORDS, ApiInstance, ClientFactory

pytestmark = pytest.mark.anyio

LOGIN = "/api/v1/auth/login"


def _cookie_header(response: httpx.Response) -> str:
    headers = [
        v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("hw_session=")
    ]
    assert len(headers) == 1, headers
    return headers[0]


async def test_login_sets_a_locked_down_cookie_and_returns_the_user_and_csrf_token(
    anon: httpx.AsyncClient,
) -> None:
    response = await anon.post(
        LOGIN, json={"email": "Member@Acme.test", "password": PASSWORDS["member@acme.test"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"]["email"] == "member@acme.test"
    assert body["user"]["role"] == "member"
    assert len(body["csrfToken"]) == 64
    cookie = _cookie_header(response).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # plain http here; see the https test
    me = await anon.get("/api/v1/me")
    assert me.json()["user"]["email"] == "member@acme.test"
    assert me.json()["csrfToken"] == body["csrfToken"]


async def test_the_cookie_is_secure_over_https(app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://hw.example") as client:
        response = await client.post(
            LOGIN, json={"email": "admin@acme.test", "password": PASSWORDS["admin@acme.test"]}
        )
    assert response.status_code == 200
    assert "secure" in _cookie_header(response).lower()


async def test_wrong_password_and_unknown_email_get_the_same_answer(anon: httpx.AsyncClient) -> None:
    wrong = await anon.post(LOGIN, json={"email": "member@acme.test", "password": "not-the-password"})
    unknown = await anon.post(LOGIN, json={"email": "nobody@acme.test", "password": "not-the-password"})
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert response.json() == {
            "error": {"code": "not_authenticated", "message": "wrong email or password"}
        }
        assert "set-cookie" not in response.headers
    assert (await anon.get("/api/v1/me")).status_code == 401


async def test_repeated_failures_lock_the_email_for_a_while(app: FastAPI, anon: httpx.AsyncClient) -> None:
    email = "member@acme.test"
    for _ in range(MAX_FAILURES):
        assert (await anon.post(LOGIN, json={"email": email, "password": "guess-guess"})).status_code == 401
    locked = await anon.post(LOGIN, json={"email": email, "password": PASSWORDS[email]})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= LOCKOUT_MS // 1000
    assert locked.json()["error"]["message"].startswith("too many failed logins for this email: try again in")
    # other emails are not affected
    other = await anon.post(
        LOGIN, json={"email": "member2@acme.test", "password": PASSWORDS["member2@acme.test"]}
    )
    assert other.status_code == 200
    # after the lockout the right password works again, and the count starts afresh
    state = await holder_of(app).get()
    later = now_ms() + LOCKOUT_MS + 1
    assert accounts.authenticate(state.store, email, PASSWORDS[email], now=later).email == email
    with pytest.raises(AuthenticationError):
        accounts.authenticate(state.store, email, "guess-guess", now=later)


async def test_failed_logins_for_many_emails_do_not_pile_up(app: FastAPI) -> None:
    """Records of emails that failed long ago are pruned as new failures are written; records still
    in their window, or still locked, are kept (each write looks at a bounded number of them)."""
    state = await holder_of(app).get()
    now = now_ms()
    expired_at = now - FAILURE_WINDOW_MS - 1
    old = [{"_key": f"{i:064x}", "failures": 1, "firstFailureAt": expired_at} for i in range(300)]
    counting = {"_key": "f" * 64, "failures": 2, "firstFailureAt": now - 60_000}
    locked = {"_key": "e" * 64, "failures": 0, "firstFailureAt": expired_at, "lockedUntil": now + 60_000}
    with state.store.transaction() as tx:
        tx.upsert_nodes(LOGIN_THROTTLE, [*old, counting, locked])
    for i in range(20):
        with pytest.raises(AuthenticationError):
            accounts.authenticate(state.store, f"typo{i}@acme.test", "guess-guess", now=now)
    with state.store.read() as tx:
        left = {str(doc["_key"]): doc for doc in tx.find_nodes(LOGIN_THROTTLE)}
    assert len(left) == 22  # the 20 new ones, and the two that still count
    assert left[counting["_key"]]["failures"] == 2
    assert left[locked["_key"]]["lockedUntil"] == now + 60_000
    assert {
        doc["failures"] for key, doc in left.items() if key not in (counting["_key"], locked["_key"])
    } == {1}


async def test_logout_ends_the_session_and_the_old_cookie_is_dead(
    app: FastAPI, session_for: ClientFactory
) -> None:
    client = await session_for("member@acme.test")
    cookie = client.cookies["hw_session"]
    response = await client.post("/api/v1/auth/logout")
    assert response.status_code == 204
    assert (
        'hw_session=""' in response.headers["set-cookie"]
        or "max-age=0" in response.headers["set-cookie"].lower()
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, cookies={"hw_session": cookie}
    ) as replay:
        again = await replay.get("/api/v1/me")
    assert again.status_code == 401
    assert again.json()["error"]["message"] == "your session has ended — log in again"


async def test_cookie_requests_that_change_things_need_the_csrf_token(session_for: ClientFactory) -> None:
    client = await session_for("member@acme.test")
    token = client.csrf_token  # type: ignore[attr-defined]
    del client.headers["X-CSRF-Token"]
    assert (await client.get("/api/v1/tokens")).status_code == 200  # safe methods need none
    missing = await client.post("/api/v1/tokens", json={"name": "x"})
    assert missing.status_code == 403
    assert "CSRF" in missing.json()["error"]["message"]
    wrong = await client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "0" * 64})
    assert wrong.status_code == 403
    assert (await client.get("/api/v1/tokens")).json()["tokens"] == []
    right = await client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": token})
    assert right.status_code == 201
    # a form post may carry it as a field instead
    form = await client.post("/api/v1/auth/logout", data={"csrf_token": token})
    assert form.status_code == 204


async def test_the_csrf_token_of_one_session_does_not_work_for_another(session_for: ClientFactory) -> None:
    first = await session_for("member@acme.test")
    second = await session_for("member@acme.test")
    assert first.csrf_token != second.csrf_token  # type: ignore[attr-defined]
    response = await first.post(
        "/api/v1/tokens",
        json={"name": "x"},
        headers={"X-CSRF-Token": second.csrf_token},  # type: ignore[attr-defined]
    )
    assert response.status_code == 403


async def test_bearer_requests_need_no_csrf_token(client_for: ClientFactory) -> None:
    client = await client_for("member@acme.test")
    response = await client.post("/api/v1/tokens", json={"name": "from a script"})
    assert response.status_code == 201
    me = await client.get("/api/v1/me")
    assert me.json()["via"] == "token"
    assert me.json()["csrfToken"] is None


async def _session_doc(app: FastAPI, client: httpx.AsyncClient) -> tuple[object, dict[str, object]]:
    state = await holder_of(app).get()
    key = token_digest(client.cookies["hw_session"])
    with state.store.read() as tx:
        doc = tx.get_node(SESSIONS, key)
    assert doc is not None
    return state, doc


@pytest.mark.parametrize("how", ["absolute expiry", "idle"])
async def test_an_expired_session_is_refused_and_deleted(
    app: FastAPI, session_for: ClientFactory, how: str
) -> None:
    client = await session_for("member@acme.test")
    state, doc = await _session_doc(app, client)
    long_ago = now_ms() - 1
    if how == "idle":
        long_ago = now_ms() - state.settings.session_idle_minutes * 60_000 - 1  # type: ignore[attr-defined]
        changed = doc | {"lastSeenAt": long_ago}
    else:
        changed = doc | {"expiresAt": long_ago}
    with state.store.transaction() as tx:  # type: ignore[attr-defined]
        tx.upsert_nodes(SESSIONS, [changed])
    response = await client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    with state.store.read() as tx:  # type: ignore[attr-defined]
        assert tx.get_node(SESSIONS, doc["_key"]) is None


async def test_a_password_change_ends_other_sessions_and_keeps_this_one(
    session_for: ClientFactory, anon: httpx.AsyncClient
) -> None:
    email = "member@acme.test"
    here = await session_for(email)
    elsewhere = await session_for(email)
    new = "a-brand-new-password"
    wrong = await here.put(
        "/api/v1/me/password", json={"currentPassword": "nope-nope-nope", "newPassword": new}
    )
    assert wrong.status_code == 403
    short = await here.put(
        "/api/v1/me/password", json={"currentPassword": PASSWORDS[email], "newPassword": "short"}
    )
    assert short.status_code == 422
    assert "at least 10 characters" in short.json()["error"]["message"]
    changed = await here.put(
        "/api/v1/me/password", json={"currentPassword": PASSWORDS[email], "newPassword": new}
    )
    assert changed.status_code == 204
    assert (await here.get("/api/v1/me")).status_code == 200
    assert (await elsewhere.get("/api/v1/me")).status_code == 401
    assert (await anon.post(LOGIN, json={"email": email, "password": PASSWORDS[email]})).status_code == 401
    assert (await anon.post(LOGIN, json={"email": email, "password": new})).status_code == 200


async def test_a_hash_with_old_parameters_is_replaced_at_login(
    app: FastAPI, anon: httpx.AsyncClient, instance: ApiInstance
) -> None:
    email = "member2@acme.test"
    user_key = instance.user_keys[email]
    state = await holder_of(app).get()
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORDS[email])
    with state.store.transaction() as tx:
        doc = tx.get_node(accounts.CREDENTIALS, user_key)
        assert doc is not None
        tx.upsert_nodes(accounts.CREDENTIALS, [doc | {"passwordHash": weak}])
    assert (await anon.post(LOGIN, json={"email": email, "password": PASSWORDS[email]})).status_code == 200
    with state.store.read() as tx:
        stored = tx.get_node(accounts.CREDENTIALS, user_key)
    assert stored is not None
    assert stored["passwordHash"] != weak
    assert stored["passwordHash"].startswith("$argon2id$v=19$m=65536,t=3,p=4$")


async def test_unauthenticated_requests_get_401_with_a_bearer_challenge(anon: httpx.AsyncClient) -> None:
    for method, path in (("GET", "/api/v1/me"), ("GET", "/api/v1/users"), ("POST", "/api/v1/tokens")):
        response = await anon.request(method, path, json={"name": "x"} if method == "POST" else None)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
    basic = await anon.get("/api/v1/me", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401
    assert "Bearer hw_" in basic.json()["error"]["message"]


async def test_login_accepts_only_json_so_another_site_cannot_log_a_browser_in(
    anon: httpx.AsyncClient,
) -> None:
    """A cross-site HTML form can send form fields or text/plain, never application/json."""
    credentials = {"email": "member@acme.test", "password": PASSWORDS["member@acme.test"]}
    form = await anon.post(LOGIN, data=credentials)
    plain = await anon.post(LOGIN, content=json.dumps(credentials), headers={"Content-Type": "text/plain"})
    for response in (form, plain):
        assert response.status_code == 422
        assert "set-cookie" not in response.headers
        assert PASSWORDS["member@acme.test"] not in response.text


async def test_logging_in_sweeps_the_users_dead_sessions(app: FastAPI, session_for: ClientFactory) -> None:
    old = await session_for("member@acme.test")
    state, doc = await _session_doc(app, old)
    with state.store.transaction() as tx:  # type: ignore[attr-defined]
        tx.upsert_nodes(SESSIONS, [doc | {"expiresAt": now_ms() - 1}])
    await session_for("member@acme.test")
    with state.store.read() as tx:  # type: ignore[attr-defined]
        assert tx.get_node(SESSIONS, doc["_key"]) is None
