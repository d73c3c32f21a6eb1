"""GET /api/v1/records and /records/{key}: exactly what the caller may read, in their organisation."""

from __future__ import annotations

import httpx
import pytest

from tests.api.conftest import ApiInstance, ClientFactory
from tests.api.seeded_world import ADMIN, MEMBER, MEMBER2, OTHER, World, day, seeded_instance, world_fixture  # noqa: F401

pytestmark = pytest.mark.anyio

READABLE = {
    ADMIN: {"admin-plan.md", "handbook.md", "blob.bin"},
    MEMBER: {"member-diary.md", "handbook.md", "blob.bin", "group-minutes.md"},
    MEMBER2: {"group-minutes.md"},
    OTHER: {"other-secret.md"},
}


async def names_of(client: httpx.AsyncClient, **params: object) -> list[str]:
    response = await client.get("/api/v1/records", params=params)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return [r["name"] for r in response.json()["records"]]


async def test_each_user_browses_exactly_what_they_can_read(client_for: ClientFactory) -> None:
    for email, expected in READABLE.items():
        client = await client_for(email)
        assert set(await names_of(client)) == expected, email


async def test_newest_first_then_pages_with_an_opaque_cursor(client_for: ClientFactory) -> None:
    member = await client_for(MEMBER)
    assert await names_of(member) == ["member-diary.md", "group-minutes.md", "blob.bin", "handbook.md"]
    assert await names_of(member, sort="name") == [
        "blob.bin",
        "group-minutes.md",
        "handbook.md",
        "member-diary.md",
    ]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = (await member.get("/api/v1/records", params=params)).json()
        assert body["total"] == 4
        seen += [r["name"] for r in body["records"]]
        pages += 1
        cursor = body["nextCursor"]
        if cursor is None:
            break
    assert pages == 2
    assert seen == ["member-diary.md", "group-minutes.md", "blob.bin", "handbook.md"]

    first = (await member.get("/api/v1/records", params={"limit": 1})).json()
    wrong_sort = await member.get("/api/v1/records", params={"cursor": first["nextCursor"], "sort": "name"})
    assert wrong_sort.status_code == 422
    assert "same sort" in wrong_sort.json()["error"]["message"]
    garbage = await member.get("/api/v1/records", params={"cursor": "not-a-cursor"})
    assert garbage.status_code == 422
    assert "nextCursor" in garbage.json()["error"]["message"]


async def test_filters(client_for: ClientFactory, world: World) -> None:
    member = await client_for(MEMBER)
    handbook = world.connectors["Handbook"]
    assert set(await names_of(member, connectorId=handbook)) == {"handbook.md", "blob.bin"}
    assert set(await names_of(member, recordGroupId=world.groups["Group folder"])) == {"group-minutes.md"}
    assert await names_of(member, recordType="MAIL") == []
    assert len(await names_of(member, recordType="file")) == 4
    assert await names_of(member, indexingStatus="FILE_TYPE_NOT_SUPPORTED") == ["blob.bin"]
    assert set(await names_of(member, indexingStatus=["COMPLETED"])) == {
        "member-diary.md",
        "handbook.md",
        "group-minutes.md",
    }
    assert await names_of(member, nameContains="HAND") == ["handbook.md"]
    # handbook day 20, blob day 25 (Jan 26), group day 30, diary day 40 (Feb 10): from inclusive, to exclusive
    assert (day(25), day(40)) == (1_769_385_600_000, 1_770_681_600_000)
    window = {"modifiedFrom": "2026-01-26T00:00:00Z", "modifiedTo": "2026-02-10T00:00:00+00:00"}
    assert await names_of(member, **window) == ["group-minutes.md", "blob.bin"]
    assert set(await names_of(member, modifiedFrom="2026-01-26T00:00:01")) == {  # no offset: UTC
        "group-minutes.md",
        "member-diary.md",
    }
    # another organisation's connector: nothing, not an error that says it exists
    assert await names_of(member, connectorId=world.connectors["Other notes"]) == []
    # a window that does not end after it starts is empty, not an error
    for start, end in (("2026-02-10T00:00:00Z", "2026-02-10T00:00:00Z"), ("2026-03-01", "2026-02-01")):
        assert await names_of(member, modifiedFrom=start, modifiedTo=end) == []
    # a date-time is ISO 8601: a number (pydantic would read seconds since 1970) is refused
    for not_a_date in ("0.5", "1769385600", "yesterday"):
        refused = await member.get("/api/v1/records", params={"modifiedTo": not_a_date})
        assert refused.status_code == 422, not_a_date
        assert "modifiedTo" in refused.json()["error"]["message"]


