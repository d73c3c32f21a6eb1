"""Deleted records leave search: their chunks go from keyword and vector results (the real embedded index)."""

from __future__ import annotations

from headwater.connectors.core.engine import SyncEngine

from .helpers import ALICE, CONN, Env, doc, grant, run


def _found(env: Env, query: str, user: str) -> tuple[set[str], set[str]]:
    principals = [env.user(user)]
    keyword = {h.record_key for h in env.index.keyword_search(query, principals)}
    vector = {h.record_key for h in env.index.vector_search(env.embedder.embed_query(query), principals)}
    return keyword, vector


def test_a_deleted_record_is_gone_from_keyword_and_vector_search(real_env: Env) -> None:
    env = real_env
    env.put("keep.txt", "the budget for the lighthouse restoration")
    env.put("gone.txt", "the lighthouse keeper's logbook")
    env.sync((doc("keep.txt"), [grant(ALICE)]), (doc("gone.txt"), [grant(ALICE)]))
    env.index_all()
    keep, gone = env.key("keep.txt"), env.key("gone.txt")
    assert _found(env, "lighthouse", ALICE) == ({keep, gone}, {keep, gone})

    assert run(env.processor.on_record_deleted_by_external_id(CONN, "gone.txt"))
    env.index_all()
    assert _found(env, "lighthouse", ALICE) == ({keep}, {keep})
    assert _found(env, "logbook keeper", ALICE)[0] == set()
    assert env.index.record_keys() == {keep}
    assert env.index.get_chunks(gone) == []


def test_deleting_a_connector_instance_removes_all_its_records_from_search(real_env: Env) -> None:
    env = real_env
    for i in range(3):
        env.put(f"{i}.txt", f"harbour report number {i}")
    env.sync(*((doc(f"{i}.txt"), [grant(ALICE)]) for i in range(3)))
    env.index_all()
    assert len(_found(env, "harbour", ALICE)[0]) == 3

    assert run(SyncEngine(env.store, env.config).delete_instance(CONN)) is not None  # bulkDeleteRecords
    env.index_all()
    assert _found(env, "harbour", ALICE) == (set(), set())
    assert env.index.record_keys() == set()
    assert env.index.count_chunks() == 0
