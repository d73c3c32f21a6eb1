"""Which record each file on disk is: the same one after a rename or move, a new one, or none
(deleted).

Identity follows the file, not its path. A file's external id is its node (filesystem tag + inode)
when first seen, and is then carried by the state (`state.py`), so it stays when the file is
renamed or moved, within a folder, across folders or across roots. A folder's external id is
always `dir-{node}`: its state is keyed by it, so a folder's contents are found again wherever the
folder went.

Matching, in this order (each external id is claimed once per run):
1. same name in the same folder and the same node: the same file, where it was;
2. the same node recorded anywhere else (a vanished entry): a rename or move;
3. a file under the same name in the same folder with a new node, whose old node vanished: the
   same file saved by an editor that writes a new file and renames it over the old one;
4. otherwise new: its node as external id (with a `~n` suffix if a hard link or an earlier
   replacement already carries it).
What the state recorded and nothing claimed was deleted. Inodes freed by a deletion can be reused
by the filesystem: a file created in the same run may then continue a deleted one's record (it
gets the new name, path and content). That record changes; nothing is lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from headwater.connectors.sources.localfs.names import folder_ext_id, stored_path
from headwater.connectors.sources.localfs.scan import DiskEntry, ScannedFolder, ScanResult, same_as_recorded
from headwater.connectors.sources.localfs.state import FILE, FOLDER, FolderState, StateEntry, StateStore


@dataclass(slots=True)
class Decision:
    """What one entry on disk is: its external id and the recorded entry it continues."""

    ext_id: str
    old: StateEntry | None
    same_place: bool  # recorded under this name in this folder, the folder where it was then


@dataclass(slots=True)
class _Recorded:
    entry: StateEntry
    root: str  # the record group of the root it was recorded under


# an entry still to decide: its folder, the folder's decisions, its index
Pending = tuple[ScannedFolder, list[Decision | None], int]


@dataclass
class Plan:
    # walk order; a decision per entry, none for a clean folder (nothing to do there)
    folders: list[tuple[ScannedFolder, list[Decision]]] = field(default_factory=list)
    deleted: dict[str, list[str]] = field(default_factory=dict)  # root group -> external ids
    dropping_roots: set[str] = field(default_factory=set)  # roots whose recorded folders lose entries
    forgotten_folders: list[str] = field(default_factory=list)  # states of folders that are gone
    preserved: dict[str, set[str]] = field(default_factory=dict)  # root group -> ids kept unread


def kind_of(entry: DiskEntry) -> str:
    return FOLDER if entry.is_dir else FILE


def is_unchanged(entry: DiskEntry, decision: Decision, max_file_bytes: int) -> bool:
    """Nothing to hand in: recorded here, the folder where it was, and the same as recorded."""
    old = decision.old
    return old is not None and decision.same_place and same_as_recorded(entry, old, max_file_bytes)


class _Claims:
    def __init__(self) -> None:
        self.taken: set[str] = set()

    def first_free(self, candidates: Iterable[_Recorded] | None, kind: str) -> _Recorded | None:
        for candidate in candidates or ():
            if candidate.entry.kind == kind and candidate.entry.ext_id not in self.taken:
                self.taken.add(candidate.entry.ext_id)
                return candidate
        return None

    def new_file_id(self, node: str) -> str:
        ext_id, n = node, 2
        while ext_id in self.taken:
            ext_id, n = f"{node}~{n}", n + 1
        self.taken.add(ext_id)
        return ext_id


async def plan_changes(scan: ScanResult, states: StateStore) -> Plan:
    """Decide, for every entry listed, which record it is; and what was recorded but is gone."""
    planner = _Planner(scan, states)
    await planner.keep_unlisted()
    planner.match_in_place()
    await planner.add_gone_folders()
    planner.match_moves()
    planner.match_replaced_or_new()
    return planner.finish()


class _Planner:
    def __init__(self, scan: ScanResult, states: StateStore) -> None:
        self.scan = scan
        self.states = states
        self.plan = Plan()
        self.claims = _Claims()
        self.scanned = {f.folder_id for f in scan.folders}
        self.decisions: dict[int, list[Decision | None]] = {}  # id(folder) -> one per entry
        self.pending: list[Pending] = []
        self.vanished: dict[str, list[_Recorded]] = {}  # node -> recorded, not found where it was
        self.gone: dict[str, FolderState] = {}  # states of folders gone and not walked elsewhere

    async def keep_unlisted(self) -> None:
        """What sits below a folder that could not be listed stays as recorded."""
        for folder in self.scan.folders:
            if folder.listed:
                continue
            below = await self.states.subtree(folder.folder_id, stop=self.scanned - {folder.folder_id})
            for state in below.values():
                kept = self.plan.preserved.setdefault(state.root or folder.root.group_id, set())
                for unread in state.entries.values():
                    kept.add(unread.ext_id)
                    self.claims.taken.add(unread.ext_id)

    def match_in_place(self) -> None:
        """Rule 1 (same name, same node, same folder); collects the rest on both sides."""
        for folder in self.scan.folders:
            if not folder.listed:
                continue
            if folder.clean:  # the common case, kept cheap: nothing moves, every id stays
                assert folder.old is not None
                self.claims.taken.update(e.ext_id for e in folder.old.entries.values())
                continue
            decisions: list[Decision | None] = [None] * len(folder.entries)
            self.decisions[id(folder)] = decisions
            recorded = folder.old.entries if folder.old is not None else {}
            relocated = folder.old is not None and (
                folder.old.path != stored_path(folder.parts) or folder.old.root != folder.root.group_id
            )
            matched: set[str] = set()
            for i, entry in enumerate(folder.entries):
                old = recorded.get(entry.stored)
                if (
                    old is not None
                    and old.node == entry.node
                    and old.kind == kind_of(entry)
                    and old.ext_id not in self.claims.taken
                ):
                    self.claims.taken.add(old.ext_id)
                    decisions[i] = Decision(old.ext_id, old, not relocated)
                    matched.add(entry.stored)
                else:
                    self.pending.append((folder, decisions, i))
            if folder.old is not None:
                for name, old in recorded.items():
                    if name not in matched:
                        self.vanished.setdefault(old.node, []).append(_Recorded(old, folder.old.root))

    async def add_gone_folders(self) -> None:
        """Folders gone from where they were and not walked elsewhere: their contents may have
        moved out before they went, and their states must go."""
        gone_ids = {
            r.entry.ext_id
            for records in self.vanished.values()
            for r in records
            if r.entry.kind == FOLDER and r.entry.ext_id not in self.scanned
        }
        for folder_id in sorted(gone_ids):
            if folder_id not in self.gone:
                self.gone.update(await self.states.subtree(folder_id, stop=self.scanned | set(self.gone)))
        for state in self.gone.values():
            for old in state.entries.values():
                self.vanished.setdefault(old.node, []).append(_Recorded(old, state.root))

    def match_moves(self) -> None:
        """Rule 2: the same node recorded elsewhere is a rename or move."""
        unmatched: list[Pending] = []
        for folder, decisions, i in self.pending:
            entry = folder.entries[i]
            moved = self.claims.first_free(self.vanished.get(entry.node), kind_of(entry))
            if moved is not None:
                decisions[i] = Decision(moved.entry.ext_id, moved.entry, False)
            else:
                unmatched.append((folder, decisions, i))
        self.pending = unmatched

    def match_replaced_or_new(self) -> None:
        """Rule 3 (a new node under a recorded file name), else rule 4 (new)."""
        for folder, decisions, i in self.pending:
            entry = folder.entries[i]
            if entry.is_dir:
                ext_id = folder_ext_id(entry.node)
                self.claims.taken.add(ext_id)
                decisions[i] = Decision(ext_id, None, False)
                continue
            old = folder.old.entries.get(entry.stored) if folder.old is not None else None
            if old is not None and old.kind == FILE and old.ext_id not in self.claims.taken:
                self.claims.taken.add(old.ext_id)
                decisions[i] = Decision(old.ext_id, old, False)
            else:
                decisions[i] = Decision(self.claims.new_file_id(entry.node), None, False)
        self.pending = []

    def finish(self) -> Plan:
        plan = self.plan
        for folder in self.scan.folders:  # in walk order: parents before children
            if not folder.listed:
                continue
            decisions = self.decisions.get(id(folder), [])
            resolved = [d for d in decisions if d is not None]
            assert folder.clean or len(resolved) == len(folder.entries), "every entry gets a decision"
            plan.folders.append((folder, resolved))
        for records in self.vanished.values():
            for r in records:
                plan.dropping_roots.add(r.root)
                if r.entry.ext_id not in self.claims.taken:
                    ids = plan.deleted.setdefault(r.root, [])
                    if r.entry.ext_id not in ids:
                        ids.append(r.entry.ext_id)
        plan.forgotten_folders = sorted(f for f in self.gone if f not in self.claims.taken)
        return plan
