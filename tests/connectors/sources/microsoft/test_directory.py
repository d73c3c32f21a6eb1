"""The shared directory sync against the fake tenant: users by email, groups with nested groups as
group -> group edges, changes through delta (membership, renames, deletions), expired links."""

from __future__ import annotations

from typing import Any

import pytest

from headwater.connectors import testing
from headwater.connectors.sources.microsoft.common import (
    Directory,
    DirectorySync,
    GraphConnection,
    credentials_from_config,
)
from headwater.connectors.sources.microsoft.common.directory import (
    DirectoryUser,
    app_group,
    directory_user,
    merge_member_slices,
    user_email,
)
from headwater.connectors.sources.microsoft.common.directory import (
    group_members as map_members,
)
from headwater.store.base import GraphStore
from headwater.testing.fake_graph import FakeGraph, FakeTenant

from .helpers import GRAPH as GRAPH_ROOT
from .helpers import auth_config, endpoint, group_members, group_names, run

CID = "m365-dir"


# -- pure mapping --------------------------------------------------------------------------------------


def test_user_email_prefers_mail_then_an_address_like_upn() -> None:
    assert user_email({"mail": "Ada@Contoso.com", "userPrincipalName": "x@y.z"}) == "ada@contoso.com"
    assert user_email({"mail": None, "userPrincipalName": "Bob@Contoso.com"}) == "bob@contoso.com"
    assert user_email({"userPrincipalName": "eve_fabrikam.com#EXT#@contoso.onmicrosoft.com"}) is None
    assert user_email({"displayName": "no address"}) is None


def test_directory_user_reads_enabled_and_guest() -> None:
    guest = directory_user({"id": "g", "mail": "g@fabrikam.com", "userType": "Guest", "accountEnabled": True})
    disabled = directory_user({"id": "d", "mail": "d@contoso.com", "accountEnabled": False})
    assert guest == DirectoryUser("g", "g@fabrikam.com", None, True, False)
    assert disabled == DirectoryUser("d", "d@contoso.com", None, False, True)
    assert not guest.active
    assert not disabled.active
    assert directory_user({"id": "n", "displayName": "No Mail"}) is None


def test_members_keep_users_with_email_and_nested_groups_only() -> None:
    users = {"u1": DirectoryUser("u1", "u1@c.com", "U One")}
    members = map_members(
        [
            {"@odata.type": "#microsoft.graph.user", "id": "u1"},
            {"@odata.type": "#microsoft.graph.user", "id": "u1"},  # twice: once
            {"@odata.type": "#microsoft.graph.user", "id": "unknown"},
            {"@odata.type": "#microsoft.graph.group", "id": "g2", "displayName": "Nested"},
            {"@odata.type": "#microsoft.graph.device", "id": "dev"},
            {"@odata.type": "#microsoft.graph.user", "id": "gone", "@removed": {"reason": "deleted"}},
        ],
        users,
        app_name="ONEDRIVE",
        connector_id=CID,
    )
    assert [(type(m).__name__, getattr(m, "email", None) or m.source_user_group_id) for m in members] == [  # type: ignore[union-attr]
        ("AppUser", "u1@c.com"),
        ("AppUserGroup", "g2"),
    ]


def test_member_slices_merge_across_pages_and_drop_removed() -> None:
    slices: dict[str, list[dict[str, Any]]] = {}
    slices["g"] = merge_member_slices(slices, {"id": "g", "members@delta": [{"id": "a"}, {"id": "b"}]})
    slices["g"] = merge_member_slices(
        slices, {"id": "g", "members@delta": [{"id": "c"}, {"id": "a", "@removed": {"reason": "deleted"}}]}
    )
    assert sorted(m["id"] for m in slices["g"]) == ["b", "c"]


def test_app_group_uses_the_object_id_and_display_name() -> None:
    group = app_group(
        {"id": "g1", "displayName": "Eng", "description": "", "createdDateTime": "2024-05-01T09:00:00Z"},
        app_name="ONEDRIVE",
        connector_id=CID,
    )
    assert (group.source_user_group_id, group.name, group.description, group.source_created_at) == (
        "g1",
        "Eng",
        None,
        1714554000000,
    )


def test_credentials_say_what_to_fix_without_echoing_the_secret() -> None:
    from headwater.connectors.core.connector import ConnectorInitError

    good = {"tenantId": "contoso.onmicrosoft.com", "clientId": "11111111-2222-3333-4444-555555555555"}
    with pytest.raises(ConnectorInitError, match="not configured"):
        credentials_from_config({})
    with pytest.raises(ConnectorInitError, match="Tenant ID"):
        credentials_from_config({"auth": {**good, "tenantId": "not a tenant", "clientSecret": "s3cr3t"}})
    with pytest.raises(ConnectorInitError, match="Client ID") as caught:
        credentials_from_config({"auth": {**good, "clientId": "abc", "clientSecret": "s3cr3t"}})
    assert "s3cr3t" not in str(caught.value)
    with pytest.raises(ConnectorInitError, match="Client secret is empty"):
        credentials_from_config({"auth": {**good, "clientSecret": "  "}})
    creds = credentials_from_config({"auth": {**good, "clientSecret": "s3cr3t"}})
    assert (creds.tenant_id, creds.client_id) == (good["tenantId"], good["clientId"])
    assert "s3cr3t" not in repr(creds)


# -- against the fake ----------------------------------------------------------------------------------


