"""What must not stop or mislead a sync: unreadable files and folders (recorded as failures, the
run goes on, nothing is deleted for being unreadable), links (never followed: no loop, nothing
from outside the root), and special files (never opened)."""

from __future__ import annotations

import os
from pathlib import Path

from .helpers import (
    SEED_SHAPE,
    World,
    make_readable,
    make_unreadable,
    record_doc,
    sha256,
    shape,
    tree,
    write,
)


def _failures(world: World) -> list[tuple[str, str]]:
    connector = world.run_sync()
    return [(f.record_name or "", f.reason) for f in connector.data_entities_processor.failures]


def test_unreadable_file_is_a_failure_and_the_rest_syncs(world: World) -> None:
    secret = world.root / "docs" / "a.txt"
    make_unreadable(world.fs, secret)
    assert _failures(world) == [("a.txt", f"cannot read {secret}: Permission denied")]
    assert shape(world.store) == {k: v for k, v in SEED_SHAPE.items() if k != "docs/a.txt"}

    make_readable(world.fs, secret, 0o644)
    world.new_events()
    assert _failures(world) == []
    assert shape(world.store) == SEED_SHAPE
    assert world.new_events() == [("newRecord", "a.txt")]


def test_a_synced_file_that_turns_unreadable_keeps_its_record(world: World) -> None:
    world.run_sync()
    world.new_events()
    before = record_doc(world.store, "docs/a.txt")
    path = world.root / "docs" / "a.txt"
    path.write_text("changed while unreadable")
    make_unreadable(world.fs, path)
    (world.root / "notes.txt").unlink()  # a deletion elsewhere: this run sweeps the root
    assert _failures(world) == [("a.txt", f"cannot read {path}: Permission denied")]
    assert record_doc(world.store, "docs/a.txt")["externalRevisionId"] == before["externalRevisionId"]
    assert shape(world.store) == {k: v for k, v in SEED_SHAPE.items() if k != "notes.txt"}
    assert [kind for kind, _ in world.new_events()] == ["deleteRecord"]

    make_readable(world.fs, path, 0o644)
    world.run_sync()
    assert record_doc(world.store, "docs/a.txt")["externalRevisionId"] == sha256(b"changed while unreadable")
    assert world.new_events() == [("updateRecord", "a.txt")]


def test_unreadable_folder_keeps_what_was_synced_below_it(world: World) -> None:
    world.run_sync()
    world.new_events()
    deep = world.root / "docs" / "deep"
    make_unreadable(world.fs, deep)
    (world.root / "notes.txt").unlink()
    assert _failures(world) == [("deep", f"cannot open the folder {deep}: Permission denied")]
    assert shape(world.store) == {k: v for k, v in SEED_SHAPE.items() if k != "notes.txt"}
    assert [kind for kind, _ in world.new_events()] == ["deleteRecord"]
    make_readable(world.fs, deep, 0o755)


def test_unreadable_folder_on_the_first_sync_is_a_folder_record_and_a_failure(world: World) -> None:
    deep = world.root / "docs" / "deep"
    make_unreadable(world.fs, deep)
    assert _failures(world) == [("deep", f"cannot open the folder {deep}: Permission denied")]
    assert shape(world.store) == {k: v for k, v in SEED_SHAPE.items() if k != "docs/deep/c.txt"}
    make_readable(world.fs, deep, 0o755)
    world.run_sync()
    assert shape(world.store) == SEED_SHAPE


def test_links_are_never_followed_so_nothing_outside_the_root_is_imported(
    world: World, tmp_path: Path
) -> None:
    outside = write(tmp_path / "outside" / "secret.txt", "not yours")
    os.symlink(outside.parent, world.root / "docs" / "to-outside-folder")
    os.symlink(outside, world.root / "to-outside-file.txt")
    os.symlink(world.root / "notes.txt", world.root / "docs" / "to-notes.txt")  # inside: still a link
    os.symlink("/nonexistent/target", world.root / "dangling")
    connector = world.run_sync()
    assert shape(world.store) == SEED_SHAPE
    assert connector.data_entities_processor.stats.skipped == 4
    assert connector.data_entities_processor.failures == []


def test_link_loops_end(world: World) -> None:
    os.symlink(".", world.root / "docs" / "self")
    os.symlink("..", world.root / "docs" / "deep" / "up")
    os.symlink("loop-b", world.root / "loop-a")
    os.symlink("loop-a", world.root / "loop-b")
    connector = world.run_sync()
    assert shape(world.store) == SEED_SHAPE
    assert connector.data_entities_processor.stats.skipped == 4


def test_special_files_are_skipped_without_being_opened(world: World) -> None:
    os.mkfifo(world.root / "docs" / "pipe")  # opening it for reading would block
    connector = world.run_sync()
    assert shape(world.store) == SEED_SHAPE
    assert connector.data_entities_processor.stats.skipped == 1


def test_a_file_replaced_by_a_link_to_outside_loses_its_record(world: World, tmp_path: Path) -> None:
    world.run_sync()
    world.new_events()
    outside = write(tmp_path / "outside" / "secret.txt", "not yours")
    (world.root / "docs" / "a.txt").unlink()
    os.symlink(outside, world.root / "docs" / "a.txt")
    world.run_sync()
    assert shape(world.store) == {k: v for k, v in SEED_SHAPE.items() if k != "docs/a.txt"}
    assert [kind for kind, _ in world.new_events()] == ["deleteRecord"]
    assert all("not yours" not in str(n) for n in tree(world.store).values())
