"""The parsing seam: a parser turns a document's bytes into blocks that keep their location.

Errors say what happened so the worker can record a terminal status:
- `UnsupportedFileType` -> FILE_TYPE_NOT_SUPPORTED
- `ParseError` (corrupt file, limit exceeded, timeout) -> FAILED with `str(exc)` as the reason;
  `FileTooLarge` is the subclass for a file rejected by size alone, before any parsing
- a `ParsedDocument` with `is_empty` -> EMPTY

What a limit does (see `ParseLimits`):
- fail (ParseError): a file over its format's size; a zip that would inflate past
  `max_uncompressed_bytes` or `max_compression_ratio` (a zip bomb is hostile, not merely big); a
  parse still running at `timeout_s` (killed) or needing more than `max_memory_bytes`;
- cut off, with a sentence in `ParsedDocument.warnings`: pages and slides past `max_pages`, rows past
  `max_rows`, text past `max_chars`, and whatever a parser has not read by 80% of `timeout_s` (the
  first 200 000 rows of a huge export are worth finding; nothing is worth a failed record).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field

from headwater.errors import HeadwaterError
from headwater.indexing.types import ParsedDocument


class ParseError(HeadwaterError):
    """The file could not be parsed; the message is the reason shown to users."""


class FileTooLarge(ParseError):
    """The file is over its format's size limit; nothing of it was parsed."""


class UnsupportedFileType(HeadwaterError):
    """No parser handles this MIME type / extension."""


MB = 1024 * 1024

# Per format, because what a byte costs differs: a 100 MB PDF is mostly images pdfium skips, while a
# 100 MB XLSX is millions of cells openpyxl turns into Python objects one by one.
DEFAULT_MAX_BYTES_BY_FORMAT: Mapping[str, int] = {
    "PDF": 100 * MB,
    "DOCX": 100 * MB,
    "PPTX": 200 * MB,  # slides carry pictures the parser never decompresses
    "XLSX": 50 * MB,
    "HTML": 20 * MB,
    "Markdown": 20 * MB,
    "text": 20 * MB,
    "source code": 20 * MB,
    "CSV": 100 * MB,  # read as a stream; max_rows cuts it off
    "JSON": 20 * MB,  # loaded whole
    "email": 50 * MB,  # mostly attachments, handed back undecoded beyond base64
}


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Guards against hostile or huge files. Defaults suit a laptop; all are configurable."""

    max_bytes: int = 100 * MB  # for a format missing from max_bytes_by_format
    max_pages: int = 2_000  # PDF pages, slides
    max_rows: int = 200_000  # spreadsheet / CSV rows in total
    max_uncompressed_bytes: int = 500 * MB  # zip-based formats (DOCX, XLSX, PPTX)
    max_compression_ratio: float = 200.0  # zip bomb guard
    timeout_s: float = 60.0
    max_chars: int = 20_000_000  # text kept from one document
    max_bytes_by_format: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_MAX_BYTES_BY_FORMAT))
    max_zip_entries: int = 20_000  # a DOCX has ~20 parts, a big XLSX a few hundred
    # Parse in a worker process that is killed after `timeout_s` (and whose crash is only a failed
    # parse). False parses in the calling thread with no timeout: for tests and trusted content.
    isolate: bool = True
    # address space a worker process may use while parsing (a PDF whose streams inflate without
    # end fails instead of swapping the machine); None for no cap. Not applied when isolate is False.
    max_memory_bytes: int | None = 2048 * MB

    def max_bytes_for(self, format_name: str) -> int:
        return self.max_bytes_by_format.get(format_name, self.max_bytes)


class Parser(ABC):
    """One format family."""

    format_name: str = "file"  # what users call the format, in messages and size limits: "PDF"
    mime_types: frozenset[str] = frozenset()
    extensions: frozenset[str] = frozenset()  # lower case, with the dot: ".md"
    # libraries a worker process imports before it takes its first file, so a parse's timeout
    # never pays for an import (parsers import them lazily: choosing a parser stays cheap)
    preload: tuple[str, ...] = ()

    @abstractmethod
    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        """Blocks of `content`; raise ParseError with a reason a user understands."""
