"""Markdown (CommonMark and GitHub flavour) -> blocks, one line at a time.

Not a full CommonMark parser: it finds the structure search needs (ATX and setext headings with
their levels, paragraphs, list items, fenced and indented code, block quotes, pipe tables, YAML front
matter) and flattens inline markup to its words (links keep their text, images their alt text).
Every block keeps the line it starts on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from headwater.indexing.parsing.base import ParseLimits, Parser
from headwater.indexing.parsing.blocks import DocumentBuilder, column_names, header_line, row_text
from headwater.indexing.parsing.encoding import decode_text
from headwater.indexing.types import BlockKind, Location, ParsedDocument

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")
_LIST_ITEM = re.compile(r"^([ \t]*)(?:[-*+]|\d{1,9}[.)])(?:[ \t]+(.*)|$)")
_QUOTE = re.compile(r"^ {0,3}> ?(.*)$")
_TABLE_DELIMITER = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$")
_INDENTED_CODE = re.compile(r"^(?: {4}|\t)")
_HTML_COMMENT_START = re.compile(r"^ {0,3}<!--")

_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\[[^\]]*\])")
_AUTOLINK = re.compile(r"<((?:https?|mailto|ftp):[^>\s]+)>")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")


def plain_inline(text: str) -> str:
    """Inline Markdown -> its words: links keep their text, images their alt text, markers go."""
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _INLINE_CODE.sub(r"\2", text)
    text = _STRONG.sub(r"\2", text)
    text = _EMPHASIS.sub(r"\1", text)
    return _HTML_TAG.sub("", text)


def split_table_row(line: str) -> list[str]:
    cells = line.strip()
    cells = cells.removeprefix("|").removesuffix("|")
    return [plain_inline(cell.strip()) for cell in re.split(r"(?<!\\)\|", cells)]


@dataclass
class _Pending:
    """Lines of a paragraph, list item or quote still being read."""

    kind: BlockKind
    start: int
    lines: list[str] = field(default_factory=list)


class _MarkdownReader:
    def __init__(self, text: str, builder: DocumentBuilder) -> None:
        self.lines = text.split("\n")
        self.builder = builder
        self.pending: _Pending | None = None
        self.first_h1: str | None = None

    def read(self) -> None:
        index = self._front_matter()
        while index < len(self.lines) and not self.builder.full:
            index = self._line(index)
        self._flush()

    def _front_matter(self) -> int:
        if not self.lines or self.lines[0].strip() != "---":
            return 0
        for index in range(1, min(len(self.lines), 500)):
            if self.lines[index].strip() in ("---", "..."):
                body = self.lines[1:index]
                for line in body:
                    key, _, value = line.partition(":")
                    if key.strip().lower() == "title" and value.strip() and not self.builder.title:
                        self.builder.title = value.strip().strip("\"'")
                self.builder.add("\n".join(body), BlockKind.METADATA, Location(line=2))
                return index + 1
        return 0  # no closing line: it was a thematic break, not front matter

    def _line(self, index: int) -> int:
        """Read the construct starting at `index`; the index after it."""
        line = self.lines[index]
        number = index + 1
        pending = self.pending
        if not line.strip():
            self._flush()
            return index + 1
        if fence := _FENCE.match(line):
            return self._fenced_code(index, fence)
        if heading := _ATX_HEADING.match(line):
            self._flush()
            self._heading(heading.group(2) or "", len(heading.group(1)), number)
            return index + 1
        if pending and pending.kind is BlockKind.PARAGRAPH and (underline := _SETEXT_UNDERLINE.match(line)):
            self.pending = None
            level = 1 if underline.group(1).startswith("=") else 2
            self._heading(" ".join(pending.lines), level, pending.start)
            return index + 1
        if _THEMATIC_BREAK.match(line):
            self._flush()
            return index + 1
        if _HTML_COMMENT_START.match(line):
            self._flush()
            return self._skip_comment(index)
        if pending is None and _INDENTED_CODE.match(line):
            return self._indented_code(index)
        if "|" in line and index + 1 < len(self.lines) and _TABLE_DELIMITER.match(self.lines[index + 1]):
            return self._table(index)
        if item := _LIST_ITEM.match(line):
            self._flush()
            self.pending = _Pending(BlockKind.LIST_ITEM, number, [item.group(2) or ""])
            return index + 1
        if quote := _QUOTE.match(line):
            if not pending or pending.kind is not BlockKind.QUOTE:
                self._flush()
                self.pending = _Pending(BlockKind.QUOTE, number)
            assert self.pending is not None
            self.pending.lines.append(quote.group(1))
            return index + 1
        if pending is None or pending.kind is BlockKind.QUOTE:
            self._flush()
            self.pending = _Pending(BlockKind.PARAGRAPH, number)
        assert self.pending is not None
        self.pending.lines.append(line.strip())  # a lazy continuation of a list item, or a paragraph
        return index + 1

    def _heading(self, text: str, level: int, line: int) -> None:
        text = plain_inline(text.strip())
        if level == 1 and self.first_h1 is None:
            self.first_h1 = text
        self.builder.add(text, BlockKind.HEADING, Location(line=line), level=level, keep_lines=False)

    def _fenced_code(self, index: int, fence: re.Match[str]) -> int:
        self._flush()
        marker = fence.group(2)
        end = index + 1
        while end < len(self.lines):
            closing = self.lines[end].strip()
            if closing.startswith(marker[0] * len(marker)) and not closing.strip(marker[0]):
                break
            end += 1
        self.builder.add("\n".join(self.lines[index + 1 : end]), BlockKind.CODE, Location(line=index + 2))
        return end + 1  # an unclosed fence runs to the end of the file, as CommonMark says

    def _indented_code(self, index: int) -> int:
        end = index
        while end < len(self.lines) and (
            _INDENTED_CODE.match(self.lines[end]) or not self.lines[end].strip()
        ):
            end += 1
        body = [re.sub(r"^(?: {4}|\t)", "", line) for line in self.lines[index:end]]
        self.builder.add("\n".join(body), BlockKind.CODE, Location(line=index + 1))
        return end

    def _skip_comment(self, index: int) -> int:
        end = index
        while end < len(self.lines) and "-->" not in self.lines[end]:
            end += 1
        return end + 1

    def _table(self, index: int) -> int:
        self._flush()
        columns = column_names(split_table_row(self.lines[index]))
        header = header_line(columns)
        end = index + 2
        row = 0
        while end < len(self.lines) and self.lines[end].strip() and "|" in self.lines[end]:
            row += 1
            where = Location(row=row, line=end + 1)
            cells = split_table_row(self.lines[end])
            self.builder.add(row_text(columns, cells), BlockKind.TABLE_ROW, where, table_header=header)
            end += 1
        if row == 0:  # a header with no rows still carries words
            self.builder.add(" | ".join(columns), BlockKind.PARAGRAPH, Location(line=index + 1))
        return end

    def _flush(self) -> None:
        pending, self.pending = self.pending, None
        if pending is None:
            return
        text = "\n".join(plain_inline(line) for line in pending.lines)
        self.builder.add(text, pending.kind, Location(line=pending.start))


class MarkdownParser(Parser):
    format_name = "Markdown"
    mime_types = frozenset({"text/markdown", "text/x-markdown", "text/mdx"})
    extensions = frozenset({".md", ".markdown", ".mdown", ".mkd", ".mdx"})

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        builder = DocumentBuilder(limits)
        reader = _MarkdownReader(decode_text(content, format_name=self.format_name), builder)
        reader.read()
        if not builder.title and reader.first_h1:
            builder.title = reader.first_h1
        return builder.build()
