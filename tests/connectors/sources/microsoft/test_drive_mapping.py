"""Pure mapping of driveItems and Graph permissions: revisions by cTag, parents, grants by link scope."""

from __future__ import annotations

from typing import Any

from headwater.connectors.sources.microsoft.drives.mapping import (
    FOLDER_REVISION,
    item_record,
    parent_id,
    same_record,
    sharing_changed,
)
from headwater.connectors.sources.microsoft.drives.permissions import item_grants, login_email, role_of
from headwater.models.permission import EntityType, PermissionType

EMAILS = {"u-ada": "ada@c.com", "u-bob": "bob@c.com"}
NOW = 1_800_000_000_000


def grants(permissions: list[dict[str, Any]], **kw: Any) -> list[tuple[str, str, str]]:
    return [
        (g.entity_type.value, g.email or g.external_id or "", g.type.value)
        for g in item_grants(permissions, EMAILS.get, now_ms=NOW, **kw)
    ]


def test_file_record_uses_ctag_and_folder_a_constant() -> None:
    item = {
        "id": "i1",
        "name": "Report.PDF",
        "eTag": '"{A},3"',
        "cTag": '"c:{A},2"',
        "size": 12,
        "webUrl": "https://x/Report.PDF",
        "parentReference": {"id": "root-id", "driveId": "d1"},
        "file": {"mimeType": "application/pdf", "hashes": {"quickXorHash": "qx"}},
        "lastModifiedDateTime": "2024-05-01T09:00:00Z",
    }
    record = item_record(item, drive_id="d1", root_id="root-id", connector_name="ONEDRIVE")
    assert (record.external_revision_id, record.parent_external_record_id, record.extension) == (
        '"c:{A},2"',
        None,
        "pdf",
    )
    assert (record.mime_type, record.size_in_bytes, record.quick_xor_hash, record.is_file) == (
        "application/pdf",
        12,
        "qx",
        True,
    )
    folder = item_record(
        {"id": "f", "name": "Docs", "folder": {"childCount": 3}, "cTag": "x", "parentReference": {"id": "p"}},
        drive_id="d1",
        root_id="root-id",
        connector_name="ONEDRIVE",
    )
    assert (
        folder.external_revision_id,
        folder.parent_external_record_id,
        folder.is_file,
        folder.size_in_bytes,
    ) == (
        FOLDER_REVISION,
        "p",
        False,
        0,
    )
    renamed = item_record(
        {**item, "name": "Q2.pdf", "eTag": '"{A},4"'}, drive_id="d1", root_id="root-id", connector_name="O"
    )
    assert renamed.external_revision_id == record.external_revision_id  # a rename is not new content
    assert not same_record(renamed, record)
    assert same_record(item_record(item, drive_id="d1", root_id="root-id", connector_name="O"), record)


def test_parent_and_sharing_flags() -> None:
    assert parent_id({"parentReference": {"id": "r"}}, "r") is None
    assert parent_id({"parentReference": {"id": "f"}}, "r") == "f"
    assert parent_id({}, "r") is None
    assert sharing_changed({"@microsoft.graph.sharedChanged": "True"})
    assert not sharing_changed({})


def test_roles() -> None:
    assert role_of(["owner"]) == PermissionType.OWNER
    assert role_of(["sp.full control"]) == PermissionType.OWNER
    assert role_of(["write"]) == PermissionType.WRITER
    assert role_of(["read"], {"type": "edit"}) == PermissionType.WRITER
    assert role_of(["read"]) == PermissionType.READER


def test_direct_grants_by_email_id_group_and_site_user() -> None:
    permissions = [
        {"id": "p1", "roles": ["owner"], "grantedToV2": {"user": {"id": "u-ada", "displayName": "Ada"}}},
        {"id": "p2", "roles": ["read"], "grantedToV2": {"user": {"id": "x", "email": "Zed@C.com"}}},
        {"id": "p3", "roles": ["write"], "grantedToV2": {"group": {"id": "g-1", "displayName": "Eng"}}},
        {
            "id": "p4",
            "roles": ["read"],
            "grantedToV2": {"siteUser": {"id": "7", "loginName": "i:0#.f|membership|eve@c.com"}},
        },
        {
            "id": "p5",
            "roles": ["read"],
            "grantedToV2": {"siteGroup": {"id": "3", "displayName": "Site Members"}},
        },
        {"id": "p6", "roles": ["read"], "grantedToV2": {"user": {"id": "unknown-id"}}},
        {"id": "p7", "roles": ["read"], "grantedToV2": {"application": {"id": "app"}}},
        {"id": "p8", "roles": ["read"], "grantedToV2": {"user": {"id": "u-ada"}}},  # the highest role wins
    ]
    assert grants(permissions) == [
        ("GROUP", "g-1", "WRITER"),
        ("USER", "ada@c.com", "OWNER"),
        ("USER", "eve@c.com", "READER"),
        ("USER", "zed@c.com", "READER"),
    ]
    assert grants(permissions, inherited_ids={"p1", "p3"}) == [
        ("USER", "ada@c.com", "READER"),
        ("USER", "eve@c.com", "READER"),
        ("USER", "zed@c.com", "READER"),
    ]


def test_links_are_exactly_as_wide_as_their_scope() -> None:
    def link(scope: str, **extra: object) -> dict[str, object]:
        return {"id": scope, "roles": ["read"], "link": {"type": "view", "scope": scope}, **extra}

    assert grants([link("organization")]) == [("ORG", "", "READER")]
    assert grants([link("anonymous")]) == [("ANYONE", "", "READER")]
    assert grants([link("existingAccess")]) == []
    assert grants(
        [link("users", grantedToIdentitiesV2=[{"user": {"id": "u-bob"}}, {"group": {"id": "g"}}])]
    ) == [
        ("GROUP", "g", "READER"),
        ("USER", "bob@c.com", "READER"),
    ]
    assert grants([link("users")]) == []  # a link for nobody in particular gives nobody access
    expired = link("organization", expirationDateTime="2020-01-01T00:00:00Z")
    never = link("anonymous", expirationDateTime="0001-01-01T00:00:00Z")
    assert grants([expired, never]) == [("ANYONE", "", "READER")]
    assert [g.entity_type for g in item_grants([link("organization")], EMAILS.get, now_ms=NOW)] == [
        EntityType.ORG
    ]


def test_login_email() -> None:
    assert login_email("i:0#.f|membership|Ada@C.com") == "ada@c.com"
    assert login_email("c:0(.s|true") is None
    assert login_email(None) is None
