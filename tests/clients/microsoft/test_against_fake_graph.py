"""The client against the stateful fake tenant (`headwater.testing.fake_graph`): msal's token flow through
the fake's login endpoint, every typed call, opaque paging tokens, per-drive resync, random throttling."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from headwater.clients.microsoft import (
    AccessDeniedError,
    AuthError,
    ClientCredentials,
    DeltaExpiredError,
    GraphClient,
    RateBudget,
    collect_delta,
)
from headwater.testing.fake_graph.app import FakeGraph
from headwater.testing.fake_graph.tenant import FakeTenant
from tests.clients.microsoft.mini_graph import FakeClock

GRAPH = "https://graph.fake.test/v1.0"
LOGIN = "https://login.fake.test"
T = TypeVar("T")


@dataclass
class Seeded:
    tenant: FakeTenant
    ada: Any
    bob: Any
    eve: Any
    engineers: Any
    everyone: Any
    ada_drive: Any
    bob_drive: Any
    report: Any
    site: Any


def seed() -> Seeded:
    tenant = FakeTenant()
    ada, bob, eve = (
        tenant.add_user("Ada Lovelace"),
        tenant.add_user("Bob Smith"),
        tenant.add_user("Eve Adams"),
    )
    engineers = tenant.add_group("Engineers", members=[ada.id, bob.id])
    everyone = tenant.add_group("Everyone", members=[engineers.id, eve.id])
    ada_drive, bob_drive = tenant.drive_of(ada.id), tenant.drive_of(bob.id)
    docs = tenant.add_folder(ada_drive.id, "Docs")
    report = tenant.add_file(ada_drive.id, "report.txt", "quarterly numbers", parent_id=docs.id)
    tenant.add_file(ada_drive.id, "notes.md", "# notes")
    tenant.grant(ada_drive.id, report.id, bob.id)
    tenant.create_link(ada_drive.id, report.id, "organization")
    tenant.add_file(bob_drive.id, "bob.txt", "bob's file")
    site = tenant.add_site("eng", "Engineering")
    tenant.add_page(site.id, "home.aspx", "Home", "<p>welcome</p>")
    tenant.add_message(
        ada.id,
        "Plan",
        "<p>the plan</p>",
        sender=("Bob Smith", bob.mail or ""),
        attachments=[("plan.txt", "text/plain", b"v1")],
    )
    return Seeded(tenant, ada, bob, eve, engineers, everyone, ada_drive, bob_drive, report, site)


def run(
    fake: FakeGraph,
    scenario: Callable[[GraphClient], Awaitable[T]],
    *,
    secret: str | None = None,
    budget: RateBudget | None = None,
) -> T:
    async def main() -> T:
        async with httpx.AsyncClient(transport=fake.transport()) as http:
            credentials = ClientCredentials(
                fake.tenant.tenant_id, fake.client_id, secret or fake.client_secret
            )
            client = GraphClient.from_credentials(
                http, credentials, base_url=GRAPH, authority_base=LOGIN, budget=budget or RateBudget()
            )
            return await scenario(client)

    return asyncio.run(main())


async def listed(objects: AsyncIterator[dict[str, Any]], key: str = "id") -> list[Any]:
    return [item.get(key) async for item in objects]


async def tour(client: GraphClient, s: Seeded) -> dict[str, Any]:
    """Everything the connectors will read, as comparable values."""
    ada, drive = s.ada.id, s.ada_drive.id
    items, drive_link = await collect_delta(client.drive_delta(drive))
    users, users_link = await collect_delta(client.users_delta())
    groups, groups_link = await collect_delta(client.groups_delta())
    messages, mail_link = await collect_delta(client.messages_delta(ada, "inbox"))
    return {
        "users": sorted(await listed(client.users(), "displayName")),
        "users_delta": sorted(u["displayName"] for u in users),
        "groups": sorted(await listed(client.groups(), "displayName")),
        "engineers_delta": sorted(
            m["id"] for g in groups if g["id"] == s.engineers.id for m in g.get("members@delta", [])
        ),
        "everyone_transitive": sorted(await listed(client.group_transitive_members(s.everyone.id))),
        "ada_drive": (await client.user_drive(ada))["id"],
        # an item may come more than once in a round (parents repeat): the last occurrence wins
        "drive_items": sorted({i["id"]: i.get("name") for i in items if "root" not in i}.values()),
        "report_permissions": sorted(
            [
                (
                    tuple(p["roles"]),
                    p.get("link", {}).get("scope", ""),
                    p.get("grantedToV2", {}).get("user", {}).get("id", ""),
                )
                async for p in client.item_permissions(drive, s.report.id)
            ]
        ),
        "report_bytes": b"".join([c async for c in client.download(drive, s.report.id)]),
        "sites": await listed(client.sites(), "displayName"),
        "site_pages": await listed(client.site_pages(s.site.id), "title"),
        "site_libraries": await listed(client.site_drives(s.site.id), "driveType"),
        "folders": await listed(client.mail_folders(ada), "displayName"),
        "messages": [m.get("subject") for m in messages],
        "has_attachments": [m.get("hasAttachments") for m in messages],
        "links": all(
            link and link.startswith(GRAPH) for link in (drive_link, users_link, groups_link, mail_link)
        ),
    }


def test_every_typed_call_reads_the_fake_tenant() -> None:
    s = seed()
    fake = FakeGraph(s.tenant, page_size_cap=2, validate=True)
    result = run(fake, lambda client: tour(client, s))

    assert result["users"] == ["Ada Lovelace", "Bob Smith", "Eve Adams"]
    assert result["users_delta"] == result["users"]
    assert result["groups"] == ["Engineers", "Everyone"]
    assert result["engineers_delta"] == sorted([s.ada.id, s.bob.id])
    assert result["everyone_transitive"] == sorted([s.engineers.id, s.eve.id, s.ada.id, s.bob.id])
    assert result["ada_drive"] == s.ada_drive.id
    assert result["drive_items"] == ["Docs", "notes.md", "report.txt"]
    assert result["report_permissions"] == [
        (("owner",), "", s.ada.id),
        (("read",), "", s.bob.id),
        (("read",), "organization", ""),
    ]
    assert result["report_bytes"] == b"quarterly numbers"
    assert result["sites"] == ["Engineering"]
    assert result["site_pages"] == ["Home"]
    assert "documentLibrary" in result["site_libraries"]
    assert {"Inbox", "Sent Items", "Deleted Items"} <= set(result["folders"])
    assert result["messages"] == ["Plan"]
    assert result["has_attachments"] == [True]
    assert result["links"]
    assert fake.token_requests == 1  # one token for the whole tour
    assert fake.validator is not None
    assert fake.validator.violations == []
    # the opaque, signed next links were followed as given (an edited one answers 400)
    assert any("$skiptoken=" in r.url for r in fake.graph_requests("/users"))
    # only the selected fields travel
    [first_users] = [r for r in fake.graph_requests("/v1.0/users?") if "$skiptoken" not in r.url][:1]
    assert "%24select=id%2CdisplayName" in first_users.url or "$select=id,displayName" in first_users.url


def test_random_throttling_gives_the_same_result_as_none() -> None:
    calm = seed()
    expected = run(FakeGraph(calm.tenant, page_size_cap=2), lambda client: tour(client, calm))

    s = seed()
    fake = FakeGraph(s.tenant, page_size_cap=2)
    fake.faults.throttle_fraction(0.2, seed=11)
    clock = FakeClock()
    result = run(fake, lambda client: tour(client, s), budget=RateBudget(clock=clock, sleep=clock.sleep))

    assert result == expected
    assert len(fake.faults.injected) >= 5  # the faults really happened
    assert {fault.throttle.status for fault in fake.faults.injected} == {429, 503}
    assert clock.sleeps  # and were waited out on the tenant's budget


def test_an_expired_drive_token_resyncs_that_drive_only() -> None:
    s = seed()
    fake = FakeGraph(s.tenant)

    async def scenario(client: GraphClient) -> tuple[Any, ...]:
        _, ada_link = await collect_delta(client.drive_delta(s.ada_drive.id))
        _, bob_link = await collect_delta(client.drive_delta(s.bob_drive.id))
        fake.faults.expire_drive_delta(s.ada_drive.id)
        s.tenant.add_file(s.bob_drive.id, "new.txt", "new")
        try:
            await collect_delta(client.drive_delta(s.ada_drive.id, ada_link))
        except DeltaExpiredError as exc:
            error = exc
        bob_changes, _ = await collect_delta(client.drive_delta(s.bob_drive.id, bob_link))
        resynced, _ = await collect_delta(client.drive_delta(s.ada_drive.id))
        return error, bob_changes, resynced

    error, bob_changes, resynced = run(fake, scenario)
    assert isinstance(error, DeltaExpiredError)
    assert error.scope == f"drives/{s.ada_drive.id}"
    assert error.status == 410
    assert [item["name"] for item in bob_changes if "root" not in item] == ["new.txt"]
    assert {"Docs", "notes.md", "report.txt"} <= {item.get("name") for item in resynced}


def test_a_token_the_fake_calls_expired_is_replaced_once() -> None:
    s = seed()
    fake = FakeGraph(s.tenant, token_lifetime_s=600)

    async def scenario(client: GraphClient) -> list[Any]:
        first = await listed(client.users())
        s.tenant.clock.advance(700)  # Graph's clock says the token has expired; ours does not know yet
        return first + await listed(client.users())

    assert len(run(fake, scenario)) == 6
    assert fake.token_requests == 2
    statuses = [r.headers.get("authorization", "")[:20] for r in fake.graph_requests("/users")]
    assert len(statuses) == 3  # the refused request, sent again once with the new token


def test_wrong_secret_and_missing_consent_say_what_to_fix() -> None:
    s = seed()
    with pytest.raises(AuthError, match="client secret is wrong or expired") as caught:
        run(FakeGraph(s.tenant), lambda client: listed(client.users()), secret="not-the-secret-value")
    assert "not-the-secret-value" not in str(caught.value)

    with pytest.raises(AccessDeniedError, match="admin consent"):
        run(FakeGraph(s.tenant, admin_consent=False), lambda client: listed(client.users()))
