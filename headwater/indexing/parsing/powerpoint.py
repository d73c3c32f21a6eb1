"""PowerPoint decks (PPTX) with python-pptx: one section per slide.

Each slide's title is a level-1 HEADING; its other shapes follow in reading order (top to bottom,
then left to right, which is how people read a slide, unlike the z-order python-pptx lists them
in), groups opened; a text frame of several paragraphs is a list of bullets; tables are TABLE_ROWs;
the speaker notes come last. Every block carries its slide number. Slides past
`ParseLimits.max_pages` are left out with a warning. Charts and pictures are left out.
"""

from __future__ import annotations

import io
from typing import Any

from headwater.indexing.parsing.base import ParseLimits, Parser
from headwater.indexing.parsing.blocks import DocumentBuilder
from headwater.indexing.parsing.guards import check_zip_archive
from headwater.indexing.types import BlockKind, Location, ParsedDocument

NOTES_PREFIX = "Speaker notes: "


class PptxParser(Parser):
    format_name = "PPTX"
    mime_types = frozenset(
        {
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
            "application/vnd.ms-powerpoint.presentation.macroenabled.12",
        }
    )
    extensions = frozenset({".pptx", ".pptm", ".ppsx"})
    preload = ("pptx",)

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        check_zip_archive(
            content, format_name=self.format_name, required_part="ppt/presentation.xml", limits=limits
        )
        from pptx import Presentation

        presentation = Presentation(io.BytesIO(content))
        builder = DocumentBuilder(limits, title=presentation.core_properties.title or None)
        slides = presentation.slides
        if len(slides) > limits.max_pages:
            builder.warn(f"only the first {limits.max_pages:,} of {len(slides):,} slides were indexed")
        for number, slide in enumerate(slides, start=1):
            if number > limits.max_pages or builder.full:
                break
            _add_slide(builder, slide, number)
        return builder.build()


def _add_slide(builder: DocumentBuilder, slide: Any, number: int) -> None:
    title_shape = slide.shapes.title
    title = title_shape.text_frame.text if title_shape is not None and title_shape.has_text_frame else ""
    if title.strip():
        if not builder.title:
            builder.title = " ".join(title.split())
        builder.add(title, BlockKind.HEADING, Location(slide=number), level=1, keep_lines=False)
    for shape in _reading_order(slide.shapes):
        if title_shape is not None and shape.shape_id == title_shape.shape_id:
            continue
        _add_shape(builder, shape, number)
    if slide.has_notes_slide:
        notes_frame = slide.notes_slide.notes_text_frame
        if notes_frame is not None and notes_frame.text.strip():
            builder.add(NOTES_PREFIX + notes_frame.text, BlockKind.PARAGRAPH, Location(slide=number))


def _reading_order(shapes: Any) -> list[Any]:
    return sorted(shapes, key=lambda shape: (shape.top or 0, shape.left or 0))


def _add_shape(builder: DocumentBuilder, shape: Any, number: int) -> None:
    from pptx.shapes.group import GroupShape

    if isinstance(shape, GroupShape):  # not shape_type: it raises on shapes python-pptx does not know
        for child in _reading_order(shape.shapes):
            _add_shape(builder, child, number)
    elif getattr(shape, "has_table", False) and shape.has_table:
        rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
        builder.add_table(rows, Location(slide=number))
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        paragraphs = [p.text for p in shape.text_frame.paragraphs if p.text.strip()]
        kind = BlockKind.LIST_ITEM if len(paragraphs) > 1 else BlockKind.PARAGRAPH
        for text in paragraphs:
            builder.add(text, kind, Location(slide=number))
