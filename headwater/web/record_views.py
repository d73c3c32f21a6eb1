"""Records as pages show them, only ever those the caller may read (`record_access`, the API's
rules): the browser's page of rows, and one record's metadata, who has access, and why the
caller can see it (`answers.explain_for`) said in words.

A record the caller may not read is reported exactly like one that does not exist (None), so a
page cannot be used to learn that a record id exists. Synchronous store reads: pages call these
through `ApiState.call`.
"""

from __future__ import annotations

from typing import Any

from headwater.api.deps import Caller
from headwater.api.state import ApiState
from headwater.services.answers import explain_for
from headwater.services.record_access import RecordNotFoundError, RecordQuery, browse_records, record_detail

PAGE_SIZE = 50
RECORD_TYPES = (
    "FILE",
    "MAIL",
    "MESSAGE",
    "WEBPAGE",
    "TICKET",
    "COMMENT",
    "CONFLUENCE_PAGE",
    "SHAREPOINT_PAGE",
)


def browse(
    state: ApiState, caller: Caller, *, connector: str, record_type: str, name: str, cursor: str | None
) -> dict[str, Any]:
    """One page of the caller's readable records, most recently changed first."""
    query = RecordQuery(
        connector_ids=frozenset({connector}) if connector else frozenset(),
        record_types=frozenset({record_type}) if record_type else frozenset(),
        name_contains=name or None,
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    return browse_records(state.store, user_key=caller.user_key, org_key=caller.org_key, query=query)


# the SDK's per-instance group whose one member is the instance's creator (playbook name)
CONNECTOR_GROUP = "ConnectorGroup"
CONNECTOR_OWNER = "the owner of the connector"


def _label(node_id: str, names: dict[str, str]) -> str:
    kind, _, key = node_id.partition("/")
    name = names.get(node_id) or key
    if kind == "groups" and name == CONNECTOR_GROUP:
        return CONNECTOR_OWNER
    return {
        "groups": f"group {name}",
        "roles": f"role {name}",
        "organizations": f"organisation {name}",
        "anyone": "anyone in the organisation",
        "domains": f"everyone at {name}",
        "recordGroups": f"“{name}”",
        "records": f"“{name}”",
    }.get(kind, name)


def describe_path(path: dict[str, Any], names: dict[str, str], record_id: str) -> dict[str, Any]:
    """One access path in words: who the caller acts as, the grant, where it is inherited from."""
    hops = [_label(n, names) for n in path.get("membership", [])[1:]]
    granted_on = str(path.get("grantedOn") or record_id)
    inherited = granted_on != record_id
    return {
        "as": hops[-1] if hops else "you",
        "via": hops[:-1],
        "role": path.get("role"),
        "on": "this record" if not inherited else _label(granted_on, names),
        "inherited": inherited,
        "chain": [_label(n, names) for n in path.get("inheritance", [])[1:]],
        "lastSyncedAt": path.get("lastSyncedAt"),
    }


def record_page(state: ApiState, caller: Caller, record_key: str) -> dict[str, Any] | None:
    """The record's detail with `why` (the caller's access paths in words) and `notes`; None when
    the caller may not read it."""
    try:
        detail = record_detail(
            state.store, user_key=caller.user_key, org_key=caller.org_key, record_key=record_key
        )
        why = explain_for(
            state.store,
            caller_user_key=caller.user_key,
            caller_email=caller.email,
            caller_org_key=caller.org_key,
            caller_is_admin=caller.is_admin,
            record_key=record_key,
        )
    except RecordNotFoundError:
        return None
    with state.store.read() as tx:
        instance = tx.get_node("apps", str(detail.get("connectorId") or "")) or {}
    record_id = f"records/{record_key}"
    names = why.get("names") or {}
    for grant in detail.get("permissions") or []:
        principal = grant.get("principal") or {}
        if principal.get("kind") == "group" and principal.get("name") == CONNECTOR_GROUP:
            principal["name"], principal["kind"] = CONNECTOR_OWNER.capitalize(), "user"
    return detail | {
        "access": access_by_source(detail.get("permissions") or []),
        "instanceType": instance.get("type"),
        "why": [describe_path(p, names, record_id) for p in why.get("paths") or []],
        "notes": why.get("notes") or [],
    }


def access_by_source(permissions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The grants grouped by where they are held: `{"inheritedFrom": None | {id, name}, "grants"}`,
    the record's own first, then each record group it inherits from, nearest first (the order
    `record_detail` gives them in)."""
    groups: dict[str | None, dict[str, Any]] = {}
    for grant in permissions:
        source = grant.get("inheritedFrom")
        entry = groups.setdefault(source["id"] if source else None, {"inheritedFrom": source, "grants": []})
        entry["grants"].append(grant)
    return list(groups.values())
