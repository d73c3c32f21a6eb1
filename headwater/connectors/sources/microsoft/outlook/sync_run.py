"""One Outlook sync: every mailbox, each mail folder by its own delta round.

Per folder (scope "users/{u}/mailFolders/{f}", one sync point each):
  * with a stored delta link, the round returns what changed: messages new or changed, and
    `@removed` for deleted or moved-away ones (their record, attachments and edges go);
  * without one (first sync, a full sync, an expired token, changed filters) the round lists the
    folder completely, and what it did not list is swept (`begin_scope` / `complete_scope`, with the
    mass-deletion brake);
  * after every page the records and the page's next link commit together, so a crash or a pause for
    throttling resumes after the last committed page;
  * an expired delta link (410) re-lists that folder only; every other folder keeps its link.

Moves: with immutable ids (what the client asks for) a moved message keeps its id, so the target
folder's round reports it and the source folder's reports it removed. Removals are therefore applied
after every folder of the mailbox was synced, and only to records still in the folder that reported
them: a moved message stays the same record (same key, no re-index), whichever folder came first.
Until then they wait in the folder's sync point, committed with the page that reported them, so a
crash in between loses none. With regular ids, a move is a delete plus a new message.

Attachments are listed (metadata only) for new and changed messages; an unchanged message's
attachments are not fetched again, only noted as seen. Their bytes are fetched by `stream_record`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from headwater.clients.microsoft import DeltaExpiredError, GraphClient, NotFoundError
from headwater.clients.microsoft import fields as graph_fields
from headwater.connectors.core.filters import FilterCollection, FilterOperator
from headwater.connectors.core.sync_point import SyncPoint
from headwater.connectors.sources.microsoft.common import DirectoryUser
from headwater.connectors.sources.microsoft.common.retire import retire_scope
from headwater.connectors.sources.microsoft.notifications.pending import stage_clear_pending
from headwater.connectors.sources.microsoft.outlook import mapping
from headwater.connectors.sources.microsoft.outlook.conversations import ConversationLinker
from headwater.models.constants import RecordRelations
from headwater.models.entities import MailRecord, Record
from headwater.models.permission import Permission

MESSAGE_FIELDS = (*graph_fields.MESSAGE, "bodyPreview")
FOLDERS_FILTER, RECEIVED_FILTER = "folders", "received"
RELATIONS = "recordRelations"


@dataclass(frozen=True)
class MailFilters:
    """The instance's sync filters: folders by display name (in / not in), messages received after."""

    include_folders: frozenset[str] = frozenset()
    exclude_folders: frozenset[str] = frozenset()
    received_after_ms: int | None = None

    @classmethod
    def from_collection(cls, sync_filters: FilterCollection) -> MailFilters:
        include: frozenset[str] = frozenset()
        exclude: frozenset[str] = frozenset()
        folders = sync_filters.get(FOLDERS_FILTER)
        if folders is not None and not folders.is_empty():
            names = frozenset(str(v).strip().lower() for v in folders.get_value([]) if str(v).strip())
            if folders.get_operator() is FilterOperator.NOT_IN:
                exclude = names
            else:
                include = names
        received = sync_filters.get(RECEIVED_FILTER)
        start = (
            received.get_datetime_bounds()[0] if received is not None and not received.is_empty() else None
        )
        return cls(include, exclude, start)

    def key(self) -> str:
        """A fingerprint: a folder synced under other filters is listed again (so a widened filter
        backfills and a narrowed one sweeps)."""
        return json.dumps(
            [sorted(self.include_folders), sorted(self.exclude_folders), self.received_after_ms]
        )

    def wants_folder(self, folder: Mapping[str, Any]) -> bool:
        name = str(folder.get("displayName") or "").strip().lower()
        if self.include_folders and name not in self.include_folders:
            return False
        return name not in self.exclude_folders

    def wants_message(self, message: Mapping[str, Any]) -> bool:
        if self.received_after_ms is None:
            return True
        received = mapping.graph_ms(message.get("receivedDateTime"))
        return received is None or received >= self.received_after_ms


