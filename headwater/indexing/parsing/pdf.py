"""PDF -> blocks per page with pypdfium2 (PDFium's text layer; about 1 000 pages a second here).

PDFium gives each page's text as lines. Lines become paragraphs where the layout says so: a gap
wider than the page's usual line spacing, a change of font size, a jump back up the page (a new
column), or a bullet. A line set markedly larger than the document's body text is a HEADING, its
level ranked by size across the document, so chunks of a PDF carry section paths like other formats.
Geometry costs one PDFium call per line, keeping the parser near 600 pages a second.

A PDF with more pages than `ParseLimits.max_pages` keeps its first pages and says so in a warning.
Scanned pages have no text layer; there is no OCR here, so such a PDF parses as empty, with a
warning that says why.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from headwater.indexing.parsing.base import ParseError, ParseLimits, Parser
from headwater.indexing.parsing.blocks import DocumentBuilder
from headwater.indexing.types import BlockKind, Location, ParsedDocument

_LINE = re.compile(r"[^\r\n]+")
_WORD_CHAR = re.compile(r"\w")
_DIGITS = re.compile(r"\d+")
_DOT_LEADER = re.compile(r"(?:\. ?){4,}")  # a table of contents line: "Introduction . . . . 1"
_BULLET = re.compile(r"^\s*([•◦▪‣●○■□–·\-*]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+")
_HEADING_SCALE = 1.15  # a heading is set at least this much larger than body text
_MAX_HEADING_CHARS = 150
_PARAGRAPH_GAP = 1.45  # times the usual distance between baselines
_RUNNING_MIN_PAGES = 4
_RUNNING_SHARE = 0.6
_RUNNING_MAX_CHARS = 80
# PDFium is not thread-safe. A worker process parses one file at a time anyway; this lock is for
# parses in the calling process (ParseLimits.isolate=False) from several threads.
_PDFIUM = threading.Lock()


@dataclass(slots=True)
class _Line:
    text: str
    size: float  # height of the font's box; 0 when PDFium gave no geometry
    bottom: float


class PdfParser(Parser):
    format_name = "PDF"
    mime_types = frozenset({"application/pdf", "application/x-pdf", "application/acrobat"})
    extensions = frozenset({".pdf"})
    preload = ("pypdfium2",)

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        with _PDFIUM:
            return self._parse(content, limits)

    def _parse(self, content: bytes, limits: ParseLimits) -> ParsedDocument:
        import pypdfium2 as pdfium

        if b"%PDF-" not in content[:1024]:
            raise ParseError("not a valid PDF: the file does not start with a PDF header")
        try:
            document = pdfium.PdfDocument(content)
        except pdfium.PdfiumError as exc:
            if "password" in str(exc).lower():
                raise ParseError("the PDF is protected by a password and cannot be read") from exc
            raise ParseError(f"not a valid PDF: {_pdfium_reason(exc)}") from exc
        try:
            title = document.get_metadata_dict(skip_empty=True).get("Title")
            builder = DocumentBuilder(limits, title=title)
            page_count = len(document)
            if page_count > limits.max_pages:
                builder.warn(f"only the first {limits.max_pages:,} of {page_count:,} pages were indexed")
            pages = []
            for index in range(min(page_count, limits.max_pages)):
                if builder.full:  # out of time: index the pages read so far
                    break
                pages.append(_read_page(document, index, builder))
        finally:
            document.close()
        _add_pages(builder, pages)
        if page_count and not any(pages):
            builder.warn("the PDF has no text layer (scanned pages?); text in images is not recognised")
        return builder.build()


def _pdfium_reason(exc: Exception) -> str:
    """ "Failed to load document (PDFium: Data format error)." -> "data format error"."""
    message = str(exc)
    if "(PDFium: " in message:
        message = message.split("(PDFium: ", 1)[1].rstrip(").")
    return message.lower() or "PDFium could not read it"


def _read_page(document: Any, index: int, builder: DocumentBuilder) -> list[_Line]:
    import pypdfium2 as pdfium

    try:
        page = document[index]
    except pdfium.PdfiumError:
        builder.warn(f"page {index + 1} could not be read and was left out")
        return []
    try:
        text_page = page.get_textpage()
        try:
            return _page_lines(text_page)
        finally:
            text_page.close()
    finally:
        page.close()


def _page_lines(text_page: Any) -> list[_Line]:
    text: str = text_page.get_text_range()
    # Character indexes match string positions only when lengths agree; otherwise go without geometry.
    with_geometry = len(text) == text_page.count_chars()
    lines = []
    for match in _LINE.finditer(text):
        line = match.group()
        if not line.strip():
            continue
        size = bottom = 0.0
        if with_geometry:
            # measure a letter, not a bullet: bullet glyphs come from symbol fonts of other sizes
            letter = _WORD_CHAR.search(line)
            first = match.start() + (letter.start() if letter else len(line) - len(line.lstrip()))
            left, bottom, right, top = text_page.get_charbox(first, loose=True)
            size = max(top - bottom, 0.0)
        lines.append(_Line(line.strip(), round(size, 1), bottom))
    return lines


def _add_pages(builder: DocumentBuilder, pages: list[list[_Line]]) -> None:
    body_size = _body_size(pages)
    pages = _without_running_lines(pages, body_size)
    heading_levels = _heading_levels(pages, body_size)
    for number, lines in enumerate(pages, start=1):
        if builder.full:
            return
        for kind, level, text in _page_blocks(lines, heading_levels):
            builder.add(text, kind, Location(page=number), level=level, keep_lines=False)


def _without_running_lines(pages: list[list[_Line]], body_size: float) -> list[list[_Line]]:
    """Pages without their running header and footer ("Chapter 2 ... 17", "Page 3 of 9"): a page's
    first or last line that recurs, numbers aside, on most pages of a document of several pages. A
    line set as a heading stays: the title page often repeats the running header in large type."""
    if len(pages) < _RUNNING_MIN_PAGES:
        return pages
    counts: Counter[str] = Counter()
    for lines in pages:
        counts.update({_running_key(line) for line in lines[:1] + lines[-1:]})
    running = {key for key, count in counts.items() if key and count >= _RUNNING_SHARE * len(pages)}
    if not running:
        return pages
    trimmed = []
    for lines in pages:
        edges = {id(line) for line in lines[:1] + lines[-1:]}
        trimmed.append(
            [
                line
                for line in lines
                if id(line) not in edges
                or _running_key(line) not in running
                or _is_heading_line(line, body_size)
            ]
        )
    return trimmed


def _running_key(line: _Line) -> str:
    return _DIGITS.sub("#", line.text) if len(line.text) <= _RUNNING_MAX_CHARS else ""


def _body_size(pages: list[list[_Line]]) -> float:
    """The font size most of the text is set in, weighted by characters."""
    weights: Counter[float] = Counter()
    for lines in pages:
        for line in lines:
            weights[line.size] += len(line.text)
    return weights.most_common(1)[0][0] if weights else 0.0


def _heading_levels(pages: list[list[_Line]], body_size: float) -> dict[float, int]:
    """Font size -> heading level (1 = largest), for sizes clearly above the body text."""
    if body_size <= 0:
        return {}
    sizes = {
        line.size
        for lines in pages
        for line in lines
        if _is_heading_line(line, body_size) and any(c.isalpha() for c in line.text)
    }
    return {size: min(level, 6) for level, size in enumerate(sorted(sizes, reverse=True), start=1)}


def _is_heading_line(line: _Line, body_size: float) -> bool:
    return (
        line.size >= body_size * _HEADING_SCALE
        and len(line.text) <= _MAX_HEADING_CHARS
        and not _DOT_LEADER.search(line.text)
    )


def _page_blocks(lines: list[_Line], heading_levels: dict[float, int]) -> list[tuple[BlockKind, int, str]]:
    """(kind, heading level, text) of a page's paragraphs, list items and headings."""
    spacing = _usual_spacing(lines)
    blocks: list[tuple[BlockKind, int, str]] = []
    current: list[str] = []
    current_kind = BlockKind.PARAGRAPH
    current_level = 0
    previous: _Line | None = None
    for line in lines:
        level = heading_levels.get(line.size, 0) if _WORD_CHAR.search(line.text) else 0
        if level and _DOT_LEADER.search(line.text):
            level = 0
        bullet = _BULLET.match(line.text) if not level else None
        if level:
            kind = BlockKind.HEADING
        elif bullet:
            kind = BlockKind.LIST_ITEM
        elif current_kind is BlockKind.LIST_ITEM and previous and not _is_break(previous, line, spacing):
            kind = BlockKind.LIST_ITEM  # a list item's wrapped second line
        else:
            kind = BlockKind.PARAGRAPH
        starts_new = (
            previous is None
            or bullet is not None
            or kind is not current_kind
            or level != current_level
            or _is_break(previous, line, spacing)
        )
        if starts_new and current:
            blocks.append((current_kind, current_level, _join(current)))
            current = []
        if starts_new:
            current_kind, current_level = kind, level
        current.append(line.text[bullet.end() :] if bullet else line.text)
        previous = line
    if current:
        blocks.append((current_kind, current_level, _join(current)))
    return blocks


