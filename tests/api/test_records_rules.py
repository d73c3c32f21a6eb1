"""The readability rule of the records API, on a graph built for its edge cases: browsing (walked
from the user) and the per-record check (from the record's effective principals) agree, and both
match search's rule — READ or better, no sharing links, nothing quarantined, own organisation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater.services.errors import InvalidArgumentError
from headwater.services.record_access import (
    RecordNotFoundError,
    RecordQuery,
    browse_records,
    readable_among,
    record_detail,
)
from headwater.store.base import GraphStore
from headwater.store.registry import open_store

RECORDS: dict[str, tuple[str, str | None, str | None, str, dict[str, Any]]] = {
    # key: (org, grant source, role, on the record or its group, extra fields)
    "direct": ("o1", "users/ada", "READER", "record", {}),
    "owner": ("o1", "users/ada", "OWNER", "record", {}),
    "via-group": ("o1", "groups/eng", "READER", "group", {}),
    "org-wide": ("o1", "anyone/o1", "READER", "record", {}),
    "others-only": ("o1", "users/ada", "OTHERS", "record", {}),
    "link-only": ("o1", "anyoneWithLink/o1", "READER", "record", {}),
    "quarantined": ("o1", "users/ada", "READER", "record", {"quarantinedAt": 5}),
    "placeholder": ("o1", "users/ada", "READER", "record", {"isPlaceholder": True}),
    "other-org": ("o2", "users/ada", "READER", "record", {}),
    "nobody": ("o1", None, None, "record", {}),
}
READABLE_BY_ADA = {"direct", "owner", "via-group", "org-wide"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[GraphStore]:
    graph = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    with graph.transaction() as tx:
        tx.upsert_nodes("organizations", [{"_key": "o1"}, {"_key": "o2"}])
        tx.upsert_nodes(
            "users",
            [
                {"_key": "ada", "email": "ada@acme.test", "orgId": "o1"},
                {"_key": "bob", "email": "bob@acme.test", "orgId": "o1"},
            ],
        )
        tx.upsert_nodes("groups", [{"_key": "eng", "name": "Engineering"}])
        tx.upsert_edges("belongsTo", [{"_from": "users/ada", "_to": "groups/eng"}])
        tx.upsert_nodes("recordGroups", [{"_key": "drive", "groupName": "Team drive", "connectorId": "c1"}])
        for n, (key, (org, source, role, where, extra)) in enumerate(RECORDS.items()):
            doc = {"_key": key, "orgId": org, "recordName": key, "recordType": "FILE", "connectorId": "c1"}
            tx.upsert_nodes("records", [doc | {"sourceLastModifiedTimestamp": 1000 + n} | extra])
            target = f"records/{key}"
            if where == "group":
                tx.upsert_edges("inheritPermissions", [{"_from": target, "_to": "recordGroups/drive"}])
                target = "recordGroups/drive"
            if source:
                tx.upsert_edges(
                    "permissions", [{"_from": source, "_to": target, "role": role, "type": "USER"}]
                )
    try:
        yield graph
    finally:
        graph.close()


def browse(store: GraphStore, user: str, org: str = "o1", **query: object) -> list[str]:
    page = browse_records(store, user_key=user, org_key=org, query=RecordQuery(**query))  # type: ignore[arg-type]
    return [r["key"] for r in page["records"]]


def test_browsing_and_the_per_record_check_agree(store: GraphStore) -> None:
    assert set(browse(store, "ada")) == READABLE_BY_ADA
    with store.read() as tx:
        assert readable_among(tx, "ada", "o1", list(RECORDS)) == READABLE_BY_ADA
        assert readable_among(tx, "bob", "o1", list(RECORDS)) == {"org-wide"}
        assert readable_among(tx, "nobody-at-all", "o1", list(RECORDS)) == set()
    assert browse(store, "bob") == ["org-wide"]
    # ada's grants on another organisation's record do not show in o2's listing for her either
    assert browse(store, "ada", org="o2") == ["other-org"]


def test_detail_lists_direct_and_inherited_grants(store: GraphStore) -> None:
    detail = record_detail(store, user_key="ada", org_key="o1", record_key="via-group")
    assert detail["permissions"] == [
        {
            "principal": {"id": "groups/eng", "kind": "group", "name": "Engineering"},
            "role": "READER",
            "grantType": "USER",
            "inheritedFrom": {"id": "recordGroups/drive", "name": "Team drive"},
            "grantsRead": True,
        }
    ]
    org_wide = record_detail(store, user_key="bob", org_key="o1", record_key="org-wide")
    assert org_wide["permissions"][0]["principal"] == {
        "id": "anyone/o1",
        "kind": "anyone",
        "name": "anyone in the organisation",
    }
    for key in set(RECORDS) - READABLE_BY_ADA:
        with pytest.raises(RecordNotFoundError):
            record_detail(store, user_key="ada", org_key="o1", record_key=key)


def test_query_arguments_are_checked(store: GraphStore) -> None:
    with pytest.raises(InvalidArgumentError, match="limit must be between 1 and 500"):
        browse(store, "ada", limit=0)
    with pytest.raises(InvalidArgumentError, match="sort must be one of"):
        browse(store, "ada", sort="size")
    assert browse(store, "ada", sort="modified") == ["direct", "owner", "via-group", "org-wide"]
    assert browse(store, "ada", sort="-name") == ["via-group", "owner", "org-wide", "direct"]
