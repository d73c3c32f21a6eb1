"""Seed -> sync -> change on disk -> sync, with the exact graph asserted after each: records by
path with their names and parents, record ids kept or not, grants, and the record events."""

from __future__ import annotations

import os

from headwater.connectors import testing

from .helpers import (
    OWNER,
    OWNER_GROUP,
    SEED_NAMES,
    SEED_SHAPE,
    World,
    grants,
    readable,
    record_doc,
    run,
    sha256,
    shape,
    tree,
    write,
)


def test_first_sync_imports_every_file_and_folder_with_parents_and_owner_grant(world: World) -> None:
    world.run_sync()
    assert shape(world.store) == SEED_SHAPE
    assert world.new_events() == [("newRecord", name) for name in SEED_NAMES]
    assert grants(world.store, str(world.root)) == [(f"groups:{OWNER_GROUP}", "READER")]
    assert readable(world.store, OWNER) == sorted(SEED_SHAPE)
    a = tree(world.store)["docs/a.txt"]
    assert (a.revision, a.size, a.group) == (sha256(b"alpha"), 5, str(world.root))
    assert tree(world.store)["docs"].revision == "folder"
    doc = record_doc(world.store, "docs/a.txt")
    assert (doc["mimeType"], doc["indexingStatus"], doc["connectorName"]) == (
        "text/plain",
        "QUEUED",
        "LOCAL_FS",
    )


def test_an_unchanged_resync_writes_nothing_and_emits_nothing(world: World) -> None:
    world.run_sync()
    before = testing.snapshot(world.store)
    stats = world.run_sync().data_entities_processor.stats
    assert testing.diff_snapshots(before, testing.snapshot(world.store)) == []
    assert (stats.discovered, stats.new, stats.updated, stats.deleted) == (0, 0, 0, 0)


def test_added_file_is_a_new_record(world: World) -> None:
    world.run_sync()
    world.new_events()
    write(world.root / "docs" / "deep" / "new.txt", "fresh")
    world.run_sync()
    assert shape(world.store) == {**SEED_SHAPE, "docs/deep/new.txt": ("new.txt", "docs/deep", True)}
    assert world.new_events() == [("newRecord", "new.txt")]


def test_content_edit_keeps_the_record_and_emits_update(world: World) -> None:
    world.run_sync()
    world.new_events()
    key = tree(world.store)["docs/a.txt"].key
    (world.root / "docs" / "a.txt").write_text("alpha, second draft")
    world.run_sync()
    a = tree(world.store)["docs/a.txt"]
    assert (a.key, a.revision, a.size) == (key, sha256(b"alpha, second draft"), 19)
    assert world.new_events() == [("updateRecord", "a.txt")]
    assert record_doc(world.store, "docs/a.txt")["version"] == 1


def test_touch_with_identical_bytes_is_metadata_only(world: World) -> None:
    world.run_sync()
    world.new_events()
    path = world.root / "docs" / "a.txt"
    before = record_doc(world.store, "docs/a.txt")
    later = path.stat().st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(later, later))
    world.run_sync()
    after = record_doc(world.store, "docs/a.txt")
    assert world.new_events() == []
    assert (after["_key"], after["externalRevisionId"], after["version"]) == (
        before["_key"],
        before["externalRevisionId"],
        0,
    )
    assert after["sourceLastModifiedTimestamp"] == later // 1_000_000
    assert after["indexingStatus"] == before["indexingStatus"]


def test_rename_keeps_the_record_and_emits_nothing(world: World) -> None:
    world.run_sync()
    world.new_events()
    key = tree(world.store)["docs/a.txt"].key
    (world.root / "docs" / "a.txt").rename(world.root / "docs" / "alpha.txt")
    stats = world.run_sync().data_entities_processor.stats
    expected = {k: v for k, v in SEED_SHAPE.items() if k != "docs/a.txt"}
    assert shape(world.store) == {**expected, "docs/alpha.txt": ("alpha.txt", "docs", True)}
    assert tree(world.store)["docs/alpha.txt"].key == key
    assert world.new_events() == []
    assert (stats.new, stats.updated, stats.deleted) == (0, 1, 0)
    assert record_doc(world.store, "docs/alpha.txt")["version"] == 0


def test_move_to_another_folder_keeps_the_record_and_changes_its_parent(world: World) -> None:
    world.run_sync()
    world.new_events()
    key = tree(world.store)["notes.txt"].key
    (world.root / "notes.txt").rename(world.root / "docs" / "deep" / "notes.txt")
    world.run_sync()
    expected = {k: v for k, v in SEED_SHAPE.items() if k != "notes.txt"}
    assert shape(world.store) == {**expected, "docs/deep/notes.txt": ("notes.txt", "docs/deep", True)}
    assert tree(world.store)["docs/deep/notes.txt"].key == key
    assert world.new_events() == []


