"""driveItem delta: full enumeration with parent folders, then add/edit/rename/move/delete, eTag vs
cTag, token=latest, timestamp tokens, sharing changes, and permissions and content."""

from __future__ import annotations

import asyncio
from typing import Any

from headwater.testing.fake_graph import FakeGraph
from tests.testing.fake_graph.conftest import Seed
from tests.testing.fake_graph.helpers import session

run = asyncio.run


def _last_by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["id"]: i for i in items}  # an item may repeat; the last occurrence wins


def test_full_enumeration_sends_each_item_after_its_folders(graph: FakeGraph, seed: Seed) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with session(graph) as s:
            items, last = await s.collect(f"/drives/{seed.drive.id}/root/delta")
            assert last["@odata.deltaLink"].startswith(
                f"https://graph.microsoft.com/v1.0/drives/{seed.drive.id}/"
            )
            return items

    items = run(scenario())
    # page size 3: the second page repeats the root above notes.md
    assert [i["name"] for i in items] == ["root", "Specs", "plan.txt", "root", "notes.md"]
    plan = _last_by_id(items)[seed.plan.id]
    assert plan["parentReference"] == {
        "driveType": "business",
        "driveId": seed.drive.id,
        "id": seed.specs.id,
        "name": "Specs",
    }
    assert plan["file"]["mimeType"] == "text/plain"
    assert plan["size"] == len("the plan")
    assert "@microsoft.graph.downloadUrl" in plan
    assert "root" in items[0]


def test_incremental_delta_returns_final_state_of_changed_items(graph: FakeGraph, seed: Seed) -> None:
    tenant, drive = seed.tenant, seed.drive

    async def scenario() -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]], Any]:
        async with session(graph) as s:
            before, last = await s.collect(f"/drives/{drive.id}/root/delta")
            draft = tenant.add_file(drive.id, "draft.txt", "tmp")
            tenant.edit_file(drive.id, seed.notes.id, "# notes, edited")
            tenant.rename_item(drive.id, seed.plan.id, "plan-v2.txt")
            archive = tenant.add_folder(drive.id, "Archive")
            tenant.move_item(drive.id, seed.plan.id, archive.id)
            tenant.delete_item(drive.id, draft.id)
            after, _ = await s.collect(last["@odata.deltaLink"])
            return _last_by_id(before), _last_by_id(after), (draft, archive)

    before, after, (draft, archive) = run(scenario())
    assert set(after) == {drive.root_id, seed.notes.id, seed.plan.id, archive.id, draft.id}
    assert after[draft.id]["deleted"] == {"state": "deleted"}
    assert "name" not in after[draft.id]
    assert after[seed.plan.id]["name"] == "plan-v2.txt"
    assert after[seed.plan.id]["parentReference"]["id"] == archive.id
    assert "path" not in after[seed.plan.id]["parentReference"]
    # content edit: eTag and cTag change; rename + move: eTag only
    assert after[seed.notes.id]["eTag"] != before[seed.notes.id]["eTag"]
    assert after[seed.notes.id]["cTag"] != before[seed.notes.id]["cTag"]
    assert after[seed.plan.id]["eTag"] != before[seed.plan.id]["eTag"]
    assert after[seed.plan.id]["cTag"] == before[seed.plan.id]["cTag"]


def test_deleting_a_folder_reports_its_contents_first(graph: FakeGraph, seed: Seed) -> None:
    async def scenario() -> list[dict[str, Any]]:
        async with session(graph) as s:
            _, last = await s.collect(f"/drives/{seed.drive.id}/root/delta?token=latest")
            seed.tenant.delete_item(seed.drive.id, seed.specs.id)
            items, _ = await s.collect(last["@odata.deltaLink"])
            return items

    items = run(scenario())
    assert [(i["id"], i.get("deleted")) for i in items] == [
        (seed.plan.id, {"state": "deleted"}),
        (seed.specs.id, {"state": "deleted"}),
    ]


def test_token_latest_and_timestamp_tokens(graph: FakeGraph, seed: Seed) -> None:
    tenant = seed.tenant

    async def scenario() -> tuple[list[dict[str, Any]], list[str]]:
        async with session(graph) as s:
            empty, _ = await s.collect(f"/users/{seed.alice.id}/drive/root/delta?token=latest")
            moment = tenant.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
            tenant.add_file(seed.drive.id, "later.txt", "x")
            since_moment, _ = await s.collect(f"/drives/{seed.drive.id}/root/delta", params={"token": moment})
            return empty, [i["name"] for i in since_moment]

    empty, names = run(scenario())
    assert empty == []
    assert names == ["root", "later.txt"]


