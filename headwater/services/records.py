"""Listing what the graph holds: records (filtered, optionally as one user sees them) and platform
users with their groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from headwater.connectors.core.instances import list_instances
from headwater.settings import Settings
from headwater.store.base import Transaction

from .access import grant_summaries
from .errors import InvalidArgumentError
from .platform import find_instance, find_user, open_store_only

DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class RecordFilter:
    """Which records to list. `as_user` (an email) keeps only those that user can read."""

    connector: str | None = None  # an instance name or id
    record_type: str | None = None
    name_contains: str | None = None
    as_user: str | None = None
    limit: int = DEFAULT_LIMIT


def record_rows(tx: Transaction, docs: list[dict[str, Any]], names: dict[str, str]) -> list[dict[str, Any]]:
    """Records as people read them: name, type, where (path or URL), connector, access summary."""
    keys = [str(d["_key"]) for d in docs]
    files = tx.get_nodes("files", keys)
    access = grant_summaries(tx, keys)
    return [
        {
            "id": d["_key"],
            "name": d.get("recordName"),
            "type": d.get("recordType"),
            "path": (files.get(d["_key"]) or {}).get("path"),
            "webUrl": d.get("webUrl"),
            "connector": names.get(str(d.get("connectorId")), d.get("connectorId")),
            "indexingStatus": d.get("indexingStatus"),
            "access": access[str(d["_key"])],
        }
        for d in docs
    ]


def list_records(settings: Settings, filters: RecordFilter) -> dict[str, Any]:
    """`{"total": matching records, "records": the first `limit` by name, "asUser": email or None}`.
    Placeholders (parents or grants seen before their item) are not records anyone can open, so
    they are left out."""
    if filters.limit < 1:
        raise InvalidArgumentError(f"limit must be at least 1, not {filters.limit}")
    store = open_store_only(settings)
    try:
        instances = {str(d["_key"]): str(d.get("name")) for d in list_instances(store)}
        connector_id = str(find_instance(store, filters.connector)["_key"]) if filters.connector else None
        with store.read() as tx:
            docs = tx.find_nodes("records", connector_id=connector_id)
            readable: set[str] | None = None
            if filters.as_user:
                readable = tx.readable_record_keys(str(find_user(tx, filters.as_user)["_key"]))
            wanted_type = filters.record_type.upper() if filters.record_type else None
            needle = filters.name_contains.lower() if filters.name_contains else None
            matched = [
                d
                for d in docs
                if not d.get("isPlaceholder")
                and (wanted_type is None or str(d.get("recordType", "")).upper() == wanted_type)
                and (needle is None or needle in str(d.get("recordName", "")).lower())
                and (readable is None or d["_key"] in readable)
            ]
            matched.sort(key=lambda d: (str(d.get("recordName") or "").lower(), str(d["_key"])))
            rows = record_rows(tx, matched[: filters.limit], instances)
    finally:
        store.close()
    return {"total": len(matched), "asUser": filters.as_user, "records": rows}


def list_users(settings: Settings) -> list[dict[str, Any]]:
    """Platform users (active ones first, then people granted access who have not joined) with
    the groups and roles they belong to, directly or through nested groups."""
    store = open_store_only(settings)
    try:
        with store.read() as tx:
            users = tx.find_nodes("users")
            rows = []
            for user in users:
                memberships = _memberships(tx, f"users/{user['_key']}")
                rows.append(
                    {
                        "email": user.get("email"),
                        "name": user.get("fullName"),
                        "role": user.get("role", "member"),
                        "active": bool(user.get("isActive", True)),
                        "groups": memberships,
                    }
                )
    finally:
        store.close()
    rows.sort(key=lambda r: (not r["active"], str(r["email"] or "")))
    return rows


def _memberships(tx: Transaction, node_id: str) -> list[str]:
    """Names of the groups and roles `node_id` belongs to, transitively (cycles are harmless)."""
    found: set[str] = set()
    frontier = {node_id}
    while frontier:
        targets = tx.edge_targets("belongsTo", sorted(frontier))
        step = {t for t in targets if t.split("/", 1)[0] in ("groups", "roles")} - found
        found |= step
        frontier = step
    names = []
    for node in sorted(found):
        collection, key = node.split("/", 1)
        doc = tx.get_node(collection, key) or {}
        kind = "group" if collection == "groups" else "role"
        names.append(f"{kind} {doc.get('name') or key}")
    return sorted(names)
