"""The pages over httpx (no browser): who sees what, redirects, CSRF, escaping, no secrets."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from .conftest import PASSWORDS, ClientFactory, log_in, page_client
from .seed import SCRIPT_NAME, Seeded

pytestmark = pytest.mark.anyio

PAGES = ("/", "/search?q=lighthouse", "/records", "/connectors", "/connectors/new", "/ask", "/settings")


@pytest.mark.parametrize("path", PAGES)
async def test_a_page_sends_a_visitor_who_is_not_logged_in_to_the_login_page(
    anon: httpx.AsyncClient, path: str
) -> None:
    response = await anon.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    follow = await anon.get(response.headers["location"])
    assert follow.status_code == 200
    assert 'name="password"' in follow.text


async def test_logging_in_through_the_form_comes_back_to_the_page_asked_for(app: FastAPI) -> None:
    async with page_client(app) as browser:
        first = await browser.get("/records?name=x")
        assert first.status_code == 303
        login = await browser.get(first.headers["location"])
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token is not None
        done = await browser.post(
            "/login",
            data={
                "email": "member@acme.test",
                "password": PASSWORDS["member@acme.test"],
                "csrf_token": token.group(1),
                "next": "/records?name=x",
            },
        )
        assert done.status_code == 303
        assert done.headers["location"] == "/records?name=x"
        assert "hw_session" in browser.cookies
        page = await browser.get("/records?name=x")
        assert page.status_code == 200
        assert "Acme Member" in page.text


async def test_a_wrong_password_is_said_next_to_the_form_and_logs_nobody_in(app: FastAPI) -> None:
    async with page_client(app) as browser:
        response = await log_in(browser, "member@acme.test", "not-the-password")
        assert response.status_code == 401
        assert "wrong email or password" in response.text
        assert 'aria-invalid="true"' in response.text
        assert "hw_session" not in browser.cookies


async def test_a_login_form_from_elsewhere_is_refused(app: FastAPI) -> None:
    async with page_client(app) as browser:
        response = await browser.post(
            "/login",
            data={
                "email": "member@acme.test",
                "password": PASSWORDS["member@acme.test"],
                "csrf_token": "forged",
            },
        )
        assert response.status_code == 403
        assert "hw_session" not in browser.cookies


async def test_next_never_leaves_the_site(app: FastAPI) -> None:
    async with page_client(app) as browser:
        login = await browser.get("/login?next=//evil.test/x")
        assert 'name="next" value="/"' in login.text


async def test_logging_out_needs_the_csrf_token_and_ends_the_session(browser_for: ClientFactory) -> None:
    browser = await browser_for("member@acme.test")
    refused = await browser.post("/logout")
    assert refused.status_code == 403
    assert (await browser.get("/")).status_code == 200
    done = await browser.post("/logout", data={"csrf_token": browser.csrf_token})  # type: ignore[attr-defined]
    assert done.status_code == 303
    assert (await browser.get("/")).status_code == 303


async def test_pages_carry_a_content_security_policy_without_inline_scripts(
    browser_for: ClientFactory,
) -> None:
    browser = await browser_for("member@acme.test")
    response = await browser.get("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "<script>" not in response.text
    assert re.findall(r"<script[^>]*>", response.text) == ['<script src="/static/app.js" defer>']
    assert " style=" not in response.text


async def test_static_files_are_served_and_nothing_outside_them(anon: httpx.AsyncClient) -> None:
    css = await anon.get("/static/app.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert (await anon.get("/static/app.js")).status_code == 200
    assert (await anon.get("/static/../templating.py")).status_code == 404
    assert (await anon.get("/static/%2e%2e/templating.py")).status_code == 404


async def test_search_finds_what_the_member_may_read_and_escapes_names(
    browser_for: ClientFactory, seeded: Seeded
) -> None:
    browser = await browser_for("member@acme.test")
    response = await browser.get("/search", params={"q": "lighthouse"})
    assert response.status_code == 200
    assert "harbour-plan.md" in response.text
    assert f"/records/{seeded.records['harbour-plan.md']}" in response.text
    assert "salaries.md" not in response.text
    assert SCRIPT_NAME not in response.text
    assert "&lt;img src=x onerror=alert(1)&gt; notes.md" in response.text
    assert "<mark>" in response.text


async def test_the_admin_finds_their_private_document(browser_for: ClientFactory, seeded: Seeded) -> None:
    browser = await browser_for("admin@acme.test")
    response = await browser.get("/search", params={"q": "salaries"})
    assert "salaries.md" in response.text
    assert f"/records/{seeded.records['salaries.md']}" in response.text


async def test_a_bad_filter_is_said_next_to_the_filter(browser_for: ClientFactory, seeded: Seeded) -> None:
    browser = await browser_for("member@acme.test")
    response = await browser.get("/search", params={"q": "lighthouse", "since": "last tuesday"})
    assert response.status_code == 422
    assert "use YYYY-MM-DD" in response.text
    assert 'id="since-error"' in response.text


async def test_the_record_page_says_why_the_member_can_see_it(
    browser_for: ClientFactory, seeded: Seeded
) -> None:
    browser = await browser_for("member@acme.test")
    response = await browser.get(f"/records/{seeded.records['harbour-plan.md']}")
    assert response.status_code == 200
    assert "Why can I see this?" in response.text
    assert "member@acme.test" in response.text  # who has access
    assert "granted <strong>reader</strong>" in response.text


async def test_a_record_the_member_may_not_read_is_not_found(
    browser_for: ClientFactory, seeded: Seeded
) -> None:
    browser = await browser_for("member@acme.test")
    hidden = await browser.get(f"/records/{seeded.records['salaries.md']}")
    missing = await browser.get("/records/no-such-record")
    assert hidden.status_code == missing.status_code == 404
    assert "salaries" not in hidden.text
    assert (await browser.get(f"/records/{seeded.records['salaries.md']}/open")).status_code == 404


async def test_the_records_browser_lists_only_readable_records(
    browser_for: ClientFactory, seeded: Seeded
) -> None:
    member = await browser_for("member@acme.test")
    page = await member.get("/records")
    assert "harbour-plan.md" in page.text
    assert "salaries.md" not in page.text
    admin = await browser_for("admin@acme.test")
    assert "salaries.md" in (await admin.get("/records")).text
    filtered = await admin.get("/records", params={"name": "harbour"})
    assert "harbour-plan.md" in filtered.text
    assert "salaries.md" not in filtered.text


# ---- connectors ------------------------------------------------------------------------------


async def test_the_connectors_list_shows_what_each_user_may_see(
    browser_for: ClientFactory, seeded: Seeded
) -> None:
    admin = await browser_for("admin@acme.test")
    page = await admin.get("/connectors")
    assert page.status_code == 200
    assert "Team docs" in page.text
    assert "Admin private" in page.text
    assert "/api/v1/connector-types/localfs/icon" in page.text
    assert f'data-live="/connectors/{seeded.team_id}/status"' in page.text
    member = await browser_for("member@acme.test")
    page = await member.get("/connectors")
    assert "Team docs" in page.text
    assert "Admin private" not in page.text


async def test_the_status_fragment_is_live_and_private(browser_for: ClientFactory, seeded: Seeded) -> None:
    admin = await browser_for("admin@acme.test")
    fragment = await admin.get(f"/connectors/{seeded.team_id}/status")
    assert fragment.status_code == 200
    assert 'data-busy="false"' in fragment.text
    assert "up to date" in fragment.text
    member = await browser_for("member@acme.test")
    assert (await member.get(f"/connectors/{seeded.private_id}/status")).status_code == 404
    assert (await member.get(f"/connectors/{seeded.private_id}")).status_code == 404


async def test_a_member_sees_a_team_connector_read_only(browser_for: ClientFactory, seeded: Seeded) -> None:
    member = await browser_for("member@acme.test")
    page = await member.get(f"/connectors/{seeded.team_id}")
    assert page.status_code == 200
    assert "read-only for you" in page.text
    assert "Save configuration" not in page.text
    refused = await member.post(f"/connectors/{seeded.team_id}/sync", data={"csrf_token": member.csrf_token})  # type: ignore[attr-defined]
    assert refused.status_code == 403
    assert (await member.get(f"/connectors/{seeded.team_id}/delete")).status_code == 403


async def test_actions_without_the_csrf_token_are_refused(browser_for: ClientFactory, seeded: Seeded) -> None:
    admin = await browser_for("admin@acme.test")
    for action in ("sync", "disable", "delete", "config"):
        response = await admin.post(
            f"/connectors/{seeded.team_id}/{action}", data={"confirm_name": "Team docs"}
        )
        assert response.status_code == 403, action
    assert "Team docs" in (await admin.get("/connectors")).text


async def test_sync_now_asks_the_workers_and_says_so(browser_for: ClientFactory, seeded: Seeded) -> None:
    admin = await browser_for("admin@acme.test")
    response = await admin.post(f"/connectors/{seeded.team_id}/sync", data={"csrf_token": admin.csrf_token})  # type: ignore[attr-defined]
    assert response.status_code == 303
    page = await admin.get(response.headers["location"])
    assert "Sync requested" in page.text
    assert 'data-busy="true"' in page.text  # the status polls until a worker has run it


async def test_delete_needs_the_name_typed_again(browser_for: ClientFactory, seeded: Seeded) -> None:
    admin = await browser_for("admin@acme.test")
    token = admin.csrf_token  # type: ignore[attr-defined]
    wrong = await admin.post(
        f"/connectors/{seeded.private_id}/delete", data={"csrf_token": token, "confirm_name": "nope"}
    )
    assert wrong.status_code == 422
    assert "to delete it" in wrong.text
    done = await admin.post(
        f"/connectors/{seeded.private_id}/delete", data={"csrf_token": token, "confirm_name": "Admin private"}
    )
    assert done.status_code == 303
    listing = await admin.get(done.headers["location"])
    assert "Admin private" not in listing.text
    assert "deleted" in listing.text
