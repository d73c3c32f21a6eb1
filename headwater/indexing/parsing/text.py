"""Plain text: paragraphs separated by blank lines, each with the line it starts on.

Lines inside a paragraph keep their breaks, so the chunker can cite the exact line of a piece it cuts
out of a long paragraph. A paragraph whose every line starts with ">" (a quoted email reply) is a
QUOTE.
"""

from __future__ import annotations

from headwater.indexing.parsing.base import ParseLimits, Parser
from headwater.indexing.parsing.blocks import DocumentBuilder
from headwater.indexing.parsing.encoding import decode_text
from headwater.indexing.types import BlockKind, Location, ParsedDocument


def add_paragraphs(builder: DocumentBuilder, text: str, *, first_line: int = 1) -> None:
    """Blocks of `text` split at blank lines; `first_line` is the line number of text's first line."""
    paragraph: list[str] = []
    start = first_line
    for number, line in enumerate(text.split("\n"), start=first_line):
        if line.strip():
            if not paragraph:
                start = number
            paragraph.append(line)
            continue
        if paragraph:
            _add_paragraph(builder, paragraph, start)
            paragraph = []
        if builder.full:
            return
    if paragraph:
        _add_paragraph(builder, paragraph, start)


def _add_paragraph(builder: DocumentBuilder, lines: list[str], start: int) -> None:
    if all(line.lstrip().startswith(">") for line in lines):
        unquoted = [line.lstrip()[1:].removeprefix(" ") for line in lines]
        builder.add("\n".join(unquoted), BlockKind.QUOTE, Location(line=start))
    else:
        builder.add("\n".join(lines), BlockKind.PARAGRAPH, Location(line=start))


class PlainTextParser(Parser):
    format_name = "text"
    mime_types = frozenset({"text/plain"})
    extensions = frozenset({".txt", ".text", ".log", ".rst", ".adoc", ".asciidoc", ".org", ".me", ".nfo"})

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        builder = DocumentBuilder(limits)
        add_paragraphs(builder, decode_text(content, format_name=self.format_name))
        return builder.build()
