"""The per-user principal cache is dropped the moment memberships change."""

from __future__ import annotations

from headwater.search.principals import PrincipalCache
from headwater.store.base import GraphStore


def _seed(store: GraphStore) -> None:
    with store.transaction() as tx:
        tx.upsert_nodes("organizations", [{"_key": "o1"}])
        tx.upsert_nodes("users", [{"_key": "ada", "email": "ada@acme.test", "orgId": "o1"}])
        tx.upsert_nodes("groups", [{"_key": "eng"}, {"_key": "ops"}])
        tx.upsert_edges("belongsTo", [{"_from": "users/ada", "_to": "groups/eng"}])


def test_cache_hits_until_membership_changes(store: GraphStore) -> None:
    _seed(store)
    cache = PrincipalCache(store)
    first = cache.principals("ada")
    assert first == {"users/ada", "groups/eng", "organizations/o1", "anyone/o1", "domains/acme.test"}
    assert cache.principals("ada") == first
    assert cache.misses == 1

    with store.transaction() as tx:  # records and grants do not invalidate
        tx.upsert_edges("permissions", [{"_from": "groups/eng", "_to": "records/r1", "role": "READER"}])
    cache.principals("ada")
    assert cache.misses == 1

    with store.transaction() as tx:  # removed from a group: the very next search must know
        tx.delete_edges("belongsTo", from_id="users/ada", to_id="groups/eng")
        tx.upsert_edges("belongsTo", [{"_from": "users/ada", "_to": "groups/ops"}])
    assert "groups/eng" not in cache.principals("ada")
    assert "groups/ops" in cache.principals("ada")
    assert cache.misses == 2


def test_unknown_user_has_no_principals(store: GraphStore) -> None:
    _seed(store)
    assert PrincipalCache(store).principals("nobody") == frozenset()
