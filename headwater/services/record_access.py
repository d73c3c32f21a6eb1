"""Records as one platform user may see them: browsing with filters and pages, one record's
metadata and who has access to it. Used by the API and the web pages; FastAPI-free.

"Readable" here is exactly what search uses: the record shares a principal with the user among its
effective principals (grants of READ or better on the record or what it inherits from; a sharing
link is not membership; a record held by the mass-deletion brake is readable by nobody), and the
record belongs to the user's organisation. So a record a user can browse is one they can find, and
one they can open; everything else answers "not found" (`RecordNotFoundError`), whether it exists
or not, so that nobody learns about records they cannot read. Admins have no bypass here: they read
what their grants allow, like everyone else (an admin audits access with `explain`, which shows
grants and never content or metadata).

Browsing walks from the user's principals (`readable_record_keys`: their READ-or-better grants, then
down `inheritPermissions`, one indexed query per step, as the store's own traversal does), so it
never reads a record the user has no grant on, then reads those records' documents in one batch to
filter, sort and page them. One record (`readable_among`) is checked the other way round, from the
record's effective principals, as the search index stores them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from headwater.connectors.core.graph_writes import QUARANTINED_AT
from headwater.connectors.core.instances import APPS
from headwater.errors import NotFoundError
from headwater.indexing.record_principals import (
    INHERIT,
    NOT_SEARCHABLE_PREFIXES,
    PERMISSIONS,
    READ_ROLES,
    effective_principals,
)
from headwater.search.explain import display_names
from headwater.store.base import GraphStore, Transaction

from .errors import InvalidArgumentError

RECORDS = "records"
DEFAULT_PAGE = 50
MAX_PAGE = 500
Sort = Literal["-modified", "modified", "name", "-name"]
SORTS: tuple[Sort, ...] = ("-modified", "modified", "name", "-name")
BAD_CURSOR = "cursor is not one this API made: pass nextCursor as it was returned"


class RecordNotFoundError(NotFoundError):
    """The record does not exist, or the caller may not read it (the two are not told apart)."""

    def __init__(self, record_key: str) -> None:
        super().__init__(f"no record {record_key!r} that you can read")
        self.record_key = record_key


@dataclass(frozen=True)
class RecordQuery:
    """Which records to list. Every filter is optional; lists match any of their values.

    `modified_from` is inclusive and `modified_to` exclusive (epoch milliseconds, the source's last
    change; a window that does not end after it starts matches nothing); `name_contains` ignores
    case; `cursor` is the `nextCursor` of the previous page, made for the same `sort`."""

    connector_ids: frozenset[str] = frozenset()
    record_types: frozenset[str] = frozenset()
    record_group_ids: frozenset[str] = frozenset()
    indexing_statuses: frozenset[str] = frozenset()
    modified_from: int | None = None
    modified_to: int | None = None
    name_contains: str | None = None
    sort: Sort = "-modified"
    limit: int = DEFAULT_PAGE
    cursor: str | None = None


# ---- who may read what ---------------------------------------------------------------------------


def readable_among(tx: Transaction, user_key: str, org_key: str, record_keys: Collection[str]) -> set[str]:
    """The keys among `record_keys` that the user may read (the rule in the module docstring)."""
    if not record_keys:
        return set()
    principals = tx.principals(user_key)
    if not principals:
        return set()
    docs = tx.get_nodes(RECORDS, sorted(record_keys))
    in_org = [k for k, d in docs.items() if _visible_doc(d, org_key)]
    effective = effective_principals(tx, in_org)
    return {key for key, allowed in effective.items() if not allowed.isdisjoint(principals)}


def can_read_record(tx: Transaction, user_key: str, org_key: str, record_key: str) -> bool:
    return bool(readable_among(tx, user_key, org_key, [record_key]))


def readable_record_keys(tx: Transaction, user_key: str) -> set[str]:
    """Every record some READ-or-better grant to one of the user's principals reaches, on the record
    or on what it inherits from: the same rule as `readable_among`, walked from the user's side (the
    store's `readable_record_keys` with lesser grants left out). Documents are not read here, so
    the caller still drops other organisations' and quarantined records (`_visible_doc`)."""
    principals = tx.principals(user_key)
    if not principals:
        return set()
    granted = {
        str(edge["_to"])
        for edge in tx.get_edges(PERMISSIONS, from_ids=sorted(principals))
        if edge.get("role") in READ_ROLES
    }
    seen = set(granted)
    frontier = set(granted)
    while frontier:
        frontier = tx.edge_sources(INHERIT, sorted(frontier)) - seen
        seen |= frontier
    prefix = f"{RECORDS}/"
    return {node[len(prefix) :] for node in seen if node.startswith(prefix)}


def _visible_doc(doc: dict[str, Any], org_key: str) -> bool:
    # placeholders stand for parents or grants seen before their item: nothing to open; a record
    # held by the mass-deletion brake is found by nobody until it is released (as in search)
    return (
        str(doc.get("orgId") or "") == org_key
        and not doc.get("isPlaceholder")
        and not doc.get("isDeleted")
        and not doc.get(QUARANTINED_AT)
    )