def test_sharing_changes_show_only_with_the_prefer_header(graph: FakeGraph, seed: Seed) -> None:
    tenant, drive = seed.tenant, seed.drive
    prefer = {"Prefer": "deltashowremovedasdeleted, deltatraversepermissiongaps, deltashowsharingchanges"}

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with session(graph) as s:
            _, plain = await s.collect(f"/drives/{drive.id}/root/delta?token=latest")
            _, sharing = await s.collect(f"/drives/{drive.id}/root/delta?token=latest", headers=prefer)
            tenant.grant(drive.id, seed.plan.id, seed.bob.id)
            without, _ = await s.collect(plain["@odata.deltaLink"])
            with_header, _ = await s.collect(sharing["@odata.deltaLink"], headers=prefer)
            return without, with_header

    without, with_header = run(scenario())
    assert without == []
    assert [(i["name"], i.get("@microsoft.graph.sharedChanged")) for i in with_header] == [
        ("root", None),
        ("Specs", None),
        ("plan.txt", "True"),
    ]
    assert with_header[-1]["shared"] == {"scope": "users"}


def test_permissions_owner_grants_links_and_inheritance(graph: FakeGraph, seed: Seed) -> None:
    tenant, drive = seed.tenant, seed.drive
    direct = tenant.grant(drive.id, seed.specs.id, seed.engineering.id, ["write"])
    org_link = tenant.create_link(drive.id, seed.plan.id, "organization")
    people_link = tenant.create_link(drive.id, seed.plan.id, "users", recipients=[seed.carol.id])
    anyone = tenant.create_link(drive.id, seed.notes.id, "anonymous", link_type="edit")

    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        async with session(graph) as s:
            plan, _ = await s.collect(f"/drives/{drive.id}/items/{seed.plan.id}/permissions")
            notes, _ = await s.collect(f"/drives/{drive.id}/items/{seed.notes.id}/permissions")
            return plan, notes

    plan, notes = run(scenario())
    assert [p["id"] for p in plan] == [
        "aTowIy5mfG1lbWJlcnNoaXB8b3duZXI",
        direct.id,
        org_link.id,
        people_link.id,
    ]
    assert plan[0]["roles"] == ["owner"]
    assert plan[0]["grantedToV2"]["user"]["id"] == seed.alice.id
    assert plan[1]["grantedToV2"] == {"group": {"id": seed.engineering.id, "displayName": "Engineering"}}
    assert plan[1]["roles"] == ["write"]
    assert plan[2]["link"]["scope"] == "organization"
    assert plan[2]["grantedToIdentitiesV2"] == []
    assert plan[3]["link"]["scope"] == "users"
    assert plan[3]["grantedToIdentitiesV2"][0]["user"]["id"] == seed.carol.id
    assert [(p["roles"], p.get("link", {}).get("scope")) for p in notes] == [
        (["owner"], None),
        (["write"], "anonymous"),
    ]
    assert anyone.link is not None
    assert notes[1]["link"]["type"] == "edit"


def test_unshare_removes_the_permission(graph: FakeGraph, seed: Seed) -> None:
    link = seed.tenant.create_link(seed.drive.id, seed.plan.id, "anonymous")
    seed.tenant.remove_permission(seed.drive.id, seed.plan.id, link.id)

    async def scenario() -> list[dict[str, Any]]:
        async with session(graph) as s:
            items, _ = await s.collect(f"/drives/{seed.drive.id}/items/{seed.plan.id}/permissions")
            return items

    assert [p["roles"] for p in run(scenario())] == [["owner"]]


def test_content_redirects_to_an_expiring_download_url_with_ranges(graph: FakeGraph, seed: Seed) -> None:
    async def scenario() -> list[Any]:
        async with session(graph) as s:
            redirect = await s.get(f"/drives/{seed.drive.id}/items/{seed.plan.id}/content")
            url = redirect.headers["location"]
            whole = await s.client.get(url)  # no Authorization: the URL is pre-authenticated
            part = await s.client.get(url, headers={"Range": "bytes=4-"})
            folder = await s.get(f"/drives/{seed.drive.id}/items/{seed.specs.id}/content")
            seed.tenant.clock.advance(3601)
            expired = await s.client.get(url)
            return [
                redirect.status_code,
                whole.content,
                part.status_code,
                part.content,
                part.headers["content-range"],
                folder.status_code,
                expired.status_code,
            ]

    assert run(scenario()) == [302, b"the plan", 206, b"plan", "bytes 4-7/8", 404, 401]


def test_children_and_item_carry_paths(graph: FakeGraph, seed: Seed) -> None:
    async def scenario() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        async with session(graph) as s:
            children, _ = await s.collect(f"/drives/{seed.drive.id}/items/{seed.specs.id}/children")
            item = (await s.get(f"/drives/{seed.drive.id}/items/{seed.plan.id}?$select=id,name")).json()
            return children, item

    children, item = run(scenario())
    assert [(c["name"], c["parentReference"]["path"]) for c in children] == [
        ("plan.txt", "/drive/root:/Specs")
    ]
    assert {k for k in item if not k.startswith("@odata.context")} == {"id", "name", "@odata.type"}
