"""Word documents (DOCX) with python-docx: the body in reading order.

Headings come from paragraph styles ("Heading 2", or a custom style based on one) with their level;
the "Title" style is a level-1 heading and the title when the document properties have none. List
styles and numbered paragraphs are LIST_ITEMs. Tables are TABLE_ROWs under their first row as header;
a cell merged across columns counts once. Headers, footers, footnotes, comments and text boxes are
left out: they repeat on every page or sit outside the text people cite.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

from headwater.indexing.parsing.base import ParseLimits, Parser
from headwater.indexing.parsing.blocks import DocumentBuilder
from headwater.indexing.parsing.guards import check_zip_archive
from headwater.indexing.types import BlockKind, ParsedDocument

if TYPE_CHECKING:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_QUOTE_STYLES = frozenset({"quote", "intense quote"})


class DocxParser(Parser):
    format_name = "DOCX"
    mime_types = frozenset(
        {
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
            "application/vnd.ms-word.document.macroenabled.12",
        }
    )
    extensions = frozenset({".docx", ".docm", ".dotx"})
    preload = ("docx",)

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        check_zip_archive(
            content, format_name=self.format_name, required_part="word/document.xml", limits=limits
        )
        import docx
        from docx.table import Table

        document = docx.Document(io.BytesIO(content))
        builder = DocumentBuilder(limits, title=document.core_properties.title or None)
        for item in document.iter_inner_content():
            if builder.full:
                break
            if isinstance(item, Table):
                builder.add_table(_table_rows(item))
            else:
                _add_paragraph(builder, item)
        return builder.build()


def _add_paragraph(builder: DocumentBuilder, paragraph: Paragraph) -> None:
    text = paragraph.text
    if not text.strip():
        return
    style = paragraph.style
    style_name = (style.name or "") if style is not None else ""
    if style_name.lower() == "title":
        if not builder.title:
            builder.title = " ".join(text.split())
        builder.add(text, BlockKind.HEADING, level=1, keep_lines=False)
        return
    level = _heading_level(style)
    if level:
        builder.add(text, BlockKind.HEADING, level=level, keep_lines=False)
    elif style_name.lower() in _QUOTE_STYLES:
        builder.add(text, BlockKind.QUOTE)
    elif style_name.lower().startswith("list") or _is_numbered(paragraph):
        builder.add(text, BlockKind.LIST_ITEM)
    else:
        builder.add(text, BlockKind.PARAGRAPH)


def _heading_level(style: Any) -> int:
    """The level of a "Heading N" style, or of the heading style a custom style is based on."""
    seen = 0
    while style is not None and seen < 10:  # base styles can form a cycle in a damaged file
        match = _HEADING_STYLE.match(style.name or "")
        if match:
            return max(int(match.group(1)), 1)
        style = style.base_style
        seen += 1
    return 0


def _is_numbered(paragraph: Paragraph) -> bool:
    properties = paragraph._p.pPr  # python-docx exposes list numbering only on the XML element
    return properties is not None and properties.numPr is not None


def _table_rows(table: Table) -> list[list[str]]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is previous:  # a cell merged across columns appears once per column it spans
                continue
            previous = cell._tc
            cells.append(cell.text)
        rows.append(cells)
    return rows
