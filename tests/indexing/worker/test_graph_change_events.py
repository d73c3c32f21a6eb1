"""The processor announces access and metadata changes (`updatePermissions`, `updateMetadata` on
`entity-events`) in the transaction that makes them, and only those: a record that gets a content
event, or whose grants did not change, is not announced."""

from __future__ import annotations

from collections import Counter

from headwater.models.constants import RecordGroupType
from headwater.models.entities import RecordGroup
from headwater.models.permission import PermissionType
from headwater.store.schema import PARTITIONS

from .helpers import ALICE, BOB, CONN, Env, doc, grant, run


def _entity_events(env: Env) -> list[tuple[str, str]]:
    with env.store.read() as tx:
        return sorted(
            (stored.event["eventType"], stored.event["payload"]["nodeId"])
            for partition in range(PARTITIONS)
            for stored in tx.read_events("entity-events", partition, -1, 100_000)
        )


def test_new_records_and_unchanged_syncs_announce_nothing(env: Env) -> None:
    env.sync((doc("a.txt"), [grant(ALICE)]), (doc("b.txt"), [grant(BOB)]))
    env.sync((doc("a.txt"), [grant(ALICE)]), (doc("b.txt"), [grant(BOB)]))  # the same again
    env.sync((doc("a.txt", rev="r2"), [grant(BOB)]))  # new content AND new grants: the content event says it
    assert _entity_events(env) == []


def test_permission_and_metadata_changes_are_announced_once_per_record(env: Env) -> None:
    env.sync((doc("a.txt"), [grant(ALICE)]), (doc("b.txt"), [grant(ALICE)]))
    a, b = env.key("a.txt"), env.key("b.txt")
    env.sync((doc("a.txt"), [grant(ALICE), grant(BOB)]), (doc("b.txt", name="renamed.txt"), [grant(ALICE)]))
    assert _entity_events(env) == [("updateMetadata", f"records/{b}"), ("updatePermissions", f"records/{a}")]

    run(env.processor.on_updated_record_permissions(doc("b.txt"), [grant(BOB, PermissionType.WRITE)]))
    run(env.processor.add_permission_to_record(doc("a.txt"), [grant("carol@acme.test")]))
    events = _entity_events(env)
    assert events.count(("updatePermissions", f"records/{b}")) == 1
    assert events.count(("updatePermissions", f"records/{a}")) == 2
    with env.store.read() as tx:  # keyed by the record's key: ordered with its own record events
        keys = {s.key for p in range(PARTITIONS) for s in tx.read_events("entity-events", p, -1, 1000)}
    assert keys == {a, b}


def test_record_group_grants_inheritance_and_deletion_are_announced(env: Env) -> None:
    def group(ext: str, parent: str | None = None, inherit: bool = True) -> RecordGroup:
        return RecordGroup(
            name=ext,
            external_group_id=ext,
            group_type=RecordGroupType.DRIVE,
            parent_external_group_id=parent,
            inherit_permissions=inherit,
        )

    run(env.processor.on_new_record_groups([(group("drive"), [grant(ALICE)])]))
    run(env.processor.on_new_record_groups([(group("folder", parent="drive"), [])]))
    env.sync((doc("a.txt", group="folder"), []))
    with env.store.read() as tx:
        drive = tx.get_node_by_external_id("recordGroups", CONN, "drive")
        folder = tx.get_node_by_external_id("recordGroups", CONN, "folder")
    assert drive is not None
    assert folder is not None
    before = Counter(_entity_events(env))
    assert before[("updatePermissions", f"recordGroups/{drive['_key']}")] == 1  # its first grants
    assert before[("updatePermissions", f"recordGroups/{folder['_key']}")] == 1  # its first inheritance

    run(env.processor.on_new_record_groups([(group("drive"), [grant(BOB)])]))  # new grants
    run(env.processor.on_new_record_groups([(group("folder", parent="drive", inherit=False), [])]))
    run(env.processor.on_record_group_deleted("folder", CONN))
    new = Counter(_entity_events(env)) - before
    assert new == Counter(
        {
            ("updatePermissions", f"recordGroups/{drive['_key']}"): 1,
            ("updatePermissions", f"recordGroups/{folder['_key']}"): 1,  # it stopped inheriting
            ("updatePermissions", f"records/{env.key('a.txt')}"): 1,  # its folder, and so its grants, went
        }
    )
