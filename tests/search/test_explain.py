"""Explain: the access paths it reports are exactly the graph's, and agree with `can_read`."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from headwater.search.explain import explain_access
from headwater.store.base import GraphStore, Transaction
from headwater.store.registry import open_store


def _base(tx: Transaction) -> None:
    tx.upsert_nodes("organizations", [{"_key": "o1"}])
    tx.upsert_nodes(
        "users",
        [
            {"_key": "ada", "email": "ada@acme.test", "orgId": "o1"},
            {"_key": "bob", "email": "bob@acme.test", "orgId": "o1", "emailVerified": False},
        ],
    )
    tx.upsert_nodes("groups", [{"_key": "platform"}, {"_key": "eng"}])
    tx.upsert_edges(
        "belongsTo",
        [{"_from": "users/ada", "_to": "groups/platform"}, {"_from": "groups/platform", "_to": "groups/eng"}],
    )
    tx.upsert_nodes("apps", [{"_key": "c1", "lastSyncEndedAt": 1_700_000_000_000}])
    tx.upsert_nodes(
        "recordGroups", [{"_key": "site", "connectorId": "c1"}, {"_key": "lib", "connectorId": "c1"}]
    )
    tx.upsert_nodes(
        "records",
        [
            {"_key": k, "recordName": k, "connectorId": "c1"}
            for k in ("in-lib", "direct", "link-only", "domain-only", "nothing")
        ],
    )
    tx.upsert_edges(
        "inheritPermissions",
        [
            {"_from": "records/in-lib", "_to": "recordGroups/lib"},
            {"_from": "recordGroups/lib", "_to": "recordGroups/site"},
        ],
    )
    tx.upsert_edges(
        "permissions",
        [
            {
                "_from": "groups/eng",
                "_to": "recordGroups/site",
                "role": "READER",
                "type": "GROUP",
                "updatedAtTimestamp": 5,
            },
            {"_from": "users/ada", "_to": "records/direct", "role": "OWNER", "type": "USER"},
            {
                "_from": "anyoneWithLink/o1",
                "_to": "records/link-only",
                "role": "READER",
                "type": "ANYONE_WITH_LINK",
            },
            {"_from": "domains/acme.test", "_to": "records/domain-only", "role": "READER", "type": "DOMAIN"},
        ],
    )


def test_path_through_nested_groups_and_inheritance(store: GraphStore) -> None:
    with store.transaction() as tx:
        _base(tx)
    with store.read() as tx:
        why = explain_access(tx, "ada", "in-lib")
    assert why.can_read
    assert [p.as_dict() for p in why.paths] == [
        {
            "principal": "groups/eng",
            "membership": ["users/ada", "groups/platform", "groups/eng"],
            "membershipReason": "member through belongsTo",
            "role": "READER",
            "grantType": "GROUP",
            "grantedOn": "recordGroups/site",
            "inheritance": ["records/in-lib", "recordGroups/lib", "recordGroups/site"],
            "grantUpdatedAt": 5,
            "lastSyncedAt": 1_700_000_000_000,
        }
    ]


def test_denials_say_why(store: GraphStore) -> None:
    with store.transaction() as tx:
        _base(tx)
    with store.read() as tx:
        link = explain_access(tx, "ada", "link-only")
        unverified = explain_access(tx, "bob", "domain-only")
        nothing = explain_access(tx, "bob", "nothing")
        verified = explain_access(tx, "ada", "domain-only")
        missing = explain_access(tx, "ada", "gone")
    assert not link.can_read
    assert any("shared by link only" in n for n in link.notes)
    assert not unverified.can_read
    assert unverified.grants == [
        {"principal": "domains/acme.test", "role": "READER", "grantedOn": "records/domain-only"}
    ]
    assert any("not verified" in n for n in unverified.notes)
    assert any("fail closed" in n for n in nothing.notes)
    assert verified.can_read
    assert verified.paths[0].membership_reason == "verified email domain of the user"
    assert not missing.can_read
    assert "does not exist" in missing.notes[0]


# ---- property: explain agrees with can_read on random graphs -------------------------------------

USERS = ["u0", "u1", "u2"]
GROUPS = ["g0", "g1", "g2", "g3"]
RGROUPS = ["rg0", "rg1", "rg2"]
RECORDS = ["r0", "r1", "r2", "r3"]
PRINCIPALS = (
    [f"users/{u}" for u in USERS]
    + [f"groups/{g}" for g in GROUPS]
    + ["organizations/o1", "anyone/o1", "domains/a.test", "anyoneWithLink/o1"]
)
TARGETS = [f"recordGroups/{g}" for g in RGROUPS] + [f"records/{r}" for r in RECORDS]

graphs = st.fixed_dictionaries(
    {
        "members": st.lists(
            st.tuples(
                st.sampled_from([f"users/{u}" for u in USERS] + [f"groups/{g}" for g in GROUPS]),
                st.sampled_from([f"groups/{g}" for g in GROUPS]),
            ),
            max_size=8,
        ),
        "inherit": st.lists(
            st.tuples(
                st.sampled_from(TARGETS),
                st.sampled_from([f"recordGroups/{g}" for g in RGROUPS] + [f"records/{r}" for r in RECORDS]),
            ),
            max_size=8,
        ),
        "grants": st.lists(st.tuples(st.sampled_from(PRINCIPALS), st.sampled_from(TARGETS)), max_size=8),
        "orgs": st.lists(st.sampled_from(["o1", None]), min_size=3, max_size=3),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=graphs)
def test_explain_agrees_with_can_read(graph: dict[str, list]) -> None:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'g.db'}")
        try:
            with store.transaction() as tx:
                tx.upsert_nodes("organizations", [{"_key": "o1"}])
                tx.upsert_nodes(
                    "users",
                    [
                        {"_key": u, "email": f"{u}@a.test", "orgId": org}
                        for u, org in zip(USERS, graph["orgs"], strict=True)
                    ],
                )
                tx.upsert_nodes("groups", [{"_key": g} for g in GROUPS])
                tx.upsert_nodes("records", [{"_key": r, "recordName": r} for r in RECORDS])
                tx.upsert_edges("belongsTo", [{"_from": a, "_to": b} for a, b in graph["members"] if a != b])
                tx.upsert_edges(
                    "inheritPermissions", [{"_from": a, "_to": b} for a, b in graph["inherit"] if a != b]
                )
                tx.upsert_edges(
                    "permissions", [{"_from": a, "_to": b, "role": "READER"} for a, b in graph["grants"]]
                )
            with store.read() as tx:
                for user in USERS:
                    for record in RECORDS:
                        why = explain_access(tx, user, record)
                        assert why.can_read == tx.can_read(user, record), (user, record, why.as_dict())
                        for path in why.paths:  # every reported hop is a real edge
                            assert path.membership[0] == f"users/{user}"
                            assert path.inheritance[0] == f"records/{record}"
                            assert path.inheritance[-1] == path.granted_on
        finally:
            store.close()
