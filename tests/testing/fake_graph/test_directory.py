"""Users and groups: paging with opaque tokens, $select, delta with removals, nested membership."""

from __future__ import annotations

import asyncio
from typing import Any

from headwater.testing.fake_graph import FakeGraph
from tests.testing.fake_graph.conftest import Seed
from tests.testing.fake_graph.helpers import session

run = asyncio.run


def test_users_page_through_opaque_next_links(graph: FakeGraph, seed: Seed) -> None:
    for name in ("Dan Brown", "Eve Black", "Fay Green"):
        seed.tenant.add_user(name, with_drive=False, with_mailbox=False)

    async def scenario() -> tuple[list[dict[str, Any]], list[str]]:
        async with session(graph) as s:
            users, _ = await s.collect("/users?$select=displayName,mail")
            links = [r.url for r in graph.requests if "skiptoken" in r.url]
            return users, links

    users, links = run(scenario())
    assert [u["displayName"] for u in users] == [
        "Alice Smith",
        "Bob Jones",
        "Carol White",
        "Dan Brown",
        "Eve Black",
        "Fay Green",
    ]
    assert set(users[0]) == {"id", "displayName", "mail"}
    assert len(links) == 1
    assert links[0].startswith("https://graph.microsoft.com/v1.0/users?$skiptoken=")


def test_tampered_or_misplaced_tokens_answer_400(graph: FakeGraph, seed: Seed) -> None:
    async def scenario() -> list[tuple[int, str]]:
        async with session(graph) as s:
            first = (await s.get("/users?$top=2")).json()
            link = first["@odata.nextLink"]
            token = link.split("$skiptoken=")[1]
            tampered = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
            answers = [await s.get(tampered), await s.get(f"/groups?$skiptoken={token}")]
            return [(a.status_code, a.json()["error"]["code"]) for a in answers]

    assert run(scenario()) == [(400, "invalidRequest"), (400, "invalidRequest")]


def test_default_properties_top_and_unknown_select(graph: FakeGraph, seed: Seed) -> None:
    async def scenario() -> tuple[dict[str, Any], int, int]:
        async with session(graph) as s:
            page = (await s.get("/users?$top=1")).json()
            bad = await s.get("/users?$select=displayName,favouriteColour")
            filtered = await s.get("/users?$filter=accountEnabled eq true")
            return page, bad.status_code, filtered.status_code

    page, bad, filtered = run(scenario())
    assert len(page["value"]) == 1
    assert "@odata.nextLink" in page
    assert set(page["value"][0]) == {
        "id",
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
    }
    assert (bad, filtered) == (400, 400)


def test_users_delta_reports_changes_and_removals(graph: FakeGraph, seed: Seed) -> None:
    tenant = seed.tenant

    async def scenario() -> tuple[list[str], list[dict[str, Any]], list[dict[str, Any]]]:
        async with session(graph) as s:
            initial, last = await s.collect("/users/delta?$select=displayName,accountEnabled")
            tenant.update_user(seed.bob.id, job_title="Lead")
            tenant.delete_user(seed.carol.id)
            dan = tenant.add_user("Dan Brown", with_drive=False, with_mailbox=False)
            tenant.delete_user(dan.id, permanent=True)
            changes, last = await s.collect(last["@odata.deltaLink"])
            again, _ = await s.collect(last["@odata.deltaLink"])
            assert again == []
            return [u["displayName"] for u in initial], changes, again

    initial, changes, _ = run(scenario())
    assert initial == ["Alice Smith", "Bob Jones", "Carol White"]
    assert [(c["id"], c.get("@removed"), c.get("displayName")) for c in changes] == [
        (seed.bob.id, None, "Bob Jones"),
        (seed.carol.id, {"reason": "changed"}, None),
        (changes[2]["id"], {"reason": "deleted"}, None),
    ]


def test_delta_token_latest_skips_the_backlog(graph: FakeGraph, seed: Seed) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with session(graph) as s:
            empty, last = await s.collect("/users/delta?$deltatoken=latest")
            seed.tenant.update_user(seed.alice.id, display_name="Alice Smith-Jones")
            changes, _ = await s.collect(last["@odata.deltaLink"])
            return empty, changes

    empty, changes = run(scenario())
    assert empty == []
    assert [c["displayName"] for c in changes] == ["Alice Smith-Jones"]


def test_groups_delta_members_added_and_removed(graph: FakeGraph, seed: Seed) -> None:
    tenant = seed.tenant

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with session(graph) as s:
            initial, last = await s.collect("/groups/delta?$select=displayName,members")
            tenant.add_group_member(seed.engineering.id, seed.carol.id)
            tenant.remove_group_member(seed.engineering.id, seed.bob.id)
            changes, _ = await s.collect(last["@odata.deltaLink"])
            return initial, changes

    initial, changes = run(scenario())
    assert {g["displayName"]: g["members@delta"] for g in initial} == {
        "Engineering": [
            {"@odata.type": "#microsoft.graph.user", "id": seed.alice.id},
            {"@odata.type": "#microsoft.graph.user", "id": seed.bob.id},
        ],
        "Everyone": [
            {"@odata.type": "#microsoft.graph.group", "id": seed.engineering.id},
            {"@odata.type": "#microsoft.graph.user", "id": seed.carol.id},
        ],
    }
    assert changes == [
        {
            "id": seed.engineering.id,
            "displayName": "Engineering",
            "members@delta": [
                {"@odata.type": "#microsoft.graph.user", "id": seed.carol.id},
                {
                    "@odata.type": "#microsoft.graph.user",
                    "id": seed.bob.id,
                    "@removed": {"reason": "deleted"},
                },
            ],
        }
    ]


def test_transitive_members_include_nested_groups_and_their_members(graph: FakeGraph, seed: Seed) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with session(graph) as s:
            direct, _ = await s.collect(f"/groups/{seed.everyone.id}/members")
            nested, _ = await s.collect(f"/groups/{seed.everyone.id}/transitiveMembers?$select=id")
            return direct, nested

    direct, nested = run(scenario())
    assert [(m["@odata.type"], m["id"]) for m in direct] == [
        ("#microsoft.graph.group", seed.engineering.id),
        ("#microsoft.graph.user", seed.carol.id),
    ]
    assert {m["id"] for m in nested} == {seed.engineering.id, seed.carol.id, seed.alice.id, seed.bob.id}
