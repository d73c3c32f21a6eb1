"""The parse timeout and crash isolation: a worker process that is killed, and a caller that lives on."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from headwater.indexing.parsing import ParseError, ParseLimits, ParserRegistry, parse_document
from headwater.indexing.parsing.sandbox import ParseSandbox
from headwater.indexing.parsing.text import PlainTextParser
from tests.indexing.parsing.fixtures import make_docx, make_pdf
from tests.indexing.parsing.misbehaving_parsers import (
    BuggyParser,
    EchoParser,
    HungryParser,
    SegfaultingParser,
    SpinningParser,
)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[ParseSandbox]:
    pool = ParseSandbox(max_workers=1)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def registry() -> ParserRegistry:
    parsers = [
        SpinningParser(),
        SegfaultingParser(),
        BuggyParser(),
        HungryParser(),
        EchoParser(),
        PlainTextParser(),
    ]
    return ParserRegistry(parsers)


def test_a_parse_that_never_ends_is_stopped_at_the_timeout_and_the_next_file_parses(
    sandbox: ParseSandbox, registry: ParserRegistry
) -> None:
    started = time.monotonic()
    with pytest.raises(ParseError, match=r"parsing took longer than 0.5 s and was stopped"):
        registry.parse(
            b"x", mime_type=None, name="loop.spin", limits=ParseLimits(timeout_s=0.5), sandbox=sandbox
        )
    assert time.monotonic() - started < 5  # 0.5 s of parsing, plus the worker's start

    document = registry.parse(b"still here", mime_type=None, name="a.echo", sandbox=sandbox)
    assert document.blocks[0].text == "still here"
    assert int(document.title or 0) != os.getpid()  # parsed in a worker, not in the test process


def test_a_worker_that_crashes_fails_only_its_file(sandbox: ParseSandbox, registry: ParserRegistry) -> None:
    with pytest.raises(
        ParseError,
        match=r"^the crash parser crashed on this file \(killed by SIGSEGV\); the file may be damaged$",
    ):
        registry.parse(b"x", mime_type=None, name="bad.crash", sandbox=sandbox)
    document = registry.parse(b"after the crash", mime_type=None, name="a.echo", sandbox=sandbox)
    assert document.blocks[0].text == "after the crash"


def test_an_unexpected_exception_becomes_a_parse_error_and_the_worker_is_kept(
    sandbox: ParseSandbox, registry: ParserRegistry
) -> None:
    before = registry.parse(b"a", mime_type=None, name="a.echo", sandbox=sandbox).title
    with pytest.raises(
        ParseError, match=r"^not a valid buggy file: a part is missing or malformed \(word/document.xml\)$"
    ):
        registry.parse(b"x", mime_type=None, name="x.buggy", sandbox=sandbox)
    after = registry.parse(b"b", mime_type=None, name="b.echo", sandbox=sandbox).title
    assert before == after  # the same worker process served both


def test_a_parse_that_wants_too_much_memory_fails_and_the_worker_serves_on(
    sandbox: ParseSandbox, registry: ParserRegistry
) -> None:
    limits = ParseLimits(max_memory_bytes=512 * 1024 * 1024)
    with pytest.raises(
        ParseError, match=r"^the hungry file needs more memory than a parse may use \(512 MB\)$"
    ):
        registry.parse(b"x", mime_type=None, name="a.hungry", limits=limits, sandbox=sandbox)
    assert registry.parse(b"fine", mime_type=None, name="a.echo", sandbox=sandbox).blocks[0].text == "fine"


def test_a_worker_is_replaced_after_its_task_budget() -> None:
    pool = ParseSandbox(max_workers=1, max_tasks_per_worker=2)
    registry = ParserRegistry([EchoParser()])
    try:
        workers = [registry.parse(b"x", mime_type=None, name="a.echo", sandbox=pool).title for _ in range(3)]
    finally:
        pool.close()
    assert workers[0] == workers[1] != workers[2]


def test_parse_document_isolates_by_default_and_gives_what_an_inline_parse_gives() -> None:
    for content, name in ((make_pdf(pages=2), "report.pdf"), (make_docx(), "handbook.docx")):
        isolated = parse_document(content, mime_type=None, name=name)
        inline = parse_document(content, mime_type=None, name=name, limits=ParseLimits(isolate=False))
        assert isolated == inline
        assert isolated.blocks


ORPHAN_SCRIPT = """
import os, threading, time
from headwater.indexing.parsing import ParserRegistry
from headwater.indexing.parsing.sandbox import ParseSandbox
from tests.indexing.parsing.misbehaving_parsers import SpinningParser

registry = ParserRegistry([SpinningParser()])
pool = ParseSandbox(max_workers=1)
job = dict(mime_type=None, name="a.spin", sandbox=pool)
threading.Thread(target=registry.parse, args=(b"x",), kwargs=job, daemon=True).start()
def parent_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[1]
    except OSError:  # gone meanwhile
        return None

me = str(os.getpid())
for _ in range(200):
    children = [p for p in os.listdir("/proc") if p.isdigit() and parent_of(p) == me]
    if children:
        break
    time.sleep(0.05)
time.sleep(0.5)  # the worker is now spinning
print(children[0], flush=True)
os._exit(0)  # killed: no clean-up runs
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_worker_stuck_in_a_parse_ends_when_its_parent_is_killed() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-c", ORPHAN_SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # the worker inherits stderr: a pipe would wait for it to end
        text=True,
        timeout=30,
        check=True,
    )
    worker = int(result.stdout.strip())
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker)
