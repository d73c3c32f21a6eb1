"""What the last sync saw on disk, kept in sync points so that it commits with the records.

One sync point per folder (`dir/{folder external id}`) lists the folder's entries as the last sync
recorded them: external id, node (filesystem + inode), kind, size, mtime in ns and content hash.
A re-sync compares the disk with it and hashes only what differs, so an unchanged tree costs a
`stat` per entry and nothing else. Keyed by the folder's external id (inode based), a folder's
state survives its renames and moves.

A folder's sync point is written after the records it describes were handed to the processor, and
`update_sync_point` commits the buffered records and the sync point in ONE transaction: the state
never gets ahead of the graph. (Records may commit earlier, with another folder's state or in a
flush of the processor's own; records ahead of the state only make the next run hand them in
again, which writes nothing.) A run reads all folder states at once (`load_all`).

Per root, `root/{group id}` holds `sweepPending`: set before a run commits folder states that drop
entries, cleared after the run swept. A run that died in between leaves it set, and the next run
sweeps, so a deletion the state already forgot still reaches the graph.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, NamedTuple

from headwater.connectors.core.sync_point import METADATA_FIELDS, SYNC_POINTS, SyncPoint

FILE, FOLDER = "f", "d"


class StateEntry(NamedTuple):
    """One name in one folder, as the last sync recorded it (a tuple: an unchanged tree loads
    one per file, so they must be cheap)."""

    ext_id: str
    node: str  # "{filesystem tag}:{inode}": the same file however it is named
    kind: str  # FILE | FOLDER
    size: int
    mtime_ns: int
    digest: str | None  # sha256 of the content; None for folders and files over the size limit


@dataclass(slots=True)
class FolderState:
    """A folder's recorded entries (by stored name), and where the folder was then."""

    root: str  # record group id of its root
    path: str  # stored relative path
    entries: dict[str, StateEntry]

    def to_json(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "path": self.path,
            "entries": {name: list(e) for name, e in self.entries.items()},
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FolderState | None:
        entries = raw.get("entries")
        if not isinstance(entries, dict):
            return None
        return cls(
            root=str(raw.get("root") or ""),
            path=str(raw.get("path") or ""),
            entries={name: StateEntry._make(e) for name, e in entries.items()},
        )


class StateStore:
    """The connector's state, read from and written to its sync points."""

    def __init__(self, sync_point: SyncPoint) -> None:
        self.sync_point = sync_point
        self._loaded: dict[str, FolderState] | None = None

    def load_all(self) -> None:
        """Read every folder state of the instance in one query, for one run (`unload` after it).
        A run reads them all anyway, and a read per folder cost more than the rest of an unchanged
        sync. Folder states are never encrypted, so the documents are read as the sync point
        stores them (its data fields beside its metadata fields)."""
        point = self.sync_point
        if point.processor is not None:
            point.processor.flush_now()  # as read_sync_point does: see what was handed in
        prefix = point.full_key(_folder_key(""))
        with point.data_store_provider.store.read() as tx:
            docs = tx.find_nodes(SYNC_POINTS, connector_id=point.connector_id)
        loaded: dict[str, FolderState] = {}
        for doc in docs:
            key = str(doc.get("syncPointKey") or "")
            if key.startswith(prefix):
                state = FolderState.from_json({k: v for k, v in doc.items() if k not in METADATA_FIELDS})
                if state is not None:
                    loaded[key[len(prefix) :]] = state
        self._loaded = loaded

    def unload(self) -> None:
        self._loaded = None

    async def folder(self, folder_id: str) -> FolderState | None:
        if self._loaded is not None:
            return self._loaded.get(folder_id)
        raw = await self.sync_point.read_sync_point(_folder_key(folder_id))
        return FolderState.from_json(raw) if raw else None

    async def save_folder(self, folder_id: str, state: FolderState) -> None:
        """Commits with everything the processor buffered (the folder's records)."""
        await self.sync_point.update_sync_point(_folder_key(folder_id), state.to_json())
        if self._loaded is not None:
            self._loaded[folder_id] = state

    async def forget_folders(self, folder_ids: Iterable[str]) -> None:
        for folder_id in folder_ids:
            await self.sync_point.delete_sync_point(_folder_key(folder_id))
            if self._loaded is not None:
                self._loaded.pop(folder_id, None)

    async def subtree(self, folder_id: str, stop: AbstractSet[str] = frozenset()) -> dict[str, FolderState]:
        """folder id -> state, for the folder and every folder below it that has a state, not
        descending into the folders in `stop`."""
        found: dict[str, FolderState] = {}
        pending = [folder_id]
        while pending:
            current = pending.pop()
            if current in found or current in stop:
                continue
            state = await self.folder(current)
            if state is None:
                continue
            found[current] = state
            pending.extend(e.ext_id for e in state.entries.values() if e.kind == FOLDER)
        return found

    async def root(self, group_id: str) -> dict[str, Any]:
        return await self.sync_point.read_sync_point(_root_key(group_id))

    async def save_root(self, group_id: str, *, sweep_pending: bool) -> None:
        await self.sync_point.update_sync_point(
            _root_key(group_id), {"listed": True, "sweepPending": sweep_pending}
        )

    async def forget_root(self, group_id: str) -> None:
        await self.sync_point.delete_sync_point(_root_key(group_id))

    async def instance(self) -> dict[str, Any]:
        return await self.sync_point.read_sync_point(INSTANCE_KEY)

    async def save_instance(self, roots: list[str], groups: list[str]) -> None:
        await self.sync_point.update_sync_point(INSTANCE_KEY, {"roots": roots, "groups": groups})


INSTANCE_KEY = "instance"


def _folder_key(folder_id: str) -> str:
    return f"dir/{folder_id}"


def _root_key(group_id: str) -> str:
    return f"root/{group_id}"
