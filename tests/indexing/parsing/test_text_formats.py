"""Plain text, Markdown and source code: structure with line numbers, and any encoding."""

from __future__ import annotations

import codecs

import pytest

from headwater.indexing.parsing import ParseError, ParseLimits
from headwater.indexing.parsing.code import SourceCodeParser
from headwater.indexing.parsing.encoding import decode_text, detect_encoding
from headwater.indexing.parsing.markdown import MarkdownParser
from headwater.indexing.parsing.text import PlainTextParser
from headwater.indexing.types import ParsedDocument

INLINE = ParseLimits(isolate=False)


def summary(document: ParsedDocument) -> list[tuple[str, int, str, int | None]]:
    return [(b.kind.value, b.level, b.text, b.location.line) for b in document.blocks]


def test_plain_text_paragraphs_split_at_blank_lines_with_their_first_line() -> None:
    text = b"First paragraph,\nsecond line.\n\n\nSecond paragraph.\n\n> quoted reply\n> more\n"
    document = PlainTextParser().parse(text, name="notes.txt", limits=INLINE)
    assert summary(document) == [
        ("paragraph", 0, "First paragraph,\nsecond line.", 1),
        ("paragraph", 0, "Second paragraph.", 5),
        ("quote", 0, "quoted reply\nmore", 7),
    ]


MARKDOWN = """\
---
title: Setup guide
---
# Install

Download the **installer** from [the site](https://example.com).
It runs anywhere.

## Linux
- apt install headwater
- or build it
  from source
1. then start it

```bash
headwater serve
# not a heading
```

Setext heading
--------------

| Name | Port |
|------|-----:|
| api  | 8080 |
| web  |      |

> A note in a quote.

    indented code
"""


def test_markdown_keeps_headings_lists_code_tables_and_lines() -> None:
    document = MarkdownParser().parse(MARKDOWN.encode(), name="guide.md", limits=INLINE)
    assert summary(document) == [
        ("metadata", 0, "title: Setup guide", 2),
        ("heading", 1, "Install", 4),
        ("paragraph", 0, "Download the installer from the site.\nIt runs anywhere.", 6),
        ("heading", 2, "Linux", 9),
        ("list_item", 0, "apt install headwater", 10),
        ("list_item", 0, "or build it\nfrom source", 11),
        ("list_item", 0, "then start it", 13),
        ("code", 0, "headwater serve\n# not a heading", 16),
        ("heading", 2, "Setext heading", 20),
        ("table_row", 0, "Name: api; Port: 8080", 25),
        ("table_row", 0, "Name: web", 26),
        ("quote", 0, "A note in a quote.", 28),
        ("code", 0, "indented code", 30),
    ]
    assert document.title == "Setup guide"
    rows = [b for b in document.blocks if b.kind.value == "table_row"]
    assert [(b.location.row, b.table_header) for b in rows] == [(1, "Name | Port"), (2, "Name | Port")]


def test_markdown_title_falls_back_to_the_first_top_heading() -> None:
    document = MarkdownParser().parse(b"Intro text\n\n# Real Title\n\n## Part\n", name="a.md", limits=INLINE)
    assert document.title == "Real Title"


def test_an_unclosed_fence_runs_to_the_end() -> None:
    document = MarkdownParser().parse(b"# A\n```\ncode\n# still code\n", name="a.md", limits=INLINE)
    assert summary(document) == [("heading", 1, "A", 1), ("code", 0, "code\n# still code", 3)]


PYTHON = '''\
"""Module docstring."""

import os


# Helpers come first.
@cache
def helper(x):
    return x

    # an indented comment after a blank line stays inside


class Thing:
    def method(self):
        pass
'''


def test_source_code_splits_at_top_level_definitions_keeping_comments_and_decorators() -> None:
    document = SourceCodeParser().parse(PYTHON.encode(), name="mod.py", limits=INLINE)
    assert [(b.kind.value, b.location.line, b.text.split("\n")[0]) for b in document.blocks] == [
        ("code", 1, '"""Module docstring."""'),
        ("code", 3, "import os"),
        ("code", 6, "# Helpers come first."),
        ("code", 14, "class Thing:"),
    ]
    assert document.blocks[2].text.endswith("    # an indented comment after a blank line stays inside")
    assert document.blocks[3].text == "class Thing:\n    def method(self):\n        pass"


def test_braces_languages_do_not_start_a_unit_at_a_closing_brace() -> None:
    go = b"package main\n\nfunc a() {\n\tx := 1\n\n}\n\nfunc b() {}\n"
    document = SourceCodeParser().parse(go, name="main.go", limits=INLINE)
    assert [(b.location.line, b.text) for b in document.blocks] == [
        (1, "package main"),
        (3, "func a() {\n\tx := 1\n\n}"),
        (8, "func b() {}"),
    ]


@pytest.mark.parametrize(
    ("content", "encoding"),
    [
        (codecs.BOM_UTF8 + "café".encode(), "utf-8"),
        (codecs.BOM_UTF16_LE + "café".encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + "café".encode("utf-16-be"), "utf-16-be"),
        ("plain café, no mark".encode("utf-16-le"), "utf-16-le"),
        ("café".encode(), "utf-8"),
        ("café “quoted” – dash".encode("cp1252"), "cp1252"),
        (b"caf\xe9 \x81", "latin-1"),  # 0x81 is undefined in cp1252
    ],
    ids=["utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le-no-bom", "utf8", "cp1252", "latin1"],
)
def test_text_decodes_from_any_common_encoding(content: bytes, encoding: str) -> None:
    assert detect_encoding(content)[0] == encoding
    assert "caf" in decode_text(content)
    assert "\ufeff" not in decode_text(content)


def test_cp1252_punctuation_survives() -> None:
    text = "“Smart quotes” – and a euro €".encode("cp1252")
    assert decode_text(text) == "“Smart quotes” – and a euro €"


def test_line_ends_are_normalised() -> None:
    assert decode_text(b"a\r\nb\rc\n") == "a\nb\nc\n"


def test_binary_content_in_a_text_file_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"^not a text file: it contains binary data$"):
        PlainTextParser().parse(
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), name="x.txt", limits=INLINE
        )
