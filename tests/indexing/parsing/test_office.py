"""DOCX, XLSX and PPTX: structure, locations, limits, and damaged files."""

from __future__ import annotations

import io
import zipfile

import pytest

from headwater.indexing.parsing import ParseError, ParseLimits
from headwater.indexing.parsing.base import Parser
from headwater.indexing.parsing.excel import XlsxParser
from headwater.indexing.parsing.powerpoint import PptxParser
from headwater.indexing.parsing.word import DocxParser
from headwater.indexing.types import BlockKind, ParsedDocument
from tests.indexing.parsing.fixtures import make_docx, make_pptx, make_xlsx, tiny_zip

INLINE = ParseLimits(isolate=False)


def summary(document: ParsedDocument) -> list[tuple[str, int, str, dict[str, object]]]:
    return [(b.kind.value, b.level, b.text, b.location.as_dict()) for b in document.blocks]


# -- DOCX -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def handbook() -> ParsedDocument:
    return DocxParser().parse(make_docx(), name="handbook.docx", limits=INLINE)


def test_docx_keeps_headings_with_levels_lists_quotes_and_body_order(handbook: ParsedDocument) -> None:
    assert summary(handbook)[:9] == [
        ("heading", 1, "Employee Handbook", {}),
        ("heading", 1, "Introduction", {}),
        ("paragraph", 0, "Welcome to the company. This handbook explains how we work.", {}),
        ("heading", 1, "Install", {}),
        ("heading", 2, "Linux", {}),
        ("list_item", 0, "Download the package.", {}),
        ("list_item", 0, "Run the installer.", {}),
        ("list_item", 0, "Reboot the machine.", {}),
        ("quote", 0, "Simplicity is prerequisite for reliability.", {}),
    ]
    assert handbook.blocks[-1].text == "Closing words in a plain paragraph."
    assert handbook.title == "Employee Handbook"


def test_docx_tables_are_rows_under_their_header_and_merged_cells_count_once(
    handbook: ParsedDocument,
) -> None:
    rows = [
        (b.text, b.table_header, b.location.row) for b in handbook.blocks if b.kind is BlockKind.TABLE_ROW
    ]
    assert rows == [
        ("Name: Ann; Role: Engineer; Office: Paris", "Name | Role | Office", 1),
        ("Name: Bob; Office: Oslo", "Name | Role | Office", 2),  # the empty Role cell is left out
        ("Key: Budget; Value: 100k", "Key | Value | Note", 1),
    ]


# -- XLSX -----------------------------------------------------------------------------------------


def test_xlsx_sheets_are_tables_with_sheet_and_row_locations() -> None:
    document = XlsxParser().parse(make_xlsx(rows=3), name="sales.xlsx", limits=INLINE)
    assert summary(document) == [
        (
            "table_row",
            0,
            "Region: North; Rep: Rep 1; Amount: 1.5; Date: 2024-01-01",
            {"sheet": "Sales", "row": 1},
        ),
        (
            "table_row",
            0,
            "Region: South; Rep: Rep 2; Amount: 3; Date: 2024-01-02",
            {"sheet": "Sales", "row": 2},
        ),
        (
            "table_row",
            0,
            "Region: North; Rep: Rep 3; Amount: 4.5; Date: 2024-01-03",
            {"sheet": "Sales", "row": 3},
        ),
        ("paragraph", 0, "Notes: only a note", {"sheet": "Notes"}),
    ]
    assert {b.table_header for b in document.blocks[:3]} == {"Sales: Region | Rep | Amount | Date"}
    assert document.title == "Sales 2024"


def test_xlsx_rows_past_the_limit_are_left_out_with_a_warning() -> None:
    limits = ParseLimits(isolate=False, max_rows=4)
    document = XlsxParser().parse(make_xlsx(rows=10), name="sales.xlsx", limits=limits)
    assert [b.location.row for b in document.blocks] == [1, 2, 3, 4]
    assert document.warnings == ["only the first 4 rows were indexed"]


# -- PPTX -----------------------------------------------------------------------------------------


