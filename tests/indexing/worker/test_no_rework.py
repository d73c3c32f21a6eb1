"""No work twice: unchanged content is never re-embedded (nor re-downloaded when the source names its
revision); permission and metadata changes reach the index without embedding anything."""

from __future__ import annotations

from headwater.models.constants import RecordGroupType
from headwater.models.entities import RecordGroup
from headwater.models.permission import PermissionType

from .helpers import ALICE, BOB, CAROL, CONN, Env, MemConnector, doc, grant, run


def _embedded(env: Env) -> int:
    """How many chunk texts the embedder was given so far (calls depend on how records batch)."""
    return len(env.embedder.texts)


def _indexed(env: Env, ext: str) -> tuple[str, frozenset[str]]:
    record = env.index.get_record(env.key(ext))
    assert record is not None, ext
    return record.record_name, record.principals


def test_duplicate_and_reindex_events_of_unchanged_content_embed_nothing(env: Env) -> None:
    env.put("a.txt", "the roadmap for next year")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    env.index_all()
    fetches = MemConnector.CALLS["a.txt"]
    assert _embedded(env) == 1

    key = env.key("a.txt")
    with env.store.read() as tx:
        record = tx.get_record(key)
    assert record is not None
    with env.store.transaction() as tx:  # the same newRecord delivered again, and a reindex
        tx.append_event("record-events", "newRecord", record.to_kafka_record(), key=key)
    run(env.processor.reindex_existing_records([record]))
    env.index_all()

    assert _embedded(env) == 1
    assert MemConnector.CALLS["a.txt"] == fetches  # the revision says "unchanged": not even downloaded
    assert env.status("a.txt") == ("COMPLETED", None)
    assert [c.text for c in env.index.get_chunks(key)] == ["the roadmap for next year"]


def test_without_a_revision_the_bytes_hash_decides(env: Env) -> None:
    env.put("a.txt", "version one")
    env.sync((doc("a.txt", rev=None), [grant(ALICE)]))
    env.index_all()
    key = env.key("a.txt")
    with env.store.read() as tx:
        record = tx.get_record(key)
    assert record is not None

    run(env.processor.reindex_existing_records([record]))  # same bytes: fetched, hashed, not embedded
    env.index_all()
    assert (_embedded(env), MemConnector.CALLS["a.txt"]) == (1, 2)

    env.put("a.txt", "version two")  # new bytes behind the same (absent) revision: embedded again
    run(env.processor.reindex_existing_records([record]))
    env.index_all()
    assert _embedded(env) == 2
    assert [c.text for c in env.index.get_chunks(key)] == ["version two"]


def test_changed_content_is_embedded_again_and_replaces_the_old_chunks(env: Env) -> None:
    env.put("a.txt", "draft budget")
    env.sync((doc("a.txt", rev="r1"), [grant(ALICE)]))
    env.index_all()
    env.put("a.txt", "final budget")
    env.sync((doc("a.txt", rev="r2"), [grant(ALICE)]))
    env.index_all()
    assert _embedded(env) == 2
    assert [c.text for c in env.index.get_chunks(env.key("a.txt"))] == ["final budget"]


def test_a_permission_only_change_updates_principals_without_embedding(env: Env) -> None:
    env.put("a.txt", "salary bands")
    env.sync((doc("a.txt"), [grant(ALICE), grant(BOB)]))
    env.index_all()
    assert _indexed(env, "a.txt")[1] == {env.user(ALICE), env.user(BOB)}

    env.sync((doc("a.txt"), [grant(ALICE), grant(CAROL, PermissionType.WRITE)]))  # bob unshared, carol added
    env.index_all()
    assert _indexed(env, "a.txt")[1] == {env.user(ALICE), env.user(CAROL)}
    assert _embedded(env) == 1
    assert MemConnector.CALLS["a.txt"] == 1
    bob_hits = env.index.keyword_search("salary", [env.user(BOB)])
    assert bob_hits == []
    assert [h.record_key for h in env.index.keyword_search("salary", [env.user(CAROL)])] == [env.key("a.txt")]

    run(env.processor.on_updated_record_permissions(doc("a.txt"), [grant(BOB)]))
    env.index_all()
    assert _indexed(env, "a.txt")[1] == {env.user(BOB)}
    assert _embedded(env) == 1


def test_a_metadata_only_change_renames_the_indexed_record_without_embedding(env: Env) -> None:
    env.put("a.txt", "meeting notes")
    env.sync((doc("a.txt", name="notes.txt"), [grant(ALICE)]))
    env.index_all()
    env.sync((doc("a.txt", name="minutes.txt"), [grant(ALICE)]))  # same revision, new name
    env.index_all()
    assert _indexed(env, "a.txt") == ("minutes.txt", frozenset({env.user(ALICE)}))
    assert _embedded(env) == 1
    assert MemConnector.CALLS["a.txt"] == 1
    assert env.status("a.txt") == ("COMPLETED", None)


def test_a_record_group_permission_change_reaches_every_inheriting_record(env: Env) -> None:
    def group(ext: str, parent: str | None = None) -> RecordGroup:
        return RecordGroup(
            name=ext,
            external_group_id=ext,
            group_type=RecordGroupType.DRIVE,
            parent_external_group_id=parent,
            inherit_permissions=True,
        )

    run(env.processor.on_new_record_groups([(group("drive"), [grant(ALICE)])]))
    run(env.processor.on_new_record_groups([(group("team-folder", parent="drive"), [grant(BOB)])]))
    env.put("a.txt", "in the drive")
    env.put("b.txt", "in the team folder")
    env.put("c.txt", "in the team folder, not inheriting")
    env.sync(
        (doc("a.txt", group="drive"), []),
        (doc("b.txt", group="team-folder"), []),
        (doc("c.txt", group="team-folder", inherit_permissions=False), [grant(CAROL)]),
    )
    env.index_all()
    alice, bob, carol = env.user(ALICE), env.user(BOB), env.user(CAROL)
    assert _indexed(env, "a.txt")[1] == {alice}
    assert _indexed(env, "b.txt")[1] == {alice, bob}  # its folder's grant and, through it, the drive's
    assert _indexed(env, "c.txt")[1] == {carol}

    # the drive is now shared with carol instead of alice: both records under it follow
    run(env.processor.on_new_record_groups([(group("drive"), [grant(CAROL)])]))
    env.index_all()
    assert _indexed(env, "a.txt")[1] == {carol}
    assert _indexed(env, "b.txt")[1] == {carol, bob}
    assert _indexed(env, "c.txt")[1] == {carol}
    assert _embedded(env) == 3  # the three records' first indexing, nothing since

    # the team folder stops inheriting from the drive
    detached = group("team-folder", parent="drive")
    detached.inherit_permissions = False
    run(env.processor.on_new_record_groups([(detached, [grant(BOB)])]))
    env.index_all()
    assert _indexed(env, "b.txt")[1] == {bob}

    # the team folder is deleted: its records lose what they inherited from it (fail closed)
    run(env.processor.on_record_group_deleted("team-folder", CONN))
    env.index_all()
    assert _indexed(env, "b.txt")[1] == frozenset()
    assert _embedded(env) == 3


def test_a_new_embedding_model_re_embeds_unchanged_content(env: Env) -> None:
    env.put("a.txt", "text")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    env.index_all()
    env.embedder.model_name = "another-model"
    key = env.key("a.txt")
    with env.store.read() as tx:
        record = tx.get_record(key)
    assert record is not None
    run(env.processor.reindex_existing_records([record]))
    env.index_all()
    assert _embedded(env) == 2
