"""Parsers that hang, crash or raise, for the sandbox tests. They live in a module of their own
because a worker process must be able to import them by name."""

from __future__ import annotations

import os
import signal
import time

from headwater.indexing.parsing.base import ParseLimits, Parser
from headwater.indexing.types import Block, ParsedDocument


class SpinningParser(Parser):
    """Loops in pure Python forever: no thread could stop it."""

    format_name = "spin"
    extensions = frozenset({".spin"})

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        while True:
            time.sleep(0)


class SegfaultingParser(Parser):
    """Dies the way a C library does on a hostile file."""

    format_name = "crash"
    extensions = frozenset({".crash"})

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        os.kill(os.getpid(), signal.SIGSEGV)
        raise AssertionError("unreachable")


class BuggyParser(Parser):
    """Raises an exception no parser should let out."""

    format_name = "buggy"
    extensions = frozenset({".buggy"})

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        raise KeyError("word/document.xml")


class EchoParser(Parser):
    """Returns the content as one block, and the worker's process id as the title."""

    format_name = "echo"
    extensions = frozenset({".echo"})

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        return ParsedDocument(blocks=[Block(text=content.decode())], title=str(os.getpid()))


class HungryParser(Parser):
    """Asks for a gigabyte at once, like a decompression bomb inside a PDF stream."""

    format_name = "hungry"
    extensions = frozenset({".hungry"})

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        hoard = bytearray(1024 * 1024 * 1024)
        return ParsedDocument(blocks=[Block(text=str(len(hoard)))])