def test_folder_rename_keeps_every_record_below_it(world: World) -> None:
    world.run_sync()
    world.new_events()
    keys = {path: node.key for path, node in tree(world.store).items()}
    (world.root / "docs").rename(world.root / "papers")
    world.run_sync()
    moved = {
        "papers": ("papers", None, False),
        "papers/a.txt": ("a.txt", "papers", True),
        "papers/b.md": ("b.md", "papers", True),
        "papers/deep": ("deep", "papers", False),
        "papers/deep/c.txt": ("c.txt", "papers/deep", True),
    }
    assert shape(world.store) == {
        **{k: v for k, v in SEED_SHAPE.items() if not k.startswith("docs")},
        **moved,
    }
    now = tree(world.store)
    assert [now[p.replace("docs", "papers", 1)].key for p in keys if p.startswith("docs")] == [
        keys[p] for p in keys if p.startswith("docs")
    ]
    assert world.new_events() == []
    assert record_doc(world.store, "papers/deep/c.txt")["path"] == str(
        world.root / "papers" / "deep" / "c.txt"
    )


def test_folder_moved_into_another_keeps_its_records(world: World) -> None:
    world.run_sync()
    world.new_events()
    keys = {path: node.key for path, node in tree(world.store).items()}
    (world.root / "docs" / "deep").rename(world.root / "filler" / "deep")
    world.run_sync()
    now = tree(world.store)
    assert (now["filler/deep"].key, now["filler/deep"].parent) == (keys["docs/deep"], "filler")
    assert (now["filler/deep/c.txt"].key, now["filler/deep/c.txt"].parent) == (
        keys["docs/deep/c.txt"],
        "filler/deep",
    )
    assert "docs/deep" not in now
    assert world.new_events() == []


def test_editor_save_by_replacing_the_file_keeps_the_record(world: World) -> None:
    """Many editors write a new file and rename it over the old one: a new inode, the same file."""
    world.run_sync()
    world.new_events()
    key = tree(world.store)["docs/b.md"].key
    write(world.root / "docs" / ".b.md.swp", "# bravo, edited")
    os.replace(world.root / "docs" / ".b.md.swp", world.root / "docs" / "b.md")
    world.run_sync()
    b = tree(world.store)["docs/b.md"]
    assert (b.key, b.revision) == (key, sha256(b"# bravo, edited"))
    assert shape(world.store) == SEED_SHAPE
    assert world.new_events() == [("updateRecord", "b.md")]

    write(world.root / "docs" / ".b.md.swp", "# bravo, edited")  # saved again, bytes unchanged
    os.replace(world.root / "docs" / ".b.md.swp", world.root / "docs" / "b.md")
    world.run_sync()
    assert tree(world.store)["docs/b.md"].key == key
    assert world.new_events() == []


def test_deleted_file_and_folder_are_removed_with_delete_events(world: World) -> None:
    world.run_sync()
    world.new_events()
    (world.root / "notes.txt").unlink()
    (world.root / "docs" / "deep" / "c.txt").unlink()
    (world.root / "docs" / "deep").rmdir()
    world.run_sync()
    gone = {"notes.txt", "docs/deep", "docs/deep/c.txt"}
    assert shape(world.store) == {k: v for k, v in SEED_SHAPE.items() if k not in gone}
    deletes = sorted(
        payload["recordId"] for kind, payload in testing.record_events(world.store) if kind == "deleteRecord"
    )
    assert len(deletes) == 3
    assert world.new_events() == sorted(("deleteRecord", key) for key in deletes)


def test_deleting_most_of_a_root_is_held_by_the_mass_deletion_brake(world: World) -> None:
    world.run_sync()
    world.new_events()
    for path in sorted((world.root / "filler").iterdir()):
        path.unlink()
    (world.root / "filler").rmdir()
    world.run_sync()
    assert shape(world.store) == SEED_SHAPE  # nothing deleted: 13 of 19 records is a mass deletion
    assert world.new_events() == []
    processor = world.connector().data_entities_processor
    held = run(processor.get_quarantined())
    assert sorted(q["recordName"] for q in held) == sorted(["filler", *(f"f{n:02d}.txt" for n in range(12))])
    assert {q["quarantineScope"] for q in held} == {"root:" + str(world.root)}

    world.run_sync()  # still gone: still held, nothing else happens
    assert shape(world.store) == SEED_SHAPE
    run(processor.confirm_quarantined_deletions())
    assert shape(world.store) == {k: v for k, v in SEED_SHAPE.items() if not k.startswith("filler")}
    assert [kind for kind, _ in world.new_events()] == ["deleteRecord"] * 13
