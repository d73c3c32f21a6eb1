"""Size limits and zip-bomb checks: a file is rejected before any library reads it."""

from __future__ import annotations

import time

import pytest

from headwater.indexing.parsing import FileTooLarge, ParseError, ParseLimits, parse_document
from headwater.indexing.parsing.guards import check_size, format_size
from headwater.indexing.parsing.word import DocxParser
from tests.indexing.parsing.fixtures import declare_size, make_docx, make_zip_bomb, tiny_zip

MB = 1024 * 1024
INLINE = ParseLimits(isolate=False)


def test_a_file_over_its_formats_limit_is_rejected_with_both_sizes() -> None:
    with pytest.raises(FileTooLarge, match=r"^file is 312 MB; the limit for PDF is 100 MB$"):
        check_size(312 * MB, "PDF", ParseLimits())


def test_limits_are_per_format_and_the_default_covers_the_rest() -> None:
    limits = ParseLimits(max_bytes=5 * MB, max_bytes_by_format={"PDF": 1 * MB})
    check_size(4 * MB, "DOCX", limits)
    with pytest.raises(FileTooLarge, match=r"^file is 1.5 MB; the limit for PDF is 1 MB$"):
        check_size(int(1.5 * MB), "PDF", limits)
    with pytest.raises(FileTooLarge, match=r"^file is 6 MB; the limit for DOCX is 5 MB$"):
        check_size(6 * MB, "DOCX", limits)


def test_a_size_just_over_the_limit_is_shown_exactly() -> None:
    with pytest.raises(
        FileTooLarge, match=r"^file is 104,857,601 bytes; the limit for PDF is 104,857,600 bytes$"
    ):
        check_size(100 * MB + 1, "PDF", ParseLimits())


def test_sizes_read_like_people_write_them() -> None:
    assert [format_size(n) for n in (999, 2048, int(1.5 * MB), 312 * MB, 3 * 1024 * MB)] == [
        "999 bytes",
        "2 KB",
        "1.5 MB",
        "312 MB",
        "3 GB",
    ]


def test_parse_document_checks_the_size_before_parsing() -> None:
    content = make_docx()
    limits = ParseLimits(isolate=False, max_bytes_by_format={"DOCX": 1024})
    with pytest.raises(FileTooLarge, match=r"the limit for DOCX is 1 KB$"):
        parse_document(content, mime_type=None, name="big.docx", limits=limits)


def test_a_zip_bomb_is_rejected_by_its_inflated_size_before_python_docx_opens_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import docx

    def must_not_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("python-docx opened a zip bomb")

    monkeypatch.setattr(docx, "Document", must_not_open)
    bomb = make_zip_bomb(inflated_bytes=20 * MB)  # 20 MB of zeros, about 20 KB on disk
    limits = ParseLimits(isolate=False, max_uncompressed_bytes=8 * MB, max_compression_ratio=10_000)
    with pytest.raises(
        ParseError,
        match=r"^not a valid DOCX file: entry word/document.xml would inflate to 20 MB; "
        r"the limit is 8 MB \(possible zip bomb\)$",
    ):
        DocxParser().parse(bomb, name="bomb.docx", limits=limits)


def test_a_zip_bomb_is_rejected_by_its_compression_ratio() -> None:
    bomb = make_zip_bomb(inflated_bytes=20 * MB)
    with pytest.raises(
        ParseError, match=r"word/document.xml is compressed [\d,]+ to 1; the limit is 200 to 1"
    ):
        DocxParser().parse(bomb, name="bomb.docx", limits=INLINE)


def test_a_member_declared_at_a_gigabyte_is_rejected_without_inflating_it() -> None:
    archive = tiny_zip("word/document.xml", b"<w:document/>" * 100)
    bomb = declare_size(archive, "word/document.xml", 1024 * MB)
    started = time.monotonic()
    with pytest.raises(
        ParseError, match=r"would inflate to 1 GB; the limit is 500 MB \(possible zip bomb\)$"
    ):
        parse_document(bomb, mime_type=None, name="bomb.docx", limits=INLINE)
    assert time.monotonic() - started < 1


def test_too_many_zip_entries_is_rejected() -> None:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        for index in range(30):
            archive.writestr(f"word/media/{index}.bin", b"")
    with pytest.raises(ParseError, match=r"it holds 31 zip entries; the limit is 20$"):
        DocxParser().parse(
            buffer.getvalue(), name="many.docx", limits=ParseLimits(isolate=False, max_zip_entries=20)
        )


def test_an_ordinary_docx_passes_the_default_guards() -> None:
    assert DocxParser().parse(make_docx(), name="fine.docx", limits=INLINE).blocks
