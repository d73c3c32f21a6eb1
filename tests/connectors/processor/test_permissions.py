"""Permissions, principals, groups, roles and record groups as the processor writes them."""

from __future__ import annotations

import asyncio

from headwater.models.constants import Connectors
from headwater.models.entities import AppRole, AppUser, AppUserGroup, RecordGroup
from headwater.models.permission import EntityType, Permission, PermissionType
from headwater.store.base import GraphStore

from .helpers import (
    CONN,
    ORG,
    edge_docs,
    edges,
    events,
    file,
    key_of,
    make_processor,
    node_key,
    user_key,
    user_perm,
)

run = asyncio.run


def app_user(email: str, source_id: str | None = None) -> AppUser:
    return AppUser(app_name=Connectors.LOCAL_FS, source_user_id=source_id or email.split("@")[0], email=email)


def group(ext: str) -> AppUserGroup:
    return AppUserGroup(app_name=Connectors.LOCAL_FS, source_user_group_id=ext, name=f"group {ext}")


def grants(store: GraphStore) -> set[tuple[str, str, str, str]]:
    return {(e["_from"], e["_to"], e["role"], e["type"]) for e in edge_docs(store, "permissions")}


def test_permissions_are_replaced_by_what_the_source_reports_now(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_app_users([app_user("alice@acme.test"), app_user("bob@acme.test")]))
    both = [user_perm("alice@acme.test", PermissionType.OWNER), user_perm("bob@acme.test")]
    run(p.on_new_records([(file("a"), both)]))
    run(p.flush())
    ka = key_of(store, "a")
    alice, bob = user_key(store, "alice@acme.test"), user_key(store, "bob@acme.test")
    assert grants(store) == {
        (f"users/{alice}", f"records/{ka}", "OWNER", "USER"),
        (f"users/{bob}", f"records/{ka}", "READER", "USER"),
    }
    with store.read() as tx:
        assert ka in tx.readable_record_keys(bob)

    # bob is unshared (same revision): his grant disappears; no event for a permission-only change
    run(p.on_new_records([(file("a"), [user_perm("alice@acme.test", PermissionType.OWNER)])]))
    run(p.flush())
    assert grants(store) == {(f"users/{alice}", f"records/{ka}", "OWNER", "USER")}
    with store.read() as tx:
        assert ka not in tx.readable_record_keys(bob)
    assert [t for t, _ in events(store)] == ["newRecord"]

    # on_updated_record_permissions replaces too, and emits nothing
    run(p.on_updated_record_permissions(file("a"), [user_perm("bob@acme.test", PermissionType.WRITE)]))
    assert grants(store) == {(f"users/{bob}", f"records/{ka}", "WRITER", "USER")}
    assert [t for t, _ in events(store)] == ["newRecord"]

    # additive and single removals
    run(p.add_permission_to_record(file("a"), [user_perm("alice@acme.test")]))
    assert len(grants(store)) == 2
    before = events(store, "entity-events")
    assert run(p.delete_permission_from_record(ka, "alice@acme.test")) is True
    assert grants(store) == {(f"users/{bob}", f"records/{ka}", "WRITER", "USER")}
    # the search index hears of it, so Alice stops finding the record at once
    assert events(store, "entity-events")[len(before) :] == [
        ("updatePermissions", {"nodeId": f"records/{ka}"})
    ]
    assert run(p.delete_permission_from_record(ka, "alice@acme.test")) is False


def test_unknown_email_grant_lands_on_an_inactive_user_that_a_joining_person_takes_over(
    store: GraphStore,
) -> None:
    p = make_processor(store)
    run(p.on_new_records([(file("a"), [user_perm("Carol@Acme.test")])]))
    run(p.flush())
    ka = key_of(store, "a")
    carol = user_key(store, "carol@acme.test")
    with store.read() as tx:
        doc = tx.get_node("users", carol)
    assert doc is not None
    assert (doc["email"], doc["isActive"], doc["emailVerified"], doc["orgId"]) == (
        "carol@acme.test",
        False,
        False,
        ORG,
    )
    assert grants(store) == {(f"users/{carol}", f"records/{ka}", "READER", "USER")}
    assert run(p.get_all_active_users()) == []

    # Carol joins: the account is created by email, which finds the same node (users are unique by email)
    with store.transaction() as tx:
        joined = tx.get_node_by_external_id("users", "", "CAROL@acme.test")
        assert joined is not None
        tx.upsert_nodes("users", [{**joined, "isActive": True, "emailVerified": True, "fullName": "Carol"}])
    with store.read() as tx:
        assert tx.readable_record_keys(carol) == {ka}
    assert [u.email for u in run(p.get_all_active_users())] == ["carol@acme.test"]
    # and the directory sync that reports her later reuses the node
    run(p.on_new_app_users([app_user("carol@acme.test")]))
    assert user_key(store, "carol@acme.test") == carol