def _usual_spacing(lines: list[_Line]) -> float:
    """The distance between baselines inside a paragraph: the lower quartile of the gaps between
    lines of one size (paragraph breaks are the wider gaps, and can be most gaps on a short page)."""
    gaps = sorted(
        a.bottom - b.bottom
        for a, b in zip(lines, lines[1:], strict=False)
        if a.bottom - b.bottom > 0 and a.size == b.size
    )
    return gaps[len(gaps) // 4] if gaps else 0.0


def _is_break(previous: _Line, line: _Line, spacing: float) -> bool:
    if not spacing or not line.size:
        return False  # no geometry: the page is one flow, and the chunker cuts it at sentences
    gap = previous.bottom - line.bottom
    if gap < -line.size:  # back up the page: the next column or a floating box
        return True
    if abs(line.size - previous.size) > 0.15 * max(line.size, previous.size):
        return True
    return gap > spacing * _PARAGRAPH_GAP


def _join(lines: list[str]) -> str:
    """Lines of one paragraph as one line. PDFium already rejoins words it hyphenated (it marks the
    hyphen U+FFFE); a hyphen still ending a line is a real one, as in "well-" + "known"."""
    text = lines[0]
    for line in lines[1:]:
        joined_by_hyphen = text.endswith("-") and len(text) > 1 and text[-2].isalpha()
        text = text + line if joined_by_hyphen else f"{text} {line}"
    return text
