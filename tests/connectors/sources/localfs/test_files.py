"""Files that need care: empty ones, ones over the size limit, names that are not UTF-8 (or hold
a '%'), and hard links (one file, two names)."""

from __future__ import annotations

import os
from pathlib import Path

from .helpers import SEED_SHAPE, World, content_of, record_doc, sha256, shape, tree, write


def test_empty_file_is_a_record_of_size_zero(world: World) -> None:
    write(world.root / "empty.txt", "")
    world.run_sync()
    node = tree(world.store)["empty.txt"]
    assert (node.name, node.size, node.revision, node.parent) == ("empty.txt", 0, sha256(b""), None)
    assert ("newRecord", "empty.txt") in world.new_events()
    assert content_of(world, "empty.txt") == b""


def test_file_over_the_size_limit_is_listed_but_not_indexed(world: World) -> None:
    world.sync["maxFileSizeMb"] = "0.001"  # 1,048 bytes
    big = write(world.root / "big.log", "x" * 2000)
    mtime = big.stat().st_mtime_ns
    world.run_sync()
    doc = record_doc(world.store, "big.log")
    assert (doc["indexingStatus"], doc["externalRevisionId"], doc["sizeInBytes"]) == (
        "AUTO_INDEX_OFF",
        f"unhashed:2000:{mtime}",
        2000,
    )
    assert doc["reason"] == (
        "not indexed: 2,000 bytes is over this connector's file size limit of 1,048 bytes"
    )
    assert ("newRecord", "big.log") not in world.new_events()  # nothing to index: no event

    big.write_text("small now")
    world.run_sync()
    doc = record_doc(world.store, "big.log")
    assert (doc["indexingStatus"], doc["externalRevisionId"]) == ("QUEUED", sha256(b"small now"))
    assert world.new_events() == [("updateRecord", "big.log")]


def test_name_that_is_not_utf8_shows_readably_and_round_trips(world: World) -> None:
    raw = os.path.join(os.fsencode(world.root / "docs"), b"caf\xe9 100%.txt")
    with open(raw, "wb") as handle:
        handle.write(b"latin-1 named")
    world.run_sync()
    node = tree(world.store)["docs/caf%E9 100%25.txt"]
    assert (node.name, node.parent) == ("caf\ufffd 100%.txt", "docs")
    assert record_doc(world.store, "docs/caf%E9 100%25.txt")["path"] == str(
        world.root / "docs" / "caf\ufffd 100%.txt"
    )
    assert content_of(world, "docs/caf%E9 100%25.txt") == b"latin-1 named"

    os.rename(raw, os.path.join(os.fsencode(world.root), b"\xff\xfe.txt"))
    world.run_sync()
    moved = tree(world.store)["%FF%FE.txt"]
    assert (moved.key, moved.name, moved.parent) == (node.key, "\ufffd\ufffd.txt", None)
    assert content_of(world, "%FF%FE.txt") == b"latin-1 named"


def test_hard_links_are_two_records_with_stable_ids(world: World) -> None:
    os.link(world.root / "notes.txt", world.root / "docs" / "notes-link.txt")
    world.run_sync()
    first = tree(world.store)
    original, link = first["notes.txt"], first["docs/notes-link.txt"]
    assert original.key != link.key
    ids = sorted(record_doc(world.store, p)["externalRecordId"] for p in ("notes.txt", "docs/notes-link.txt"))
    assert ids[1] == ids[0] + "~2"

    world.new_events()
    world.run_sync()
    assert tree(world.store) == first
    assert world.new_events() == []

    (world.root / "docs" / "notes-link.txt").unlink()
    world.run_sync()
    assert shape(world.store) == SEED_SHAPE
    assert [kind for kind, _ in world.new_events()] == ["deleteRecord"]


def test_file_replaced_by_a_folder_of_the_same_name(world: World, tmp_path: Path) -> None:
    world.run_sync()
    world.new_events()
    (world.root / "notes.txt").unlink()
    write(world.root / "notes.txt" / "inside.txt", "now a folder")
    world.run_sync()
    assert shape(world.store) == {
        **SEED_SHAPE,
        "notes.txt": ("notes.txt", None, False),
        "notes.txt/inside.txt": ("inside.txt", "notes.txt", True),
    }
    kinds = [kind for kind, _ in world.new_events()]
    assert sorted(kinds) == ["deleteRecord", "newRecord", "newRecord"]
