"""Choosing a parser: MIME type, then extension, then the first bytes; and what every format shares."""

from __future__ import annotations

import pytest

from headwater.indexing.parsing import (
    ParseLimits,
    UnsupportedFileType,
    default_registry,
    is_supported,
    parse_document,
)
from tests.indexing.parsing.fixtures import make_docx, make_pdf, make_pptx, make_xlsx

INLINE = ParseLimits(isolate=False)


def format_for(mime_type: str | None, name: str, content: bytes | None = None) -> str:
    return default_registry.parser_for(mime_type=mime_type, name=name, content=content).format_name


@pytest.mark.parametrize(
    ("mime_type", "name", "expected"),
    [
        ("application/pdf", "report", "PDF"),
        ("application/pdf", "report.docx", "PDF"),  # a specific MIME type wins over the name
        ("text/html; charset=UTF-8", "page", "HTML"),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "x", "DOCX"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "x", "XLSX"),
        ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "x", "PPTX"),
        ("message/rfc822", "x", "email"),
        ("text/csv", "x", "CSV"),
        ("application/json", "x", "JSON"),
        ("text/markdown", "x", "Markdown"),
        ("text/x-python", "x", "source code"),
        ("text/plain", "notes.md", "Markdown"),  # text/plain says little: the extension decides
        ("text/plain", "main.go", "source code"),
        ("text/plain", "data.csv", "CSV"),
        ("text/plain", "README", "text"),
        ("application/octet-stream", "Deck.PPTX", "PPTX"),
        (None, "C:\\Users\\ann\\Sheet.xlsx", "XLSX"),
        ("application/zip", "handbook.docx", "DOCX"),  # an unknown specific type: the extension
    ],
)
def test_a_parser_is_chosen_by_mime_type_then_extension(
    mime_type: str | None, name: str, expected: str
) -> None:
    assert format_for(mime_type, name) == expected


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: make_pdf(pages=1), "PDF"),
        (make_docx, "DOCX"),
        (make_xlsx, "XLSX"),
        (make_pptx, "PPTX"),
        (lambda: b"<!DOCTYPE html><html><body>x</body></html>", "HTML"),
        (lambda: b"just words", "text"),
    ],
    ids=["pdf", "docx", "xlsx", "pptx", "html", "text"],
)
def test_a_file_with_no_type_and_no_extension_is_recognised_by_its_first_bytes(
    build: object, expected: str
) -> None:
    assert callable(build)
    assert format_for("application/octet-stream", "download", build()) == expected
    assert format_for(None, "download", build()) == expected


def test_an_unsupported_type_says_what_it_was() -> None:
    with pytest.raises(
        UnsupportedFileType, match=r"^no parser for photo.png \(MIME type image/png, extension .png\)$"
    ):
        parse_document(b"\x89PNG\r\n", mime_type="image/png", name="photo.png", limits=INLINE)
    with pytest.raises(UnsupportedFileType, match=r"^no parser for blob \(no MIME type, extension none\)$"):
        parse_document(b"\x00\x01\x02binary", mime_type=None, name="blob", limits=INLINE)


def test_support_can_be_known_before_downloading() -> None:
    assert is_supported(mime_type="application/pdf", name="a")
    assert is_supported(mime_type=None, name="a.md")
    assert not is_supported(mime_type="image/png", name="photo.png")
    assert not is_supported(mime_type="video/mp4", name="clip")
    assert is_supported(mime_type="application/octet-stream", name="download")  # decided by its bytes


@pytest.mark.parametrize(
    "name", ["a.pdf", "a.docx", "a.xlsx", "a.pptx", "a.html", "a.md", "a.csv", "a.eml", "a.py"]
)
def test_an_empty_file_of_any_format_is_an_empty_document(name: str) -> None:
    for content in (b"", b"  \n\t\n"):
        document = parse_document(content, mime_type=None, name=name, limits=INLINE)
        assert document.is_empty
        assert document.blocks == []


def test_the_character_budget_cuts_text_with_a_warning() -> None:
    content = b"\n\n".join(b"paragraph %d with some words" % i for i in range(100))
    limits = ParseLimits(isolate=False, max_chars=100)
    document = parse_document(content, mime_type="text/plain", name="long.txt", limits=limits)
    assert sum(len(b.text) for b in document.blocks) == 100
    assert document.warnings == ["only the first 100 characters of text were indexed"]
