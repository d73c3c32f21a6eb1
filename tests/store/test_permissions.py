"""Permission traversals of the store contract: principals, "can U read R", "all records U can read".

The graph: an org with users, nested groups, a role, record groups (a site containing a library,
the library inheriting from the site), and grants of every principal kind.
"""

from __future__ import annotations

import pytest

from headwater.store.base import GraphStore, Transaction


def build(tx: Transaction) -> None:
    tx.upsert_nodes("organizations", [{"_key": "org1", "registeredName": "Acme"}])
    tx.upsert_nodes(
        "users",
        [
            {"_key": "ada", "email": "ada@acme.test", "orgId": "org1"},
            {"_key": "bob", "email": "bob@acme.test", "orgId": "org1"},
            {"_key": "eve", "email": "eve@other.test", "orgId": "org2"},
            {"_key": "unverified", "email": "mallory@acme.test", "orgId": "org2", "emailVerified": False},
        ],
    )
    tx.upsert_nodes("groups", [{"_key": "eng"}, {"_key": "platform"}, {"_key": "all-staff"}])
    tx.upsert_nodes("roles", [{"_key": "manager"}])
    tx.upsert_edges(
        "belongsTo",
        [
            {"_from": "users/ada", "_to": "groups/platform"},
            {"_from": "groups/platform", "_to": "groups/eng"},  # nested
            {"_from": "groups/eng", "_to": "groups/all-staff"},  # nested twice
            {"_from": "users/bob", "_to": "roles/manager"},
            {"_from": "users/ada", "_to": "recordGroups/site"},  # membership of a non-principal is ignored
        ],
    )
    # site <- library (inherits) <- records; a folder record inherits from the library too
    tx.upsert_edges(
        "inheritPermissions",
        [
            {"_from": "recordGroups/library", "_to": "recordGroups/site"},
            {"_from": "records/in-library", "_to": "recordGroups/library"},
            {"_from": "records/in-site", "_to": "recordGroups/site"},
        ],
    )
    grant = "permissions"
    tx.upsert_edges(
        grant,
        [
            {"_from": "users/ada", "_to": "records/direct-ada", "role": "OWNER", "type": "USER"},
            {"_from": "groups/all-staff", "_to": "records/nested-group", "role": "READER", "type": "GROUP"},
            {"_from": "roles/manager", "_to": "records/for-managers", "role": "READER", "type": "ROLE"},
            {"_from": "organizations/org1", "_to": "records/org-wide", "role": "READER", "type": "ORG"},
            {"_from": "domains/acme.test", "_to": "records/domain", "role": "READER", "type": "DOMAIN"},
            {"_from": "anyone/org1", "_to": "records/public", "role": "READER", "type": "ANYONE"},
            {"_from": "groups/eng", "_to": "recordGroups/site", "role": "READER", "type": "GROUP"},
            {"_from": "users/bob", "_to": "records/direct-bob", "role": "READER", "type": "USER"},
            {
                "_from": "anyoneWithLink/org1",
                "_to": "records/link-only",
                "role": "READER",
                "type": "ANYONE_WITH_LINK",
            },
        ],
    )


@pytest.fixture
def graph(store: GraphStore) -> GraphStore:
    with store.transaction() as tx:
        build(tx)
    return store


def test_principals_follow_nested_groups_roles_org_domain(graph: GraphStore) -> None:
    with graph.read() as tx:
        assert tx.principals("ada") == {
            "users/ada",
            "groups/platform",
            "groups/eng",
            "groups/all-staff",
            "organizations/org1",
            "anyone/org1",
            "domains/acme.test",
        }
        assert tx.principals("bob") == {
            "users/bob",
            "roles/manager",
            "organizations/org1",
            "anyone/org1",
            "domains/acme.test",
        }
        assert tx.principals("nobody") == set()


def test_unverified_email_gives_no_domain(graph: GraphStore) -> None:
    with graph.read() as tx:
        assert not any(p.startswith("domains/") for p in tx.principals("unverified"))