@dataclass
class MailboxRun:
    """What one sync of one connector instance needs."""

    client: GraphClient
    processor: Any  # DataSourceEntitiesProcessor
    sync_point: SyncPoint
    connector_id: str
    filters: MailFilters
    logger: logging.Logger
    linker: ConversationLinker = field(init=False)

    def __post_init__(self) -> None:
        self.linker = ConversationLinker(self.sync_point)

    # ---- mailboxes ---------------------------------------------------------------------------------

    async def sync_mailbox(self, user: DirectoryUser, *, pending: Mapping[str, int]) -> list[str]:
        """Sync one user's mailbox; returns the folder scopes it has (empty: no mailbox)."""
        user_id, email = user.id, user.email
        try:
            folders = [f async for f in self.client.mail_folders(user_id)]
        except NotFoundError:
            self.logger.info("user %s has no Exchange Online mailbox; skipped", user_id)
            return []
        folders = [f for f in folders if self.filters.wants_folder(f)]
        known = [str(f["id"]) for f in folders]
        groups = [
            (mapping.mailbox_group(user_id, email, user.display_name), [mapping.owner_permission(email)])
        ]
        groups += [(mapping.folder_group(user_id, f, known), []) for f in folders]
        await self.processor.on_new_record_groups(groups)
        await self._drop_gone_folders(user_id, known)
        await self.sync_folders(user_id, known, pending)
        return [mapping.folder_scope(user_id, fid) for fid in known]

    async def sync_folders(self, user_id: str, folder_ids: Sequence[str], pending: Mapping[str, int]) -> None:
        """Sync folders of one mailbox, then apply the removals their rounds reported."""
        for folder_id in folder_ids:
            scope = mapping.folder_scope(user_id, folder_id)
            await self.sync_folder(user_id, folder_id, notified_at=pending.get(scope))
        for folder_id in folder_ids:
            await self._apply_removals(user_id, folder_id)

    async def _drop_gone_folders(self, user_id: str, current: Sequence[str]) -> None:
        key = f"outlook/users/{user_id}/folders"
        previous = (await self.sync_point.read_sync_point(key)).get("folders") or []
        for folder_id in [f for f in previous if f not in current]:
            await self.drop_scope(mapping.folder_scope(user_id, folder_id))
            await self.sync_point.delete_sync_point(folder_key(user_id, folder_id))
        await self.sync_point.update_sync_point(key, {"folders": list(current)})

    async def drop_scope(self, scope: str) -> None:
        """A folder (or mailbox) that is gone or filtered out: its records are swept (with the brake)."""
        await retire_scope(self.processor, scope, [scope])

    # ---- one folder ------------------------------------------------------------------------------

    async def sync_folder(self, user_id: str, folder_id: str, *, notified_at: int | None = None) -> None:
        key = folder_key(user_id, folder_id)
        stored = await self.sync_point.read_sync_point(key)
        same_filters = stored.get("filterKey") == self.filters.key()
        # a round interrupted by a pause resumes at its next link (a resumed full round is not swept:
        # what its earlier pages saw is not known any more)
        link = (stored.get("nextLink") or stored.get("deltaLink")) if same_filters else None
        try:
            await self._round(user_id, folder_id, link, full=link is None)
        except DeltaExpiredError as exc:
            self.logger.info("folder %s: %s; listing it again", mapping.folder_scope(user_id, folder_id), exc)
            self.processor.abandon_scope(mapping.folder_scope(user_id, folder_id))
            await self._round(user_id, folder_id, None, full=True)
        if notified_at is not None:
            stage_clear_pending(self.sync_point, mapping.folder_scope(user_id, folder_id), notified_at)
            await self.processor.flush()

    async def _round(self, user_id: str, folder_id: str, link: str | None, *, full: bool) -> None:
        scope = mapping.folder_scope(user_id, folder_id)
        key = folder_key(user_id, folder_id)
        removals = set((await self.sync_point.read_sync_point(key)).get("removals") or [])
        if full:
            self.processor.begin_scope(scope)
        pages = self.client.messages_delta(user_id, folder_id, link, select=MESSAGE_FIELDS)
        async for page in pages:
            removals |= await self._apply_page(user_id, folder_id, page.items, full=full)
            self.linker.stage()
            if page.is_last and full:
                await self.processor.complete_scope(scope)
            await self.sync_point.update_sync_point(
                key,
                {
                    "deltaLink": page.delta_link,
                    "nextLink": page.next_link,
                    "fullRound": full and not page.is_last,
                    "filterKey": self.filters.key(),
                    "removals": sorted(removals),
                },
            )

    async def _apply_removals(self, user_id: str, folder_id: str) -> None:
        """Delete what the folder's rounds reported removed, unless it now lives in another folder."""
        key = folder_key(user_id, folder_id)
        removals = (await self.sync_point.read_sync_point(key)).get("removals") or []
        if not removals:
            return
        scope = mapping.folder_scope(user_id, folder_id)
        doomed = [r for r in self._stored(list(removals)).values() if r.external_record_group_id == scope]
        if doomed:
            await self.processor.on_records_deleted_cascade([r.id for r in doomed], self.connector_id)
        for record in doomed:  # the chains are mended once the records are gone, with the cleared list
            self.linker.touched(user_id, getattr(record, "thread_id", None))
        self.linker.stage()
        await self.sync_point.update_sync_point(key, {"removals": []})

    async def _apply_page(
        self, user_id: str, folder_id: str, items: Sequence[Mapping[str, Any]], *, full: bool
    ) -> set[str]:
        """Hand in the page's messages (and their attachments); returns the ids it reported removed."""
        scope = mapping.folder_scope(user_id, folder_id)
        latest: dict[str, Mapping[str, Any]] = {}
        for item in items:  # the same message may come twice in a round: the last one wins
            if isinstance(item.get("id"), str):
                latest.pop(item["id"], None)
                latest[item["id"]] = item
        stored = self._stored(list(latest))
        removed = {i for i, item in latest.items() if "@removed" in item}
        batch: list[tuple[Record, list[Permission]]] = []
        for message_id, message in latest.items():
            if "@removed" in message:
                continue
            if not self.filters.wants_message(message):
                self.processor.record_skipped()
                continue
            try:
                record = mapping.mail_record(user_id, folder_id, message)
            except Exception as exc:  # one bad message never stops the folder
                self.processor.record_failure(
                    message_id, f"cannot map the message: {exc}", message.get("subject")
                )
                continue
            batch.append((record, []))
            self.linker.added(user_id, record.thread_id, message_id)
            previous = stored.get(message_id)
            unchanged = (
                previous is not None
                and previous.external_revision_id == record.external_revision_id
                and previous.external_record_group_id == record.external_record_group_id
            )
            if unchanged and previous is not None:
                if full:
                    self.processor.mark_seen(scope, self._attachment_ids(previous))
            elif message.get("hasAttachments"):
                batch.extend(await self._attachments(user_id, record))
        if batch:
            await self.processor.on_new_records(batch)
        return removed

    async def _attachments(self, user_id: str, message: MailRecord) -> list[tuple[Record, list[Permission]]]:
        found: list[tuple[Record, list[Permission]]] = []
        try:
            async for attachment in self.client.message_attachments(user_id, message.external_record_id):
                if mapping.is_indexable_attachment(attachment):
                    found.append((mapping.attachment_record(message, attachment), []))
        except NotFoundError:
            pass  # removed since the delta round listed it: the next round reports it
        return found

    def _stored(self, external_ids: list[str]) -> dict[str, Record]:
        if not external_ids:
            return {}
        self.processor.flush_now()
        with self.processor.store.read() as tx:
            return dict(tx.get_records_by_external_ids(self.connector_id, external_ids))

    def _attachment_ids(self, message: Record) -> list[str]:
        with self.processor.store.read() as tx:
            edges = tx.get_edges(
                RELATIONS, from_ids=[f"records/{message.id}"], kind=RecordRelations.ATTACHMENT.value
            )
            keys = [str(e["_to"]).split("/", 1)[1] for e in edges]
            return [r.external_record_id for r in tx.get_records(keys).values()]


def folder_key(user_id: str, folder_id: str) -> str:
    return f"outlook/users/{user_id}/mailFolders/{folder_id}"