def directory_sync(store: GraphStore, fake: FakeGraph) -> Directory:
    async def main() -> Directory:
        provider, processor = await testing.processor_for(store, CID, "ONEDRIVE")
        connection = GraphConnection.open(credentials_from_config(auth_config(fake)), endpoint(fake))
        try:
            return await DirectorySync(connection.client, processor, provider, app_name="ONEDRIVE").run()
        finally:
            await processor.flush()
            await connection.close()

    return run(main())


@pytest.fixture
def sqlite_store(tmp_path: Any) -> Any:
    from headwater.store.registry import open_store

    store = open_store(f"sqlite:///{tmp_path / 'graph.db'}")
    yield store
    store.close()


def seeded() -> tuple[FakeTenant, dict[str, Any]]:
    tenant = FakeTenant()
    ada, bob, eve = (
        tenant.add_user("Ada Lovelace"),
        tenant.add_user("Bob Smith"),
        tenant.add_user("Eve Adams"),
    )
    engineers = tenant.add_group("Engineers", members=[ada.id, bob.id])
    everyone = tenant.add_group("Everyone", members=[engineers.id, eve.id])
    return tenant, {"ada": ada, "bob": bob, "eve": eve, "engineers": engineers, "everyone": everyone}


def test_full_then_changed_directory(sqlite_store: GraphStore) -> None:
    tenant, o = seeded()
    fake = FakeGraph(tenant, page_size_cap=2, validate=True)
    directory = directory_sync(sqlite_store, fake)

    assert sorted(u.email for u in directory.active_users()) == [
        "ada@contoso.onmicrosoft.com",
        "bob@contoso.onmicrosoft.com",
        "eve@contoso.onmicrosoft.com",
    ]
    assert group_names(sqlite_store, CID) == ["Engineers", "Everyone"]
    assert group_members(sqlite_store, CID, o["engineers"].id) == [
        "ada@contoso.onmicrosoft.com",
        "bob@contoso.onmicrosoft.com",
    ]
    assert group_members(sqlite_store, CID, o["everyone"].id) == [
        "eve@contoso.onmicrosoft.com",
        "group:Engineers",
    ]
    # nesting: Ada acts as a member of Everyone through Engineers
    with sqlite_store.read() as tx:
        ada = tx.get_node_by_external_id("users", "", "ada@contoso.onmicrosoft.com")
        everyone = tx.get_node_by_external_id("groups", CID, o["everyone"].id)
        assert ada is not None
        assert everyone is not None
        assert f"groups/{everyone['_key']}" in tx.principals(str(ada["_key"]))

    # an unchanged directory writes nothing
    before = testing.snapshot(sqlite_store)
    directory_sync(sqlite_store, fake)
    assert (
        testing.diff_snapshots(before, testing.snapshot(sqlite_store), ignore=frozenset({"syncPoints"})) == []
    )

    # membership change, a rename, a new user, a deleted group, a soft-deleted user
    tenant.remove_group_member(o["engineers"].id, o["bob"].id)
    tenant.add_group_member(o["engineers"].id, o["eve"].id)
    tenant.update_group(o["everyone"].id, display_name="All staff")
    zed = tenant.add_user("Zed Zhou")
    tenant.add_group_member(o["everyone"].id, zed.id)
    ops = tenant.add_group("Ops", members=[o["bob"].id])
    tenant.delete_user(o["ada"].id)
    directory = directory_sync(sqlite_store, fake)

    assert sorted(u.email for u in directory.active_users()) == [
        "bob@contoso.onmicrosoft.com",
        "eve@contoso.onmicrosoft.com",
        "zed@contoso.onmicrosoft.com",
    ]
    assert directory.email_of(o["ada"].id) is None
    assert group_names(sqlite_store, CID) == ["All staff", "Engineers", "Ops"]
    assert group_members(sqlite_store, CID, o["engineers"].id) == ["eve@contoso.onmicrosoft.com"]
    assert group_members(sqlite_store, CID, o["everyone"].id) == [
        "eve@contoso.onmicrosoft.com",
        "group:Engineers",
        "zed@contoso.onmicrosoft.com",
    ]
    assert group_members(sqlite_store, CID, ops.id) == ["bob@contoso.onmicrosoft.com"]

    tenant.delete_group(ops.id)
    directory_sync(sqlite_store, fake)
    assert group_names(sqlite_store, CID) == ["All staff", "Engineers"]
    assert fake.validator is not None
    assert fake.validator.violations == []


def test_expired_directory_links_list_everything_again(sqlite_store: GraphStore) -> None:
    tenant, o = seeded()
    fake = FakeGraph(tenant)
    directory_sync(sqlite_store, fake)
    ops = tenant.add_group("Ops", members=[o["bob"].id])
    tenant.delete_group(o["engineers"].id)
    tenant.delete_user(o["eve"].id, permanent=True)
    fake.faults.expire_directory_delta()
    directory = directory_sync(sqlite_store, fake)

    assert sorted(u.email for u in directory.active_users()) == [
        "ada@contoso.onmicrosoft.com",
        "bob@contoso.onmicrosoft.com",
    ]
    # the group deleted while the link was stale is swept by the full listing
    assert group_names(sqlite_store, CID) == ["Everyone", "Ops"]
    assert group_members(sqlite_store, CID, ops.id) == ["bob@contoso.onmicrosoft.com"]
    assert group_members(sqlite_store, CID, o["everyone"].id) == []
    # both rounds started over without a token (the expired links were refused first)
    fresh = [r.url.split("?")[0] for r in fake.graph_requests("/delta") if "token" not in r.url]
    assert fresh.count(f"{GRAPH_ROOT}/users/delta") == 2
    assert fresh.count(f"{GRAPH_ROOT}/groups/delta") == 2
