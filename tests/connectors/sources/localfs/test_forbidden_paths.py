"""Paths the platform forbids (Headwater's own data) are never read, whatever the configuration:
a root that is one, or lies inside one, is a failed item and counts as empty; one met while
walking a root is a failed item and left out; what an earlier sync took from there goes away."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from headwater.connectors.sources.localfs.settings import ForbiddenPaths, forbid_paths, forbidden_paths

from .helpers import OWNER, SEED_NAMES, SEED_SHAPE, World, readable, run, shape

OWN_DATA = "Headwater's own data"


@pytest.fixture(autouse=True)
def nothing_forbidden_after() -> Iterator[None]:
    yield
    forbid_paths(())  # a process-wide setting: later tests start without it


def failures(connector: object) -> list[tuple[str, str | None, str]]:
    """(external id, name, reason) of the run's failed items."""
    processor = connector.data_entities_processor  # type: ignore[attr-defined]
    return [(f.external_id, f.record_name, f.reason) for f in processor.failures]


def test_a_forbidden_folder_inside_a_root_is_a_failure_and_not_read(world: World) -> None:
    forbid_paths([str(world.root / "docs")])
    connector = world.run_sync()
    synced = shape(world.store)
    assert not [p for p in synced if p == "docs" or p.startswith("docs/")]
    assert set(synced) == {p for p in SEED_SHAPE if not (p == "docs" or p.startswith("docs/"))}
    [(ext_id, name, reason)] = failures(connector)
    assert name == "docs"
    assert ext_id.startswith("refused:")
    assert reason.startswith(f"{world.root / 'docs'} is {OWN_DATA}")
    assert "never reads it" in reason


def test_what_an_earlier_sync_took_from_a_forbidden_folder_is_deleted(world: World) -> None:
    world.run_sync()
    assert "docs/deep/c.txt" in shape(world.store)
    forbid_paths([str(world.root / "docs" / "deep")])
    connector = world.run_sync()
    synced = shape(world.store)
    assert "docs/deep" not in synced
    assert "docs/deep/c.txt" not in synced
    assert "docs/a.txt" in synced  # the rest of the root is synced as before
    assert [name for _, name, _ in failures(connector)] == ["deep"]


def test_a_root_inside_forbidden_data_is_refused_as_a_whole(world: World) -> None:
    forbid_paths([str(world.root.parent)])  # the root lies inside it
    connector = world.run_sync()
    assert shape(world.store) == {}
    [(_, name, reason)] = failures(connector)
    assert name == str(world.root)
    assert reason == (
        f"{world.root} is or lies inside {OWN_DATA} (its data directory, database, secret key or "
        "search index): a Local FS connector never reads it — remove it from 'Folders to sync'"
    )


def test_a_root_synced_before_the_rule_loses_its_records_at_the_next_sync(world: World) -> None:
    world.run_sync()
    assert readable(world.store, OWNER) == sorted(SEED_SHAPE)
    forbid_paths([str(world.root)])
    connector = world.run_sync()
    assert len(failures(connector)) == 1
    # every record is gone from the listing: the mass-deletion brake holds them for an admin's
    # confirmation, hidden from search meanwhile (their principals leave the index)
    processor = world.connector().data_entities_processor
    assert sorted(q["recordName"] for q in run(processor.get_quarantined())) == SEED_NAMES


def test_forbidden_paths_are_real_paths_and_cover_what_lies_inside(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "link").symlink_to(data)
    forbid_paths([str(tmp_path / "link"), f"{tmp_path}/x/../data/secret.key"])
    installed = forbidden_paths()
    assert installed.paths == frozenset({str(data), str(data / "secret.key")})
    assert installed.covers(str(data))
    assert installed.covers(str(data / "index" / "chunks"))
    assert not installed.covers(str(tmp_path))
    assert not installed.covers(f"{data}-old")  # a sibling whose name starts alike
    assert installed.names_in(str(tmp_path)) == {"data"}
    assert installed.names_in(str(data)) == {"secret.key"}
    assert installed.names_in("/elsewhere") == frozenset()
    assert ForbiddenPaths().covers("/") is False
