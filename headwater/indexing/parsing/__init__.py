"""Parsers by MIME type: bytes -> ParsedDocument. See `base.py` for the contract and `registry.py`
for how a parser is chosen and guarded."""

from headwater.indexing.parsing.base import (
    FileTooLarge,
    ParseError,
    ParseLimits,
    Parser,
    UnsupportedFileType,
)
from headwater.indexing.parsing.registry import (
    ParserRegistry,
    default_registry,
    is_supported,
    parse_document,
)

__all__ = [
    "FileTooLarge",
    "ParseError",
    "ParseLimits",
    "Parser",
    "ParserRegistry",
    "UnsupportedFileType",
    "default_registry",
    "is_supported",
    "parse_document",
]
