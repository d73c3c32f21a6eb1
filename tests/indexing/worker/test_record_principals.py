"""A record's effective principals agree with the store's own permission walk (`can_read`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.indexing.record_principals import effective_principals, inheriting_records
from headwater.store.base import GraphStore
from headwater.store.registry import open_store

ORG = "o1"
USERS = ["u0", "u1", "u2"]
GROUPS = ["p0", "p1"]  # user groups (principals)
RECORDS = ["r0", "r1", "r2", "r3"]
RECORD_GROUPS = ["g0", "g1", "g2"]
READING_ROLES = ["READER", "COMMENTER", "WRITER", "OWNER"]


def _seed_people(store: GraphStore, memberships: list[tuple[str, str]]) -> None:
    with store.transaction() as tx:
        tx.upsert_nodes("organizations", [{"_key": ORG, "registeredName": "Acme"}])
        tx.upsert_nodes(
            "users",
            [{"_key": u, "email": f"{u}@acme.test", "orgId": ORG, "emailVerified": True} for u in USERS],
        )
        tx.upsert_nodes(
            "groups", [{"_key": g, "orgId": ORG, "externalGroupId": g, "connectorId": "c"} for g in GROUPS]
        )
        tx.upsert_edges("belongsTo", [{"_from": f"users/{u}", "_to": f"groups/{g}"} for u, g in memberships])


def _store(tmp: str) -> GraphStore:
    return open_store(f"sqlite:///{Path(tmp) / 'g.db'}")


def test_grants_inheritance_and_what_does_not_count(tmp_path: Path) -> None:
    store = _store(str(tmp_path))
    _seed_people(store, [("u1", "p0")])
    with store.transaction() as tx:
        tx.upsert_edges(
            "permissions",
            [
                {"_from": "users/u0", "_to": "records/r0", "role": "OWNER"},
                {"_from": "groups/p0", "_to": "recordGroups/g1", "role": "READER"},
                {"_from": f"organizations/{ORG}", "_to": "recordGroups/g0", "role": "READER"},
                {"_from": "domains/acme.test", "_to": "records/r1", "role": "READER"},
                {"_from": f"anyoneWithLink/{ORG}", "_to": "records/r0", "role": "READER"},  # not searchable
                {"_from": "users/u2", "_to": "records/r0", "role": "OTHERS"},  # below READER: grants nothing
            ],
        )
        tx.upsert_edges(
            "inheritPermissions",
            [
                {"_from": "records/r0", "_to": "recordGroups/g1"},
                {"_from": "recordGroups/g1", "_to": "recordGroups/g0"},
                {"_from": "records/r2", "_to": "records/r0"},  # a record inheriting from its parent record
            ],
        )
        found = effective_principals(tx, ["r0", "r1", "r2", "r3"])
        assert found == {
            "r0": frozenset({"users/u0", "groups/p0", f"organizations/{ORG}"}),
            "r1": frozenset({"domains/acme.test"}),
            "r2": frozenset({"users/u0", "groups/p0", f"organizations/{ORG}"}),
            "r3": frozenset(),  # no grant anywhere: nobody (fail closed)
        }
        assert inheriting_records(tx, ["recordGroups/g0"]) == {"r0", "r2"}
        assert inheriting_records(tx, ["records/r1"]) == {"r1"}
    store.close()


_edges = st.lists(
    st.tuples(st.sampled_from(RECORDS + RECORD_GROUPS), st.sampled_from(RECORDS + RECORD_GROUPS))
)
_principals = st.sampled_from(
    [*(f"users/{u}" for u in USERS), *(f"groups/{g}" for g in GROUPS), f"organizations/{ORG}"]
)


def _node(name: str) -> str:
    return f"records/{name}" if name.startswith("r") else f"recordGroups/{name}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    memberships=st.lists(st.tuples(st.sampled_from(USERS), st.sampled_from(GROUPS)), max_size=4),
    grants=st.lists(
        st.tuples(_principals, st.sampled_from(RECORDS + RECORD_GROUPS), st.sampled_from(READING_ROLES)),
        max_size=6,
    ),
    inherits=_edges,
    other_grants=st.lists(st.tuples(_principals, st.sampled_from(RECORDS + RECORD_GROUPS)), max_size=2),
)
def test_a_user_finds_exactly_the_records_the_store_lets_them_read(
    memberships: list[tuple[str, str]],
    grants: list[tuple[str, str, str]],
    inherits: list[tuple[str, str]],
    other_grants: list[tuple[str, str]],
) -> None:
    """principals(user) ∩ record_principals(record) ≠ ∅  <=>  can_read(user, record), on random graphs
    (cycles included) whose grants are READ or better; grants below READ ("OTHERS") may only narrow
    what the index shows, never widen it."""
    with tempfile.TemporaryDirectory() as tmp:
        store = _store(tmp)
        try:
            _seed_people(store, memberships)
            with store.transaction() as tx:
                tx.upsert_edges(
                    "permissions", [{"_from": p, "_to": _node(t), "role": role} for p, t, role in grants]
                )
                tx.upsert_edges(
                    "inheritPermissions",
                    [{"_from": _node(a), "_to": _node(b)} for a, b in inherits if a != b],
                )
            with store.read() as tx:
                found = effective_principals(tx, RECORDS)
                for user in USERS:
                    mine = tx.principals(user)
                    for record in RECORDS:
                        assert (not mine.isdisjoint(found[record])) == tx.can_read(user, record), (
                            user,
                            record,
                        )

            with store.transaction() as tx:  # grants that give nothing searchable
                tx.upsert_edges(
                    "permissions", [{"_from": p, "_to": _node(t), "role": "OTHERS"} for p, t in other_grants]
                )
            with store.read() as tx:
                narrowed = effective_principals(tx, RECORDS)
                for user in USERS:
                    mine = tx.principals(user)
                    for record in RECORDS:
                        if not mine.isdisjoint(narrowed[record]):
                            assert tx.can_read(user, record)
        finally:
            store.close()
