"""Local FS sync: N small files in a nested temporary tree, synced by the real connector through the
SyncEngine into a SQLite store; then an unchanged re-sync of the same tree.

    .venv/bin/python bench/localfs_sync.py                 # 100,000 files
    .venv/bin/python bench/localfs_sync.py --files 5000    # a quick run

The tree: `d{aa}/d{b}/f{n}.txt`, `--per-folder` files (100) per leaf folder, ten leaf folders per
top folder. Prints the initial sync's files/s and seconds, the unchanged re-sync's seconds, and
their ratio, against the targets: unchanged re-sync <= 1/20 of the initial sync and < 10 s. The
re-sync must hash nothing and write nothing; the bench checks that it wrote no record. CPU seconds
are printed beside wall seconds: on a shared machine they show what the sync itself cost.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from headwater.config.crypto import SecretBox
from headwater.config.registry import create_config_store
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import create_instance
from headwater.connectors.sources.localfs import LocalFilesystemConnector
from headwater.models.entities import User
from headwater.store.registry import open_store

NAME = "Local FS"
CONNECTOR_ID = "localfs-bench"
TARGET_RATIO = 1 / 20
TARGET_RESYNC_S = 10.0


def build_tree(root: Path, files: int, per_folder: int) -> int:
    """Write `files` small files; returns how many folders were made."""
    folders = 0
    for first in range(0, files, per_folder):
        leaf = first // per_folder
        folder = root / f"d{leaf // 10:03d}" / f"d{leaf % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        folders += 1 + (leaf % 10 == 0)
        for n in range(first, min(files, first + per_folder)):
            (folder / f"f{n:07d}.txt").write_text(f"file {n}: a few words of text\n")
    return folders


Timing = tuple[float, float]  # (wall seconds, CPU seconds of this process, all threads)


def _clock() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(start: Timing) -> Timing:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


async def sync_twice(tmp: Path, root: Path) -> tuple[dict[str, Any], Timing, dict[str, Any], Timing, int]:
    store = open_store(f"sqlite:///{tmp / 'graph.db'}")
    with store.transaction() as tx:
        tx.upsert_nodes("organizations", [{"_key": "org1", "registeredName": "Bench"}])
        tx.upsert_nodes("users", [User(id="owner", email="owner@example.com", org_id="org1").to_document()])
    create_instance(store, type=NAME, connector_id=CONNECTOR_ID, org_id="org1", created_by="owner")
    config = create_config_store(f"sqlite:///{tmp / 'config.db'}", SecretBox.generate())
    await config.connect()
    try:
        await config.put(f"/services/connectors/{CONNECTOR_ID}/config", {"sync": {"folders": str(root)}})
        engine = SyncEngine(store, config, logger=logging.getLogger("bench"))
        started = _clock()
        first = await engine.run_sync(CONNECTOR_ID)
        first_s = _since(started)
        started = _clock()
        second = await engine.run_sync(CONNECTOR_ID)
        second_s = _since(started)
        with store.read() as tx:
            stored = len(tx.find_nodes("records", connector_id=CONNECTOR_ID, limit=None))
    finally:
        await config.close()
        store.close()
    return first, first_s, second, second_s, stored


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--per-folder", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    ConnectorFactory.register_connector(NAME, LocalFilesystemConnector)
    tmp = Path(tempfile.mkdtemp(prefix="hw-bench-localfs-"))
    try:
        root = tmp / "tree"
        started = time.perf_counter()
        folders = build_tree(root, args.files, args.per_folder)
        written_s = time.perf_counter() - started
        print(f"tree: {args.files:,} files in {folders:,} folders, written in {written_s:.1f} s")
        first, (first_s, first_cpu), second, (second_s, second_cpu), stored = asyncio.run(
            sync_twice(tmp, root)
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ratio = second_s / first_s
    ok = (
        first["outcome"] == second["outcome"] == "completed"
        and stored == args.files + folders
        and second["new"] == second["updated"] == second["discovered"] == 0
        and ratio <= TARGET_RATIO
        and second_s < TARGET_RESYNC_S
    )
    print(
        f"initial sync:   {args.files / first_s:>8,.0f} files/s, {first_s:.2f} s (CPU {first_cpu:.2f} s; "
        f"{first['new']:,} records new, {stored:,} stored, outcome {first['outcome']})"
    )
    print(
        f"unchanged sync: {second_s:.2f} s (CPU {second_cpu:.2f} s; records handed in: "
        f"{second['discovered']}, written: {second['new'] + second['updated']}, outcome {second['outcome']})"
    )
    print(
        f"ratio unchanged/initial: {ratio:.3f} (1/{1 / ratio:.0f}; CPU 1/{first_cpu / second_cpu:.0f}) "
        f"-> target (<= 1/20 and < {TARGET_RESYNC_S:g} s) {'MET' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
