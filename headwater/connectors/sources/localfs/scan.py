"""Listing a root: what is on disk now, folder by folder, beside what the last sync recorded.

The walk opens each folder from its parent's descriptor without following links (`FsAccess`), so
it never leaves the root. Symbolic links are not followed and not imported; FIFOs, sockets and
devices are skipped; a folder reached a second time (a bind mount looping back) is skipped too, so
the walk always ends. A folder that cannot be listed is reported as a problem and kept as it was
(`listed=False`): the run goes on, and nothing below it is deleted for having been unreadable.

Headwater's own data (`ForbiddenPaths`, installed by the platform) is never opened: a root that is
or lies inside it is reported as a problem and counts as empty, and an entry that is such a path is
reported and left out, so whatever an earlier sync took from there is deleted.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field

from headwater.connectors.sources.localfs.fsaccess import FsAccess
from headwater.connectors.sources.localfs.names import display_path, folder_ext_id, stored_name, stored_path
from headwater.connectors.sources.localfs.settings import ForbiddenPaths, Root
from headwater.connectors.sources.localfs.state import FILE, FOLDER, FolderState, StateEntry, StateStore

MAX_DEPTH = 256
REFUSED_PREFIX = "refused:"  # failure ids of refused paths: never a record's id, so never kept
_HEADWATER_DATA = "Headwater's own data (its data directory, database, secret key or search index)"


@dataclass(slots=True)
class DiskEntry:
    """A file or folder as listed now."""

    name: str  # the os name
    stored: str  # the name's stored form (`names.stored_name`)
    node: str  # "{filesystem tag}:{inode}"
    is_dir: bool
    size: int
    mtime_ns: int


def same_as_recorded(entry: DiskEntry, recorded: StateEntry, max_file_bytes: int) -> bool:
    """The same node and kind as recorded, and for a file the same size and mtime, on the same
    side of the size limit: nothing to read, nothing to write."""
    if recorded.node != entry.node:
        return False
    if entry.is_dir:
        return recorded.kind == FOLDER
    return (
        recorded.kind == FILE
        and recorded.size == entry.size
        and recorded.mtime_ns == entry.mtime_ns
        and (recorded.digest is None) == (entry.size > max_file_bytes)
    )


@dataclass(slots=True)
class ScannedFolder:
    root: Root
    folder_id: str  # its external id; the root folder's is its record group id
    parts: tuple[str, ...]  # os names from the root down to it
    listed: bool
    entries: list[DiskEntry]  # sorted by name, unless clean
    old: FolderState | None  # what the last sync recorded for it
    clean: bool = False  # every entry as recorded, the folder where it was: nothing to do

    @property
    def is_root(self) -> bool:
        return not self.parts


@dataclass(slots=True)
class Problem:
    """An item the run could not read: it goes to the failure ledger."""

    ext_id: str
    reason: str
    name: str


@dataclass
class ScanResult:
    folders: list[ScannedFolder] = field(default_factory=list)  # parents before children
    problems: list[Problem] = field(default_factory=list)
    skipped: int = 0  # links, special files, folders reached twice


class Scanner:
    """Walks roots; one scanner per run, so a folder reached from two roots is listed once."""

    def __init__(
        self,
        fs: FsAccess,
        states: StateStore,
        max_file_bytes: int,
        forbidden: ForbiddenPaths | None = None,
    ) -> None:
        self.fs = fs
        self.states = states
        self.max_file_bytes = max_file_bytes
        self.forbidden = forbidden or ForbiddenPaths()
        self._visited: set[str] = set()
        self._node_prefixes: dict[int, str] = {}  # st_dev -> "{filesystem tag}:"

    def node_of(self, st: os.stat_result, tag_source: Callable[[], int] | None = None) -> str:
        prefix = self._node_prefixes.get(st.st_dev)
        if prefix is None:
            tag = tag_source() if tag_source is not None else st.st_dev
            prefix = self._node_prefixes[st.st_dev] = f"{tag:x}:"
        return prefix + str(st.st_ino)

    async def scan(self, root: Root, result: ScanResult) -> None:
        """Append the root's folders to `result` (the root folder first)."""
        if self.forbidden.covers(root.path):
            reason = (
                f"{root.display} is or lies inside {_HEADWATER_DATA}: a Local FS connector never "
                "reads it — remove it from 'Folders to sync'"
            )
            result.problems.append(Problem(refused_id(root.path), reason, root.display))
            old = await self.states.folder(root.group_id)
            # listed, as empty: what an earlier sync took from there is deleted
            result.folders.append(ScannedFolder(root, root.group_id, (), True, [], old))
            return
        try:
            fd = self.fs.open_root(root.path)
        except OSError as exc:
            reason = _cannot("open the folder", root.display, exc)
            result.problems.append(Problem(root.group_id, reason, root.display))
            old = await self.states.folder(root.group_id)
            result.folders.append(ScannedFolder(root, root.group_id, (), False, [], old))
            return
        try:
            st = os.fstat(fd)
            self._visited.add(self.node_of(st, lambda: self.fs.fs_tag(fd, st.st_dev)))
            await self._walk(root, fd, root.group_id, (), result)
        finally:
            os.close(fd)

    async def _walk(
        self, root: Root, fd: int, folder_id: str, parts: tuple[str, ...], result: ScanResult
    ) -> None:
        old = await self.states.folder(folder_id)
        where = display_path(root.display, parts)
        if len(parts) > MAX_DEPTH:
            result.problems.append(
                Problem(folder_id, f"{where} is nested more than {MAX_DEPTH} folders deep", parts[-1])
            )
            result.folders.append(ScannedFolder(root, folder_id, parts, False, [], old))
            return
        try:
            listing = self.fs.list_dir(fd)
        except OSError as exc:
            name = parts[-1] if parts else root.display
            result.problems.append(Problem(folder_id, _cannot("list the folder", where, exc), name))
            result.folders.append(ScannedFolder(root, folder_id, parts, False, [], old))
            return
        entries: list[DiskEntry] = []
        refused = self.forbidden.names_in(os.path.join(root.path, *parts))
        for item in listing:
            if item.name in refused:
                self._refuse(root, (*parts, item.name), result)
                continue
            entry = self._entry(item, fd)
            if entry is None:
                result.skipped += 1
            else:
                entries.append(entry)
        clean = self._is_clean(root, parts, entries, old)
        if not clean:
            entries.sort(key=lambda e: e.name)
        result.folders.append(ScannedFolder(root, folder_id, parts, True, entries, old, clean))
        await asyncio.sleep(0)  # a big tree must not starve the loop (cancellation, heartbeats)
        for entry in entries:
            if not entry.is_dir:
                continue
            child_parts = (*parts, entry.name)
            try:
                child = self.fs.open_dir(fd, entry.name)
            except OSError as exc:
                where_child = display_path(root.display, child_parts)
                child_id = folder_ext_id(entry.node)
                reason = _cannot("open the folder", where_child, exc)
                result.problems.append(Problem(child_id, reason, entry.name))
                state = await self.states.folder(child_id)
                result.folders.append(ScannedFolder(root, child_id, child_parts, False, [], state))
                continue
            try:
                await self._walk(root, child, folder_ext_id(entry.node), child_parts, result)
            finally:
                os.close(child)

    def _refuse(self, root: Root, parts: tuple[str, ...], result: ScanResult) -> None:
        where = display_path(root.display, parts)
        reason = (
            f"{where} is {_HEADWATER_DATA}: not read — a Local FS connector never reads it; "
            "choose folders that do not hold it under 'Folders to sync'"
        )
        result.problems.append(Problem(refused_id(os.path.join(root.path, *parts)), reason, parts[-1]))

    def _entry(self, item: os.DirEntry[str], dir_fd: int) -> DiskEntry | None:
        """The listed item, or None for what is not imported (links, special files, a folder
        already walked)."""
        try:
            st = item.stat(follow_symlinks=False)
        except OSError:
            return None  # gone between the listing and the stat: the next run sees it (or not)
        if stat.S_ISREG(st.st_mode):
            return DiskEntry(
                item.name, stored_name(item.name), self.node_of(st), False, st.st_size, st.st_mtime_ns
            )
        if not stat.S_ISDIR(st.st_mode):
            return None
        node = self.node_of(st, lambda: self._tag_of_folder(dir_fd, item.name, st.st_dev))
        if node in self._visited:
            return None
        self._visited.add(node)
        return DiskEntry(item.name, stored_name(item.name), node, True, 0, st.st_mtime_ns)

    def _is_clean(
        self, root: Root, parts: tuple[str, ...], entries: list[DiskEntry], old: FolderState | None
    ) -> bool:
        if old is None or old.root != root.group_id or len(old.entries) != len(entries):
            return False
        if old.path != stored_path(parts):
            return False
        recorded, limit = old.entries, self.max_file_bytes
        for entry in entries:
            previous = recorded.get(entry.stored)
            if previous is None or not same_as_recorded(entry, previous, limit):
                return False
        return True

    def _tag_of_folder(self, parent_fd: int, name: str, st_dev: int) -> int:
        """The filesystem tag of a folder on a device not seen yet (a mount point)."""
        try:
            fd = self.fs.open_dir(parent_fd, name)
        except OSError:
            return st_dev
        try:
            return self.fs.fs_tag(fd, st_dev)
        finally:
            os.close(fd)


def refused_id(real_path: str) -> str:
    """The failure ledger's id for a path refused as Headwater's own data."""
    return REFUSED_PREFIX + stored_name(real_path)


def _cannot(what: str, where: str, exc: OSError) -> str:
    return f"cannot {what} {where}: {exc.strerror or exc}"
