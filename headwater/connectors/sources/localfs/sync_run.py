"""One sync of a Local FS instance: list every root, decide what changed (`reconcile`), hand the
changes to the processor folder by folder, write each folder's state, and sweep what is gone.

A folder's state is written after its records were handed in, once a page of records waits: the
first state written commits in one transaction with the page (`update_sync_point` commits the
buffered records and the sync point together), the others right after. A state never commits
before its records (see `state.py`). Unchanged entries are not handed in at all: an unchanged tree
costs a `stat` per entry and one query for all folder states, and writes nothing.

Deletions use the SDK's mark and sweep, so its mass-deletion brake applies: a root is swept when
the state shows something gone, when the root was never listed before (a first or full sync), or
when an earlier run set `sweepPending` and did not finish. Every root is listed completely on
every run; an entry that could not be read counts as seen, and what lies below a folder that could
not be listed is kept as recorded. A root removed from the configuration is swept as a whole (its
records are deleted, or quarantined by the brake until an administrator confirms) after its record
group lost its grants, so nobody sees them meanwhile. Headwater's own data is never read (see
`scan`): the paths the platform forbade are failures of the run, with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import ExitStack
from typing import Any

from headwater.connectors.sources.localfs import mapping
from headwater.connectors.sources.localfs.fsaccess import FsAccess
from headwater.connectors.sources.localfs.names import display_name, display_path, stored_path
from headwater.connectors.sources.localfs.reconcile import Decision, is_unchanged, kind_of, plan_changes
from headwater.connectors.sources.localfs.scan import ScannedFolder, Scanner, ScanResult
from headwater.connectors.sources.localfs.settings import LocalFsSettings, forbidden_paths
from headwater.connectors.sources.localfs.state import FolderState, StateEntry, StateStore
from headwater.models.entities import Record
from headwater.models.permission import Permission

# folder states are written once this many records wait to be committed (the processor flushes on
# its own at 1,000): pages of a few hundred records amortise the per-transaction cost
STATE_BATCH_RECORDS = 500


class LocalFsSync:
    def __init__(
        self,
        *,
        processor: Any,
        states: StateStore,
        fs: FsAccess,
        settings: LocalFsSettings,
        logger: logging.Logger,
    ) -> None:
        self.processor = processor
        self.states = states
        self.fs = fs
        self.settings = settings
        self.logger = logger
        self._unsaved: list[tuple[str, FolderState]] = []

    async def run(self, removed_roots: list[str]) -> None:
        self.states.load_all()
        try:
            await self._run(removed_roots)
        finally:
            self.states.unload()

    async def _run(self, removed_roots: list[str]) -> None:
        roots = [root.group_id for root in self.settings.roots]
        recorded = {group: await self.states.root(group) for group in roots}
        scan = ScanResult()
        scanner = Scanner(self.fs, self.states, self.settings.max_file_bytes, forbidden_paths())
        for root in self.settings.roots:
            await scanner.scan(root, scan)
        plan = await plan_changes(scan, self.states)

        pending = {g for g in roots if not recorded[g].get("listed") or recorded[g].get("sweepPending")}
        to_sweep = pending | {g for g in roots if plan.deleted.get(g)}
        flagged = (plan.dropping_roots & set(roots)) - pending
        for group in sorted(flagged):  # committed before any folder state forgets an entry
            await self.states.save_root(group, sweep_pending=True)
        for group in sorted(to_sweep):
            self.processor.begin_scope(group)

        for problem in scan.problems:
            self.processor.record_failure(problem.ext_id, problem.reason, display_name(problem.name))
        if scan.skipped:
            self.processor.record_skipped(scan.skipped)
        for folder, decisions in plan.folders:
            await self._apply_folder(folder, decisions, sweeping=folder.root.group_id in to_sweep)
        await self._save_states()
        for group in sorted(to_sweep):
            self.processor.mark_seen(group, plan.preserved.get(group, ()))
            result = await self.processor.complete_scope(group)
            if result.braked:
                self.logger.warning(
                    "local folders %s: %d records are gone from disk; held for an administrator's "
                    "confirmation (mass-deletion brake)",
                    group,
                    len(result.quarantined),
                )
        await self.states.forget_folders(plan.forgotten_folders)
        for group in sorted(pending | flagged):
            await self.states.save_root(group, sweep_pending=False)
        await self._retire(removed_roots)

    async def _apply_folder(
        self, folder: ScannedFolder, decisions: list[Decision], *, sweeping: bool
    ) -> None:
        settings, root = self.settings, folder.root
        if folder.clean:
            if sweeping:
                assert folder.old is not None
                self.processor.mark_seen(root.group_id, [e.ext_id for e in folder.old.entries.values()])
            return
        parent_ext_id = None if folder.is_root else folder.folder_id
        records: list[tuple[Record, list[Permission]]] = []
        unchanged: list[str] = []
        entries: dict[str, StateEntry] = {}
        with ExitStack() as opened:
            folder_fd: int | None = None
            for entry, decision in zip(folder.entries, decisions, strict=True):
                name = entry.stored
                if is_unchanged(entry, decision, settings.max_file_bytes):
                    assert decision.old is not None
                    entries[name] = decision.old
                    unchanged.append(decision.ext_id)
                    continue
                parts = (*folder.parts, entry.name)
                if entry.is_dir:
                    record = mapping.folder_record(
                        root, parts, ext_id=decision.ext_id, parent_ext_id=parent_ext_id
                    )
                    entries[name] = StateEntry(
                        decision.ext_id, entry.node, kind_of(entry), 0, entry.mtime_ns, None
                    )
                    records.append((record, []))
                    continue
                size, mtime_ns = entry.size, entry.mtime_ns
                too_large = size > settings.max_file_bytes
                digest = None if too_large else _known_digest(entry.node, size, mtime_ns, decision)
                if digest is None and not too_large:
                    try:
                        if folder_fd is None:
                            folder_fd = opened.enter_context(self.fs.folder(root.path, folder.parts))
                        digest, st = self.fs.hash_file(folder_fd, entry.name)
                        size, mtime_ns = st.st_size, st.st_mtime_ns
                    except OSError as exc:
                        where = display_path(root.display, parts)
                        reason = f"cannot read {where}: {exc.strerror or exc}"
                        self.processor.record_failure(decision.ext_id, reason, display_name(entry.name))
                        if decision.old is not None and decision.same_place:
                            entries[name] = decision.old
                        continue
                record = mapping.file_record(
                    root,
                    parts,
                    ext_id=decision.ext_id,
                    parent_ext_id=parent_ext_id,
                    size=size,
                    mtime_ns=mtime_ns,
                    digest=digest,
                    max_file_bytes=settings.max_file_bytes,
                )
                records.append((record, []))
                entries[name] = StateEntry(
                    decision.ext_id, entry.node, kind_of(entry), size, mtime_ns, digest
                )
        if records:
            await self.processor.on_new_records(records)
        if sweeping and unchanged:
            self.processor.mark_seen(root.group_id, unchanged)
        state = FolderState(root.group_id, stored_path(folder.parts), entries)
        if state != folder.old:
            self._unsaved.append((folder.folder_id, state))
        if getattr(self.processor, "pending_records", 0) >= STATE_BATCH_RECORDS:
            await self._save_states()
        await asyncio.sleep(0)  # the processor never suspends: let a cancellation in between folders

    async def _save_states(self) -> None:
        """Write the folder states whose records were handed in. The first write commits with the
        buffered records (one page); the rest follow at once. Pages of several folders commit
        faster than a transaction per folder, and a state still never commits before its records."""
        unsaved, self._unsaved = self._unsaved, []
        for folder_id, state in unsaved:
            await self.states.save_folder(folder_id, state)

    async def _retire(self, removed_roots: list[str]) -> None:
        """Roots no longer configured: hide, then sweep their records, and forget their state."""
        for group in removed_roots:
            record_group = await self.processor.get_record_group_by_external_id(
                self.processor.connector_id, group
            )
            if record_group is not None:
                await self.processor.on_new_record_groups([(record_group, [])])
            self.processor.begin_scope(group)
            result = await self.processor.complete_scope(group)
            self.logger.info(
                "local folders %s removed from the configuration: %d records deleted, %d held for "
                "confirmation",
                group,
                len(result.deleted),
                len(result.quarantined),
            )
            await self.states.forget_folders(list(await self.states.subtree(group)))
            await self.states.forget_root(group)


def _known_digest(node: str, size: int, mtime_ns: int, decision: Decision) -> str | None:
    """The recorded hash when the file is provably the same bytes (same node, size and mtime: a
    pure rename or move); None when it must be read."""
    old = decision.old
    if old is not None and old.node == node and old.size == size and old.mtime_ns == mtime_ns:
        return old.digest
    return None
