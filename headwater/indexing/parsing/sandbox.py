"""Running a parser where a hang or a crash cannot hurt the caller.

A parse runs in a worker process that is killed when it overruns `ParseLimits.timeout_s`. A thread
would not do: Python cannot stop a thread stuck in a pure-Python loop or inside pdfium's C code, and
a segfault in a C parser would take the whole indexing worker down with it.

Workers are reused, so the cost per file is a round trip over a socket pair (well under a
millisecond for a small file), not a process start. A worker is a fresh interpreter running
`_worker.py` (not a fork: forking a process that runs threads can deadlock; and not
multiprocessing's spawn, which re-imports the caller's main script and so fails in any script
without an `if __name__ == "__main__"` guard). It imports the parser libraries before it says it is
ready, so the clock of a parse never includes start-up. A worker is replaced after
`max_tasks_per_worker` parses, so memory that C libraries never give back is returned. Needs a POSIX
system (the socket is handed over with `pass_fds`).
"""

from __future__ import annotations

import importlib
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from headwater.indexing.parsing.base import ParseError, ParseLimits, Parser, UnsupportedFileType
from headwater.indexing.parsing.guards import format_size
from headwater.indexing.types import ParsedDocument

_READY = "ready"


def run_parser(parser: Parser, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
    """`parser.parse` in this thread, with every failure turned into ParseError or UnsupportedFileType:
    a library's own exception on a damaged file must become a reason, never an unhandled crash."""
    try:
        return parser.parse(content, name=name, limits=limits)
    except (ParseError, UnsupportedFileType):
        raise
    except RecursionError as exc:
        raise ParseError(f"not a valid {parser.format_name} file: it is nested too deeply") from exc
    except MemoryError as exc:
        cap = (
            f" ({format_size(limits.max_memory_bytes)})" if limits.isolate and limits.max_memory_bytes else ""
        )
        raise ParseError(
            f"the {parser.format_name} file needs more memory than a parse may use{cap}"
        ) from exc
    except Exception as exc:
        raise ParseError(f"not a valid {parser.format_name} file: {_reason(exc)}") from exc


def _reason(exc: Exception) -> str:
    """A library's exception on a damaged file, said so that a user sees what kind of damage."""
    # a KeyError's str() is the repr of its key, quotes and all
    detail = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    detail = detail or type(exc).__name__
    if isinstance(exc, zipfile.BadZipFile | zlib.error):
        return f"its zip archive is damaged ({detail})"
    if type(exc).__name__ == "XMLSyntaxError":  # lxml's, without importing lxml here
        return f"its XML is damaged ({detail})"
    if isinstance(exc, AttributeError | TypeError | IndexError | KeyError):
        return f"a part is missing or malformed ({detail})"
    return detail


@dataclass(eq=False)
class _Worker:
    process: subprocess.Popen[bytes]
    connection: Connection
    tasks: int = 0


class ParseSandbox:
    """A small pool of worker processes that parse one file at a time each. Thread-safe."""

    def __init__(
        self,
        *,
        max_workers: int = 2,
        max_tasks_per_worker: int = 200,
        start_timeout_s: float = 120.0,
        preload: tuple[str, ...] = (),
    ) -> None:
        self.max_workers = max_workers
        self.max_tasks_per_worker = max_tasks_per_worker
        self.start_timeout_s = start_timeout_s
        self.preload = preload  # modules a worker imports before it is ready
        self._lock = threading.Condition()
        self._idle: list[_Worker] = []
        self._live = 0
        self._closed = False

    def run(self, parser: Parser, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        worker = self._acquire()
        reusable = False
        try:
            reply = self._exchange(worker, parser, content, name=name, limits=limits)
            reusable = True
        finally:
            self._release(worker, reusable=reusable)
        return _unpack(reply)

    def close(self) -> None:
        """Stop every idle worker; busy ones stop when their parse ends."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._lock.notify_all()
        for worker in idle:
            _stop(worker)

    def _exchange(
        self, worker: _Worker, parser: Parser, content: bytes, *, name: str, limits: ParseLimits
    ) -> Any:
        try:
            worker.connection.send((parser, name, limits))
            worker.connection.send_bytes(content)
            if not worker.connection.poll(limits.timeout_s):
                raise ParseError(
                    f"parsing took longer than {limits.timeout_s:g} s and was stopped; "
                    "the file may be malformed or too complex"
                )
            return worker.connection.recv()
        except (EOFError, OSError) as exc:  # the worker died: a crash in a C library, or killed
            raise ParseError(
                f"the {parser.format_name} parser crashed on this file ({_how_it_ended(worker)}); "
                "the file may be damaged"
            ) from exc

    def _acquire(self) -> _Worker:
        with self._lock:
            while True:
                if self._closed:
                    raise RuntimeError("the parse sandbox is closed")
                if self._idle:
                    return self._idle.pop()
                if self._live < self.max_workers:
                    self._live += 1
                    break
                self._lock.wait()
        try:
            return self._start_worker()
        except BaseException:
            with self._lock:
                self._live -= 1
                self._lock.notify()
            raise

    def _release(self, worker: _Worker, *, reusable: bool) -> None:
        worker.tasks += 1
        keep = reusable and worker.tasks < self.max_tasks_per_worker
        with self._lock:
            if keep and not self._closed:
                self._idle.append(worker)
            else:
                self._live -= 1
                keep = False
            self._lock.notify()
        if not keep:
            _stop(worker)

    def _start_worker(self) -> _Worker:
        ours, theirs = socket.socketpair()
        # the worker imports what this process can: test modules, a checkout run without install
        path = os.pathsep.join(entry for entry in sys.path if entry)
        command = [
            sys.executable,
            "-m",
            "headwater.indexing.parsing._worker",
            str(theirs.fileno()),
            *self.preload,
        ]
        try:
            process = subprocess.Popen(
                command,
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # stderr stays: a crashing library's last words belong in the log
                env={**os.environ, "PYTHONPATH": path},
            )
        finally:
            theirs.close()
        worker = _Worker(process, Connection(ours.detach()))
        started = time.monotonic()
        try:
            ready = worker.connection.poll(self.start_timeout_s) and worker.connection.recv() == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            _stop(worker)
            waited = time.monotonic() - started
            raise ParseError(f"the parser process did not start (waited {waited:.0f} s)")
        return worker


def _how_it_ended(worker: _Worker) -> str:
    try:
        code = worker.process.wait(5)
    except subprocess.TimeoutExpired:
        return "it stopped answering"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _stop(worker: _Worker) -> None:
    worker.connection.close()  # an idle worker reads end-of-file and exits by itself
    if worker.process.poll() is None:
        worker.process.kill()
    try:
        worker.process.wait(5)
    except subprocess.TimeoutExpired:  # pragma: no cover - a kill that does not land in 5 s
        pass


def _unpack(reply: Any) -> ParsedDocument:
    status, payload = reply
    if status == "ok":
        assert isinstance(payload, ParsedDocument)
        return payload
    error_type, message = payload
    if error_type == "unsupported":
        raise UnsupportedFileType(message)
    raise ParseError(message)


def serve(connection: Connection, preload: tuple[str, ...]) -> None:
    """The worker's loop (see `_worker.py`): one request at a time until the socket closes."""
    _exit_with_parent()
    for module in preload:
        importlib.import_module(module)
    connection.send(_READY)
    while True:
        try:
            parser, name, limits = connection.recv()
            content = connection.recv_bytes()
        except (EOFError, OSError):
            return
        _limit_memory(limits.max_memory_bytes)
        try:
            reply: tuple[str, Any] = ("ok", run_parser(parser, content, name=name, limits=limits))
        except UnsupportedFileType as exc:
            reply = ("error", ("unsupported", str(exc)))
        except ParseError as exc:
            reply = ("error", ("parse", str(exc)))
        del content
        connection.send(reply)


def _limit_memory(max_bytes: int | None) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = resource.RLIM_INFINITY if max_bytes is None else max_bytes
    if hard != resource.RLIM_INFINITY:
        soft = hard if soft == resource.RLIM_INFINITY else min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _exit_with_parent() -> None:
    """A worker whose parent died (killed, so it never closed the socket) must not go on parsing
    an endless file: a thread checks every second and ends the process."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