def test_readable_records_exact(graph: GraphStore) -> None:
    with graph.read() as tx:
        ada = tx.readable_record_keys("ada")
        bob = tx.readable_record_keys("bob")
        eve = tx.readable_record_keys("eve")
    assert ada == {
        "direct-ada",
        "nested-group",
        "org-wide",
        "domain",
        "public",
        "in-library",
        "in-site",
    }
    assert bob == {"direct-bob", "for-managers", "org-wide", "domain", "public"}
    assert eve == set()  # another org, another domain: nothing; fail closed


def test_can_read_agrees_with_readable(graph: GraphStore) -> None:
    every = [
        "direct-ada",
        "direct-bob",
        "nested-group",
        "for-managers",
        "org-wide",
        "domain",
        "public",
        "in-library",
        "in-site",
        "link-only",
        "never-granted",
    ]
    with graph.read() as tx:
        for user in ("ada", "bob", "eve", "unverified"):
            readable = tx.readable_record_keys(user)
            for record in every:
                assert tx.can_read(user, record) == (record in readable), (user, record)


def test_anyone_with_link_is_not_discoverable(graph: GraphStore) -> None:
    with graph.read() as tx:
        assert not tx.can_read("ada", "link-only")


def test_revoking_a_group_grant_revokes_inherited_access(graph: GraphStore) -> None:
    with graph.transaction() as tx:
        tx.delete_edges("permissions", from_id="groups/eng", to_id="recordGroups/site")
    with graph.read() as tx:
        assert not tx.can_read("ada", "in-library")
        assert "in-site" not in tx.readable_record_keys("ada")


def test_leaving_a_group_revokes_access(graph: GraphStore) -> None:
    with graph.transaction() as tx:
        tx.delete_edges("belongsTo", from_id="users/ada", to_id="groups/platform")
    with graph.read() as tx:
        assert tx.readable_record_keys("ada") == {"direct-ada", "org-wide", "domain", "public"}


def test_group_cycles_terminate(graph: GraphStore) -> None:
    with graph.transaction() as tx:
        tx.upsert_edges("belongsTo", [{"_from": "groups/all-staff", "_to": "groups/platform"}])
        tx.upsert_edges("inheritPermissions", [{"_from": "recordGroups/site", "_to": "recordGroups/library"}])
    with graph.read() as tx:
        assert "groups/eng" in tx.principals("ada")
        assert tx.can_read("ada", "in-library")


def test_membership_version_changes_with_memberships_only(store: GraphStore) -> None:
    """Caches of a user's principals key on this token: it must change in the same transaction as
    any membership change, and stay put when only records or grants change."""
    with store.transaction() as tx:
        build(tx)
        v1 = tx.membership_version()
    assert v1
    with store.transaction() as tx:
        tx.upsert_edges("permissions", [{"_from": "users/bob", "_to": "records/x", "role": "READER"}])
        tx.upsert_nodes("records", [{"_key": "x", "recordName": "x"}])
        tx.upsert_edges("belongsTo", [{"_from": "users/ada", "_to": "groups/platform"}])  # unchanged
        assert tx.membership_version() == v1
    with store.transaction() as tx:
        tx.upsert_edges("belongsTo", [{"_from": "users/bob", "_to": "groups/eng"}])
        v2 = tx.membership_version()
    assert v2 not in ("", v1)
    with store.transaction() as tx:
        tx.delete_edges("belongsTo", from_id="users/bob", to_id="groups/eng")
        v3 = tx.membership_version()
    with store.transaction() as tx:
        tx.upsert_nodes("users", [{"_key": "bob", "email": "bob@elsewhere.test", "orgId": "org1"}])
        v4 = tx.membership_version()
    with store.transaction() as tx:
        tx.delete_nodes("groups", ["platform"])
        v5 = tx.membership_version()
    assert len({v1, v2, v3, v4, v5}) == 5
    with store.read() as tx:
        assert tx.membership_version() == v5
