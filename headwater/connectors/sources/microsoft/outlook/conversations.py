"""Messages of one conversation, linked as SIBLING records: a chain in the order they were received.

Which messages belong to a conversation is kept per mailbox in a sync-point document
("outlook/conversations/{user}/{conversation}" -> the message ids seen in it), because a new reply must
find its conversation's earlier messages, which may sit in other folders and were synced in earlier runs.
The chain is then rebuilt from the members that still exist plus every record already linked to them
(so a message deleted from the middle is bridged, and a rebuilt index after a full sync changes
nothing). Everything happens in the processor's next commit, with the page that changed the
conversation and that page's delta link: no state of its own can get ahead of the records.
"""

from __future__ import annotations

from headwater.connectors.core.sync_point import SYNC_POINTS, SyncPoint
from headwater.connectors.sources.microsoft.notifications.pending import sync_point_doc
from headwater.models.constants import RecordRelations
from headwater.models.entities import Record
from headwater.store.base import Transaction

RELATIONS = "recordRelations"
RECORDS = "records"
SIBLING = RecordRelations.SIBLING.value
MAX_MEMBERS = 2_000  # a conversation this long is a mailing list; its tail is linked, not its whole past

Conversation = tuple[str, str]  # (mailbox user id, conversationId)


def conversation_key(user_id: str, conversation_id: str) -> str:
    return f"outlook/conversations/{user_id}/{conversation_id}"


class ConversationLinker:
    """Collects the conversations a page touched; `stage()` hands their re-linking to the processor."""

    def __init__(self, sync_point: SyncPoint) -> None:
        self.sync_point = sync_point
        self._added: dict[Conversation, set[str]] = {}

    def added(self, user_id: str, conversation_id: str | None, message_id: str) -> None:
        if conversation_id:
            self._added.setdefault((user_id, conversation_id), set()).add(message_id)

    def touched(self, user_id: str, conversation_id: str | None) -> None:
        """A member was removed: the chain must be rebuilt around the gap."""
        if conversation_id:
            self._added.setdefault((user_id, conversation_id), set())

    def stage(self) -> None:
        if not self._added:
            return
        work, self._added = self._added, {}
        processor = self.sync_point.processor
        if processor is None:
            raise RuntimeError("the conversation linker needs the connector's processor")
        connector_id, org_id = self.sync_point.connector_id, self.sync_point.org_id
        keys = {conv: self.sync_point.full_key(conversation_key(*conv)) for conv in work}

        def relink(tx: Transaction) -> None:
            for conv, added in sorted(work.items()):
                _relink(tx, org_id, connector_id, keys[conv], added)

        processor.stage_write(("outlook-conversations", id(work)), relink)


def _relink(tx: Transaction, org_id: str, connector_id: str, full_key: str, added: set[str]) -> None:
    stored = tx.get_node_by_external_id(SYNC_POINTS, connector_id, full_key)
    members = set(stored.get("messages") or []) if stored else set()
    members |= added
    existing = tx.get_records_by_external_ids(connector_id, sorted(members))
    records: dict[str, Record] = {r.id: r for r in existing.values()}
    records.update(_linked_component(tx, records))
    ordered = sorted(records.values(), key=lambda r: (r.source_created_at or 0, r.external_record_id))
    ordered = ordered[-MAX_MEMBERS:]
    desired = {(f"{RECORDS}/{a.id}", f"{RECORDS}/{b.id}") for a, b in zip(ordered, ordered[1:], strict=False)}
    ids = [f"{RECORDS}/{key}" for key in records]
    current = {
        (str(e["_from"]), str(e["_to"]))
        for e in [
            *tx.get_edges(RELATIONS, from_ids=ids, kind=SIBLING),
            *tx.get_edges(RELATIONS, to_ids=ids, kind=SIBLING),
        ]
    }
    for source, target in sorted(current - desired):
        tx.delete_edges(RELATIONS, from_id=source, to_id=target, kind=SIBLING)
    tx.upsert_edges(
        RELATIONS,
        [{"_from": s, "_to": t, "relationshipType": SIBLING} for s, t in sorted(desired - current)],
    )
    kept = sorted(r.external_record_id for r in ordered)
    if kept:
        doc = sync_point_doc(
            org_id=org_id, connector_id=connector_id, full_key=full_key, data={"messages": kept}
        )
        if stored is not None:
            doc["_key"] = stored["_key"]
        tx.upsert_nodes(SYNC_POINTS, [doc])
    elif stored is not None:
        tx.delete_nodes(SYNC_POINTS, [str(stored["_key"])])


def _linked_component(tx: Transaction, start: dict[str, Record]) -> dict[str, Record]:
    """Every record reachable from `start` over SIBLING edges (either direction)."""
    found: dict[str, Record] = {}
    seen = set(start)
    frontier = [f"{RECORDS}/{key}" for key in start]
    while frontier and len(seen) <= MAX_MEMBERS:
        edges = [
            *tx.get_edges(RELATIONS, from_ids=frontier, kind=SIBLING),
            *tx.get_edges(RELATIONS, to_ids=frontier, kind=SIBLING),
        ]
        nodes = {str(e[end]).split("/", 1)[1] for e in edges for end in ("_from", "_to")}
        new = sorted(nodes - seen)
        seen.update(new)
        found.update(tx.get_records(new))
        frontier = [f"{RECORDS}/{key}" for key in new]
    return found
