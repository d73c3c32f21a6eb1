"""A Local FS instance over a temporary tree, synced the way the engine syncs (the contract kit's
`sync_once`), and readers that show the graph by path: records, parents, grants, events."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from headwater.connectors import testing
from headwater.connectors.sources.localfs import LocalFilesystemConnector
from headwater.connectors.sources.localfs.fsaccess import FsAccess
from headwater.models.entities import Record, User
from headwater.store.base import GraphStore

T = TypeVar("T")
LOG = logging.getLogger("test.localfs")
CID = "localfs-1"
OWNER_KEY = "user-owner"
OWNER = "owner@example.com"
OWNER_GROUP = f"internal-{CID}"
IS_ROOT = os.geteuid() == 0


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class DenyingFsAccess(FsAccess):
    """Refuses to open or list the names in `denied`, as the disk does for a file or folder the
    service account may not read (tests run as root, where chmod 000 stops nothing)."""

    def __init__(self) -> None:
        self.denied: set[str] = set()

    def _check(self, name: str) -> None:
        if name in self.denied:
            raise PermissionError(errno.EACCES, "Permission denied", name)

    def open_dir(self, parent_fd: int, name: str) -> int:
        self._check(name)
        return super().open_dir(parent_fd, name)

    def open_file(self, dir_fd: int, name: str) -> int:
        self._check(name)
        return super().open_file(dir_fd, name)


def make_unreadable(fs: DenyingFsAccess, path: Path) -> None:
    """chmod 000 where that stops a read; as root, the injected FsAccess refuses the name."""
    if IS_ROOT:
        fs.denied.add(path.name)
    else:
        path.chmod(0)


def make_readable(fs: DenyingFsAccess, path: Path, mode: int) -> None:
    fs.denied.discard(path.name)
    path.chmod(mode)


@dataclass
class World:
    """One instance (`CID`, created by OWNER) syncing `roots`, on `store`."""

    store: GraphStore
    roots: list[Path]
    fs: DenyingFsAccess = field(default_factory=DenyingFsAccess)
    sync: dict[str, Any] = field(default_factory=dict)
    created_by: str | None = OWNER_KEY
    scope: str = "personal"

    def __post_init__(self) -> None:
        with self.store.transaction() as tx:
            tx.upsert_nodes("organizations", [{"_key": testing.DEFAULT_ORG_ID, "registeredName": "Acme"}])
            owner = User(id=OWNER_KEY, email=OWNER, org_id=testing.DEFAULT_ORG_ID)
            tx.upsert_nodes("users", [owner.to_document()])
        self.sync.setdefault("folders", "\n".join(str(r) for r in self.roots))
        self.events = testing.RecordEventReader(self.store)

    @property
    def root(self) -> Path:
        return self.roots[0]

    def config(self, connector_id: str) -> testing.DictConfigService:
        return testing.DictConfigService(
            {f"/services/connectors/{connector_id}/config": {"sync": dict(self.sync)}}
        )

    async def make(self, store: GraphStore, connector_id: str) -> LocalFilesystemConnector:
        provider = await testing.data_store_provider_for(store, connector_id)
        connector = await LocalFilesystemConnector.create_connector(
            LOG,
            provider,
            self.config(connector_id),
            connector_id=connector_id,
            scope=self.scope,
            created_by=self.created_by,
        )
        connector.fs = self.fs
        assert await connector.init()
        return connector

    def run_sync(self) -> LocalFilesystemConnector:
        connector = run(testing.sync_once(self.make, self.store, CID, incremental=True))
        assert isinstance(connector, LocalFilesystemConnector)
        return connector

    def connector(self) -> LocalFilesystemConnector:
        return run(self.make(self.store, CID))

    def new_events(self) -> list[tuple[str, str]]:
        """(event type, record name, or record id for a deletion) of the record events since the
        last call, sorted."""
        return self.events.new()


class Node(NamedTuple):
    key: str
    name: str
    parent: str | None  # the parent's relative path; None at the top of a root
    is_file: bool
    group: str  # the record group's name (the root's path)
    revision: str | None
    size: int | None


def tree(store: GraphStore, connector_id: str = CID) -> dict[str, Node]:
    """relative path (stored form) -> the record there."""
    with store.read() as tx:
        docs = {d["_key"]: d for d in tx.find_nodes("records", connector_id=connector_id)}
        files = tx.get_nodes("files", list(docs))
        groups = {d["_key"]: d for d in tx.find_nodes("recordGroups", connector_id=connector_id)}
        ids = [f"records/{k}" for k in docs]
        parent_of = {
            e["_to"].split("/", 1)[1]: e["_from"].split("/", 1)[1]
            for e in tx.get_edges("recordRelations", to_ids=ids)
            if e.get("relationshipType") == "PARENT_CHILD"
        }
        group_of = {
            e["_from"].split("/", 1)[1]: e["_to"].split("/", 1)[1]
            for e in tx.get_edges("belongsTo", from_ids=ids)
            if e["_to"].startswith("recordGroups/")
        }
    out: dict[str, Node] = {}
    for key, doc in docs.items():
        parent = parent_of.get(key)
        out[files[key]["localFsRelativePath"]] = Node(
            key=key,
            name=doc["recordName"],
            parent=files[parent]["localFsRelativePath"] if parent else None,
            is_file=bool(files[key]["isFile"]),
            group=groups[group_of[key]]["groupName"],
            revision=doc.get("externalRevisionId"),
            size=doc.get("sizeInBytes"),
        )
    return out


SEED_SHAPE: dict[str, tuple[str, str | None, bool]] = {
    "docs": ("docs", None, False),
    "docs/a.txt": ("a.txt", "docs", True),
    "docs/b.md": ("b.md", "docs", True),
    "docs/deep": ("deep", "docs", False),
    "docs/deep/c.txt": ("c.txt", "docs/deep", True),
    "filler": ("filler", None, False),
    **{f"filler/f{n:02d}.txt": (f"f{n:02d}.txt", "filler", True) for n in range(12)},
    "notes.txt": ("notes.txt", None, True),
}
SEED_NAMES = sorted(name for name, _, _ in SEED_SHAPE.values())


def shape(store: GraphStore) -> dict[str, tuple[str, str | None, bool]]:
    """relative path -> (name, parent path, is_file): the tree without ids."""
    return {path: (n.name, n.parent, n.is_file) for path, n in tree(store).items()}


def record_doc(store: GraphStore, rel_path: str) -> dict[str, Any]:
    """The record's `records` document with its `files` document merged in."""
    node = tree(store)[rel_path]
    with store.read() as tx:
        doc = tx.get_node("records", node.key)
        file_doc = tx.get_node("files", node.key)
    assert doc is not None
    assert file_doc is not None
    return {**file_doc, **doc}