# ---- browsing --------------------------------------------------------------------------------------


def browse_records(store: GraphStore, *, user_key: str, org_key: str, query: RecordQuery) -> dict[str, Any]:
    """One page of the records the user may read: `{"records": [record_summary...], "nextCursor":
    str | None, "total": how many readable records match the filters (the same on every page)}`."""
    _check_query(query)
    after = _decode_cursor(query.cursor, query.sort) if query.cursor else None
    with store.read() as tx:
        candidates = readable_record_keys(tx, user_key)
        docs = tx.get_nodes(RECORDS, sorted(candidates)) if candidates else {}
        allowed = [d for d in docs.values() if _visible_doc(d, org_key) and _matches(d, query)]
        allowed.sort(key=lambda d: _sort_key(d, query.sort), reverse=query.sort.startswith("-"))
        total = len(allowed)
        if after is not None:
            allowed = _after(allowed, after, query.sort)
        page = allowed[: query.limit]
        names = _instance_names(tx, {str(d.get("connectorId") or "") for d in page})
        rows = [record_summary(d, names) for d in page]
    next_cursor = _encode_cursor(page[-1], query.sort) if len(allowed) > query.limit else None
    return {"records": rows, "nextCursor": next_cursor, "total": total}


def _check_query(query: RecordQuery) -> None:
    if not 1 <= query.limit <= MAX_PAGE:
        raise InvalidArgumentError(f"limit must be between 1 and {MAX_PAGE}, not {query.limit}")
    if query.sort not in SORTS:
        raise InvalidArgumentError(f"sort must be one of {', '.join(SORTS)}, not {query.sort!r}")


def _matches(doc: dict[str, Any], q: RecordQuery) -> bool:
    modified = modified_at(doc)
    return (
        (not q.connector_ids or str(doc.get("connectorId")) in q.connector_ids)
        and (not q.record_types or str(doc.get("recordType", "")).upper() in q.record_types)
        and (not q.record_group_ids or str(doc.get("recordGroupId")) in q.record_group_ids)
        and (not q.indexing_statuses or str(doc.get("indexingStatus", "")).upper() in q.indexing_statuses)
        and (q.modified_from is None or modified >= q.modified_from)
        and (q.modified_to is None or modified < q.modified_to)
        and (not q.name_contains or q.name_contains.lower() in str(doc.get("recordName") or "").lower())
    )


def modified_at(doc: dict[str, Any]) -> int:
    """When the record last changed at its source (when it was last written, if the source says not)."""
    return int(doc.get("sourceLastModifiedTimestamp") or doc.get("updatedAtTimestamp") or 0)


def created_at(doc: dict[str, Any]) -> int:
    return int(doc.get("sourceCreatedAtTimestamp") or doc.get("createdAtTimestamp") or 0)


def _sort_key(doc: dict[str, Any], sort: Sort) -> tuple[Any, str]:
    if sort.endswith("modified"):
        return (modified_at(doc), str(doc["_key"]))
    return (str(doc.get("recordName") or "").lower(), str(doc["_key"]))


