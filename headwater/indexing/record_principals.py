"""A record's effective principals: the node ids whose members may find it in search.

The index stores, beside a record's chunks, the principals that may read it; search expands the
asking user into principals (`GraphStore.principals`) and only scores chunks whose record shares one.
A record's principals are the grantees of `permissions` edges on the record itself and on every node
it inherits from through `inheritPermissions`, transitively (record -> record group -> parent group,
record -> parent record, ...). This walks the same edges, in the same direction, as the store's
`can_read` and `readable_record_keys`, with two deliberate narrowings:

- only grants of READ or better count (a role ranked below READER in the processor's `ROLE_RANK`,
  "OTHERS", grants nothing searchable; `can_read` counts any grant);
- `anyoneWithLink/...` grantees are left out: holding a link is not membership (DESIGN.md), and
  no user's principals contain them anyway.

No grant, no principal: a record with an empty set is found by nobody (fail closed). A record the
mass-deletion brake quarantined (missing from its source's last full listing, deletion waiting for an
administrator) has no principals either, until it is released or seen again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from headwater.connectors.core.graph_writes import QUARANTINED_AT, ROLE_RANK
from headwater.models.permission import PermissionType
from headwater.store.base import Transaction

PERMISSIONS = "permissions"
INHERIT = "inheritPermissions"
RECORDS = "records"
READ_ROLES = frozenset(
    role for role, rank in ROLE_RANK.items() if rank >= ROLE_RANK[PermissionType.READ.value]
)
NOT_SEARCHABLE_PREFIXES = ("anyoneWithLink/",)


def effective_principals(tx: Transaction, record_keys: Sequence[str]) -> dict[str, frozenset[str]]:
    """record key -> its effective principals, for a batch of records: one query per inheritance
    step for the whole batch, then one for the grants on every node reached."""
    starts = [f"{RECORDS}/{key}" for key in dict.fromkeys(record_keys)]
    parents = _inheritance_parents(tx, starts)
    reached = set(starts).union(*parents.values()) if parents else set(starts)
    granted: dict[str, set[str]] = {}
    for edge in tx.get_edges(PERMISSIONS, to_ids=sorted(reached)):
        principal = str(edge["_from"])
        if edge.get("role") in READ_ROLES and not principal.startswith(NOT_SEARCHABLE_PREFIXES):
            granted.setdefault(str(edge["_to"]), set()).add(principal)
    quarantined = {
        key
        for key, doc in tx.get_nodes(RECORDS, [s.split("/", 1)[1] for s in starts]).items()
        if doc.get(QUARANTINED_AT)
    }
    result: dict[str, frozenset[str]] = {}
    for start in starts:
        key = start.split("/", 1)[1]
        principals: set[str] = set()
        if key not in quarantined:  # held by the mass-deletion brake: found by nobody until released
            for node in _ancestors(start, parents):
                principals |= granted.get(node, set())
        result[key] = frozenset(principals)
    return result


def inheriting_records(tx: Transaction, node_ids: Iterable[str]) -> set[str]:
    """Keys of the records whose access depends on any of `node_ids` through `inheritPermissions`
    (transitively; a record among `node_ids` counts itself)."""
    seen = set(node_ids)
    frontier = set(seen)
    while frontier:
        frontier = tx.edge_sources(INHERIT, sorted(frontier)) - seen
        seen |= frontier
    return {node.split("/", 1)[1] for node in seen if node.startswith(f"{RECORDS}/")}


def _inheritance_parents(tx: Transaction, starts: Sequence[str]) -> dict[str, set[str]]:
    """node id -> the nodes it inherits from directly, for everything reachable from `starts`."""
    parents: dict[str, set[str]] = {}
    seen = set(starts)
    frontier = set(starts)
    while frontier:
        step: set[str] = set()
        for edge in tx.get_edges(INHERIT, from_ids=sorted(frontier)):
            parent = str(edge["_to"])
            parents.setdefault(str(edge["_from"]), set()).add(parent)
            step.add(parent)
        frontier = step - seen
        seen |= frontier
    return parents


def _ancestors(start: str, parents: dict[str, set[str]]) -> set[str]:
    """`start` and every node it inherits from (cycles, which the processor never writes, end)."""
    found = {start}
    stack = [start]
    while stack:
        for parent in parents.get(stack.pop(), ()):
            if parent not in found:
                found.add(parent)
                stack.append(parent)
    return found
