"""Removing what the tenant no longer has as a whole: the drive or mailbox of a user who left (deleted,
or disabled in the directory), a deleted SharePoint site or library.

Such a scope is retired through the SDK's ordinary deletion path: it is swept as if it had been listed
empty (`begin_scope` / `complete_scope`), so its records go with `deleteRecord` events and the
mass-deletion brake applies. Retiring more than the brake allows (anything but a nearly empty drive
or mailbox) quarantines the records instead: hidden from search at once, deleted when an
administrator confirms (`confirm_quarantined_deletions`). The record groups go only once no record
is left in them, so the caller keeps the scope on its "leaving" list and calls `retire_scope` again
at each full pass until it returns True. Its delta sync points are dropped at once (`forget_sync_points`):
if the user or site comes back, it is listed from scratch, and that listing releases the quarantine.
"""

from __future__ import annotations

from collections.abc import Sequence

from headwater.connectors.core.processor import DataSourceEntitiesProcessor
from headwater.connectors.core.sync_point import SYNC_POINTS, SyncPoint
from headwater.store.base import Transaction


async def retire_scope(
    processor: DataSourceEntitiesProcessor, scope_id: str, record_group_ids: Sequence[str]
) -> bool:
    """Delete the records of `record_group_ids` (with the brake), then the record groups themselves.

    Returns:
        True when everything is gone; False while records are held by the brake (quarantined).
    """
    processor.begin_scope(scope_id, record_group_ids=record_group_ids)
    result = await processor.complete_scope(scope_id)
    if result.braked or result.still_quarantined:
        return False
    for group_id in record_group_ids:
        await processor.on_record_group_deleted(group_id, processor.connector_id)
    return True


def forget_sync_points(sync_point: SyncPoint, prefixes: Sequence[str]) -> None:
    """Delete, with the processor's next commit, every sync point of the instance whose key (as given
    to `sync_point`) is one of `prefixes` or starts with one that ends in "/"."""
    connector_id = sync_point.connector_id
    full = [sync_point.full_key(p) for p in prefixes]

    def matches(key: str) -> bool:
        return any(key == p or (p.endswith("/") and key.startswith(p)) for p in full)

    def delete(tx: Transaction) -> None:
        docs = tx.find_nodes(SYNC_POINTS, connector_id=connector_id)
        tx.delete_nodes(SYNC_POINTS, [str(d["_key"]) for d in docs if matches(str(d.get("syncPointKey")))])

    processor = sync_point.processor
    if processor is None:
        with sync_point.data_store_provider.store.transaction() as tx:
            delete(tx)
        return
    processor.stage_write(("microsoft-forget", connector_id, "\x00".join(sorted(full))), delete)
