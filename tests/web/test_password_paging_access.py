"""Settings: changing your own password; search: "more results"; the record page: where its access
is inherited from."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.state import holder_of
from headwater.services.record_access import record_detail
from headwater.services.search import MAX_K
from tests.api.conftest import ApiInstance

from .conftest import PASSWORDS, ClientFactory, log_in, page_client
from .seed import SCRIPT_NAME, Seeded, seed

pytestmark = pytest.mark.anyio

MEMBER = "member@acme.test"
NEW_PASSWORD = "a brand new harbour password"


async def change(browser: httpx.AsyncClient, current: str, new: str, confirm: str) -> httpx.Response:
    form = {
        "csrf_token": browser.csrf_token,  # type: ignore[attr-defined]
        "current_password": current,
        "new_password": new,
        "confirm": confirm,
    }
    return await browser.post("/settings/password", data=form)


async def test_changing_my_password_ends_my_other_sessions(app: FastAPI, browser_for: ClientFactory) -> None:
    elsewhere = await browser_for(MEMBER)  # e.g. a laptop left logged in
    browser = await browser_for(MEMBER)
    settings = await browser.get("/settings")
    assert 'action="/settings/password"' in settings.text
    assert 'autocomplete="current-password"' in settings.text

    for current, new, confirm, field, says in (
        ("not-my-password", NEW_PASSWORD, NEW_PASSWORD, "current_password", "current password is wrong"),
        (PASSWORDS[MEMBER], NEW_PASSWORD, NEW_PASSWORD + "!", "confirm", "two new passwords differ"),
        (PASSWORDS[MEMBER], "short", "short", "new_password", "too short"),
        ("", NEW_PASSWORD, NEW_PASSWORD, "current_password", "type your current password"),
    ):
        refused = await change(browser, current, new, confirm)
        assert refused.status_code == 422, (field, refused.text)
        assert f'id="{field}-error" role="alert">' in refused.text
        assert says in refused.text
        for secret in {current, new, confirm} - {""}:
            assert f'value="{secret}"' not in refused.text  # passwords are never sent back
    assert (await elsewhere.get("/settings")).status_code == 200  # nothing changed yet

    done = await change(browser, PASSWORDS[MEMBER], NEW_PASSWORD, NEW_PASSWORD)
    assert done.status_code == 303
    assert done.headers["location"] == "/settings?notice=password-changed"
    assert "Password changed" in (await browser.get(done.headers["location"])).text  # this session goes on
    logged_out = await elsewhere.get("/settings")
    assert logged_out.status_code == 303
    assert logged_out.headers["location"].startswith("/login")

    async with page_client(app) as fresh:
        assert (await log_in(fresh, MEMBER, PASSWORDS[MEMBER])).status_code == 401
        assert (await log_in(fresh, MEMBER, NEW_PASSWORD)).status_code == 303


async def test_a_password_form_without_the_csrf_token_is_refused(
    app: FastAPI, browser_for: ClientFactory
) -> None:
    browser = await browser_for(MEMBER)
    forged = await browser.post(
        "/settings/password",
        data={"current_password": PASSWORDS[MEMBER], "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert forged.status_code == 403
    async with page_client(app) as fresh:
        assert (await log_in(fresh, MEMBER, PASSWORDS[MEMBER])).status_code == 303  # unchanged


# ---- more results --------------------------------------------------------------------------------

LOGBOOK = 55  # with harbour-plan and the oddly named notes: 57 lighthouse documents the member reads


@pytest.fixture
async def many(app: FastAPI, instance: ApiInstance, tmp_path: Path) -> Seeded:
    state = await holder_of(app).get()
    return await seed(
        state,
        instance.org_keys["Acme"],
        instance.user_keys["admin@acme.test"],
        tmp_path / "src",
        logbook=LOGBOOK,
    )


def hit_names(html: str) -> list[str]:
    return re.findall(r'<li class="hit" id="hit-\d+">\s*<div class="hit-title"><a [^>]+>([^<]+)</a>', html)


async def test_more_results_extends_the_list_without_repeats(
    browser_for: ClientFactory, many: Seeded
) -> None:
    member = await browser_for(MEMBER)
    first = await member.get("/search", params={"q": "lighthouse"})
    assert first.status_code == 200
    page_one = hit_names(first.text)
    assert len(page_one) == 20
    assert "20+ results" in first.text
    more = re.search(r'href="([^"]+)" id="more-results"', first.text)
    assert more is not None
    assert more.group(1) == "/search?q=lighthouse&amp;pages=2#hit-21"

    second = await member.get("/search", params={"q": "lighthouse", "pages": "2"})
    page_two = hit_names(second.text)
    assert len(page_two) == 40
    assert page_two[:20] == page_one  # the same ranking: the first page again, then 20 new ones
    assert len(set(page_two)) == 40
    assert 'id="hit-21"' in second.text

    last = await member.get("/search", params={"q": "lighthouse", "pages": "3"})
    page_three = hit_names(last.text)
    assert len(page_three) == MAX_K  # the search's own limit: no further page
    assert page_three[:40] == page_two
    assert 'id="more-results"' not in last.text
    assert f"These are the best {MAX_K} results" in last.text
    readable = {"harbour-plan.md", html.escape(SCRIPT_NAME), *(f"logbook-{n:02d}.md" for n in range(LOGBOOK))}
    assert set(page_three) <= readable  # never the admin's private salaries.md
    # nonsense paging falls back to the first page; beyond the last, the last
    assert hit_names((await member.get("/search", params={"q": "lighthouse", "pages": "x"})).text) == page_one
    assert (
        hit_names((await member.get("/search", params={"q": "lighthouse", "pages": "99"})).text) == page_three
    )


async def test_a_short_result_list_has_no_more_link(browser_for: ClientFactory, seeded: Seeded) -> None:
    member = await browser_for(MEMBER)
    page = await member.get("/search", params={"q": "lighthouse"})
    assert set(hit_names(page.text)) >= {"harbour-plan.md"}
    assert 'id="more-results"' not in page.text
    assert "These are the best" not in page.text


# ---- inherited access on the record page -----------------------------------------------------------


async def test_the_record_page_says_where_its_access_is_inherited_from(
    app: FastAPI, browser_for: ClientFactory, seeded: Seeded, instance: ApiInstance
) -> None:
    key = seeded.records["harbour-plan.md"]
    state = await holder_of(app).get()
    detail = record_detail(
        state.store, user_key=instance.user_keys[MEMBER], org_key=instance.org_keys["Acme"], record_key=key
    )
    [folder] = detail["inheritsFrom"]  # a local folder's files inherit from the folder's record group
    assert folder["id"] == f"recordGroups/{detail['recordGroupId']}"
    member = await browser_for(MEMBER)
    page = await member.get(f"/records/{key}")
    assert page.status_code == 200
    assert f'<dd id="inherits">inherited from “{folder["name"]}”</dd>' in page.text
    assert f'<h3 class="access-source">Inherited from “{folder["name"]}”</h3>' in page.text
    assert "On this record" not in page.text  # no grant sits on the file itself