async def test_detail_has_metadata_and_who_has_access(client_for: ClientFactory, world: World) -> None:
    member = await client_for(MEMBER)
    response = await member.get(f"/api/v1/records/{world.records['handbook.md']}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["key"] == world.records["handbook.md"]
    assert body["name"] == "handbook.md"
    assert body["recordType"] == "FILE"
    assert body["connectorId"] == world.connectors["Handbook"]
    assert body["connectorName"] == "Handbook"
    assert body["connectorType"] == "LOCAL_FS"
    assert body["mimeType"] == "text/markdown"
    assert body["sizeInBytes"] == len(
        "# Travel\n\nHotels are reimbursed up to 150 euros a night. "
        "The quarterly review of expenses happens in March."
    )
    assert body["modifiedAt"] == world.modified["handbook.md"]
    assert body["indexingStatus"] == "COMPLETED"
    assert body["indexingReason"] is None
    assert body["recordGroup"]["id"] == world.groups["Handbook"]
    assert body["path"].endswith("handbook/handbook.md")
    grants = {(g["principal"]["kind"], g["principal"]["name"], g["role"]) for g in body["permissions"]}
    assert ("user", MEMBER, "READER") in grants  # shared with the member by the instance's config
    assert all(
        g["inheritedFrom"]["id"] == f"recordGroups/{world.groups['Handbook']}" for g in body["permissions"]
    )
    assert all(g["grantsRead"] for g in body["permissions"])
    # what it inherits from, nearest first, named as people know it
    group = f"recordGroups/{world.groups['Handbook']}"
    assert [node["id"] for node in body["inheritsFrom"]] == [group]
    assert body["inheritsFrom"][0]["name"] == body["recordGroup"]["name"]

    blob = (await member.get(f"/api/v1/records/{world.records['blob.bin']}")).json()
    assert blob["indexingStatus"] == "FILE_TYPE_NOT_SUPPORTED"
    assert "no parser" in blob["indexingReason"]


@pytest.mark.parametrize(
    ("email", "record"),
    [
        (MEMBER, "admin-plan.md"),  # same org, not shared with the member
        (ADMIN, "member-diary.md"),  # admins have no bypass
        (ADMIN, "group-minutes.md"),
        (MEMBER2, "handbook.md"),
        (MEMBER, "other-secret.md"),  # another organisation
        (OTHER, "handbook.md"),
        (MEMBER, "no-such-record"),
    ],
)
async def test_what_you_cannot_read_is_not_found(
    client_for: ClientFactory, world: World, email: str, record: str
) -> None:
    client = await client_for(email)
    key = world.records.get(record, record)
    for response in (
        await client.get(f"/api/v1/records/{key}"),
        await client.post(f"/api/v1/records/{key}/content-link"),
    ):
        assert response.status_code == 404
        # the same answer whether the record exists or not
        assert response.json() == {
            "error": {"code": "not_found", "message": f"no record {key!r} that you can read"}
        }


async def test_without_credentials(anon: httpx.AsyncClient, world: World) -> None:
    for response in (
        await anon.get("/api/v1/records"),
        await anon.get(f"/api/v1/records/{world.records['handbook.md']}"),
        await anon.post(f"/api/v1/records/{world.records['handbook.md']}/content-link"),
        await anon.get(f"/api/v1/records/{world.records['handbook.md']}/explain"),
    ):
        assert response.status_code == 401


async def test_the_web_session_works_too(session_for: ClientFactory, world: World) -> None:
    member = await session_for(MEMBER)
    assert set(await names_of(member)) == READABLE[MEMBER]
    link = await member.post(f"/api/v1/records/{world.records['handbook.md']}/content-link")
    assert link.status_code == 200
    member.headers.pop("X-CSRF-Token")
    refused = await member.post(f"/api/v1/records/{world.records['handbook.md']}/content-link")
    assert refused.status_code == 403


# ---- explain ----------------------------------------------------------------------------------


async def test_explain_my_own_access(client_for: ClientFactory, world: World, instance: ApiInstance) -> None:
    member = await client_for(MEMBER)
    key = world.records["handbook.md"]
    response = await member.get(f"/api/v1/records/{key}/explain")
    assert response.status_code == 200, response.text
    why = response.json()
    me = f"users/{instance.user_keys[MEMBER]}"
    assert why["canRead"]
    assert why["searchable"]
    assert why["user"] == {"key": instance.user_keys[MEMBER], "email": MEMBER}
    direct = next(p for p in why["paths"] if p["principal"] == me)
    assert direct["membership"] == [me]
    assert direct["inheritance"] == [f"records/{key}", f"recordGroups/{world.groups['Handbook']}"]
    assert direct["lastSyncedAt"] is not None
    assert why["names"][me] == MEMBER
    same = await member.get(f"/api/v1/records/{key}/explain", params={"user": MEMBER.upper()})
    assert same.json()["paths"] == why["paths"]

    group = (await member.get(f"/api/v1/records/{world.records['group-minutes.md']}/explain")).json()
    [path] = group["paths"]
    assert path["membershipReason"] == "member through belongsTo"
    assert why["names"] != group["names"]
    assert group["names"][path["principal"]] == "Readers"


async def test_members_ask_only_about_themselves_and_what_they_read(
    client_for: ClientFactory, world: World
) -> None:
    member = await client_for(MEMBER)
    other_user = await member.get(
        f"/api/v1/records/{world.records['handbook.md']}/explain", params={"user": ADMIN}
    )
    assert other_user.status_code == 403
    assert "only about themselves" in other_user.json()["error"]["message"]
    unreadable = await member.get(f"/api/v1/records/{world.records['admin-plan.md']}/explain")
    assert unreadable.status_code == 404


async def test_admins_explain_anyone_in_their_org_never_across(
    client_for: ClientFactory, world: World, instance: ApiInstance
) -> None:
    admin = await client_for(ADMIN)
    denied = await admin.get(
        f"/api/v1/records/{world.records['admin-plan.md']}/explain", params={"user": MEMBER}
    )
    assert denied.status_code == 200
    why = denied.json()
    assert why["canRead"] is False
    assert why["searchable"] is False
    assert why["paths"] == []
    assert why["grants"] == [
        {
            "principal": why["grants"][0]["principal"],
            "role": "READER",
            "grantedOn": f"recordGroups/{world.groups['Admin notes']}",
        }
    ]
    # an admin audits records they cannot read themselves (grants and names, never content)
    audit = await admin.get(
        f"/api/v1/records/{world.records['group-minutes.md']}/explain", params={"user": MEMBER2}
    )
    assert audit.status_code == 200
    assert audit.json()["canRead"] is True
    assert (await admin.get(f"/api/v1/records/{world.records['group-minutes.md']}")).status_code == 404

    other_user = await admin.get(
        f"/api/v1/records/{world.records['handbook.md']}/explain", params={"user": OTHER}
    )
    assert other_user.status_code == 404
    assert "no user" in other_user.json()["error"]["message"]
    other_record = await admin.get(f"/api/v1/records/{world.records['other-secret.md']}/explain")
    assert other_record.status_code == 404
    outsider = await client_for(OTHER)
    across = await outsider.get(
        f"/api/v1/records/{world.records['handbook.md']}/explain", params={"user": ADMIN}
    )
    assert across.status_code == 404