def test_pptx_slides_keep_titles_bullets_tables_and_notes_with_slide_numbers() -> None:
    document = PptxParser().parse(make_pptx(), name="deck.pptx", limits=INLINE)
    assert summary(document) == [
        ("heading", 1, "Roadmap", {"slide": 1}),
        ("list_item", 0, "Ship search", {"slide": 1}),
        ("list_item", 0, "Ship answers", {"slide": 1}),
        ("paragraph", 0, "Speaker notes: Mention the beta", {"slide": 1}),
        ("heading", 1, "Budget", {"slide": 2}),
        ("table_row", 0, "Item: Servers; Cost: 100", {"slide": 2, "row": 1}),
        ("table_row", 0, "Item: People; Cost: 900", {"slide": 2, "row": 2}),
        ("paragraph", 0, "Questions?", {"slide": 3}),
        ("heading", 1, "Thanks", {"slide": 4}),
    ]
    assert document.title == "Roadmap"  # no title in the properties: the first slide's


def test_pptx_slides_past_the_limit_are_left_out_with_a_warning() -> None:
    document = PptxParser().parse(
        make_pptx(), name="deck.pptx", limits=ParseLimits(isolate=False, max_pages=2)
    )
    assert {b.location.slide for b in document.blocks} == {1, 2}
    assert document.warnings == ["only the first 2 of 4 slides were indexed"]


# -- damaged files ----------------------------------------------------------------------------------

OFFICE = [
    (DocxParser(), "DOCX", make_docx),
    (XlsxParser(), "XLSX", make_xlsx),
    (PptxParser(), "PPTX", make_pptx),
]


@pytest.mark.parametrize(("parser", "label", "build"), OFFICE, ids=["docx", "xlsx", "pptx"])
def test_a_file_that_is_not_a_zip_says_so(parser: Parser, label: str, build: object) -> None:
    with pytest.raises(ParseError, match=rf"^not a valid {label} file: it is not a zip archive"):
        parser.parse(b"this is plain text, renamed", name="f", limits=INLINE)


@pytest.mark.parametrize(("parser", "label", "build"), OFFICE, ids=["docx", "xlsx", "pptx"])
def test_a_truncated_file_says_its_zip_is_damaged(parser: Parser, label: str, build: object) -> None:
    assert callable(build)
    content: bytes = build()
    with pytest.raises(ParseError, match=rf"^not a valid {label} file: it is not a zip archive"):
        parser.parse(content[: len(content) // 2], name="f", limits=INLINE)


@pytest.mark.parametrize(
    ("parser", "label", "part"),
    [
        (DocxParser(), "DOCX", "word/document.xml"),
        (XlsxParser(), "XLSX", "xl/workbook.xml"),
        (PptxParser(), "PPTX", "ppt/presentation.xml"),
    ],
    ids=["docx", "xlsx", "pptx"],
)
def test_a_zip_of_another_kind_names_the_missing_part(parser: Parser, label: str, part: str) -> None:
    with pytest.raises(ParseError, match=rf"^not a valid {label} file: the zip archive has no {part}$"):
        parser.parse(tiny_zip("other/thing.xml", b"<x/>"), name="f", limits=INLINE)


def test_a_docx_with_broken_xml_is_a_parse_error_not_a_crash() -> None:
    from headwater.indexing.parsing.sandbox import run_parser

    content = tiny_zip("word/document.xml", b"<w:document><unclosed>")
    with pytest.raises(
        ParseError, match=r"^not a valid DOCX file: a part is missing or malformed \(no relation"
    ):
        run_parser(DocxParser(), content, name="broken.docx", limits=INLINE)


def test_a_docx_whose_xml_is_damaged_says_so() -> None:
    from headwater.indexing.parsing.sandbox import run_parser

    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(make_docx())) as original, zipfile.ZipFile(damaged, "w") as copy:
        for entry in original.infolist():
            body = original.read(entry)
            copy.writestr(entry, body[:-40] if entry.filename == "word/document.xml" else body)
    with pytest.raises(ParseError, match=r"^not a valid DOCX file: its XML is damaged \("):
        run_parser(DocxParser(), damaged.getvalue(), name="broken.docx", limits=INLINE)


def test_a_docx_with_a_damaged_zip_entry_says_so() -> None:
    from headwater.indexing.parsing.sandbox import run_parser

    content = bytearray(make_docx())
    body = content.find(b"word/document.xml") + len("word/document.xml") + 40  # inside its deflate data
    content[body : body + 40] = bytes(40)
    with pytest.raises(ParseError, match=r"^not a valid DOCX file: its zip archive is damaged \("):
        run_parser(DocxParser(), bytes(content), name="broken.docx", limits=INLINE)
