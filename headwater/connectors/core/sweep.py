"""Mark and sweep, for scopes a connector listed completely, with the mass-deletion brake.

`begin_scope(scope_id)` notes the records seen in the scope during this run; `complete_scope`
deletes the unseen ones (with `deleteRecord` events) in one transaction with the buffered page —
unless that would delete more than `mass_deletion_threshold` of the scope, in which case they are
quarantined until an admin confirms (`confirm_quarantined_deletions`) or releases them. A mixin of
`DataSourceEntitiesProcessor`; the processor's module docstring states the whole contract.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from headwater.connectors.core.graph_writes import (
    BELONGS_TO,
    QUARANTINE_REASON,
    QUARANTINE_SCOPE,
    QUARANTINED_AT,
    RECORD_GROUPS,
    RECORDS,
    _announce_access_change,
    _without_quarantine,
)
from headwater.connectors.core.stats import SweepResult
from headwater.models.entities import (
    Record,
)
from headwater.models.timeutil import now_ms
from headwater.store.base import Transaction

T = TypeVar("T")


@dataclass(slots=True)
class _Scope:
    """A scope being listed in this run: which external ids were seen in it."""

    scope_id: str
    group_ids: frozenset[str]
    whole_connector: bool
    seen: set[str] = field(default_factory=set)


class SweepMixin:
    """The scope-tracking half of the processor."""

    connector_id: str
    logger: logging.Logger
    mass_deletion_threshold: float
    mass_deletion_min_count: int
    _scopes: dict[str, _Scope]

    if TYPE_CHECKING:

        def _commit(self, op: Callable[[Transaction], T] | None) -> T | None: ...

        def _read(self, fn: Callable[[Transaction], T]) -> T: ...

        def _delete_records(self, tx: Transaction, keys: Sequence[str]) -> int: ...

    # ---- mark and sweep --------------------------------------------------------------------------

    def begin_scope(
        self,
        scope_id: str,
        *,
        record_group_ids: Iterable[str] | None = None,
        whole_connector: bool = False,
    ) -> None:
        """Start listing a scope completely: from now on the processor notes which records (by
        external id) are seen in it. A record is seen in the scope when it is handed in
        (`on_new_records`, moves, content / metadata / permission updates) with its
        `external_record_group_id` among the scope's record groups (by default just `scope_id`;
        `record_group_ids` names others), or, with `whole_connector`, any record of this connector;
        `mark_seen` notes items the connector did not hand in (unchanged ones it skipped), and a
        failed item (`record_failure`) counts as seen. Beginning a scope again starts afresh."""
        groups = frozenset(record_group_ids) if record_group_ids is not None else frozenset({scope_id})
        self._scopes[scope_id] = _Scope(scope_id, groups, whole_connector)

    def mark_seen(self, scope_id: str, external_ids: Iterable[str]) -> None:
        """Note items as present in the source without handing them in. Ignored for a scope that
        was not begun."""
        scope = self._scopes.get(scope_id)
        if scope is not None:
            scope.seen.update(str(e) for e in external_ids)

    def abandon_scope(self, scope_id: str) -> bool:
        """Forget a scope whose listing did not finish: nothing of it will be swept."""
        return self._scopes.pop(scope_id, None) is not None

    @property
    def open_scopes(self) -> list[str]:
        return list(self._scopes)

    def _mark_seen_record(self, record: Record) -> None:
        if not self._scopes or record.connector_id != self.connector_id:
            return
        group = record.external_record_group_id
        for scope in self._scopes.values():
            if scope.whole_connector or (group is not None and group in scope.group_ids):
                scope.seen.add(record.external_record_id)

    async def complete_scope(self, scope_id: str) -> SweepResult:
        """The connector listed the scope completely: delete its records that were not seen, with
        `deleteRecord` events, in one transaction with everything buffered. Subject to the
        mass-deletion brake: when the deletions would exceed `mass_deletion_threshold` of the
        scope's records, nothing is deleted; the records are quarantined instead (marked on their
        document, no events) until `confirm_quarantined_deletions` or `release_quarantine`. A
        quarantined record is never deleted by a later sweep; one seen again loses its mark. A
        scope that was never begun is not swept (`swept=False`)."""
        scope = self._scopes.get(scope_id)
        if scope is None:
            self.logger.warning(
                "connector %s: complete_scope(%r) for a scope that was not begun; nothing swept",
                self.connector_id,
                scope_id,
            )
            return SweepResult(scope_id=scope_id, swept=False)

        def op(tx: Transaction) -> SweepResult:
            members = self._scope_members(tx, scope)
            result = SweepResult(scope_id=scope_id, total=len(members), seen=len(scope.seen))
            unseen: dict[str, dict[str, Any]] = {}
            released: list[dict[str, Any]] = []
            for key, doc in members.items():
                ext = str(doc.get("externalRecordId"))
                if ext in scope.seen:
                    if doc.get(QUARANTINED_AT):
                        released.append(doc)
                elif doc.get(QUARANTINED_AT):
                    result.still_quarantined.append(ext)
                else:
                    unseen[key] = doc
            if released:
                tx.upsert_nodes(RECORDS, [_without_quarantine(d) for d in released])
                result.released = sorted(str(d.get("externalRecordId")) for d in released)
                _announce_access_change(tx, [f"{RECORDS}/{d['_key']}" for d in released])
            gone = sorted(str(d.get("externalRecordId")) for d in unseen.values())
            if (
                len(unseen) > self.mass_deletion_threshold * len(members)
                and len(unseen) > self.mass_deletion_min_count
            ):
                reason = (
                    f"the listing of scope {scope_id!r} no longer had {len(unseen)} of its "
                    f"{len(members)} records (more than {self.mass_deletion_threshold:.0%}); "
                    "deletion waits for an administrator's confirmation"
                )
                now = now_ms()
                tx.upsert_nodes(
                    RECORDS,
                    [
                        {**d, QUARANTINED_AT: now, QUARANTINE_REASON: reason, QUARANTINE_SCOPE: scope_id}
                        for d in unseen.values()
                    ],
                )
                result.quarantined, result.braked = gone, True
                # search hides quarantined records: the index takes their principals away
                _announce_access_change(tx, [f"{RECORDS}/{k}" for k in unseen])
                self.logger.warning("connector %s: mass-deletion brake: %s", self.connector_id, reason)
            elif unseen:
                self._delete_records(tx, sorted(unseen))
                result.deleted = gone
            result.still_quarantined.sort()
            return result

        result = self._commit(op)
        assert result is not None
        self._scopes.pop(scope_id, None)
        return result

    def _scope_members(self, tx: Transaction, scope: _Scope) -> dict[str, dict[str, Any]]:
        """key -> `records` document of the scope's records of this connector, placeholders aside."""
        if scope.whole_connector:
            docs = {str(d["_key"]): d for d in tx.find_nodes(RECORDS, connector_id=self.connector_id)}
        else:
            groups = tx.get_nodes_by_external_ids(RECORD_GROUPS, self.connector_id, sorted(scope.group_ids))
            group_ids = sorted(f"{RECORD_GROUPS}/{d['_key']}" for d in groups.values())
            sources = tx.edge_sources(BELONGS_TO, group_ids) if group_ids else set()
            keys = sorted(n.split("/", 1)[1] for n in sources if n.startswith(f"{RECORDS}/"))
            docs = tx.get_nodes(RECORDS, keys)
        return {
            k: d
            for k, d in docs.items()
            if d.get("connectorId") == self.connector_id and not d.get("isPlaceholder")
        }

    def _quarantined_docs(self, tx: Transaction, scope_id: str | None) -> list[dict[str, Any]]:
        return [
            d
            for d in tx.find_nodes(RECORDS, connector_id=self.connector_id)
            if d.get(QUARANTINED_AT) and (scope_id is None or d.get(QUARANTINE_SCOPE) == scope_id)
        ]

    async def get_quarantined(self, scope_id: str | None = None) -> list[dict[str, Any]]:
        """The quarantined records of this connector (of one scope): external id, name, when, why."""
        docs = self._read(lambda tx: self._quarantined_docs(tx, scope_id))
        return sorted(
            (
                {
                    "recordId": d["_key"],
                    "externalRecordId": d.get("externalRecordId"),
                    "recordName": d.get("recordName"),
                    QUARANTINED_AT: d.get(QUARANTINED_AT),
                    QUARANTINE_REASON: d.get(QUARANTINE_REASON),
                    QUARANTINE_SCOPE: d.get(QUARANTINE_SCOPE),
                }
                for d in docs
            ),
            key=lambda e: str(e["externalRecordId"]),
        )

    async def confirm_quarantined_deletions(self, scope_id: str | None = None) -> list[str]:
        """An administrator confirms: delete the quarantined records (of one scope, or all of this
        connector's) with `deleteRecord` events. Returns their external ids."""

        def op(tx: Transaction) -> list[str]:
            docs = self._quarantined_docs(tx, scope_id)
            self._delete_records(tx, [str(d["_key"]) for d in docs])
            return sorted(str(d.get("externalRecordId")) for d in docs)

        return self._commit(op) or []

    async def release_quarantine(self, scope_id: str | None = None) -> list[str]:
        """The records come back: clear the quarantine mark (of one scope, or all). No record events:
        they were never deleted; an `updatePermissions` each, so search shows them again. Returns their
        external ids."""

        def op(tx: Transaction) -> list[str]:
            docs = self._quarantined_docs(tx, scope_id)
            if docs:
                tx.upsert_nodes(RECORDS, [_without_quarantine(d) for d in docs])
                _announce_access_change(tx, [f"{RECORDS}/{d['_key']}" for d in docs])
            return sorted(str(d.get("externalRecordId")) for d in docs)

        return self._commit(op) or []
