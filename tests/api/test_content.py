"""Signed content links: issued only for readable records, bound to record, user and expiry, and
re-checked when fetched."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from fastapi import FastAPI

from headwater.api.routes.records import content_links
from headwater.api.state import holder_of
from headwater.config.crypto import load_or_create_key
from headwater.services.content_links import (
    ContentLinks,
    LinkClaims,
    content_disposition,
    content_link_key,
    safe_filename,
)
from tests.api.conftest import ApiInstance, ClientFactory
from tests.api.seeded_world import ADMIN, MEMBER, OTHER, World, seeded_instance, world_fixture  # noqa: F401

pytestmark = pytest.mark.anyio

HANDBOOK_TEXT = (
    b"# Travel\n\nHotels are reimbursed up to 150 euros a night. "
    b"The quarterly review of expenses happens in March."
)


class Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(app: FastAPI, instance: ApiInstance) -> Clock:
    """The app's link signer with a clock the test moves (same instance secret as the real one)."""
    clock = Clock(1_800_000_000_000)
    links = ContentLinks(content_link_key(load_or_create_key(instance.settings)), ttl_s=300, clock=clock)
    app.dependency_overrides[content_links] = lambda: links
    return clock


async def link_for(client: httpx.AsyncClient, record_key: str) -> dict[str, object]:
    response = await client.post(f"/api/v1/records/{record_key}/content-link")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_the_link_serves_the_content_without_a_session(
    client_for: ClientFactory, anon: httpx.AsyncClient, world: World
) -> None:
    member = await client_for(MEMBER)
    link = await link_for(member, world.records["handbook.md"])
    url = str(link["url"])
    assert url.startswith("/api/v1/content/v1.")
    response = await anon.get(url)
    assert response.status_code == 200, response.text
    assert response.content == HANDBOOK_TEXT
    assert response.headers["content-type"].startswith("text/markdown")
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"handbook.md\"; filename*=UTF-8''handbook.md"
    )
    assert response.headers["cache-control"] == "private, no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "content-length" not in response.headers  # a file may grow while it streams: chunked
    # markdown is not shown inline (only PDFs, images and plain text are)
    inline = await anon.get(url, params={"disposition": "inline"})
    assert inline.headers["content-disposition"].startswith("attachment;")

    blob = await anon.get(str((await link_for(member, world.records["blob.bin"]))["url"]))
    assert blob.status_code == 200
    assert blob.content == "\x00\x01binary quarterly\x02".encode("latin-1")
    assert blob.headers["content-type"] == "application/octet-stream"


async def test_link_expires(
    client_for: ClientFactory, anon: httpx.AsyncClient, world: World, clock: Clock
) -> None:
    member = await client_for(MEMBER)
    link = await link_for(member, world.records["handbook.md"])
    assert link["expiresAt"] == clock.now + 300_000
    clock.now += 299_000
    assert (await anon.get(str(link["url"]))).status_code == 200
    clock.now += 1_000
    expired = await anon.get(str(link["url"]))
    assert expired.status_code == 410
    assert expired.json()["error"] == {
        "code": "link_expired",
        "message": "the content link has expired: ask for a new one",
    }


def _tamper_payload(url: str, **changes: object) -> str:
    version, body, mac = url.removeprefix("/api/v1/content/").split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(changes)
    new_body = (
        base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
    )
    return f"/api/v1/content/{version}.{new_body}.{mac}"


async def test_a_changed_token_is_refused(
    client_for: ClientFactory, anon: httpx.AsyncClient, world: World, instance: ApiInstance
) -> None:
    member = await client_for(MEMBER)
    url = str((await link_for(member, world.records["handbook.md"]))["url"])
    attempts = {
        "another record": _tamper_payload(url, r=world.records["admin-plan.md"]),
        "another user": _tamper_payload(url, u=instance.user_keys[ADMIN]),
        "a later expiry": _tamper_payload(url, x=9_999_999_999_999),
        "a flipped signature": url[:-2] + ("AA" if not url.endswith("AA") else "BB"),
        "no signature": url.rsplit(".", 1)[0],
        "garbage": "/api/v1/content/hello",
        "signature not base64": url.rsplit(".", 1)[0] + ".***",
    }
    for what, bad in attempts.items():
        response = await anon.get(bad)
        assert response.status_code == 403, what
        assert response.json()["error"]["code"] == "forbidden", what
    # a link signed with another instance's secret
    claims = LinkClaims(world.records["handbook.md"], instance.user_keys[MEMBER], 9_999_999_999_999)
    foreign = ContentLinks(content_link_key(b"another instance's secret")).sign(claims)
    response = await anon.get(f"/api/v1/content/{foreign}")
    assert response.status_code == 403
    assert "not from this instance" in response.json()["error"]["message"]


async def test_access_is_checked_again_when_the_link_is_used(
    app: FastAPI, client_for: ClientFactory, anon: httpx.AsyncClient, world: World, instance: ApiInstance
) -> None:
    member = await client_for(MEMBER)
    handbook = await link_for(member, world.records["handbook.md"])
    diary = await link_for(member, world.records["member-diary.md"])
    state = await holder_of(app).get()
    member_id = f"users/{instance.user_keys[MEMBER]}"
    # the source stops sharing the handbook with the member
    with state.store.transaction() as tx:
        assert tx.delete_edges(
            "permissions", from_id=member_id, to_id=f"recordGroups/{world.groups['Handbook']}"
        )
    revoked = await anon.get(str(handbook["url"]))
    assert revoked.status_code == 403
    assert (
        revoked.json()["error"]["message"] == "the user this link was made for can no longer read the record"
    )
    assert (await anon.get(str(diary["url"]))).status_code == 200
    assert (
        await member.post(f"/api/v1/records/{world.records['handbook.md']}/content-link")
    ).status_code == 404

    # a deactivated user's links stop too
    with state.store.transaction() as tx:
        doc = tx.get_node("users", instance.user_keys[MEMBER])
        assert doc is not None
        tx.upsert_nodes("users", [doc | {"isActive": False}])
    gone = await anon.get(str(diary["url"]))
    assert gone.status_code == 403
    assert gone.json()["error"]["message"] == "the user this link was made for is no longer active"


async def test_other_organisations_get_no_link(client_for: ClientFactory, world: World) -> None:
    outsider = await client_for(OTHER)
    assert (
        await outsider.post(f"/api/v1/records/{world.records['handbook.md']}/content-link")
    ).status_code == 404
    mine = await outsider.post(f"/api/v1/records/{world.records['other-secret.md']}/content-link")
    assert mine.status_code == 200


def test_file_names_are_safe_in_headers() -> None:
    assert safe_filename('../../etc/pa"ss\r\nwd') == "pass" + "wd"
    assert safe_filename("..") == "download"
    assert safe_filename(None) == "download"
    assert content_disposition("Année 2026 ✓.pdf") == (
        "attachment; filename=\"Annee 2026 .pdf\"; filename*=UTF-8''Ann%C3%A9e%202026%20%E2%9C%93.pdf"
    )
    assert content_disposition("report.pdf", inline=True).startswith("inline;")


def test_link_lifetime_is_bounded() -> None:
    with pytest.raises(ValueError, match="1 to 3600 seconds"):
        ContentLinks(b"k" * 32, ttl_s=0)
