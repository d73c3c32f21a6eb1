""" "Why can this user see this record?" — and why not.

An access path has three parts, read from the graph exactly as `Transaction.can_read` decides:
1. membership: how the user acts as the principal (itself; a chain of `belongsTo` through nested
   groups and roles; its organisation; its verified email domain; its organisation's "anyone");
2. the grant: a `permissions` edge from that principal, with its role and when it last changed;
3. inheritance: the chain of `inheritPermissions` edges from the record up to the node holding the
   grant (a folder, a drive, a site), empty for a grant on the record itself.
Each step carries when it was last synced (the connector instance's last finished sync) so that an
admin can tell a stale grant from a current one. With no path, the explanation lists who does have
access and the reasons that commonly surprise people (a sharing link only, an unverified email).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from headwater.indexing.record_principals import INHERIT, NOT_SEARCHABLE_PREFIXES, PERMISSIONS
from headwater.store.base import MEMBERSHIP_EDGES as BELONGS_TO
from headwater.store.base import Transaction


@dataclass(slots=True)
class AccessPath:
    principal: str  # the node id holding the grant's source side: users/K, groups/K, ...
    membership: list[str]  # users/U ... principal (empty hops for implicit principals)
    membership_reason: str  # "the user itself", "member through belongsTo", "organisation of the user", ...
    role: str
    grant_type: str | None
    granted_on: str  # the node the permissions edge points to
    inheritance: list[str]  # records/R ... granted_on
    grant_updated_at: int | None
    last_synced_at: int | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "principal": self.principal,
            "membership": self.membership,
            "membershipReason": self.membership_reason,
            "role": self.role,
            "grantType": self.grant_type,
            "grantedOn": self.granted_on,
            "inheritance": self.inheritance,
            "grantUpdatedAt": self.grant_updated_at,
            "lastSyncedAt": self.last_synced_at,
        }


@dataclass(slots=True)
class Explanation:
    user_key: str
    record_key: str
    can_read: bool
    paths: list[AccessPath] = field(default_factory=list)
    # when it cannot read: who can, and what commonly explains a denial
    grants: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # node id -> what people call it

    def as_dict(self) -> dict[str, Any]:
        return {
            "userKey": self.user_key,
            "recordKey": self.record_key,
            "canRead": self.can_read,
            "paths": [p.as_dict() for p in self.paths],
            "grants": self.grants,
            "notes": self.notes,
            "names": self.names,
        }


def explain_access(tx: Transaction, user_key: str, record_key: str) -> Explanation:
    """Every path by which the user reads the record, or why there is none."""
    record_id = f"records/{record_key}"
    user = tx.get_node("users", user_key)
    record = tx.get_node("records", record_key)
    result = Explanation(user_key, record_key, can_read=False)
    if user is None:
        result.notes.append("the user does not exist")
        return result
    if record is None:
        result.notes.append("the record does not exist (deleted at the source, or never synced)")
        return result

    memberships = _membership_paths(tx, user_key, user)
    chains = _inheritance_chains(tx, record_id)
    grants = tx.get_edges(PERMISSIONS, to_ids=sorted(chains))
    groups = tx.get_nodes("recordGroups", _keys(chains, "recordGroups"))
    synced = _last_synced(tx, {record_id: record} | {f"recordGroups/{k}": doc for k, doc in groups.items()})
    for grant in grants:
        target = str(grant["_to"])
        source = str(grant["_from"])
        if source in memberships:
            hops, reason = memberships[source]
            result.paths.append(
                AccessPath(
                    principal=source,
                    membership=hops,
                    membership_reason=reason,
                    role=str(grant.get("role", "")),
                    grant_type=grant.get("type"),
                    granted_on=target,
                    inheritance=chains[target],
                    grant_updated_at=grant.get("updatedAtTimestamp"),
                    last_synced_at=synced.get(target) or synced.get(record_id),
                )
            )
    result.paths.sort(key=lambda p: (len(p.inheritance), len(p.membership), p.principal))
    result.can_read = bool(result.paths)
    if record.get("quarantinedAt"):
        result.notes.append(
            "the record is quarantined (missing from the source's last full listing): search hides it "
            "until the next sync confirms it or deletes it"
        )
    if not result.can_read:
        result.grants = [
            {"principal": g["_from"], "role": g.get("role"), "grantedOn": g["_to"]} for g in grants
        ]
        result.notes.extend(_denial_notes(user, grants))
    ids = {record_id} | {n for p in result.paths for n in (*p.membership, *p.inheritance)}
    ids |= {str(g["principal"]) for g in result.grants} | {str(g["grantedOn"]) for g in result.grants}
    result.names = display_names(tx, ids)
    return result


# the field that names a node, per collection
_NAME_FIELDS = {
    "users": ("email", "fullName"),
    "groups": ("name", "groupName", "email"),
    "roles": ("name",),
    "organizations": ("registeredName", "name"),
    "recordGroups": ("groupName", "name"),
    "records": ("recordName",),
}


def display_names(tx: Transaction, node_ids: set[str]) -> dict[str, str]:
    """node id -> a name people recognise (an email, a group's or folder's name), where the node has one."""
    by_collection: dict[str, list[str]] = {}
    for node_id in node_ids:
        collection, _, key = node_id.partition("/")
        if collection in _NAME_FIELDS:
            by_collection.setdefault(collection, []).append(key)
    names: dict[str, str] = {}
    for collection, keys in by_collection.items():
        for key, doc in tx.get_nodes(collection, sorted(keys)).items():
            name = next((doc[f] for f in _NAME_FIELDS[collection] if doc.get(f)), None)
            if name:
                names[f"{collection}/{key}"] = str(name)
    return names


def _membership_paths(
    tx: Transaction, user_key: str, user: dict[str, Any]
) -> dict[str, tuple[list[str], str]]:
    """principal node id -> (the hops from the user to it, why the user acts as it); shortest first."""
    me = f"users/{user_key}"
    found: dict[str, tuple[list[str], str]] = {me: ([me], "the user itself")}
    queue = deque([me])
    while queue:
        node = queue.popleft()
        for edge in tx.get_edges(BELONGS_TO, from_id=node):
            target = str(edge["_to"])
            if target.split("/", 1)[0] not in ("groups", "roles", "organizations") or target in found:
                continue
            found[target] = ([*found[node][0], target], "member through belongsTo")
            queue.append(target)
    org_id = user.get("orgId")
    if org_id and f"organizations/{org_id}" not in found:
        found[f"organizations/{org_id}"] = ([me, f"organizations/{org_id}"], "organisation of the user")
    for node in [n for n in found if n.startswith("organizations/")]:
        org = node.split("/", 1)[1]
        found[f"anyone/{org}"] = ([*found[node][0], f"anyone/{org}"], "anyone in the organisation")
    email = str(user.get("email") or "")
    if "@" in email and user.get("emailVerified", True):
        domain = "domains/" + email.rsplit("@", 1)[1].lower()
        found[domain] = ([me, domain], "verified email domain of the user")
    return found


def _inheritance_chains(tx: Transaction, record_id: str) -> dict[str, list[str]]:
    """node id -> the shortest chain of inheritPermissions hops from the record to it."""
    chains = {record_id: [record_id]}
    queue = deque([record_id])
    while queue:
        node = queue.popleft()
        for edge in tx.get_edges(INHERIT, from_id=node):
            target = str(edge["_to"])
            if target not in chains:
                chains[target] = [*chains[node], target]
                queue.append(target)
    return chains


def _keys(node_ids: dict[str, Any], collection: str) -> list[str]:
    prefix = collection + "/"
    return [n[len(prefix) :] for n in node_ids if n.startswith(prefix)]


def _last_synced(tx: Transaction, nodes: dict[str, dict[str, Any]]) -> dict[str, int | None]:
    """node id -> when its connector instance last finished a sync."""
    connectors = {str(doc.get("connectorId")) for doc in nodes.values() if doc.get("connectorId")}
    apps = tx.get_nodes("apps", sorted(connectors))
    out: dict[str, int | None] = {}
    for node_id, doc in nodes.items():
        app = apps.get(str(doc.get("connectorId")))
        out[node_id] = app.get("lastSyncEndedAt") if app else None
    return out


def _denial_notes(user: dict[str, Any], grants: list[dict[str, Any]]) -> list[str]:
    notes = []
    sources = {str(g["_from"]) for g in grants}
    if not sources:
        notes.append("nobody has a permission on this record or what it inherits from (fail closed)")
    if any(s.startswith(NOT_SEARCHABLE_PREFIXES) for s in sources):
        notes.append("it is shared by link only: a link is not membership, so search does not show it")
    email = str(user.get("email") or "")
    if "@" in email and user.get("emailVerified", True) is False:
        domain = "domains/" + email.rsplit("@", 1)[1].lower()
        if domain in sources:
            notes.append(f"{domain} has access, but the user's email is not verified")
    if user.get("isActive") is False:
        notes.append("the user is inactive")
    return notes
