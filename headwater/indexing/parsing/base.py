"""The parsing seam: a parser turns a document's bytes into blocks that keep their location.

Errors say what happened so the worker can record a terminal status:
- `UnsupportedFileType` -> FILE_TYPE_NOT_SUPPORTED
- `ParseError` (corrupt file, limit exceeded, timeout) -> FAILED with `str(exc)` as the reason
- a `ParsedDocument` with `is_empty` -> EMPTY
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from headwater.errors import HeadwaterError
from headwater.indexing.types import ParsedDocument


class ParseError(HeadwaterError):
    """The file could not be parsed; the message is the reason shown to users."""


class UnsupportedFileType(HeadwaterError):
    """No parser handles this MIME type / extension."""


@dataclass(frozen=True, slots=True)
class ParseLimits:
    """Guards against hostile or huge files. Defaults suit a laptop; all are configurable."""

    max_bytes: int = 100 * 1024 * 1024
    max_pages: int = 2_000  # PDF pages, slides
    max_rows: int = 200_000  # spreadsheet / CSV rows in total
    max_uncompressed_bytes: int = 500 * 1024 * 1024  # zip-based formats (DOCX, XLSX, PPTX)
    max_compression_ratio: float = 200.0  # zip bomb guard
    timeout_s: float = 60.0
    max_chars: int = 20_000_000  # text kept from one document


class Parser(ABC):
    """One format family."""

    mime_types: frozenset[str] = frozenset()
    extensions: frozenset[str] = frozenset()  # lower case, with the dot: ".md"

    @abstractmethod
    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        """Blocks of `content`; raise ParseError with a reason a user understands."""