def test_group_role_org_domain_anyone_and_link_principals(store: GraphStore) -> None:
    p = make_processor(store)
    perms = [
        Permission(external_id="g-eng", entity_type=EntityType.GROUP),
        Permission(external_id="r-mgr", entity_type=EntityType.ROLE, type=PermissionType.WRITE),
        Permission(entity_type=EntityType.ORG),
        Permission(external_id="acme.test", entity_type=EntityType.DOMAIN),
        Permission(email="someone@partner.test", entity_type=EntityType.DOMAIN),
        Permission(entity_type=EntityType.ANYONE),
        Permission(entity_type=EntityType.ANYONE_WITH_LINK),
    ]
    run(p.on_new_records([(file("a"), perms)]))
    run(p.flush())
    ka = key_of(store, "a")
    g, r = node_key(store, "groups", "g-eng"), node_key(store, "roles", "r-mgr")
    target = f"records/{ka}"
    assert grants(store) == {
        (f"groups/{g}", target, "READER", "GROUP"),
        (f"roles/{r}", target, "WRITER", "ROLE"),
        (f"organizations/{ORG}", target, "READER", "ORG"),
        ("domains/acme.test", target, "READER", "DOMAIN"),
        ("domains/partner.test", target, "READER", "DOMAIN"),
        (f"anyone/{ORG}", target, "READER", "ANYONE"),
        (f"anyoneWithLink/{ORG}", target, "READER", "ANYONE_WITH_LINK"),
    }
    with store.read() as tx:
        placeholder = tx.get_node("groups", g)
    assert placeholder is not None
    assert placeholder["isPlaceholder"] is True

    # the group syncs later: it takes over the placeholder (same key), and its members can read
    eng = group("g-eng")
    run(p.on_new_user_groups([(eng, [app_user("dave@acme.test")])]))
    assert eng.id == g
    with store.read() as tx:
        real = tx.get_node("groups", g)
        dave = tx.get_node_by_external_id("users", "", "dave@acme.test")
        assert real is not None
        assert "isPlaceholder" not in real
        assert real["name"] == "group g-eng"
        assert dave is not None
        assert tx.can_read(str(dave["_key"]), ka)


def test_group_membership_is_replaced_and_nested_groups_are_followed(store: GraphStore) -> None:
    p = make_processor(store)
    run(p.on_new_user_groups([(group("g1"), [app_user("alice@acme.test"), app_user("bob@acme.test")])]))
    g1 = node_key(store, "groups", "g1")
    alice, bob = user_key(store, "alice@acme.test"), user_key(store, "bob@acme.test")
    member_edges = lambda: {e for e in edges(store, "belongsTo") if e[1].startswith("groups/")}  # noqa: E731
    assert member_edges() == {(f"users/{alice}", f"groups/{g1}"), (f"users/{bob}", f"groups/{g1}")}

    # bob leaves, carol joins, and group g2 nests inside g1
    run(
        p.on_new_user_groups(
            [(group("g1"), [app_user("alice@acme.test"), app_user("carol@acme.test"), group("g2")])]
        )
    )
    carol = user_key(store, "carol@acme.test")
    g2 = node_key(store, "groups", "g2")
    assert member_edges() == {
        (f"users/{alice}", f"groups/{g1}"),
        (f"users/{carol}", f"groups/{g1}"),
        (f"groups/{g2}", f"groups/{g1}"),
    }
    # a grant to g1 reaches members of g2
    run(p.on_new_user_groups([(group("g2"), [app_user("erin@acme.test")])]))
    run(p.on_new_records([(file("a"), [Permission(external_id="g1", entity_type=EntityType.GROUP)])]))
    run(p.flush())
    erin, ka = user_key(store, "erin@acme.test"), key_of(store, "a")
    with store.read() as tx:
        assert tx.can_read(erin, ka)
        assert not tx.can_read(bob, ka)

    # single member changes and deletion
    assert run(p.on_user_group_member_added("g1", "bob@acme.test", PermissionType.READ, CONN)) is True
    assert (f"users/{bob}", f"groups/{g1}") in member_edges()
    assert run(p.on_user_group_member_removed("g1", "bob@acme.test", CONN)) is True
    assert (f"users/{bob}", f"groups/{g1}") not in member_edges()
    assert run(p.on_user_group_deleted("g1", CONN)) is True
    assert not {e for e in member_edges() if e[1] == f"groups/{g1}"}
    assert not {e for e in edges(store, "permissions") if e[0] == f"groups/{g1}"}


