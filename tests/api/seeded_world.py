"""A seeded, synced and indexed world for the records / search / content / explain API tests.

Built once per session on top of the API conftest's template (orgs Acme and Other, four users), by
the real path: Local FS connector instances over folders on disk, synced by the engine, indexed by
the indexing worker with the `HashingEmbedder`. Each test gets its own copy (`copy_world`).

    instance          folder files                       who may read (besides nothing else)
    "Admin notes"     admin-plan.md                      admin@acme.test (owner)
    "Member notes"    member-diary.md                    member@acme.test (owner)
    "Handbook"        handbook.md, blob.bin              admin@acme.test (owner), member@acme.test (shared)
    "Group folder"    group-minutes.md                   member2@acme.test (owner), group Readers = {member}
    "Other notes"     other-secret.md  (org Other)       admin@other.test (owner)

Every markdown file mentions "quarterly", so a search for it shows exactly what each user may read.
`blob.bin` has no parser (FILE_TYPE_NOT_SUPPORTED). Each file has a known modification time.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from headwater.connectors.core.instances import list_instances, update_instance
from headwater.events.base import RECORDS_CONSUMER_GROUP
from headwater.indexing.embeddings.testing import HashingEmbedder
from headwater.indexing.runner import run_indexing_worker
from headwater.indexing.status import indexing_status_counts
from headwater.indexing.sweeper import store_backlog_probe
from headwater.services.catalog import discover_connectors
from headwater.services.connectors import create_instance_with_config
from headwater.services.syncing import run_syncs
from headwater.settings import Settings
from headwater.store.registry import open_store
from tests.api.conftest import ApiInstance

ADMIN, MEMBER, MEMBER2, OTHER = "admin@acme.test", "member@acme.test", "member2@acme.test", "admin@other.test"
DAY_MS = 86_400_000
BASE_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z

# (instance, folder, creator, shared with users, shared with groups, org, {file: (text, day)})
INSTANCES = (
    (
        "Admin notes",
        "admin",
        ADMIN,
        "",
        "",
        "Acme",
        {"admin-plan.md": ("# Board plan\n\nThe quarterly budget for salaries grows by four percent.", 10)},
    ),
    (
        "Member notes",
        "member",
        MEMBER,
        "",
        "",
        "Acme",
        {"member-diary.md": ("# Diary\n\nMy quarterly goals: learn the espresso machine.", 40)},
    ),
    (
        "Handbook",
        "handbook",
        ADMIN,
        MEMBER,
        "",
        "Acme",
        {
            "handbook.md": (
                "# Travel\n\nHotels are reimbursed up to 150 euros a night. "
                "The quarterly review of expenses happens in March.",
                20,
            ),
            "blob.bin": ("\x00\x01binary quarterly\x02", 25),
        },
    ),
    (
        "Group folder",
        "group",
        MEMBER2,
        "",
        f"Readers: {MEMBER}",
        "Acme",
        {"group-minutes.md": ("# Minutes\n\nThe quarterly offsite moves to a lighthouse in May.", 30)},
    ),
    (
        "Other notes",
        "other",
        OTHER,
        "",
        "",
        "Other",
        {"other-secret.md": ("# Secret\n\nOther's quarterly numbers and the lighthouse.", 50)},
    ),
)
MARKDOWN = {name for *_, files in INSTANCES for name in files if name.endswith(".md")}


@dataclass(frozen=True)
class World:
    data_dir: Path
    records: dict[str, str]  # file name -> record key
    connectors: dict[str, str]  # instance name -> connector id
    groups: dict[str, str]  # instance name -> its folder's record group key
    modified: dict[str, int]  # file name -> modification time (epoch ms)


def day(n: int) -> int:
    return BASE_MS + n * DAY_MS


def build_world(template: Path, into: Path, org_keys: dict[str, str]) -> World:
    data_dir = into / "data"
    shutil.copytree(template, data_dir)
    folders = into / "folders"
    modified: dict[str, int] = {}
    for _, folder, *_, files in INSTANCES:
        (folders / folder).mkdir(parents=True)
        for name, (text, n) in files.items():
            path = folders / folder / name
            path.write_bytes(text.encode("latin-1") if name.endswith(".bin") else text.encode())
            os.utime(path, ns=(day(n) * 1_000_000, day(n) * 1_000_000))
            modified[name] = day(n)
    settings = Settings(data_dir=data_dir)
    asyncio.run(_seed(settings, folders, org_keys))
    store = open_store(settings.resolved_store_url)
    try:
        instances = {str(d["name"]): str(d["_key"]) for d in list_instances(store)}
        with store.read() as tx:
            docs = [d for d in tx.find_nodes("records") if not d.get("isPlaceholder")]
    finally:
        store.close()
    records = {str(d["recordName"]): str(d["_key"]) for d in docs}
    groups = {
        name: str(next(d["recordGroupId"] for d in docs if d["connectorId"] == key))
        for name, key in instances.items()
    }
    return World(data_dir, records, instances, groups, modified)


async def _seed(settings: Settings, folders: Path, org_keys: dict[str, str]) -> None:
    discover_connectors()
    for name, folder, creator, users, groups, org, _ in INSTANCES:
        config = {"folders": str(folders / folder), "shareWithUsers": users, "shareWithGroups": groups}
        doc = await create_instance_with_config(
            settings, "Local FS", name, config, scope="team", created_by=creator
        )
        store = open_store(settings.resolved_store_url)
        try:
            update_instance(store, doc["id"] if "id" in doc else doc["_key"], orgId=org_keys[org])
        finally:
            store.close()
    for run in await run_syncs(settings, [i[0] for i in INSTANCES]):
        assert run.get("outcome") in (None, "completed", "succeeded", "success"), run
    await _index_until_done(settings)


async def _index_until_done(settings: Settings, timeout_s: float = 120.0) -> None:
    stop = asyncio.Event()
    worker = asyncio.create_task(run_indexing_worker(settings, stop, embedder=HashingEmbedder()))
    store = open_store(settings.resolved_store_url)
    deadline = time.monotonic() + timeout_s
    probe = store_backlog_probe(RECORDS_CONSUMER_GROUP)
    try:
        while True:
            await asyncio.sleep(0.2)
            if worker.done():
                worker.result()
                raise AssertionError("the indexing worker stopped early")
            counts = indexing_status_counts(store)
            with store.read() as tx:
                backlog = probe(tx)
            if not counts.get("QUEUED") and not counts.get("IN_PROGRESS") and not backlog:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"indexing did not finish: {counts}")
    finally:
        stop.set()
        await asyncio.gather(worker, return_exceptions=True)
        store.close()


_BUILT: dict[Path, World] = {}  # one world per template per process, however many modules use it

Template = tuple[Path, dict[str, str], dict[str, str]]


@pytest.fixture(name="world")
def world_fixture(_template: Template, tmp_path_factory: pytest.TempPathFactory) -> World:
    source, orgs, _ = _template
    if source not in _BUILT:
        _BUILT[source] = build_world(source, tmp_path_factory.mktemp("api-world"), orgs)
    return _BUILT[source]


@pytest.fixture(name="instance")
def seeded_instance(world: World, _template: Template, tmp_path: Path) -> ApiInstance:
    """The API conftest's `instance`, replaced by a fresh copy of the seeded world: a test module
    that imports `seeded_instance` (and `world_fixture`) gets it."""
    _, orgs, users = _template
    data_dir = tmp_path / "data"
    shutil.copytree(world.data_dir, data_dir)
    return ApiInstance(Settings(data_dir=data_dir), data_dir, dict(orgs), dict(users))
