"""Several roots: each is a record group; a file moved between them keeps its record; a root
removed from the configuration disappears (deleted, or held by the brake and hidden meanwhile);
and a run that dies after forgetting a deleted file still gets the deletion to the graph."""

from __future__ import annotations

from pathlib import Path

import pytest

from headwater.connectors.sources.localfs.fsaccess import FsAccess
from headwater.store.base import GraphStore

from .helpers import (
    OWNER,
    OWNER_GROUP,
    SEED_SHAPE,
    World,
    grants,
    readable,
    run,
    seed,
    shape,
    tree,
    write,
)


@pytest.fixture
def two_roots(tmp_path: Path, sqlite_store: GraphStore) -> World:
    first, second = tmp_path / "first", tmp_path / "second"
    seed(first)
    write(second / "inbox" / "letter.txt", "dear")
    return World(sqlite_store, [first, second])


def test_each_root_is_a_record_group_with_its_own_records(two_roots: World) -> None:
    first, second = (str(r) for r in two_roots.roots)
    two_roots.run_sync()
    nodes = tree(two_roots.store)
    assert {n.group for n in nodes.values()} == {first, second}
    assert [p for p, n in sorted(nodes.items()) if n.group == second] == ["inbox", "inbox/letter.txt"]
    assert shape(two_roots.store) == {
        **SEED_SHAPE,
        "inbox": ("inbox", None, False),
        "inbox/letter.txt": ("letter.txt", "inbox", True),
    }
    assert grants(two_roots.store, second) == [(f"groups:{OWNER_GROUP}", "READER")]


def test_a_file_moved_to_another_root_keeps_its_record(two_roots: World) -> None:
    two_roots.run_sync()
    two_roots.new_events()
    key = tree(two_roots.store)["notes.txt"].key
    (two_roots.roots[0] / "notes.txt").rename(two_roots.roots[1] / "inbox" / "notes.txt")
    two_roots.run_sync()
    moved = tree(two_roots.store)["inbox/notes.txt"]
    assert (moved.key, moved.parent, moved.group) == (key, "inbox", str(two_roots.roots[1]))
    assert "notes.txt" not in tree(two_roots.store)
    assert two_roots.new_events() == []


def test_a_removed_root_with_one_record_is_deleted(tmp_path: Path, sqlite_store: GraphStore) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    seed(first)
    write(second / "only.txt", "one")
    world = World(sqlite_store, [first, second])
    world.run_sync()
    world.new_events()
    world.sync["folders"] = str(first)
    world.run_sync()
    assert shape(world.store) == SEED_SHAPE
    assert [kind for kind, _ in world.new_events()] == ["deleteRecord"]
    assert grants(world.store, str(second)) == []
    world.run_sync()  # the removal is done once: nothing more happens
    assert world.new_events() == []


def test_a_removed_root_is_hidden_at_once_and_held_for_confirmation(two_roots: World) -> None:
    two_roots.run_sync()
    two_roots.new_events()
    second = str(two_roots.roots[1])
    two_roots.sync["folders"] = str(two_roots.roots[0])
    two_roots.run_sync()
    assert "inbox/letter.txt" in tree(two_roots.store)  # 2 of 2 records: the brake holds them
    assert grants(two_roots.store, second) == []
    assert readable(two_roots.store, OWNER) == sorted(SEED_SHAPE)  # the first root's only
    assert two_roots.new_events() == []
    processor = two_roots.connector().data_entities_processor
    assert sorted(q["recordName"] for q in run(processor.get_quarantined())) == ["inbox", "letter.txt"]


class _FailsOnce(FsAccess):
    """Crashes the run (not an OSError: the run cannot go on) when it reads `name`."""

    def __init__(self, name: str) -> None:
        self.name, self.armed = name, True

    def hash_file(self, dir_fd: int, name: str) -> tuple[str, object]:  # type: ignore[override]
        if self.armed and name == self.name:
            self.armed = False
            raise RuntimeError("the worker died here")
        return super().hash_file(dir_fd, name)


def test_a_deletion_survives_a_run_that_died_after_forgetting_it(world: World) -> None:
    world.run_sync()
    world.new_events()
    (world.root / "notes.txt").unlink()
    (world.root / "docs" / "a.txt").write_text("alpha, edited")
    world.fs = _FailsOnce("a.txt")  # type: ignore[assignment]
    with pytest.raises(RuntimeError, match="the worker died here"):
        world.run_sync()
    # the root folder's state (without notes.txt) committed before the run died
    assert "notes.txt" in tree(world.store)
    world.run_sync()
    assert shape(world.store) == {k: v for k, v in SEED_SHAPE.items() if k != "notes.txt"}
    events = world.new_events()
    assert [kind for kind, _ in events] == ["deleteRecord", "updateRecord"]
    assert events[1] == ("updateRecord", "a.txt")
