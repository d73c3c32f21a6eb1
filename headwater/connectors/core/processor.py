"""The processor: how connectors write records, groups, users and permissions into the graph.

`DataSourceEntitiesProcessor` keeps the playbook's contract (reference §3) and fixes its flaws.

One transaction, data and events together (transactional outbox). Every write lands in one store
transaction with the `record-events` it causes (`newRecord`, `updateRecord`, `deleteRecord`,
`reindexRecord`) and, for a sync, the sync point that covers it. An event is never published for
data that was not written, and data is never written without its event. A record that gets an
event gets `indexingStatus: QUEUED` in the same transaction; nothing needs a compare-and-set later.

Write-behind, so that a page and its sync point commit together without changing connector code.
Connectors do, page after page:

    await processor.on_new_records(page)          # buffered in memory, not written yet
    await sync_point.update_sync_point(key, {...}) # flush: page + edges + events + sync point, ONE tx

`on_new_records` only buffers (in the caller's order). `SyncPoint.update_sync_point` stages its
write with the processor and flushes: everything buffered so far and every staged sync point
commit in one transaction. Consequences:
  * a sync point never commits before the records it covers: a crash can never skip a page;
  * a crash before the commit loses the page and its cursor together, so the page is fetched again;
    records that did commit earlier (see the bound below) are unchanged on that replay and write
    nothing and emit nothing, so a replay has no visible effect.
The buffer is bounded: at `flush_threshold` records (1,000) it is flushed on its own, without a
sync point (safe by the argument above). Every other write method and every reader flushes first,
in the same transaction as its own work for writers, so reads see buffered writes and writes stay in
call order. The engine calls `await processor.flush()` at the end of a sync; connectors may too.
If a flush fails, nothing of it was written and the buffer (with the staged sync points) is kept
and retried by the next flush; the error goes to the caller.

Rules of the record upsert (`on_new_records`, reference §3.1, with our fixes):
  * Identity is (connector id, external record id); an existing record keeps its key.
  * A changed revision (`external_revision_id`; without one, `md5_hash`, else
    `source_updated_at`) bumps the version and emits `updateRecord`; a new record emits
    `newRecord`; a placeholder promoted by the real record emits `newRecord`.
  * An unchanged record writes nothing and emits nothing: stored lifecycle fields (indexing
    status, timestamps, version, virtual record id, ...) are carried forward, and a record whose
    documents equal the stored ones is not passed to the store at all. A metadata-only change
    (a rename) is written, but emits nothing.
  * Permissions on a record are REPLACED by what the source reports now; a grant the source no
    longer reports disappears. Unknown users are not dropped: a user grant to an unknown email goes
    to an inactive `users` node with that email, so access appears when the person joins; a grant
    to an unknown group or role goes to a placeholder node with that identity.
  * Late-arriving parents: a child whose parent is unknown creates a placeholder parent; the real
    parent later takes over that node in place (same key; the child edges stay attached).
  * AUTO_INDEX_OFF, internal and placeholder records are written without an event.

One bad item never aborts a run. Every record handed in is checked (external id, grants that
name a principal); a bad one is recorded in `failures` (`ItemFailure`, also `stats.failed`) and
skipped, the rest of the page goes on. If a flush still fails, the buffered items are checked in
depth (can each be serialised?); the culprits are recorded and dropped and the flush is retried
once; a failure with no culprit (the store is down) goes to the caller with the buffer kept.
`stats` (`SyncStats`) counts per committed record (see `stats.py`); `reset_stats()` starts a run.

Deletions. Tombstones: `on_record_deleted_by_external_id`. Mark and sweep, only for scopes listed
completely: `begin_scope(scope_id)` notes the records seen in the scope (by default those whose
`external_record_group_id` is `scope_id`; `record_group_ids=` / `whole_connector=` widen it; members
in the store are found through their `belongsTo` edges), `mark_seen` notes items not handed in,
`complete_scope(scope_id)` deletes the unseen ones with `deleteRecord` events in one transaction
with the buffer, and returns a `SweepResult`. A scope never begun or never completed is never swept.
The mass-deletion brake: a sweep that would delete more than `mass_deletion_threshold` (20 %) of the
scope's records, and more than `mass_deletion_min_count` (1) records, deletes nothing; it marks them
quarantined on their `records` document (`quarantinedAt`, `quarantineReason`, `quarantineScope`; no
events) until `confirm_quarantined_deletions` (deleted, with events) or `release_quarantine`. A
later sweep never deletes a quarantined record; one seen again loses its mark.

Indexing filters (reference §2.8): with `indexing_filters` set (`load_filters()`), a record whose
type's key is disabled, or every record when `enable_manual_sync` is on, is written AUTO_INDEX_OFF
and gets no event.

Edges written here (README "Decisions you will notice"): `belongsTo` record -> recordGroup,
recordGroup -> parent recordGroup | app, recordGroup -> organization, user -> group | role |
organization, group -> group (nested); `inheritPermissions` record -> recordGroup and recordGroup ->
parent recordGroup; `permissions` principal -> record | recordGroup with `role` and `type`;
`recordRelations` parent -> child with `relationshipType` PARENT_CHILD or ATTACHMENT;
`userAppRelation` user -> app. Edges are compared with what is stored (timestamps aside) and only
differences are written.

The store is synchronous; every public method is `async` for the playbook's sake and runs its
transaction without awaiting inside it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from headwater.connectors.core.data_store import DataStoreProvider
from headwater.connectors.core.filters import (
    FilterCollection,
    indexing_enabled_for,
    load_connector_filters,
)
from headwater.connectors.core.graph_writes import (
    BELONGS_TO,
    CONTAINMENT,
    DEFAULT_FLUSH_THRESHOLD,
    DEFAULT_MASS_DELETION_MIN_COUNT,
    DEFAULT_MASS_DELETION_THRESHOLD,
    GROUPS,
    MAX_REASON_CHARS,
    PERMISSIONS,
    RECORD_EVENTS,
    RECORD_GROUPS,
    RECORDS,
    RELATIONS,
    ROLES,
    USER_APP,
    USERS,
    _announce_access_change,
    _delete_identity,
    _delete_payload,
    _describe,
    _item_problem,
    _write_edge_diff,
    _write_problem,
)
from headwater.connectors.core.principals import PrincipalsMixin
from headwater.connectors.core.record_writes import RecordWritesMixin, _Item
from headwater.connectors.core.stats import ItemFailure, SweepResult, SyncStats
from headwater.connectors.core.sweep import SweepMixin, _Scope
from headwater.models.constants import (
    Connectors,
    EventTypes,
    ProgressStatus,
    RecordType,
)
from headwater.models.documents import plain
from headwater.models.entities import (
    AppRole,
    AppUser,
    AppUserGroup,
    Record,
    RecordGroup,
    User,
)
from headwater.models.permission import Permission, PermissionType
from headwater.models.timeutil import now_ms
from headwater.store.base import GraphStore, Transaction

__all__ = ["DataSourceEntitiesProcessor", "ItemFailure", "SweepResult", "SyncStats"]

T = TypeVar("T")


class DataSourceEntitiesProcessor(SweepMixin, RecordWritesMixin, PrincipalsMixin):
    """Writes what a connector reports into the graph store, with its events, in transactions."""

    def __init__(
        self,
        logger: logging.Logger,
        data_store_provider: DataStoreProvider,
        config_service: Any = None,
        connector_id: str = "",
        connector_name: Connectors | str | None = None,
        *,
        flush_threshold: int = DEFAULT_FLUSH_THRESHOLD,
        mass_deletion_threshold: float = DEFAULT_MASS_DELETION_THRESHOLD,
        mass_deletion_min_count: int = DEFAULT_MASS_DELETION_MIN_COUNT,
        indexing_filters: FilterCollection | None = None,
    ) -> None:
        self.logger = logger
        self.data_store_provider = data_store_provider
        self.config_service = config_service
        self.connector_id = connector_id or data_store_provider.connector_id
        self.connector_name = connector_name
        self.org_id = ""
        self.flush_threshold = max(1, flush_threshold)
        self._buffer: list[_Item] = []
        self._staged: dict[Hashable, Callable[[Transaction], None]] = {}
        # the brake: a sweep that would delete more than this share of a scope's records (and more
        # than `mass_deletion_min_count` records) quarantines them instead
        self.mass_deletion_threshold = mass_deletion_threshold
        self.mass_deletion_min_count = max(0, mass_deletion_min_count)
        # indexing filters (reference §2.8): records they turn off are written AUTO_INDEX_OFF
        self.indexing_filters: FilterCollection | None = indexing_filters
        self.sync_filters: FilterCollection | None = None
        self.stats = SyncStats()
        self.failures: list[ItemFailure] = []
        self._tally: SyncStats | None = None  # counts of the transaction in progress
        self._scopes: dict[str, _Scope] = {}
        if data_store_provider.processor is None:
            data_store_provider.processor = self
        if not data_store_provider.connector_id:
            data_store_provider.connector_id = self.connector_id

    @property
    def store(self) -> GraphStore:
        return self.data_store_provider.store

    async def initialize(self, org_id: str | None = None) -> None:
        """Take the organisation: `org_id`, else the first organisation in the store."""
        if org_id:
            self.org_id = org_id
            return
        with self.store.read() as tx:
            orgs = tx.find_nodes("organizations", limit=1)
        self.org_id = str(orgs[0]["_key"]) if orgs else ""
        if not self.org_id:
            self.logger.warning("no organisation in the store yet; records are written without an org id")

    async def load_filters(self) -> tuple[FilterCollection, FilterCollection]:
        """Load this instance's (sync, indexing) filters from its config and use the indexing ones
        from now on. Without a config service both are empty."""
        if self.config_service is None:
            sync, indexing = FilterCollection(), FilterCollection()
        else:
            sync, indexing = await load_connector_filters(
                self.config_service, str(plain(self.connector_name) or ""), self.connector_id
            )
        self.sync_filters, self.indexing_filters = sync, indexing
        return sync, indexing

    # ---- stats and the failure ledger ------------------------------------------------------------

    def reset_stats(self) -> None:
        """Start counting afresh (a new run): zero the stats and empty the failure ledger."""
        self.stats = SyncStats()
        self.failures = []

    def record_failure(self, external_id: str, reason: str, record_name: str | None = None) -> None:
        """Record a bad item and skip it: the run goes on. Counts in `stats.failed`. The item counts
        as seen in every open scope, so a sweep never deletes a record because it failed this time."""
        ext = str(external_id or "")
        reason = str(reason)[:MAX_REASON_CHARS]
        self.failures.append(ItemFailure(ext, reason, now_ms(), record_name))
        self.stats.failed += 1
        if ext:
            for scope in self._scopes.values():
                scope.seen.add(ext)
        self.logger.warning(
            "connector %s: item %r skipped: %s", self.connector_id, record_name or ext, reason
        )

    def record_skipped(self, count: int = 1) -> None:
        """Count items the connector chose not to hand in (its sync filters)."""
        self.stats.skipped += max(0, count)

    def _count(self) -> SyncStats:
        return self._tally if self._tally is not None else self.stats

    # ---- buffering and transactions --------------------------------------------------------------

    @property
    def pending_records(self) -> int:
        return len(self._buffer)

    def stage_write(self, key: Hashable, op: Callable[[Transaction], None]) -> None:
        """Stage a write (a sync point) to commit with the next flush, after the buffered records.
        A later write with the same key replaces the earlier one."""
        self._staged.pop(key, None)
        self._staged[key] = op

    def discard(self) -> int:
        """Drop buffered, uncommitted writes and staged sync points (a cancelled sync): what was
        committed stays, and the next run fetches the dropped page again. Returns how many
        records were dropped."""
        dropped = len(self._buffer)
        self._buffer.clear()
        self._staged.clear()
        return dropped

    async def flush(self) -> None:
        """Commit the buffered records and staged writes in one transaction."""
        self.flush_now()

    def flush_now(self) -> None:
        if self._buffer or self._staged:
            self._commit(None)

    def _commit(self, op: Callable[[Transaction], T] | None) -> T | None:
        """One transaction: the buffered records, the staged writes, then `op`. On failure nothing
        was written and the buffer and staged writes are kept for the next attempt; if the failure
        comes from bad buffered items, they are recorded as failures, dropped, and the rest is
        committed at once (one bad item never blocks its page)."""
        try:
            return self._commit_once(op)
        except Exception:
            if not self._drop_bad_items():
                raise
            return self._commit_once(op)

    def _commit_once(self, op: Callable[[Transaction], T] | None) -> T | None:
        items, staged = self._buffer, self._staged
        self._buffer, self._staged = [], {}
        tally = self._tally = SyncStats()
        try:
            with self.store.transaction() as tx:
                if items:
                    self._apply_records(tx, items)
                for write in staged.values():
                    write(tx)
                result = op(tx) if op is not None else None
        except BaseException:
            self._buffer = items + self._buffer
            staged.update(self._staged)
            self._staged = staged
            raise
        finally:
            self._tally = None
        self.stats.add(tally)
        return result

    def _drop_bad_items(self) -> bool:
        """After a failed flush: find the buffered items that cannot be written, record them as
        failures and drop them. True if any was found (then the flush is worth retrying)."""
        kept: list[_Item] = []
        found = False
        for item in self._buffer:
            problem = _item_problem(item.record, item.permissions) or _write_problem(item.record)
            if problem is None:
                kept.append(item)
            else:
                found = True
                self.record_failure(
                    str(getattr(item.record, "external_record_id", "") or ""),
                    problem,
                    getattr(item.record, "record_name", None),
                )
        self._buffer = kept
        return found

    def _normalise(self, record: Record) -> Record:
        if not record.org_id:
            record.org_id = self.org_id
        if not record.connector_id:
            record.connector_id = self.connector_id
        if self.connector_name is not None and record.connector_name == Connectors.UNKNOWN:
            record.connector_name = self.connector_name
        if self.indexing_filters is not None and not indexing_enabled_for(record, self.indexing_filters):
            record.indexing_status = ProgressStatus.AUTO_INDEX_OFF
        return record

    def _hand_in(self, record: Any, permissions: Any) -> Record | None:
        """Check one handed-in record (cheaply); a bad one is recorded as a failure and None is
        returned. A good one is normalised, counted as discovered and noted as seen."""
        self.stats.discovered += 1
        problem = _item_problem(record, permissions)
        if problem is not None:
            self.record_failure(
                str(getattr(record, "external_record_id", "") or ""),
                problem,
                getattr(record, "record_name", None),
            )
            return None
        try:
            self._normalise(record)
        except Exception as exc:
            self.record_failure(record.external_record_id, _describe(exc), record.record_name)
            return None
        self._mark_seen_record(record)
        return record  # type: ignore[no-any-return]

    # ---- records -------------------------------------------------------------------------------

    async def on_new_records(
        self, records_with_permissions: Sequence[tuple[Record, list[Permission]]]
    ) -> None:
        """Upsert records with their permissions (replaced). Buffered; see the module docstring."""
        if not records_with_permissions:
            self.logger.warning("on_new_records called with no records")
            return
        for entry in records_with_permissions:
            try:
                record, permissions = entry
            except (TypeError, ValueError):
                self.stats.discovered += 1
                self.record_failure("", f"not a (record, permissions) pair: {type(entry).__name__}")
                continue
            if self._hand_in(record, permissions) is not None:
                self._buffer.append(_Item(record, list(permissions or [])))
        if len(self._buffer) >= self.flush_threshold:
            self.flush_now()

    async def on_record_content_update(self, record: Record) -> None:
        """The record's content changed: write it and emit `updateRecord` (unless AUTO_INDEX_OFF).
        Its permissions are left as they are."""
        if self._hand_in(record, None) is None:
            return
        item = _Item(record, None, mode="content")
        self._commit(lambda tx: self._apply_records(tx, [item]))

    async def on_record_metadata_update(self, record: Record) -> None:
        """Metadata only (name, url, group, parent): written without an event. The stored revision and
        indexing lifecycle are kept, so a later content change is still noticed."""
        if self._hand_in(record, None) is None:
            return
        item = _Item(record, None, mode="metadata")
        self._commit(lambda tx: self._apply_records(tx, [item]))

    async def on_updated_record_permissions(self, record: Record, permissions: list[Permission]) -> None:
        """Replace the record's permissions. No record write and no event, unless the record is not
        in the store yet: then it is written as a new record (with `newRecord`)."""
        if self._hand_in(record, permissions) is None:
            return

        def op(tx: Transaction) -> None:
            stored = tx.get_record_by_external_id(record.connector_id, record.external_record_id)
            if stored is None:
                self._apply_records(tx, [_Item(record, list(permissions))])
                return
            record.id = stored.id
            if record.external_record_group_id or record.record_group_id:
                self._resolve_record_groups(tx, [record])
                self._link_to_groups(tx, [record])
            self._replace_permissions(tx, [(f"{RECORDS}/{record.id}", list(permissions))])

        self._commit(op)

    async def on_records_moved(self, moves: Sequence[tuple[str, Record, list[Permission]]]) -> None:
        """Renames / moves: the record found by its old external id is updated in place (same key).
        A changed revision emits `updateRecord`; a record not found is written as new."""
        items = [
            _Item(record, list(permissions or []), old_external_id=old)
            for old, record, permissions in moves
            if self._hand_in(record, permissions) is not None
        ]
        if items:
            self._commit(lambda tx: self._apply_records(tx, items))

    async def on_record_deleted(self, record_id: str) -> bool:
        """Delete the record with this internal key (not its children) and emit `deleteRecord`."""
        return bool(self._commit(lambda tx: self._delete_records(tx, [record_id]) > 0))

    async def on_record_deleted_by_external_id(self, connector_id: str, external_id: str) -> bool:
        """Delete the record with this external id: what connectors reading a change feed have."""

        def op(tx: Transaction) -> bool:
            record = tx.get_record_by_external_id(connector_id or self.connector_id, external_id)
            return record is not None and self._delete_records(tx, [record.id]) > 0

        return bool(self._commit(op))

    async def on_records_deleted_cascade(
        self, record_ids: Sequence[str], connector_id: str
    ) -> dict[str, Any]:
        """Delete records and everything they contain (PARENT_CHILD / ATTACHMENT), within the connector."""
        requested = list(dict.fromkeys(record_ids))

        def op(tx: Transaction) -> dict[str, Any]:
            roots = {
                k: d
                for k, d in tx.get_nodes(RECORDS, requested).items()
                if d.get("connectorId") == connector_id
            }
            found = set(roots)
            frontier = [f"{RECORDS}/{k}" for k in roots]
            while frontier:
                edges = tx.get_edges(RELATIONS, from_ids=frontier)
                child_keys = [
                    e["_to"].split("/", 1)[1]
                    for e in edges
                    if e.get("relationshipType") in CONTAINMENT and e["_to"].startswith(f"{RECORDS}/")
                ]
                docs = tx.get_nodes(RECORDS, [k for k in child_keys if k not in found])
                new = [k for k, d in docs.items() if d.get("connectorId") == connector_id]
                found.update(new)
                frontier = [f"{RECORDS}/{k}" for k in new]
            deleted = self._delete_records(tx, sorted(found))
            failed = [k for k in requested if k not in roots]
            return {
                "success": not failed,
                "deleted_records": sorted(found),
                "failed_records": failed,
                "total_requested": len(requested),
                "successfully_deleted": deleted,
                "failed_count": len(failed),
            }

        result = self._commit(op)
        assert result is not None
        return result

    async def reindex_existing_records(self, records: Sequence[Record]) -> int:
        """Emit `reindexRecord` (forceReindex) for the records that exist; they become QUEUED."""
        keys = list(dict.fromkeys(r.id for r in records))

        def op(tx: Transaction) -> int:
            stored = tx.get_records(keys)
            chosen = [
                r for r in (stored[k] for k in keys if k in stored) if not (r.is_internal or r.is_placeholder)
            ]
            for r in chosen:
                r.indexing_status = ProgressStatus.QUEUED
                r.updated_at = now_ms()
            tx.upsert_records(chosen)
            tx.append_events(
                RECORD_EVENTS,
                [
                    (r.id, EventTypes.REINDEX_RECORD.value, {**r.to_kafka_record(), "forceReindex": True})
                    for r in chosen
                ],
            )
            return len(chosen)

        result = self._commit(op)
        return result or 0

    async def add_permission_to_record(self, record: Record, permissions: list[Permission]) -> None:
        """Add grants to a record, keeping the ones it has (a grant to the same principal is replaced)."""
        self._normalise(record)

        def op(tx: Transaction) -> None:
            stored = tx.get_record_by_external_id(record.connector_id, record.external_record_id)
            key = stored.id if stored is not None else record.id
            target = f"{RECORDS}/{key}"
            desired = self._permission_edges(tx, [(target, permissions)])[target]
            existing = tx.get_edges(PERMISSIONS, to_ids=[target])
            _write_edge_diff(tx, PERMISSIONS, desired, existing, delete_missing=False)

        self._commit(op)

    async def delete_permission_from_record(self, record_id: str, user_email: str) -> bool:
        def op(tx: Transaction) -> bool:
            user = tx.get_node_by_external_id(USERS, "", user_email)
            if user is None:
                return False
            target = f"{RECORDS}/{record_id}"
            removed = tx.delete_edges(PERMISSIONS, from_id=f"{USERS}/{user['_key']}", to_id=target) > 0
            if removed:  # the search index must narrow the record's principals too
                _announce_access_change(tx, [target])
            return removed

        return bool(self._commit(op))

    # ---- record groups -------------------------------------------------------------------------

    async def on_new_record_groups(self, groups: Sequence[tuple[RecordGroup, list[Permission]]]) -> None:
        """Upsert record groups; their permissions are replaced; parents linked (placeholder if unknown)."""
        if groups:
            self._commit(lambda tx: self._apply_record_groups(tx, list(groups)))

    async def on_record_group_deleted(self, external_group_id: str, connector_id: str) -> bool:
        return bool(
            self._commit(lambda tx: _delete_identity(tx, RECORD_GROUPS, connector_id, external_group_id))
        )

    # ---- users, groups, roles ------------------------------------------------------------------

    async def on_new_app_users(self, users: Sequence[AppUser]) -> None:
        """Users by email (created inactive when unknown) linked to the organisation and this app."""
        if users:
            self._commit(lambda tx: self._apply_app_users(tx, list(users)))

    async def on_new_user_groups(
        self, groups: Sequence[tuple[AppUserGroup, Sequence[AppUser | AppUserGroup]]]
    ) -> None:
        """Upsert groups; each group's membership is REPLACED by the members given (users, or groups
        for nesting)."""
        if groups:
            self._commit(lambda tx: self._apply_principal_groups(tx, GROUPS, list(groups)))

    async def on_new_app_roles(self, roles: Sequence[tuple[AppRole, Sequence[AppUser]]]) -> None:
        """Upsert roles; each role's membership is REPLACED by the users given."""
        if roles:
            self._commit(lambda tx: self._apply_principal_groups(tx, ROLES, list(roles)))

    async def on_user_group_member_added(
        self,
        external_group_id: str,
        user_email: str,
        permission_type: PermissionType | str = PermissionType.READ,
        connector_id: str = "",
    ) -> bool:
        connector_id = connector_id or self.connector_id

        def op(tx: Transaction) -> bool:
            group_key = self._principal_nodes(tx, GROUPS, connector_id, [external_group_id])[
                external_group_id
            ]
            user_key = self._users_by_email(tx, [user_email])[user_email.lower()]
            edge = {"_from": f"{USERS}/{user_key}", "_to": f"{GROUPS}/{group_key}"}
            existing = tx.get_edges(BELONGS_TO, from_id=edge["_from"], to_id=edge["_to"])
            _write_edge_diff(tx, BELONGS_TO, [edge], existing, delete_missing=False)
            return True

        return bool(self._commit(op))

    async def on_user_group_member_removed(
        self, external_group_id: str, user_email: str, connector_id: str = ""
    ) -> bool:
        connector_id = connector_id or self.connector_id

        def op(tx: Transaction) -> bool:
            group = tx.get_node_by_external_id(GROUPS, connector_id, external_group_id)
            user = tx.get_node_by_external_id(USERS, "", user_email)
            if group is None or user is None:
                return False
            return (
                tx.delete_edges(
                    BELONGS_TO, from_id=f"{USERS}/{user['_key']}", to_id=f"{GROUPS}/{group['_key']}"
                )
                > 0
            )

        return bool(self._commit(op))

    async def on_user_group_deleted(self, external_group_id: str, connector_id: str = "") -> bool:
        connector_id = connector_id or self.connector_id
        return bool(self._commit(lambda tx: _delete_identity(tx, GROUPS, connector_id, external_group_id)))

    async def on_app_role_deleted(self, external_role_id: str, connector_id: str = "") -> bool:
        connector_id = connector_id or self.connector_id
        return bool(self._commit(lambda tx: _delete_identity(tx, ROLES, connector_id, external_role_id)))

    # ---- readers (each flushes first, so it sees buffered writes) ------------------------------

    def _read(self, fn: Callable[[Transaction], T]) -> T:
        self.flush_now()
        with self.store.read() as tx:
            return fn(tx)

    async def get_all_active_users(self) -> list[User]:
        docs = self._read(
            lambda tx: tx.find_nodes(USERS, org_id=self.org_id) if self.org_id else tx.find_nodes(USERS)
        )
        return [User.model_validate(d) for d in docs if d.get("isActive") and d.get("email")]

    async def get_all_app_users(self, connector_id: str = "") -> list[AppUser]:
        connector_id = connector_id or self.connector_id

        def fn(tx: Transaction) -> list[AppUser]:
            edges = tx.get_edges(USER_APP, to_ids=[f"apps/{connector_id}"])
            source_ids = {e["_from"].split("/", 1)[1]: e.get("sourceUserId") for e in edges}
            docs = tx.get_nodes(USERS, list(source_ids))
            return [
                AppUser(
                    app_name=self.connector_name or Connectors.UNKNOWN,
                    connector_id=connector_id,
                    id=key,
                    source_user_id=str(source_ids[key] or doc.get("userId") or ""),
                    org_id=str(doc.get("orgId") or ""),
                    email=str(doc.get("email") or ""),
                    full_name=doc.get("fullName"),
                    is_active=bool(doc.get("isActive")),
                )
                for key, doc in sorted(docs.items())
            ]

        return self._read(fn)

    async def get_record_by_external_id(self, connector_id: str, external_id: str) -> Record | None:
        return self._read(
            lambda tx: tx.get_record_by_external_id(connector_id or self.connector_id, external_id)
        )

    async def get_records_by_parent(
        self, connector_id: str, parent_external_record_id: str, record_type: RecordType | str | None = None
    ) -> list[Record]:
        connector_id = connector_id or self.connector_id

        def fn(tx: Transaction) -> list[Record]:
            parent = tx.get_record_by_external_id(connector_id, parent_external_record_id)
            keys: set[str] = set()
            if parent is not None:
                for e in tx.get_edges(RELATIONS, from_ids=[f"{RECORDS}/{parent.id}"]):
                    if e.get("relationshipType") in CONTAINMENT and e["_to"].startswith(f"{RECORDS}/"):
                        keys.add(e["_to"].split("/", 1)[1])
            # children whose edge is missing (written before their parent existed): by document field
            for doc in tx.find_nodes(RECORDS, connector_id=connector_id):
                if doc.get("externalParentId") == parent_external_record_id:
                    keys.add(str(doc["_key"]))
            records = tx.get_records(sorted(keys))
            wanted = plain(record_type) if record_type is not None else None
            return [r for r in records.values() if wanted is None or r.record_type.value == wanted]

        return self._read(fn)

    async def get_placeholder_records(
        self, connector_id: str = "", record_group_id: str | None = None
    ) -> list[Record]:
        connector_id = connector_id or self.connector_id

        def fn(tx: Transaction) -> list[Record]:
            keys = [
                str(d["_key"])
                for d in tx.find_nodes(RECORDS, connector_id=connector_id)
                if d.get("isPlaceholder")
                and (record_group_id is None or d.get("recordGroupId") == record_group_id)
            ]
            return list(tx.get_records(keys).values())

        return self._read(fn)

    async def get_record_group_by_external_id(
        self, connector_id: str, external_id: str
    ) -> RecordGroup | None:
        doc = self._read(
            lambda tx: tx.get_node_by_external_id(
                RECORD_GROUPS, connector_id or self.connector_id, external_id
            )
        )
        return RecordGroup.model_validate(doc) if doc is not None else None

    async def get_user_by_email(self, email: str) -> User | None:
        doc = self._read(lambda tx: tx.get_node_by_external_id(USERS, "", email))
        return User.model_validate(doc) if doc is not None else None

    # ---- deletion --------------------------------------------------------------------------------

    def _delete_records(self, tx: Transaction, keys: Sequence[str]) -> int:
        records = tx.get_records(list(keys))
        if not records:
            return 0
        deleted = tx.delete_records(list(records))
        self._count().deleted += deleted
        events = [
            (r.id, EventTypes.DELETE_RECORD.value, _delete_payload(r))
            for r in records.values()
            if not r.is_placeholder
        ]
        if events:
            tx.append_events(RECORD_EVENTS, events)
        return deleted
