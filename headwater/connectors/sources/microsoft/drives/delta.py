"""One drive, kept in sync through Graph's driveItem delta. Shared by OneDrive and SharePoint.

Each drive is its own scope with its own sync point (`drives/{drive id}`, type records): the delta
link of the last finished round, the next link of a round in progress (a crash or a throttling
pause resumes there), and the drive's root id. An expired link (410 resyncRequired) lists that
drive again; every other drive keeps its link.

    page ──▶ tombstone (`deleted`) ──────────────▶ record and its contents deleted, deleteRecord
         ├─▶ new item, or any item of a full round ─▶ record + the item's permissions (fetched)
         ├─▶ sharing changed, or moved ─────────────▶ record + permissions fetched again; for a folder,
         │                                            every record below it gets its permissions again
         ├─▶ new cTag ──────────────────────────────▶ content update: updateRecord, re-indexed
         ├─▶ other changes (rename, ...) ───────────▶ metadata update: written, no event
         └─▶ nothing new (a parent repeated) ───────▶ nothing
       then the page's sync point, committed with the page's records.

A full round (first sync, full sync, expired link) lists the drive completely, so records of the
drive it did not list are swept (`begin_scope` / `complete_scope`, with the mass-deletion brake).
A round resumed half-way is not swept: its first pages were seen by another run.

Sharing changes reach delta only with `Prefer: deltashowsharingchanges` (items then carry
`@microsoft.graph.sharedChanged`); they change the eTag but not the cTag, so they never re-index.
Graph lists an item's permissions inherited from the folders above it, so a record carries its
effective grants; a sharing change on a folder therefore re-reads the grants of what it contains.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from headwater.clients.microsoft import (
    AuthError,
    DeltaExpiredError,
    GraphClient,
    GraphError,
    GraphObject,
    ThrottledError,
)
from headwater.connectors.core.processor import DataSourceEntitiesProcessor
from headwater.connectors.core.sync_point import SyncPoint
from headwater.connectors.sources.microsoft.drives import mapping
from headwater.connectors.sources.microsoft.drives.permissions import EmailOf, item_grants
from headwater.connectors.sources.microsoft.notifications.pending import stage_clear_pending
from headwater.models.constants import Connectors, RecordGroupType
from headwater.models.entities import Record
from headwater.models.permission import Permission

# deltashowsharingchanges needs the other two (Graph's driveItem delta documentation)
PREFER = ("deltashowremovedasdeleted", "deltatraversepermissiongaps", "deltashowsharingchanges")

log = logging.getLogger(__name__)


def sync_key(drive_id: str) -> str:
    return f"drives/{drive_id}"


@dataclass(frozen=True)
class DriveScope:
    """A drive to sync.

    Attributes:
        drive_id: Graph's drive id; also the record group's external id.
        name: for logs and failures.
        inherited_permission_ids: permissions that reach the drive's items through its record group
            (a site's grants on a library); left out of each item's own grants.
    """

    drive_id: str
    name: str
    inherited_permission_ids: frozenset[str] = frozenset()


@dataclass
class DriveRound:
    """What one round of one drive did."""

    drive_id: str
    full: bool
    resynced: bool = False  # the stored link had expired
    pages: int = 0
    written: int = 0
    content_updates: int = 0
    metadata_updates: int = 0
    permission_refreshes: int = 0
    deleted: int = 0
    swept: list[str] = field(default_factory=list)


class DriveDeltaSync:
    """Delta rounds over drives, for one connector instance.

    Args:
        client: the tenant's Graph client.
        processor: the instance's processor.
        sync_point: the instance's record sync points.
        connector_name: written on the records.
        email_of: a user id's email (the directory's roster), for grants that name only an id.
        group_type: the record group type the records belong to.
        page_size: `$top` of the delta requests (None: Graph's default).
        now_ms: the clock that decides which sharing links have expired.
    """

    def __init__(
        self,
        client: GraphClient,
        processor: DataSourceEntitiesProcessor,
        sync_point: SyncPoint,
        *,
        connector_name: Connectors | str,
        email_of: EmailOf,
        group_type: RecordGroupType = RecordGroupType.DRIVE,
        page_size: int | None = None,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.client = client
        self.processor = processor
        self.sync_point = sync_point
        self.connector_name = connector_name
        self.email_of = email_of
        self.group_type = group_type
        self.page_size = page_size
        self.now_ms = now_ms

    @property
    def connector_id(self) -> str:
        return self.processor.connector_id

    async def sync(self, scope: DriveScope, *, notified_at: int | None = None) -> DriveRound:
        """One round over the drive: from where the last one ended, or everything. `notified_at`: a
        change notification named the drive then; its pending mark goes with the round's last link."""
        round_ = await self._sync(scope)
        if notified_at is not None:
            stage_clear_pending(self.sync_point, sync_key(scope.drive_id), notified_at)
            await self.processor.flush()
        return round_

    async def _sync(self, scope: DriveScope) -> DriveRound:
        state = await self.sync_point.read_sync_point(sync_key(scope.drive_id))
        root_id = _text(state.get("rootId"))
        resume, delta = _text(state.get("nextLink")), _text(state.get("deltaLink"))
        try:
            if resume:
                return await self._round(
                    scope, resume, root_id, full=bool(state.get("fullRound")), sweep=False
                )
            if delta:
                return await self._round(scope, delta, root_id, full=False, sweep=False)
        except DeltaExpiredError as exc:
            if exc.scope not in (None, sync_key(scope.drive_id)):
                raise
            log.info(
                "connector %s: the delta link of drive %s expired; listing it again",
                self.connector_id,
                scope.name,
            )
            self.processor.abandon_scope(scope.drive_id)
            round_ = await self._round(scope, None, root_id, full=True, sweep=True)
            round_.resynced = True
            return round_
        return await self._round(scope, None, root_id, full=True, sweep=True)

    async def forget(self, drive_id: str) -> None:
        """Drop a drive's sync point (the drive is no longer synced)."""
        await self.sync_point.delete_sync_point(sync_key(drive_id))

    # -- a round ------------------------------------------------------------------------------------

    async def _round(
        self, scope: DriveScope, link: str | None, root_id: str | None, *, full: bool, sweep: bool
    ) -> DriveRound:
        result = DriveRound(scope.drive_id, full=full)
        if sweep:
            self.processor.begin_scope(scope.drive_id)
        pages = self.client.drive_delta(scope.drive_id, link, page_size=self.page_size, prefer=PREFER)
        async for page in pages:
            result.pages += 1
            root_id = await self._apply(scope, page.items, root_id, full=full, result=result)
            state: dict[str, Any] = {"rootId": root_id, "nextLink": page.next_link, "fullRound": full}
            if page.delta_link:
                state["deltaLink"] = page.delta_link
                if sweep:  # the listing is complete: sweep before the link that says so is stored
                    swept = await self.processor.complete_scope(scope.drive_id)
                    result.swept = sorted(swept.deleted)
            await self.sync_point.update_sync_point(sync_key(scope.drive_id), state)
        return result

    async def _apply(
        self,
        scope: DriveScope,
        items: Sequence[GraphObject],
        root_id: str | None,
        *,
        full: bool,
        result: DriveRound,
    ) -> str | None:
        latest: dict[str, GraphObject] = {}
        for item in items:
            item_id = _text(item.get("id"))
            if not item_id:
                continue
            if mapping.is_root(item):
                root_id = item_id
                continue
            latest[item_id] = item  # an item may come twice in a round: its last state wins
        if not latest:
            return root_id
        if root_id is None:
            root_id = _text((await self.client.drive_item(scope.drive_id, "root", select=("id",))).get("id"))
        stored = self._stored(list(latest))
        fresh: list[tuple[Record, list[Permission]]] = []
        refresh_below: list[str] = []
        for item_id, item in latest.items():
            try:
                await self._apply_item(
                    scope, item_id, item, stored.get(item_id), root_id, full, fresh, refresh_below, result
                )
            except (ThrottledError, AuthError, DeltaExpiredError):
                raise
            except (GraphError, ValueError) as exc:
                self.processor.record_failure(item_id, f"drive {scope.name}: {exc}", _text(item.get("name")))
        if fresh:
            await self.processor.on_new_records(fresh)
            result.written += len(fresh)
        for folder_id in refresh_below:
            result.permission_refreshes += await self._refresh_below(scope, folder_id)
        return root_id

    async def _apply_item(
        self,
        scope: DriveScope,
        item_id: str,
        item: GraphObject,
        old: Record | None,
        root_id: str | None,
        full: bool,
        fresh: list[tuple[Record, list[Permission]]],
        refresh_below: list[str],
        result: DriveRound,
    ) -> None:
        if mapping.is_deleted(item):
            if old is not None:
                await self.processor.on_records_deleted_cascade([old.id], self.connector_id)
                result.deleted += 1
            return
        record = mapping.item_record(
            item,
            drive_id=scope.drive_id,
            root_id=root_id,
            connector_name=self.connector_name,
            group_type=self.group_type,
        )
        if full or old is None:
            fresh.append((record, await self.grants(scope, item_id)))
            return
        moved = record.parent_external_record_id != old.parent_external_record_id
        if mapping.sharing_changed(item) or moved:
            fresh.append((record, await self.grants(scope, item_id)))
            if not record.is_file:
                refresh_below.append(item_id)
        elif mapping.same_record(record, old):
            return
        elif record.external_revision_id != old.external_revision_id:
            await self.processor.on_record_content_update(record)
            result.content_updates += 1
        else:
            await self.processor.on_record_metadata_update(record)
            result.metadata_updates += 1

    async def grants(self, scope: DriveScope, item_id: str) -> list[Permission]:
        """The item's grants now (its own and those inherited from folders; not the drive's)."""
        permissions = [p async for p in self.client.item_permissions(scope.drive_id, item_id)]
        return item_grants(
            permissions, self.email_of, now_ms=self.now_ms(), inherited_ids=scope.inherited_permission_ids
        )

    def _stored(self, external_ids: list[str]) -> dict[str, Record]:
        self.processor.flush_now()
        with self.processor.store.read() as tx:
            return tx.get_records_by_external_ids(self.connector_id, external_ids)

    async def _refresh_below(self, scope: DriveScope, folder_id: str) -> int:
        """Read again the grants of every record below a folder whose sharing or place changed."""
        self.processor.flush_now()
        with self.processor.store.read() as tx:
            docs = [
                d
                for d in tx.find_nodes("records", connector_id=self.connector_id)
                if d.get("externalGroupId") == scope.drive_id and not d.get("isPlaceholder")
            ]
            children: dict[str, list[str]] = {}
            for doc in docs:
                children.setdefault(str(doc.get("externalParentId") or ""), []).append(
                    str(doc["externalRecordId"])
                )
            below: list[str] = []
            pending = list(children.get(folder_id, []))
            while pending:
                current = pending.pop(0)
                below.append(current)
                pending.extend(children.get(current, []))
            records = tx.get_records_by_external_ids(self.connector_id, below)
        for external_id in below:
            record = records.get(external_id)
            if record is None:
                continue
            try:
                grants = await self.grants(scope, external_id)
            except (ThrottledError, AuthError):
                raise
            except GraphError as exc:
                self.processor.record_failure(external_id, f"drive {scope.name}: {exc}", record.record_name)
                continue
            await self.processor.on_updated_record_permissions(record, grants)
        return len(below)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
