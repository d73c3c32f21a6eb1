"""Every record ends in the terminal status its content earns, with a reason users can act on."""

from __future__ import annotations

from headwater.connectors.core.instances import update_instance
from headwater.indexing.content import ContentTooLarge
from headwater.indexing.parsing.base import ParseLimits
from headwater.models.constants import MimeTypes

from .helpers import ALICE, CONN, Env, MemConnector, doc, grant

PDF = MimeTypes.PDF.value


def test_each_kind_of_content_ends_in_its_terminal_status(env: Env) -> None:
    env.put("notes.md", "# Plan\n\nHire two engineers in March.")
    env.put("broken.pdf", b"%PDF-1.4 this is not really a PDF")
    env.put("photo.png", b"\x89PNG\r\n\x1a\n....")
    env.put("empty.txt", b"")
    env.put("blank.txt", "   \n\n  ")
    env.sync(
        (doc("notes.md", mime=MimeTypes.MARKDOWN.value), [grant(ALICE)]),
        (doc("broken.pdf", mime=PDF), [grant(ALICE)]),
        (doc("photo.png", mime=MimeTypes.PNG.value), [grant(ALICE)]),
        (doc("empty.txt"), [grant(ALICE)]),
        (doc("blank.txt"), [grant(ALICE)]),
        (doc("folder", is_file=False, mime=MimeTypes.FOLDER.value), [grant(ALICE)]),
    )
    env.index_all()

    assert env.status("notes.md") == ("COMPLETED", None)
    assert env.status("broken.pdf") == ("FAILED", "not a valid PDF: data format error")
    assert env.status("photo.png") == (
        "FILE_TYPE_NOT_SUPPORTED",
        "no parser for photo.png (MIME type image/png, extension .png)",
    )
    assert env.status("empty.txt") == ("EMPTY", None)
    assert env.status("blank.txt") == ("EMPTY", None)
    assert env.status("folder") == ("AUTO_INDEX_OFF", "a folder has no content of its own")
    assert env.index.record_keys() == {env.key("notes.md")}
    assert MemConnector.CALLS["broken.pdf"] == 1  # a permanent failure is not retried
    assert "folder" not in MemConnector.CALLS  # nothing fetched for a folder
    # nothing is left waiting, and no attempt bookkeeping is left behind
    assert set(env.statuses().values()) <= {
        "COMPLETED",
        "FAILED",
        "FILE_TYPE_NOT_SUPPORTED",
        "EMPTY",
        "AUTO_INDEX_OFF",
    }
    assert all("indexingAttempts" not in env.doc(ext) for ext in env.statuses())


def test_a_parse_that_overruns_its_time_limit_fails(env: Env) -> None:
    env.put("huge.txt", "many words in a very long file " * 400_000)
    env.sync((doc("huge.txt"), [grant(ALICE)]))
    # the real sandbox: the parse runs in a worker process that is stopped after timeout_s
    env.index_all(parse_limits=ParseLimits(timeout_s=0.01))
    status, reason = env.status("huge.txt")
    assert status == "FAILED"
    assert reason is not None
    assert reason.startswith("parsing took longer than 0.01 s and was stopped")
    assert env.embedder.calls == 0


def test_content_that_turns_corrupt_or_empty_loses_its_old_chunks(env: Env) -> None:
    env.put("a", "first version of the report")
    env.put("b", "first version of the slides")
    env.sync((doc("a", rev="r1"), [grant(ALICE)]), (doc("b", rev="r1"), [grant(ALICE)]))
    env.index_all()
    assert env.index.record_keys() == {env.key("a"), env.key("b")}

    env.put("a", b"")
    env.put("b", b"%PDF-1.4 broken")
    env.sync((doc("a", rev="r2"), [grant(ALICE)]), (doc("b", rev="r2", mime=PDF), [grant(ALICE)]))
    env.index_all()
    assert env.status("a") == ("EMPTY", None)
    assert env.status("b")[0] == "FAILED"
    assert env.index.record_keys() == set()


def test_content_over_the_size_cap_fails_without_retrying(env: Env) -> None:
    env.put("big.txt", "x" * 5000)
    env.sync((doc("big.txt"), [grant(ALICE)]))
    worker = env.worker()
    worker.pipeline.fetcher.max_bytes = 1024
    from .helpers import run

    run(worker.run_until_idle(30))
    assert env.status("big.txt") == ("FAILED", "fetching: ContentTooLarge: " + str(ContentTooLarge(1024)))
    assert MemConnector.CALLS["big.txt"] == 1


def test_records_of_a_disabled_instance_are_not_indexed(env: Env) -> None:
    env.put("a.txt", "text")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    update_instance(env.store, CONN, isActive=False)
    env.index_all()
    assert env.status("a.txt") == ("AUTO_INDEX_OFF", "the connector instance is disabled")
    assert env.index.record_keys() == set()


def test_a_connector_that_cannot_stream_fails_the_record_at_once(env: Env) -> None:
    env.put("a.txt", "text")
    env.sync((doc("a.txt"), [grant(ALICE)]))
    MemConnector.ALWAYS["a.txt"] = NotImplementedError("this source has no content")
    env.index_all()
    assert env.status("a.txt") == ("FAILED", "fetching: NotImplementedError: this source has no content")
    assert MemConnector.CALLS["a.txt"] == 1


def test_a_record_switched_off_after_its_event_keeps_its_status_and_leaves_the_index(env: Env) -> None:
    env.put("a.txt", "text")
    env.sync((doc("a.txt", rev="r1"), [grant(ALICE)]))
    env.index_all()
    assert env.index.record_keys() == {env.key("a.txt")}
    # new content is queued, then the indexing filters switch the record off before the worker runs
    env.put("a.txt", "new text")
    env.sync((doc("a.txt", rev="r2"), [grant(ALICE)]))
    key = env.key("a.txt")
    with env.store.transaction() as tx:
        d = tx.get_node("records", key)
        assert d is not None
        tx.upsert_nodes("records", [{**d, "indexingStatus": "AUTO_INDEX_OFF", "reason": "filtered"}])
    env.index_all()
    assert env.status("a.txt") == ("AUTO_INDEX_OFF", "filtered")
    assert env.index.record_keys() == set()
