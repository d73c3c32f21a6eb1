"""Bytes of a text format -> str, without ever failing on an encoding.

Order: a byte-order mark says it outright; UTF-16 without a mark shows as NUL bytes on every other
position; then strict UTF-8 (almost all text today, and it rarely decodes by accident); then cp1252
(Windows "ANSI", a superset of Latin-1's printable characters, what old Office exports use); then
Latin-1, which decodes any byte string. Files with NUL bytes left after that are binary.
"""

from __future__ import annotations

import codecs

from headwater.indexing.parsing.base import ParseError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_SAMPLE = 4096


def detect_encoding(content: bytes) -> tuple[str, int]:
    """The encoding of `content` and how many leading bytes (a BOM) to skip."""
    for bom, encoding in _BOMS:
        if content.startswith(bom):
            return encoding, len(bom)
    sample = content[:_SAMPLE]
    if len(sample) >= 4:
        even_nuls = sample[0::2].count(0)
        odd_nuls = sample[1::2].count(0)
        half = len(sample) // 2
        # ASCII-range text in UTF-16 has a NUL in every high byte; real binary data is not that tidy
        if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
            return "utf-16-le", 0
        if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
            return "utf-16-be", 0
    try:
        content.decode("utf-8")
        return "utf-8", 0
    except UnicodeDecodeError:
        pass
    try:
        content.decode("cp1252")
        return "cp1252", 0
    except UnicodeDecodeError:  # one of the five bytes cp1252 leaves undefined
        return "latin-1", 0


def decode_text(content: bytes, *, format_name: str = "text") -> str:
    """`content` as text with `\\n` line ends. Raises ParseError for a file that is binary."""
    encoding, skip = detect_encoding(content)
    text = content[skip:].decode(encoding, errors="replace")
    sample = text[:_SAMPLE]
    if sample and sample.count("\x00") > max(1, len(sample) // 100):
        raise ParseError(f"not a {format_name} file: it contains binary data")
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
