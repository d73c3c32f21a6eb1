"""Who sees a root's records: the owner (the SDK's connector group), configured users and groups;
a change of them changes grants only (no record written, no event); nobody without them."""

from __future__ import annotations

from pathlib import Path

from headwater.connectors import testing
from headwater.store.base import GraphStore

from .helpers import OWNER, OWNER_GROUP, SEED_SHAPE, World, grants, members, readable, seed, shape

ALL = sorted(SEED_SHAPE)
ROOT_GRANT = (f"groups:{OWNER_GROUP}", "READER")


def _only_grants_changed(before: testing.Snapshot, after: testing.Snapshot) -> list[str]:
    """The changes that are not about grants, users, groups or their announcement on
    `entity-events` (should be none: no record written, no record event)."""
    changes = testing.diff_snapshots(before, after, ignore=testing.VOLATILE_COLLECTIONS)
    about_access = ("permissions edge", "users/", "groups/", "belongsTo edge")
    return [c for c in changes if not c.startswith(about_access) and "entity-events" not in c]


def test_configured_users_are_granted_and_a_change_moves_only_grants(world: World) -> None:
    world.sync["shareWithUsers"] = "Bob@Example.com\ncarol@example.com"
    world.run_sync()
    world.new_events()
    assert grants(world.store, str(world.root)) == [
        ROOT_GRANT,
        ("users:bob@example.com", "READER"),
        ("users:carol@example.com", "READER"),
    ]
    assert readable(world.store, "bob@example.com") == ALL

    before = testing.snapshot(world.store)
    world.sync["shareWithUsers"] = "carol@example.com, dave@example.com"
    world.run_sync()
    assert grants(world.store, str(world.root)) == [
        ROOT_GRANT,
        ("users:carol@example.com", "READER"),
        ("users:dave@example.com", "READER"),
    ]
    assert readable(world.store, "bob@example.com") == []
    assert readable(world.store, "dave@example.com") == ALL
    assert readable(world.store, OWNER) == ALL
    assert world.new_events() == []
    assert _only_grants_changed(before, testing.snapshot(world.store)) == []


def test_configured_groups_carry_their_members_and_follow_the_configuration(world: World) -> None:
    world.sync["shareWithGroups"] = (
        "Engineering: erin@example.com, frank@example.com\nLegal: gina@example.com"
    )
    world.run_sync()
    world.new_events()
    assert grants(world.store, str(world.root)) == [
        ROOT_GRANT,
        ("groups:share:engineering", "READER"),
        ("groups:share:legal", "READER"),
    ]
    assert members(world.store, "share:engineering") == ["erin@example.com", "frank@example.com"]
    assert readable(world.store, "frank@example.com") == ALL

    before = testing.snapshot(world.store)
    world.sync["shareWithGroups"] = "Engineering: erin@example.com"
    world.run_sync()
    assert members(world.store, "share:engineering") == ["erin@example.com"]
    assert members(world.store, "share:legal") == []  # the group is gone
    assert grants(world.store, str(world.root)) == [ROOT_GRANT, ("groups:share:engineering", "READER")]
    assert readable(world.store, "frank@example.com") == []
    assert readable(world.store, "gina@example.com") == []
    assert readable(world.store, "erin@example.com") == ALL
    assert world.new_events() == []
    assert _only_grants_changed(before, testing.snapshot(world.store)) == []


def test_owner_is_the_creator_through_the_connector_group(world: World) -> None:
    world.run_sync()
    assert members(world.store, OWNER_GROUP) == [OWNER]
    assert readable(world.store, OWNER) == ALL
    assert readable(world.store, "stranger@example.com") == []


def test_a_team_instance_is_owned_by_its_creator_too(world: World) -> None:
    world.scope = "team"
    world.run_sync()
    assert grants(world.store, str(world.root)) == [ROOT_GRANT]
    assert readable(world.store, OWNER) == ALL


def test_without_owner_or_shares_nobody_sees_anything(tmp_path: Path, sqlite_store: GraphStore) -> None:
    root = tmp_path / "root"
    seed(root)
    world = World(sqlite_store, [root], created_by=None)
    world.run_sync()
    assert shape(world.store) == SEED_SHAPE
    assert grants(world.store, str(root)) == []
    assert readable(world.store, OWNER) == []