def test_app_users_and_roles(store: GraphStore) -> None:
    p = make_processor(store)
    ada = app_user("Ada@Acme.test", "src-ada")
    run(p.on_new_app_users([ada]))
    key = user_key(store, "ada@acme.test")
    assert ada.id == key
    assert edges(store, "belongsTo") == {(f"users/{key}", f"organizations/{ORG}")}
    [rel] = edge_docs(store, "userAppRelation")
    assert (rel["_from"], rel["_to"], rel["sourceUserId"]) == (f"users/{key}", f"apps/{CONN}", "src-ada")
    [listed] = run(p.get_all_app_users(CONN))
    assert (listed.id, listed.email, listed.source_user_id) == (key, "ada@acme.test", "src-ada")
    found = run(p.get_user_by_email("ADA@acme.test"))
    assert found is not None
    assert found.id == key

    role = AppRole(app_name=Connectors.LOCAL_FS, source_role_id="r1", name="Managers")
    run(p.on_new_app_roles([(role, [ada])]))
    r1 = node_key(store, "roles", "r1")
    assert (f"users/{key}", f"roles/{r1}") in edges(store, "belongsTo")
    run(
        p.on_new_app_roles(
            [(AppRole(app_name=Connectors.LOCAL_FS, source_role_id="r1", name="Managers"), [])]
        )
    )
    assert (f"users/{key}", f"roles/{r1}") not in edges(store, "belongsTo")
    assert run(p.on_app_role_deleted("r1", CONN)) is True
    with store.read() as tx:
        assert tx.get_node("roles", r1) is None


def test_record_groups_link_to_parent_org_and_inherit(store: GraphStore) -> None:
    p = make_processor(store)
    library = RecordGroup(
        name="Library", external_group_id="lib", parent_external_group_id="site", inherit_permissions=True
    )
    run(p.on_new_record_groups([(library, [user_perm("alice@acme.test")])]))
    lib = node_key(store, "recordGroups", "lib")
    site = node_key(store, "recordGroups", "site")
    with store.read() as tx:
        stub = tx.get_node("recordGroups", site)
    assert stub is not None
    assert stub["isPlaceholder"] is True
    assert edges(store, "belongsTo") == {
        (f"recordGroups/{lib}", f"organizations/{ORG}"),
        (f"recordGroups/{lib}", f"recordGroups/{site}"),
    }
    assert edges(store, "inheritPermissions") == {(f"recordGroups/{lib}", f"recordGroups/{site}")}

    # the site arrives with a group grant; a record in the library inherits it through two hops
    site_group = RecordGroup(name="Site", external_group_id="site")
    run(p.on_new_record_groups([(site_group, [Permission(external_id="g1", entity_type=EntityType.GROUP)])]))
    assert site_group.id == site
    assert (f"recordGroups/{site}", f"apps/{CONN}") in edges(store, "belongsTo")
    run(p.on_new_user_groups([(group("g1"), [app_user("bob@acme.test")])]))
    run(p.on_new_records([(file("doc", group="lib"), [])]))
    run(p.flush())
    bob, doc = user_key(store, "bob@acme.test"), key_of(store, "doc")
    with store.read() as tx:
        assert tx.readable_record_keys(bob) == {doc}
    got = run(p.get_record_group_by_external_id(CONN, "lib"))
    assert got is not None
    assert got.id == lib

    # record-group permissions are replaced too; deleting a group removes its edges
    run(p.on_new_record_groups([(library, [])]))
    assert not {e for e in edges(store, "permissions") if e[1] == f"recordGroups/{lib}"}
    assert run(p.on_record_group_deleted("lib", CONN)) is True
    assert not {e for e in edges(store, "inheritPermissions") if f"recordGroups/{lib}" in e}
