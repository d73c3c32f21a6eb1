from __future__ import annotations

import pytest

from headwater.indexing.parsing import ParseError, ParseLimits
from headwater.indexing.parsing.tabular import CsvParser, JsonParser, flatten
from headwater.indexing.types import ParsedDocument

INLINE = ParseLimits(isolate=False)


def rows(document: ParsedDocument) -> list[tuple[str, int | None, int | None]]:
    return [(b.text, b.location.row, b.location.line) for b in document.blocks]


def test_csv_rows_under_the_header_with_row_and_line_numbers() -> None:
    content = b'name,city,note\nAnn,Paris,"two\nlines"\n\nBob,Oslo,\n'
    document = CsvParser().parse(content, name="people.csv", limits=INLINE)
    assert rows(document) == [
        ("name: Ann; city: Paris; note: two lines", 1, 2),
        ("name: Bob; city: Oslo", 2, 5),  # a quoted field spanned line 3; line 4 was blank
    ]
    assert {b.table_header for b in document.blocks} == {"name | city | note"}


def test_semicolon_and_tab_separated_files_are_recognised() -> None:
    semicolons = CsvParser().parse(b"a;b\n1;2\n3;4\n", name="x.csv", limits=INLINE)
    assert [b.text for b in semicolons.blocks] == ["a: 1; b: 2", "a: 3; b: 4"]
    tabs = CsvParser().parse(b"a,x\tb\n1,5\t2\n", name="x.tsv", limits=INLINE)
    assert [b.text for b in tabs.blocks] == ["a,x: 1,5; b: 2"]


def test_csv_rows_past_the_limit_are_left_out_with_a_warning() -> None:
    content = b"n\n" + b"".join(f"{i}\n".encode() for i in range(1, 11))
    document = CsvParser().parse(content, name="n.csv", limits=ParseLimits(isolate=False, max_rows=3))
    assert [b.text for b in document.blocks] == ["n: 1", "n: 2", "n: 3"]
    assert document.warnings == ["only the first 3 rows were indexed"]


def test_a_csv_with_only_a_header_keeps_its_words() -> None:
    document = CsvParser().parse(b"alpha,beta\n", name="h.csv", limits=INLINE)
    assert rows(document) == [("alpha | beta", None, 1)]


def test_a_csv_field_over_the_size_limit_is_a_parse_error() -> None:
    content = b'a\n"' + b"x" * 200_000 + b'"\n'
    with pytest.raises(ParseError, match=r"^not a valid CSV file: field larger than field limit"):
        CsvParser().parse(content, name="big.csv", limits=INLINE)


def test_json_records_of_a_top_level_array_become_one_block_each() -> None:
    content = (
        b'[{"name": "Ann", "tags": ["a", "b"], "address": {"city": "Paris"}}, {"name": "Bob", "ok": true}]'
    )
    document = JsonParser().parse(content, name="people.json", limits=INLINE)
    assert rows(document) == [
        ("[0].name: Ann\n[0].tags[0]: a\n[0].tags[1]: b\n[0].address.city: Paris", 1, None),
        ("[1].name: Bob\n[1].ok: true", 2, None),
    ]


def test_json_object_groups_by_top_level_key_and_splits_its_records_list() -> None:
    content = (
        b'{"version": 2, "config": {"db": {"host": "h", "port": 5432}}, "items": [{"id": 1}, {"id": 2}]}'
    )
    document = JsonParser().parse(content, name="c.json", limits=INLINE)
    assert rows(document) == [
        ("version: 2", None, None),
        ("config.db.host: h\nconfig.db.port: 5432", None, None),
        ("items[0].id: 1", 1, None),
        ("items[1].id: 2", 2, None),
    ]


def test_json_lines_are_one_record_per_line() -> None:
    content = b'{"a": 1}\n\n{"a": null, "b": []}\n'
    document = JsonParser().parse(content, name="log.jsonl", limits=INLINE)
    assert rows(document) == [("a: 1", 1, 1), ("a: null\nb: []", 2, 3)]


def test_invalid_json_says_where() -> None:
    with pytest.raises(ParseError, match=r"^not a valid JSON file: Expecting ',' delimiter: line 1 column 9"):
        JsonParser().parse(b'{"a": 1 "b": 2}', name="bad.json", limits=INLINE)


def test_flatten_survives_nesting_deeper_than_the_recursion_limit() -> None:
    value: object = "bottom"
    for _ in range(5000):
        value = {"k": value}
    ((path, leaf),) = list(flatten(value))
    assert leaf == "bottom"
    assert path.count("k") == 5000


def test_a_slow_parse_stops_reading_before_the_timeout_and_keeps_what_it_read() -> None:
    content = b"n\n" + b"".join(f"{i}\n".encode() for i in range(10_000))
    document = CsvParser().parse(content, name="n.csv", limits=ParseLimits(isolate=False, timeout_s=1e-6))
    assert len(document.blocks) < 10_000
    assert document.warnings == ["parsing stopped after 0 s; the rest of the document was not indexed"]
