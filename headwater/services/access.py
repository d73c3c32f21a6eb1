"""Who can read a record, said in words: its own grants and those it inherits from record groups.

Used wherever records are listed for people (`records`, the dry run of `connectors test`): a short
summary per record such as `ada@acme.test (OWNER)`, `group Engineering`, `organisation`,
`via Team drive: organisation`. It describes the stored edges; deciding access stays with the
store's traversals (`readable_record_keys`, `can_read`).
"""

from __future__ import annotations

from collections.abc import Sequence

from headwater.store.base import Transaction

MAX_INHERITANCE_DEPTH = 32  # record groups nest; a cycle must not loop forever


def _principal_names(tx: Transaction, principal_ids: set[str]) -> dict[str, str]:
    by_collection: dict[str, list[str]] = {}
    for node_id in principal_ids:
        collection, _, key = node_id.partition("/")
        by_collection.setdefault(collection, []).append(key)
    names: dict[str, str] = {}
    for collection, keys in by_collection.items():
        if collection == "domains":
            names.update({f"domains/{k}": f"domain {k}" for k in keys})
            continue
        if collection == "anyone":
            names.update({f"anyone/{k}": "anyone in the organisation" for k in keys})
            continue
        if collection == "anyoneWithLink":
            names.update({f"anyoneWithLink/{k}": "anyone with the link (not searchable)" for k in keys})
            continue
        docs = tx.get_nodes(collection, keys)
        for key in keys:
            doc = docs.get(key) or {}
            if collection == "users":
                label = str(doc.get("email") or key)
            elif collection == "organizations":
                label = "organisation"
            else:
                kind = {"groups": "group", "roles": "role"}.get(collection, collection)
                label = f"{kind} {doc.get('name') or doc.get('externalGroupId') or key}"
            names[f"{collection}/{key}"] = label
    return names


def _grants_to(tx: Transaction, targets: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """target id -> [(principal id, role)] of its permission edges."""
    out: dict[str, list[tuple[str, str]]] = {t: [] for t in targets}
    if targets:
        for edge in tx.get_edges("permissions", to_ids=list(targets)):
            out.setdefault(edge["_to"], []).append((edge["_from"], str(edge.get("role") or "READER")))
    return out


def grant_summaries(tx: Transaction, record_keys: Sequence[str]) -> dict[str, list[str]]:
    """record key -> readable lines, direct grants first, then inherited ones (`via GROUP: ...`).
    A record with no line is visible to nobody (fail closed)."""
    record_ids = [f"records/{k}" for k in record_keys]
    parents: dict[str, list[str]] = {}  # node id -> record groups it inherits from
    frontier = list(record_ids)
    seen = set(frontier)
    for _ in range(MAX_INHERITANCE_DEPTH):
        if not frontier:
            break
        edges = tx.get_edges("inheritPermissions", from_ids=frontier)
        frontier = []
        for edge in edges:
            parents.setdefault(edge["_from"], []).append(edge["_to"])
            if edge["_to"] not in seen:
                seen.add(edge["_to"])
                frontier.append(edge["_to"])
    grants = _grants_to(tx, sorted(seen))
    names = _principal_names(tx, {p for pairs in grants.values() for p, _ in pairs})
    group_docs = tx.get_nodes(
        "recordGroups", [n.split("/", 1)[1] for n in seen if n.startswith("recordGroups/")]
    )

    def lines(node_id: str, via: str | None, depth: int) -> list[str]:
        own = sorted(
            f"{names.get(p, p)}" + ("" if role == "READER" else f" ({role})")
            for p, role in grants.get(node_id, [])
        )
        out = [f"via {via}: {line}" if via else line for line in own]
        if depth < MAX_INHERITANCE_DEPTH:
            for parent in parents.get(node_id, []):
                doc = group_docs.get(parent.split("/", 1)[1]) or {}
                out.extend(lines(parent, str(doc.get("groupName") or doc.get("name") or parent), depth + 1))
        return out

    return {key: list(dict.fromkeys(lines(f"records/{key}", None, 0))) for key in record_keys}