# The cursor is the sort key of the last row served: keyset paging, so that records added or
# removed between two pages neither repeat nor vanish from the rows still to come.
def _encode_cursor(doc: dict[str, Any], sort: Sort) -> str:
    value, key = _sort_key(doc, sort)
    raw = json.dumps({"s": sort, "v": value, "k": key}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str, sort: Sort) -> tuple[Any, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, key, made_for = data["v"], str(data["k"]), data["s"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidArgumentError(
            "cursor is not one this API made: pass nextCursor as it was returned"
        ) from None
    if made_for != sort:
        raise InvalidArgumentError(f"cursor was made for sort={made_for}; ask with the same sort")
    if not isinstance(value, int | str):
        raise InvalidArgumentError(BAD_CURSOR)
    return value, key


def _after(docs: list[dict[str, Any]], after: tuple[Any, str], sort: Sort) -> list[dict[str, Any]]:
    descending = sort.startswith("-")
    try:
        return [d for d in docs if (_sort_key(d, sort) < after if descending else _sort_key(d, sort) > after)]
    except TypeError:  # a cursor whose value has the other sort's type
        raise InvalidArgumentError("cursor does not fit this sort: start again without one") from None


def _instance_names(tx: Transaction, connector_ids: set[str]) -> dict[str, str]:
    docs = tx.get_nodes(APPS, sorted(c for c in connector_ids if c))
    return {key: str(doc.get("name") or key) for key, doc in docs.items()}


def record_summary(doc: dict[str, Any], connector_names: dict[str, str]) -> dict[str, Any]:
    """What a list shows of a record (camelCase, as the API returns it)."""
    connector_id = str(doc.get("connectorId") or "")
    return {
        "key": doc["_key"],
        "name": doc.get("recordName"),
        "recordType": doc.get("recordType"),
        "connectorId": connector_id,
        "connectorName": connector_names.get(connector_id),
        "connectorType": doc.get("connectorName"),
        "recordGroupId": doc.get("recordGroupId"),
        "webUrl": None if doc.get("hideWeburl") else doc.get("webUrl"),
        "mimeType": doc.get("mimeType"),
        "sizeInBytes": doc.get("sizeInBytes"),
        "createdAt": created_at(doc) or None,
        "modifiedAt": modified_at(doc) or None,
        "indexingStatus": doc.get("indexingStatus"),
    }


# ---- one record ----------------------------------------------------------------------------------


def record_detail(store: GraphStore, *, user_key: str, org_key: str, record_key: str) -> dict[str, Any]:
    """A record's metadata and who has access to it, if the user may read it (else
    `RecordNotFoundError`). Adds to the summary: `indexingReason`, `recordGroup` (`{id, name}`),
    `path` (files), `permissions` (see `record_permissions`) and `inheritsFrom`: the record groups
    (or records) whose access it inherits, nearest first (`[{id, name}]`, empty when none)."""
    with store.read() as tx:
        if not can_read_record(tx, user_key, org_key, record_key):
            raise RecordNotFoundError(record_key)
        doc = tx.get_node(RECORDS, record_key) or {}
        names = _instance_names(tx, {str(doc.get("connectorId") or "")})
        group_id = doc.get("recordGroupId")
        group = tx.get_node("recordGroups", str(group_id)) if group_id else None
        file_doc = tx.get_node("files", record_key) if doc.get("recordType") == "FILE" else None
        chains = _inheritance_distance(tx, f"{RECORDS}/{record_key}")
        permissions = _permissions(tx, chains)
        ancestors = sorted((hops, node) for node, hops in chains.items() if hops)
        ancestor_names = display_names(tx, {node for _, node in ancestors})
    return record_summary(doc, names) | {
        "inheritsFrom": [{"id": node, "name": ancestor_names.get(node, node)} for _, node in ancestors],
        "indexingReason": doc.get("reason"),
        "recordGroup": {"id": group_id, "name": _group_name(group, str(group_id))} if group_id else None,
        "path": (file_doc or {}).get("path"),
        "permissions": permissions,
    }


def _group_name(doc: dict[str, Any] | None, fallback: str) -> str:
    return str((doc or {}).get("groupName") or (doc or {}).get("name") or fallback)


PRINCIPAL_KINDS = {
    "users": "user",
    "groups": "group",
    "roles": "role",
    "organizations": "organization",
    "domains": "domain",
    "anyone": "anyone",
    "anyoneWithLink": "anyoneWithLink",
}


def record_permissions(tx: Transaction, record_key: str) -> list[dict[str, Any]]:
    """Every grant that decides who reads the record: on the record itself (`inheritedFrom` None)
    and on what it inherits from (nearest first). Each: `principal` (`{id, kind, name}`), `role`,
    `grantType`, `inheritedFrom` (`{id, name}` of the record group or record holding the grant),
    `grantsRead` (whether the grant lets its principal read and find the record: READ or better,
    and not a sharing link)."""
    return _permissions(tx, _inheritance_distance(tx, f"{RECORDS}/{record_key}"))


def _permissions(tx: Transaction, chains: dict[str, int]) -> list[dict[str, Any]]:
    edges = tx.get_edges(PERMISSIONS, to_ids=sorted(chains))
    nodes = {str(e["_from"]) for e in edges} | {n for n, hops in chains.items() if hops}
    names = display_names(tx, nodes)
    rows: list[tuple[int, str, dict[str, Any]]] = []
    for edge in edges:
        principal, target = str(edge["_from"]), str(edge["_to"])
        collection, _, key = principal.partition("/")
        role = str(edge.get("role") or "")
        inherited = {"id": target, "name": names.get(target, target)} if chains[target] else None
        row = {
            "principal": {
                "id": principal,
                "kind": PRINCIPAL_KINDS.get(collection, collection),
                "name": _principal_name(collection, key, names.get(principal)),
            },
            "role": role,
            "grantType": edge.get("type"),
            "inheritedFrom": inherited,
            "grantsRead": role in READ_ROLES and not principal.startswith(NOT_SEARCHABLE_PREFIXES),
        }
        rows.append((chains[target], principal, row))
    rows.sort(key=lambda r: (r[0], r[1]))
    return [row for _, _, row in rows]


def _principal_name(collection: str, key: str, resolved: str | None) -> str:
    if collection == "domains":
        return f"everyone with a verified @{key} email"
    if collection == "anyone":
        return "anyone in the organisation"
    if collection == "anyoneWithLink":
        return "anyone with the link"
    if collection == "organizations":
        return resolved or "the organisation"
    return resolved or key


def _inheritance_distance(tx: Transaction, start: str) -> dict[str, int]:
    """node id -> hops from the record through `inheritPermissions` (the record itself is 0)."""
    distance = {start: 0}
    frontier: Sequence[str] = [start]
    hops = 0
    while frontier:
        hops += 1
        step = tx.edge_targets(INHERIT, sorted(frontier))
        frontier = [n for n in step if n not in distance]
        distance.update({n: hops for n in frontier})
    return distance
