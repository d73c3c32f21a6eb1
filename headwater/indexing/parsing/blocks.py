"""Building a `ParsedDocument` block by block, the same way in every parser.

`DocumentBuilder` normalises whitespace, drops empty blocks, and enforces two budgets, so that a
parser stops reading instead of collecting text nobody will index:
- `ParseLimits.max_chars`: once spent, the last block is cut and `full` turns true, with a warning;
- time: at 80% of `ParseLimits.timeout_s` `full` turns true too, with a warning, so a slow file (a
  wide spreadsheet of 200 000 rows) is indexed in part instead of being killed at the timeout with
  nothing to show. The hard kill in `sandbox.py` remains for a parse that never checks.

Tables become one TABLE_ROW block per row whose text stands alone ("Name: Ann; Age: 30") and whose
`table_header` ("Name | Age") the chunker repeats at the top of each chunk of rows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from headwater.indexing.parsing.base import ParseLimits
from headwater.indexing.types import Attachment, Block, BlockKind, Location, ParsedDocument

_SOFT_TIMEOUT_SHARE = 0.8
_INLINE_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INDENT = re.compile(r"[ \t]*")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f\ufeff\ufffe\uffff]")  # pdfium marks soft hyphens \ufffe


def clean_text(text: str, *, keep_lines: bool = True) -> str:
    """Text without control characters and runs of spaces. `keep_lines` keeps every line break (code,
    plain text: their line numbers are citations); otherwise all whitespace becomes one space."""
    if not keep_lines:  # split() takes every kind of whitespace, line breaks included
        return " ".join(_CONTROL.sub("", text).split())
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n").replace("\v", "\n")
    text = _CONTROL.sub("", text)
    # blank lines stay: a block's line breaks are how the chunker finds the line a piece starts on
    return "\n".join(map(_tidy_line, text.split("\n"))).strip("\n")


def _tidy_line(line: str) -> str:
    """One line with its indentation kept (code, nested lists) and inner runs of spaces collapsed."""
    indent = _INDENT.match(line)
    start = indent.end() if indent else 0
    return line[:start] + _INLINE_SPACE.sub(" ", line[start:]).rstrip()


def column_names(header: Sequence[str]) -> list[str]:
    """Header cells as column names; a blank one is named by its position ("Column 3")."""
    names = []
    for index, cell in enumerate(header):
        name = clean_text(cell, keep_lines=False)
        names.append(name or f"Column {index + 1}")
    return names


def header_line(columns: Sequence[str]) -> str:
    return " | ".join(columns)


def row_text(columns: Sequence[str], cells: Sequence[str]) -> str:
    """ "Name: Ann; Age: 30": empty cells left out, extra cells named by position."""
    parts = []
    for index, cell in enumerate(cells):
        value = clean_text(cell, keep_lines=False)
        if not value:
            continue
        column = columns[index] if index < len(columns) else f"Column {index + 1}"
        parts.append(f"{column}: {value}")
    return "; ".join(parts)


class DocumentBuilder:
    """Collects blocks within the character budget of `limits`."""

    def __init__(self, limits: ParseLimits, *, title: str | None = None) -> None:
        self.limits = limits
        self.title = clean_text(title, keep_lines=False) if title else None
        self.blocks: list[Block] = []
        self.attachments: list[Attachment] = []
        self.warnings: list[str] = []
        self._chars = 0
        self._started = time.monotonic()
        self._out_of_time = False

    @property
    def full(self) -> bool:
        """The character or time budget is spent: stop reading."""
        if self._chars >= self.limits.max_chars or self._out_of_time:
            return True
        elapsed = time.monotonic() - self._started
        if elapsed > self.limits.timeout_s * _SOFT_TIMEOUT_SHARE:
            self._out_of_time = True
            self.warn(f"parsing stopped after {elapsed:.0f} s; the rest of the document was not indexed")
        return self._out_of_time

    def add(
        self,
        text: str,
        kind: BlockKind = BlockKind.PARAGRAPH,
        location: Location | None = None,
        *,
        level: int = 0,
        table_header: str | None = None,
        keep_lines: bool = True,
    ) -> None:
        if self.full:
            return
        text = clean_text(text, keep_lines=keep_lines and kind is not BlockKind.TABLE_ROW)
        if kind is not BlockKind.CODE:  # code keeps its first line's indentation
            text = text.strip()
        if not text.strip():
            return
        room = self.limits.max_chars - self._chars
        if len(text) > room:
            text = text[:room]
            self.warn(f"only the first {self.limits.max_chars:,} characters of text were indexed")
        self._chars += len(text)
        self.blocks.append(
            Block(
                text=text,
                kind=kind,
                location=location if location is not None else Location(),
                level=level,
                table_header=table_header,
            )
        )

    def add_table(
        self,
        rows: Sequence[Sequence[str]],
        location: Location | None = None,
        *,
        first_row: int = 1,
    ) -> None:
        """A table whose first row is its header. A table of one row has no data: its cells become a
        paragraph so the words stay searchable."""
        rows = [row for row in rows if any(cell.strip() for cell in row)]
        if not rows:
            return
        base = location if location is not None else Location()
        if len(rows) == 1:
            self.add(" | ".join(c.strip() for c in rows[0] if c.strip()), location=_copy(base))
            return
        columns = column_names(rows[0])
        header = header_line(columns)
        for offset, cells in enumerate(rows[1:]):
            if self.full:
                return
            where = _copy(base)
            where.row = first_row + offset
            self.add(row_text(columns, cells), BlockKind.TABLE_ROW, where, table_header=header)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def build(self) -> ParsedDocument:
        return ParsedDocument(
            blocks=self.blocks,
            title=self.title or None,
            attachments=self.attachments,
            warnings=self.warnings,
        )


def _copy(location: Location) -> Location:
    return Location.from_dict(location.as_dict())