def grants(store: GraphStore, group_name: str) -> list[tuple[str, str]]:
    """(principal, role) of the grants on the record group named `group_name`: users by email,
    groups by external id."""
    with store.read() as tx:
        group = next(
            d for d in tx.find_nodes("recordGroups", connector_id=CID) if d["groupName"] == group_name
        )
        out = []
        for edge in tx.get_edges("permissions", to_ids=[f"recordGroups/{group['_key']}"]):
            collection, key = edge["_from"].split("/", 1)
            doc = tx.get_node(collection, key) or {}
            who = doc.get("email") if collection == "users" else doc.get("externalGroupId")
            out.append((f"{collection}:{who}", edge["role"]))
    return sorted(out)


def members(store: GraphStore, group_external_id: str) -> list[str]:
    with store.read() as tx:
        group = tx.get_node_by_external_id("groups", CID, group_external_id)
        if group is None:
            return []
        edges = tx.get_edges("belongsTo", to_ids=[f"groups/{group['_key']}"])
        users = tx.get_nodes("users", [e["_from"].split("/", 1)[1] for e in edges])
    return sorted(str(u["email"]) for u in users.values())


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def seed(root: Path) -> None:
    """docs/ (a.txt, b.md, deep/c.txt), notes.txt and filler/ with 12 files: 19 records, so that
    deleting a small folder stays under the mass-deletion brake's 20 %."""
    write(root / "docs" / "a.txt", "alpha")
    write(root / "docs" / "b.md", "# bravo")
    write(root / "docs" / "deep" / "c.txt", "charlie")
    write(root / "notes.txt", "notes")
    for n in range(12):
        write(root / "filler" / f"f{n:02d}.txt", f"filler {n}")


def readable(store: GraphStore, email: str) -> list[str]:
    """The relative paths of this connector's records that the person with `email` can read."""
    paths = {n.key: path for path, n in tree(store).items()}
    with store.read() as tx:
        user = tx.get_node_by_external_id("users", "", email)
        keys = tx.readable_record_keys(str(user["_key"])) if user else set()
    return sorted(paths[k] for k in keys if k in paths)


def sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def record_at(store: GraphStore, rel_path: str) -> Record:
    key = tree(store)[rel_path].key
    with store.read() as tx:
        record = tx.get_record(key)
    assert record is not None
    return record


def content_of(world: World, rel_path: str) -> bytes:
    """What stream_record serves for the record at `rel_path`, read to the end."""

    async def read() -> bytes:
        connector = await world.make(world.store, CID)
        stream = await connector.stream_record(record_at(world.store, rel_path))
        return await stream.read_all()

    return run(read())


async def uninitialised(world: World, config: testing.DictConfigService) -> LocalFilesystemConnector:
    """A connector of `CID` on the world's store with `config`, before init()."""
    provider = await testing.data_store_provider_for(world.store, CID)
    connector = await LocalFilesystemConnector.create_connector(LOG, provider, config, connector_id=CID)
    connector.fs = world.fs
    return connector
