"""Transient failures are retried with backoff; after the last allowed attempt the record is FAILED
with the count and the last error, and listed among the failures."""

from __future__ import annotations

import time

from headwater.connectors.core.errors import SourceAuthError, SourceThrottledError
from headwater.indexing.status import RetryPolicy, indexing_failures, indexing_status_counts

from .helpers import ALICE, BOB, CONN, Env, MemConnector, doc, grant, run


def test_a_source_that_fails_a_few_times_then_answers_ends_completed(env: Env) -> None:
    env.put("a.txt", "quarterly numbers")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    MemConnector.FAULTS["a.txt"] = [ConnectionError("connection reset by peer") for _ in range(3)]
    env.index_all()
    assert env.status("a.txt") == ("COMPLETED", None)
    assert MemConnector.CALLS["a.txt"] == 4
    assert env.index.record_keys() == {env.key("a.txt")}
    assert "indexingAttempts" not in env.doc("a.txt")  # the bookkeeping goes with the terminal status


def test_a_source_that_always_fails_is_given_up_after_the_allowed_attempts(env: Env) -> None:
    env.put("a.txt", "quarterly numbers")
    env.put("b.txt", "a healthy neighbour")
    env.sync((doc("a.txt"), [grant(ALICE)]), (doc("b.txt"), [grant(ALICE)]))
    MemConnector.ALWAYS["a.txt"] = ConnectionError("connection refused")
    env.index_all()
    reason = "gave up after 5 attempts: fetching: ConnectionError: connection refused"
    assert env.status("a.txt") == ("FAILED", reason)
    assert MemConnector.CALLS["a.txt"] == 5
    assert env.status("b.txt") == ("COMPLETED", None)  # one bad record never holds up the others
    failures = indexing_failures(env.store, connector_id=CONN)
    assert [(f["recordName"], f["reason"]) for f in failures] == [("a.txt", reason)]
    assert indexing_status_counts(env.store) == {"COMPLETED": 1, "FAILED": 1}


def test_the_number_of_attempts_is_configurable(env: Env) -> None:
    env.put("a.txt", "text")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    MemConnector.ALWAYS["a.txt"] = SourceAuthError("the refresh token was revoked")
    env.index_all(retry=RetryPolicy(max_attempts=2, base_delay_s=0.01))
    assert env.status("a.txt") == (
        "FAILED",
        "gave up after 2 attempts: fetching: SourceAuthError: the refresh token was revoked",
    )
    assert MemConnector.CALLS["a.txt"] == 2


def test_an_unavailable_index_or_embedding_service_is_waited_out(env: Env) -> None:
    env.put("a.txt", "first")
    env.put("b.txt", "second")
    env.sync((doc("a.txt"), [grant(ALICE)]), (doc("b.txt"), [grant(ALICE)]))
    env.embedder.fail_next = 2
    env.index.fail_writes = 2  # type: ignore[attr-defined]
    env.index_all()
    assert env.statuses() == {"a.txt": "COMPLETED", "b.txt": "COMPLETED"}
    assert env.index.record_keys() == {env.key("a.txt"), env.key("b.txt")}


def test_a_throttled_source_is_retried_no_sooner_than_it_asked(env: Env) -> None:
    env.put("a.txt", "text")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    MemConnector.FAULTS["a.txt"] = [SourceThrottledError(retry_after_s=0.4)]
    began = time.monotonic()
    env.index_all()
    assert time.monotonic() - began >= 0.4
    assert env.status("a.txt") == ("COMPLETED", None)
    assert MemConnector.CALLS["a.txt"] == 2


def test_a_record_whose_every_allowed_attempt_began_and_never_ended_is_dead_lettered(env: Env) -> None:
    """A file that kills the worker each time (a crash, an OOM kill) must not loop forever."""
    env.put("a.txt", "text")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    key = env.key("a.txt")
    with env.store.transaction() as tx:
        d = tx.get_node("records", key)
        assert d is not None
        tx.upsert_nodes("records", [{**d, "indexingStatus": "IN_PROGRESS", "indexingAttempts": 5}])
    env.index_all()
    assert env.status("a.txt") == ("FAILED", "gave up after 5 attempts: the worker stopped while indexing it")
    assert "a.txt" not in MemConnector.CALLS


def test_backoff_grows_exponentially_with_jitter_and_respects_retry_after() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=10.0, jitter=0.5)
    for attempt, full in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)]:
        delays = [policy.delay_s(attempt) for _ in range(200)]
        assert all(full * 0.5 <= d <= full for d in delays)
        assert max(delays) - min(delays) > full * 0.2  # jitter spreads records that failed together
    assert policy.delay_s(1, retry_after_s=30.0) == 30.0


def test_a_permission_change_that_cannot_reach_the_index_takes_the_record_out(env: Env) -> None:
    """Fail closed: stale principals could show the record to someone it was just unshared from."""
    env.put("a.txt", "the reorganisation plan")
    env.sync((doc("a.txt"), [grant(ALICE), grant(BOB)]))
    env.index_all()
    env.index.fail_updates = 1000  # type: ignore[attr-defined]  # principals cannot be changed in place
    env.sync((doc("a.txt"), [grant(ALICE)]))  # bob is unshared
    env.index_all()
    assert env.index.record_keys() == set()
    status, reason = env.status("a.txt")
    assert status == "FAILED"
    assert reason is not None
    assert reason.startswith("gave up after 5 attempts: writing the index: BackendUnavailableError")

    env.index.fail_updates = 0  # type: ignore[attr-defined]
    key = env.key("a.txt")
    with env.store.read() as tx:
        record = tx.get_record(key)
    assert record is not None
    run(env.processor.reindex_existing_records([record]))  # what "reindex failed records" does
    env.index_all()
    assert env.status("a.txt") == ("COMPLETED", None)
    indexed = env.index.get_record(env.key("a.txt"))
    assert indexed is not None
    assert indexed.principals == {env.user(ALICE)}


def test_giving_up_on_new_content_keeps_the_old_chunks_but_never_stale_principals(env: Env) -> None:
    env.put("a.txt", "version one")
    env.sync((doc("a.txt", rev="r1"), [grant(ALICE)]))
    env.index_all()
    MemConnector.ALWAYS["a.txt"] = ConnectionError("connection refused")
    env.sync((doc("a.txt", rev="r2"), [grant(BOB)]))  # new content and new grants, in one content event
    env.index_all()
    assert env.status("a.txt")[0] == "FAILED"
    assert [c.text for c in env.index.get_chunks(env.key("a.txt"))] == ["version one"]
    assert env.index.keyword_search("version", [env.user(ALICE)]) == []
    assert [h.record_key for h in env.index.keyword_search("version", [env.user(BOB)])] == [env.key("a.txt")]
