"""Attacks on the web pages (the security review of issue 7): pages without a login, members on
admin forms, other people's and other organisations' ids, CSRF on every form (logout and login
included), open redirects, session fixation, security headers, and script smuggled in through
record names, contents, web URLs, connector names and config values. Each test passes when the
pages resist (none is marked as a known hole).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.state import ApiState, holder_of
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.instances import create_instance
from headwater.services.catalog import discover_connectors
from headwater.services.platform import config_key
from tests.api.conftest import ApiInstance, ClientFactory
from tests.api.indexing import index_until_idle

from .conftest import log_in, page_client

pytestmark = pytest.mark.anyio

ADMIN, MEMBER, MEMBER2, OTHER = "admin@acme.test", "member@acme.test", "member2@acme.test", "admin@other.test"
LOG = logging.getLogger("tests.web.security")

# script smuggled in through everything a source or a person can name
EVIL_CONNECTOR = "<script>alert('connector')</script>"
EVIL_FILE = "<svg onload=alert('file')> report.md"
EVIL_FILE2 = "x\"><img src=x onerror=alert('attr')>.md"
EVIL_GROUP = "Crew\"><script>alert('group')</script>"
EVIL_TEXT = "Lighthouse keepers <script>alert('content')</script> rota."
HIDDEN_URL = "https://intranet.test/hidden-location"
# web URLs a source could report, by file name
WEB_URLS = {
    EVIL_FILE: "javascript:alert('weburl')",
    EVIL_FILE2: " JaVaScRiPt:alert('weburl2')",
    "plain.md": "data:text/html,<script>alert('data')</script>",
    "hidden.md": HIDDEN_URL,
}
SMUGGLED = re.compile(r"<script>alert|<svg onload|<img src=x|href=\"\s*(javascript|data):", re.IGNORECASE)
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@dataclass(frozen=True)
class Evil:
    team_id: str
    private_id: str
    records: dict[str, str]  # file name -> record key


async def seed_evil(state: ApiState, instance: ApiInstance, root: Path) -> Evil:
    """A team Local FS instance with a script for a name, files named and filled with script, web
    URLs a hostile source could report, and a group whose name is a script; plus the admin's
    personal instance."""
    discover_connectors()
    shared, private = root / "shared", root / "private"
    shared.mkdir(parents=True)
    private.mkdir(parents=True)
    for name in (EVIL_FILE, EVIL_FILE2, "plain.md", "hidden.md"):
        (shared / name).write_text(f"# Rota\n\n{EVIL_TEXT}\n")
    (private / "salaries.md").write_text("# Salaries\n\nThe lighthouse keepers' salaries are secret.\n")
    org, admin = instance.org_keys["Acme"], instance.user_keys[ADMIN]
    team = create_instance(
        state.store, type="Local FS", name=EVIL_CONNECTOR, scope="team", org_id=org, created_by=admin
    )
    mine = create_instance(
        state.store, type="Local FS", name="Admin private", scope="personal", org_id=org, created_by=admin
    )
    share = {"folders": str(shared), "shareWithGroups": f"{EVIL_GROUP}: {MEMBER}"}
    await state.config.put(config_key(team["_key"]), {"sync": share})
    await state.config.put(config_key(mine["_key"]), {"sync": {"folders": str(private)}})
    engine = SyncEngine(state.store, state.config, logger=LOG)
    for doc in (team, mine):
        assert (await engine.run_sync(doc["_key"]))["outcome"] == "completed"
    with state.store.transaction() as tx:  # what a hostile or careless source reports as web URLs
        docs = [d for d in tx.find_nodes("records") if d.get("recordName") in WEB_URLS]
        assert len(docs) == len(WEB_URLS)
        tx.upsert_nodes(
            "records",
            [
                d | {"webUrl": WEB_URLS[d["recordName"]], "hideWeburl": d["recordName"] == "hidden.md"}
                for d in docs
            ],
        )
    await index_until_idle(state)
    with state.store.read() as tx:
        records = {str(d["recordName"]): str(d["_key"]) for d in tx.find_nodes("records")}
    return Evil(str(team["_key"]), str(mine["_key"]), records)


@pytest.fixture
async def evil(app: FastAPI, instance: ApiInstance, tmp_path: Path) -> Evil:
    return await seed_evil(await holder_of(app).get(), instance, tmp_path / "src")


def assert_secure_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    policy = response.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in policy, response.request.url
    assert "script-src 'self'" in policy, response.request.url
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]


# ---- who may open a page --------------------------------------------------------------------------

GET_PAGES = (
    "/", "/search?q=x", "/ask", "/records", "/records/x", "/records/x/open", "/connectors",
    "/connectors/x", "/connectors/x/status", "/connectors/x/delete", "/connectors/new",
    "/connectors/new/localfs", "/settings",
)  # fmt: skip
POST_PAGES = (
    "/ask", "/ask/stream", "/connectors/new/localfs", "/connectors/x/config", "/connectors/x/sync",
    "/connectors/x/delete", "/settings/tokens", "/settings/tokens/x/revoke", "/settings/users",
    "/settings/users/x", "/logout",
)  # fmt: skip


async def test_no_page_opens_without_a_login(anon: httpx.AsyncClient) -> None:
    for method, paths in (("GET", GET_PAGES), ("POST", POST_PAGES)):
        for path in paths:
            response = await anon.request(
                method, path, data={"csrf_token": "x"} if method == "POST" else None
            )
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/login?next="), (method, path)
    # a forged or stale cookie is no login either
    anon.cookies.set("hw_session", "forged")
    for path in GET_PAGES:
        forged = await anon.get(path)
        assert forged.status_code == 303, path


async def test_every_form_needs_the_csrf_token(browser_for: ClientFactory, evil: Evil) -> None:
    admin = await browser_for(ADMIN)
    token: str = admin.csrf_token  # type: ignore[attr-defined]
    for path in POST_PAGES:
        url = path.replace("/x", f"/{evil.team_id}", 1) if path.startswith("/connectors/x") else path
        for sent in ({}, {"csrf_token": ""}, {"csrf_token": token[:-4] + "beef"}):
            response = await admin.post(url, data=sent | {"confirm_name": EVIL_CONNECTOR, "role": "member"})
            assert response.status_code == 403, (url, sent, response.text)
    # the connector is still there and still enabled, the session still alive
    page = await admin.get(f"/connectors/{evil.team_id}")
    assert page.status_code == 200
    assert "Disabled" not in page.text


async def test_logout_is_a_form_with_the_token(browser_for: ClientFactory) -> None:
    member = await browser_for(MEMBER)
    assert (await member.get("/logout")).status_code == 405  # no logging out by a link or an image
    assert (await member.post("/logout")).status_code == 403
    assert (await member.get("/")).status_code == 200
    out = await member.post("/logout", data={"csrf_token": member.csrf_token})  # type: ignore[attr-defined]
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    assert (await member.get("/")).status_code == 303


async def test_another_site_cannot_log_a_browser_in(app: FastAPI) -> None:
    async with page_client(app) as victim:
        form = {"email": MEMBER, "password": "acme-member-password", "next": "/"}
        # a cross-site form has no login cookie (SameSite=Strict), so its token cannot match
        for token in ("", "guessed-token"):
            response = await victim.post("/login", data=form | {"csrf_token": token})
            assert response.status_code == 403
            assert "hw_session" not in victim.cookies
        # the token of the form the attacker loaded in their own browser does not help either
        async with page_client(app) as attacker:
            page = await attacker.get("/login")
        stolen = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert stolen is not None
        response = await victim.post("/login", data=form | {"csrf_token": stolen.group(1)})
        assert response.status_code == 403
        assert "hw_session" not in victim.cookies
        # the login token's cookie: Strict, HttpOnly, only for /login
        cookie = next(h for h in page.headers.get_list("set-cookie") if h.startswith("hw_login_csrf="))
        attributes = {a.strip().lower() for a in cookie.split(";")[1:]}
        assert {"httponly", "samesite=strict", "path=/login"} <= attributes


async def test_the_form_login_issues_a_new_session_id(app: FastAPI) -> None:
    async with page_client(app) as browser:
        browser.cookies.set("hw_session", "planted-by-an-attacker")
        response = await log_in(browser, MEMBER, "acme-member-password")
        assert response.status_code == 303
        issued = [h for h in response.headers.get_list("set-cookie") if h.startswith("hw_session=")]
        assert len(issued) == 1
        assert "planted-by-an-attacker" not in issued[0]
        async with page_client(app) as other:  # holding only the planted value: logged in as nobody
            other.cookies.set("hw_session", "planted-by-an-attacker")
            assert (await other.get("/")).status_code == 303


@pytest.mark.parametrize(
    "target",
    ["//evil.test/", "https://evil.test/", "/\\evil.test", "\\\\evil.test", "/\t/evil.test",
     "/\n/evil.test", "javascript:alert(1)", "evil.test", "%2F%2Fevil.test"],
)  # fmt: skip
async def test_logging_in_never_leaves_the_site(app: FastAPI, target: str) -> None:
    async with page_client(app) as browser:
        page = await browser.get("/login", params={"next": target})
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        done = await browser.post(
            "/login",
            data={"email": MEMBER, "password": "acme-member-password", "csrf_token": token.group(1),
                  "next": target},
        )  # fmt: skip
        assert done.status_code == 303
        location = re.sub(r"[\t\r\n]", "", done.headers["location"])  # what a browser does to it
        assert location.startswith("/"), location
        assert not location.startswith(("//", "/\\")), location
        # logged in already: the login page sends the browser on, to this site only
        again = await browser.get("/login", params={"next": target})
        assert re.sub(r"[\t\r\n]", "", again.headers["location"]) == location or again.headers[
            "location"
        ].startswith("/")
        assert not again.headers["location"].startswith("//")


# ---- members, colleagues, outsiders ----------------------------------------------------------------


async def test_a_member_cannot_use_admin_forms(
    browser_for: ClientFactory, evil: Evil, instance: ApiInstance
) -> None:
    member = await browser_for(MEMBER)
    token = {"csrf_token": member.csrf_token}  # type: ignore[attr-defined]
    attempts = [
        await member.post("/settings/users", data=token | {"email": "mole@acme.test", "role": "admin",
                                                          "password": "mole-password-1"}),
        await member.post(f"/settings/users/{instance.user_keys[ADMIN]}", data=token | {"active": "false"}),
        await member.post(f"/settings/users/{instance.user_keys[MEMBER]}", data=token | {"role": "admin"}),
        await member.post(f"/connectors/{evil.team_id}/disable", data=token),
        await member.post(f"/connectors/{evil.team_id}/sync", data=token),
        await member.post(f"/connectors/{evil.team_id}/retry", data=token),
        await member.post(f"/connectors/{evil.team_id}/config", data=token | {"sync.folders": "/"}),
        await member.post(
            f"/connectors/{evil.team_id}/delete", data=token | {"confirm_name": EVIL_CONNECTOR}
        ),
        await member.get(f"/connectors/{evil.team_id}/delete"),
        await member.post("/connectors/new/localfs", data=token | {"name": "T", "scope": "team",
                                                                  "sync.folders": "/tmp"}),
    ]  # fmt: skip
    for response in attempts:
        assert response.status_code in (403, 422), (response.request.url, response.status_code)
        assert response.status_code == 403 or "only an admin" in response.text
    admin = await browser_for(ADMIN)
    settings = await admin.get("/settings")
    assert "mole@acme.test" not in settings.text
    page = await admin.get(f"/connectors/{evil.team_id}")
    assert "Disabled" not in page.text
    me = await member.get("/settings")
    assert "Acme Member" in me.text
    assert "admin</span>" not in me.text


async def test_other_peoples_and_organisations_ids_are_not_found(
    browser_for: ClientFactory, evil: Evil, instance: ApiInstance
) -> None:
    salaries = evil.records["salaries.md"]
    admin = await browser_for(ADMIN)
    headers = {"X-CSRF-Token": admin.csrf_token}  # type: ignore[attr-defined]
    admins_token = (await admin.post("/api/v1/tokens", json={"name": "admin's"}, headers=headers)).json()
    admin_key = instance.user_keys[ADMIN]
    for email in (MEMBER, OTHER):  # the admin's personal instance and file; Acme's team instance
        visitor = await browser_for(email)
        token = {"csrf_token": visitor.csrf_token}  # type: ignore[attr-defined]
        ids = [evil.private_id] + ([evil.team_id] if email == OTHER else [])
        records = [salaries] + ([evil.records["plain.md"]] if email == OTHER else [])
        for cid in ids:
            for response in (
                await visitor.get(f"/connectors/{cid}"),
                await visitor.get(f"/connectors/{cid}/status"),
                await visitor.get(f"/connectors/{cid}/delete"),
                await visitor.post(f"/connectors/{cid}/sync", data=token),
                await visitor.post(
                    f"/connectors/{cid}/delete", data=token | {"confirm_name": "Admin private"}
                ),
                await visitor.post(f"/connectors/{cid}/config", data=token | {"sync.folders": "/"}),
            ):
                assert response.status_code == 404, (email, response.request.url, response.status_code)
                assert "Admin private" not in response.text
                assert "alert(" not in response.text
        for key in records:
            for response in (await visitor.get(f"/records/{key}"), await visitor.get(f"/records/{key}/open")):
                assert response.status_code == 404, (email, response.request.url)
                assert "salaries" not in response.text.lower()
        search = await visitor.get("/search", params={"q": "salaries lighthouse keepers"})
        assert "salaries.md" not in search.text
        assert (
            await visitor.get("/search", params={"q": "x", "connector": evil.private_id})
        ).status_code == 422
        for token_id in ("not-mine", admins_token["id"]):
            revoked = await visitor.post(f"/settings/tokens/{token_id}/revoke", data=token)
            assert revoked.status_code == 404
        if email == OTHER:  # an Acme user's key, changed by another organisation's admin
            changed = await visitor.post(f"/settings/users/{admin_key}", data=token | {"role": "member"})
            assert changed.status_code == 404
    still = await admin.get("/api/v1/me", headers={"Authorization": f"Bearer {admins_token['token']}"})
    assert still.status_code == 200
    assert still.json()["user"]["role"] == "admin"


# ---- script in names, contents, URLs ------------------------------------------------------------


async def test_smuggled_script_never_reaches_a_page(browser_for: ClientFactory, evil: Evil) -> None:
    admin, member = await browser_for(ADMIN), await browser_for(MEMBER)
    token = {"csrf_token": member.csrf_token}  # type: ignore[attr-defined]
    pages = [
        await member.get("/"),
        await member.get("/search", params={"q": "lighthouse keepers rota"}),
        await member.get("/search", params={"q": "<script>alert('q')</script> rota"}),
        await member.get("/records"),
        await member.get("/connectors"),
        await member.get(f"/connectors/{evil.team_id}"),
        await member.get(f"/connectors/{evil.team_id}/status"),
        await member.post("/ask", data=token | {"question": "<script>alert('ask')</script> lighthouse rota"}),
        await member.post("/ask/stream", data=token | {"question": "lighthouse keepers rota"}),
        await admin.get(f"/connectors/{evil.team_id}"),  # with the config form and its values
        *[await member.get(f"/records/{evil.records[name]}") for name in WEB_URLS],
    ]
    found = await member.get("/search", params={"q": "lighthouse keepers rota"})
    assert found.text.count('class="hit"') == len(WEB_URLS)  # the hostile records are found...
    for page in pages:
        assert page.status_code == 200, (page.request.url, page.text[:300])
        assert SMUGGLED.search(page.text) is None, (page.request.url, SMUGGLED.search(page.text))
    assert "&lt;svg onload=alert" in found.text  # ...and shown as text
    record = await member.get(f"/records/{evil.records[EVIL_FILE]}")
    assert "&lt;script&gt;alert(&#39;group&#39;)" in record.text  # the group's name, as text


async def test_the_api_gives_web_urls_as_the_source_said_and_html_only_escaped(
    browser_for: ClientFactory, evil: Evil, app: FastAPI
) -> None:
    """The API returns data (a client must check a URL's scheme before linking it, as the pages do);
    `snippetHtml` is the one field meant for innerHTML, and it is escaped."""
    member = await browser_for(MEMBER)
    headers = {"X-CSRF-Token": member.csrf_token}  # type: ignore[attr-defined]
    found = await member.post("/api/v1/search", json={"query": "lighthouse keepers rota"}, headers=headers)
    hits: list[dict[str, Any]] = found.json()["hits"]
    assert len(hits) == len(WEB_URLS)
    for hit in hits:
        assert "<" not in hit["snippetHtml"].replace("<mark>", "").replace("</mark>", "")
    urls = {hit["recordName"]: hit["webUrl"] for hit in hits}
    assert urls[EVIL_FILE] == WEB_URLS[EVIL_FILE]  # as the source said: the pages decide what to link
    listed = (await member.get("/api/v1/records")).json()["records"]
    assert next(r for r in listed if r["name"] == "hidden.md")["webUrl"] is None


async def test_a_hidden_web_url_stays_hidden_everywhere(browser_for: ClientFactory, evil: Evil) -> None:
    member = await browser_for(MEMBER)
    headers = {"X-CSRF-Token": member.csrf_token}  # type: ignore[attr-defined]
    hidden = evil.records["hidden.md"]
    responses = [
        await member.post("/api/v1/search", json={"query": "lighthouse keepers rota"}, headers=headers),
        await member.post("/api/v1/ask", json={"question": "lighthouse rota", "k": 20}, headers=headers),
        await member.get("/api/v1/records"),
        await member.get(f"/api/v1/records/{hidden}"),
        await member.get("/search", params={"q": "lighthouse keepers rota"}),
        await member.get(f"/records/{hidden}"),
    ]
    assert "hidden.md" in responses[0].text
    for response in responses:
        assert response.status_code == 200
        assert HIDDEN_URL not in response.text, response.request.url


# ---- headers ----------------------------------------------------------------------------------------


async def test_every_page_carries_the_security_headers(
    browser_for: ClientFactory, anon: httpx.AsyncClient, evil: Evil
) -> None:
    member = await browser_for(MEMBER)
    token = {"csrf_token": member.csrf_token}  # type: ignore[attr-defined]
    responses = [
        await anon.get("/login"),
        await member.get("/"),
        await member.get("/search", params={"q": "rota"}),
        await member.get("/search", params={"since": "not-a-date", "q": "x"}),  # an error page
        await member.get("/ask"),
        await member.post("/ask", data=token | {"question": "rota"}),
        await member.post("/ask/stream", data=token | {"question": "rota"}),
        await member.get("/records"),
        await member.get(f"/records/{evil.records['plain.md']}"),
        await member.get("/records/no-such-record"),  # 404 page
        await member.get("/connectors"),
        await member.get(f"/connectors/{evil.team_id}"),
        await member.get(f"/connectors/{evil.team_id}/status"),
        await member.get("/connectors/new"),
        await member.get("/settings"),
        await member.get(f"/records/{evil.records['plain.md']}/open"),  # the redirect to the content
    ]
    for response in responses:
        assert_secure_headers(response)
    content = await member.get(responses[-1].headers["location"])
    assert content.status_code == 200
    assert content.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in content.headers["content-security-policy"]
    assert content.headers["content-disposition"].startswith("attachment")
    assert content.headers["cache-control"] == "private, no-store"
    static = await anon.get("/static/app.js")
    assert static.headers["x-content-type-options"] == "nosniff"
    escape = await anon.get("/static/../templates/base.html")
    assert escape.status_code == 404
