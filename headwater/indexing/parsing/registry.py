"""Choosing a parser for a file, and `parse_document`, the one call the indexing worker makes.

The choice: a specific MIME type decides (application/pdf -> PDF). A generic one (none,
application/octet-stream, text/plain) says little, so the file name's extension decides first
("notes.md" sent as text/plain is Markdown); then text/plain itself; and with no MIME type and no
known extension, the first bytes (%PDF-, a zip holding word/document.xml, <html, readable text).
Nothing matching -> UnsupportedFileType, which the worker records as FILE_TYPE_NOT_SUPPORTED.

Then the guards, cheapest first: an empty file is an empty document; a file over its format's size
limit is rejected unread; the parse itself runs in a worker process with a timeout (`sandbox.py`)
unless `ParseLimits.isolate` is False.
"""

from __future__ import annotations

import atexit
import io
import threading
import zipfile
from collections.abc import Iterable
from pathlib import PurePosixPath

from headwater.indexing.parsing.base import ParseLimits, Parser, UnsupportedFileType
from headwater.indexing.parsing.code import SourceCodeParser
from headwater.indexing.parsing.email import EmailParser
from headwater.indexing.parsing.excel import XlsxParser
from headwater.indexing.parsing.guards import check_size
from headwater.indexing.parsing.html import HtmlParser
from headwater.indexing.parsing.markdown import MarkdownParser
from headwater.indexing.parsing.pdf import PdfParser
from headwater.indexing.parsing.powerpoint import PptxParser
from headwater.indexing.parsing.sandbox import ParseSandbox, run_parser
from headwater.indexing.parsing.tabular import CsvParser, JsonParser
from headwater.indexing.parsing.text import PlainTextParser
from headwater.indexing.parsing.word import DocxParser
from headwater.indexing.types import ParsedDocument

GENERIC_MIME_TYPES = frozenset(
    {
        "",
        "application/octet-stream",
        "binary/octet-stream",
        "application/unknown",
        "application/x-unknown",
        "application/binary",
        "application/x-empty",
        "text/plain",
    }
)
_OFFICE_PARTS = (
    ("word/document.xml", DocxParser),
    ("xl/workbook.xml", XlsxParser),
    ("ppt/presentation.xml", PptxParser),
)


def normalise_mime_type(mime_type: str | None) -> str:
    """ "Text/HTML; charset=utf-8" -> "text/html"."""
    return (mime_type or "").split(";", 1)[0].strip().lower()


class ParserRegistry:
    """Parsers by MIME type and by extension; the first registered wins a tie."""

    def __init__(self, parsers: Iterable[Parser] = ()) -> None:
        self._parsers: list[Parser] = []
        self._by_mime: dict[str, Parser] = {}
        self._by_extension: dict[str, Parser] = {}
        for parser in parsers:
            self.register(parser)

    @property
    def parsers(self) -> tuple[Parser, ...]:
        return tuple(self._parsers)

    def register(self, parser: Parser) -> None:
        self._parsers.append(parser)
        for mime_type in parser.mime_types:
            self._by_mime.setdefault(mime_type, parser)
        for extension in parser.extensions:
            self._by_extension.setdefault(extension, parser)

    def parser_for(self, *, mime_type: str | None, name: str, content: bytes | None = None) -> Parser:
        """The parser for this file; UnsupportedFileType when there is none."""
        mime = normalise_mime_type(mime_type)
        if mime not in GENERIC_MIME_TYPES and mime in self._by_mime:
            return self._by_mime[mime]
        extension = PurePosixPath(name.replace("\\", "/")).suffix.lower()
        if extension in self._by_extension:
            return self._by_extension[extension]
        if mime in self._by_mime:  # text/plain with an unknown extension
            return self._by_mime[mime]
        if mime in GENERIC_MIME_TYPES and content is not None:
            sniffed = self._sniff(content)
            if sniffed is not None:
                return sniffed
        shown = f"MIME type {mime}" if mime else "no MIME type"
        raise UnsupportedFileType(
            f"no parser for {name or 'this file'} ({shown}, extension {extension or 'none'})"
        )

    def is_supported(self, *, mime_type: str | None, name: str) -> bool:
        """Whether a parser exists, decided without the content (before downloading it). A file with a
        generic MIME type and no known extension may still be recognised by its first bytes."""
        try:
            self.parser_for(mime_type=mime_type, name=name)
        except UnsupportedFileType:
            return normalise_mime_type(mime_type) in GENERIC_MIME_TYPES
        return True

    def parse(
        self,
        content: bytes,
        *,
        mime_type: str | None,
        name: str,
        limits: ParseLimits | None = None,
        sandbox: ParseSandbox | None = None,
    ) -> ParsedDocument:
        limits = limits or ParseLimits()
        parser = self.parser_for(mime_type=mime_type, name=name, content=content)
        if not content or content.isspace():
            return ParsedDocument(blocks=[])
        check_size(len(content), parser.format_name, limits)
        if not limits.isolate:
            return run_parser(parser, content, name=name, limits=limits)
        return (sandbox or default_sandbox()).run(parser, content, name=name, limits=limits)

    def _sniff(self, content: bytes) -> Parser | None:
        head = content[:2048]
        lowered = head.lstrip().lower()
        if b"%PDF-" in head[:1024]:
            return self._registered(PdfParser)
        if head.startswith(b"PK\x03\x04"):
            try:
                with zipfile.ZipFile(io.BytesIO(content)) as archive:
                    names = set(archive.namelist())
            except (zipfile.BadZipFile, OSError, ValueError, EOFError):
                return None
            for part, parser_type in _OFFICE_PARTS:
                if part in names:
                    return self._registered(parser_type)
            return None
        if lowered.startswith((b"<!doctype html", b"<html")):
            return self._registered(HtmlParser)
        if b"\x00" in head:  # binary; UTF-16 text has a BOM in practice
            return None
        return self._registered(PlainTextParser)

    def _registered(self, parser_type: type[Parser]) -> Parser | None:
        return next((p for p in self._parsers if isinstance(p, parser_type)), None)


def builtin_parsers() -> list[Parser]:
    return [
        PdfParser(),
        DocxParser(),
        XlsxParser(),
        PptxParser(),
        HtmlParser(),
        MarkdownParser(),
        CsvParser(),
        JsonParser(),
        EmailParser(),
        SourceCodeParser(),
        PlainTextParser(),
    ]


default_registry = ParserRegistry(builtin_parsers())

_sandbox: ParseSandbox | None = None
_sandbox_lock = threading.Lock()


def default_sandbox() -> ParseSandbox:
    """The process-wide pool of parser processes, started on first use and stopped at exit."""
    global _sandbox
    with _sandbox_lock:
        if _sandbox is None:
            preload = tuple(dict.fromkeys(m for p in default_registry.parsers for m in p.preload))
            _sandbox = ParseSandbox(preload=preload)
            atexit.register(_sandbox.close)
        return _sandbox


def parse_document(
    content: bytes, *, mime_type: str | None, name: str, limits: ParseLimits | None = None
) -> ParsedDocument:
    """Blocks of one file. Raises UnsupportedFileType (no parser) or ParseError (corrupt, over a
    limit, timed out; the message is the reason to show); an empty result has `is_empty`."""
    return default_registry.parse(content, mime_type=mime_type, name=name, limits=limits)


def is_supported(*, mime_type: str | None, name: str) -> bool:
    return default_registry.is_supported(mime_type=mime_type, name=name)
