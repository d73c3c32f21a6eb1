from __future__ import annotations

import io

import pytest

from headwater.indexing.parsing import ParseError, ParseLimits
from headwater.indexing.parsing.pdf import PdfParser
from headwater.indexing.types import BlockKind, ParsedDocument
from tests.indexing.parsing.fixtures import make_pdf

INLINE = ParseLimits(isolate=False)


def parse(content: bytes, limits: ParseLimits = INLINE) -> ParsedDocument:
    return PdfParser().parse(content, name="report.pdf", limits=limits)


@pytest.fixture(scope="module")
def report() -> ParsedDocument:
    return parse(make_pdf(pages=3))


def test_each_page_keeps_its_number_and_its_own_text(report: ParsedDocument) -> None:
    for page in (1, 2, 3):
        text = " ".join(b.text for b in report.blocks if b.location.page == page)
        assert f"The first paragraph of page {page} explains the revenue figures." in text
        assert f"The second paragraph of page {page} covers hiring plans." in text
        others = {1, 2, 3} - {page}
        assert not any(f"page {other} " in text for other in others)
    assert {b.location.page for b in report.blocks} == {1, 2, 3}


def test_larger_type_becomes_a_heading_and_layout_splits_paragraphs_and_bullets(
    report: ParsedDocument,
) -> None:
    page_two = [(b.kind, b.level, b.text) for b in report.blocks if b.location.page == 2]
    assert page_two[0] == (BlockKind.HEADING, 1, "Chapter 2")
    assert page_two[1][0] is BlockKind.PARAGRAPH
    assert page_two[1][2].startswith("The first paragraph of page 2")
    assert page_two[1][2].endswith("margin held steady.")  # the wrapped lines joined into one paragraph
    assert page_two[2] == (BlockKind.PARAGRAPH, 0, "The second paragraph of page 2 covers hiring plans.")
    assert page_two[3] == (BlockKind.LIST_ITEM, 0, "Item on page 2")


def test_the_title_comes_from_the_metadata(report: ParsedDocument) -> None:
    assert report.title == "Quarterly Report"


def test_pages_past_the_limit_are_left_out_with_a_warning() -> None:
    document = parse(make_pdf(pages=4), ParseLimits(isolate=False, max_pages=2))
    assert {b.location.page for b in document.blocks} == {1, 2}
    assert document.warnings == ["only the first 2 of 4 pages were indexed"]


def test_a_running_header_and_page_numbers_are_dropped() -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    for number in range(1, 6):
        pdf.setFont("Helvetica", 9)
        pdf.drawString(72, 800, "ACME Corp confidential")
        pdf.setFont("Helvetica", 11)
        pdf.drawString(72, 700, f"Body text that differs on every page, here about topic {number * 7}.")
        pdf.setFont("Helvetica", 9)
        pdf.drawString(290, 40, f"Page {number} of 5")
        pdf.showPage()
    pdf.save()
    document = parse(buffer.getvalue())
    assert [b.text for b in document.blocks] == [
        f"Body text that differs on every page, here about topic {n * 7}." for n in range(1, 6)
    ]


def test_a_pdf_without_text_is_empty_and_says_why() -> None:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, invariant=True)
    pdf.rect(100, 100, 200, 200, fill=1)  # a drawing, like a scanned page: no text layer
    pdf.showPage()
    pdf.save()
    document = parse(buffer.getvalue())
    assert document.is_empty
    assert document.warnings == [
        "the PDF has no text layer (scanned pages?); text in images is not recognised"
    ]


def test_a_file_that_is_not_a_pdf_says_so() -> None:
    with pytest.raises(ParseError, match=r"^not a valid PDF: the file does not start with a PDF header$"):
        parse(b"GIF89a not a pdf at all")


def test_a_truncated_pdf_is_a_parse_error_with_pdfiums_reason() -> None:
    content = make_pdf(pages=1)
    with pytest.raises(ParseError, match=r"^not a valid PDF: data format error$"):
        parse(content[:200])


def test_a_password_protected_pdf_says_it_needs_the_password() -> None:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, encrypt="secret", invariant=True)
    pdf.drawString(72, 700, "Salaries")
    pdf.showPage()
    pdf.save()
    with pytest.raises(ParseError, match=r"^the PDF is protected by a password and cannot be read$"):
        parse(buffer.getvalue())
