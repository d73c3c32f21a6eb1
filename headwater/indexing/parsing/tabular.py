"""CSV / TSV and JSON: data files whose records should stay whole in search.

CSV: the first non-empty row is the header (a file without one reads as if its first record named
the columns; there is no reliable way to tell); every other row is a TABLE_ROW "column: value; ...",
with its row number and the line it starts on. Past `ParseLimits.max_rows` rows are left out, with a
warning: the first rows of a huge export are still worth finding.

JSON: flattened to "path.to.key: value" lines, which read well to both BM25 and an embedding model.
Lines are grouped into one block per record: per element of a top-level array (or of the first
array inside a top-level object, as in {"items": [...]}) and per other top-level key. JSON Lines
files are one record per line.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

from headwater.indexing.parsing.base import ParseError, ParseLimits, Parser
from headwater.indexing.parsing.blocks import DocumentBuilder, column_names, header_line, row_text
from headwater.indexing.parsing.encoding import decode_text
from headwater.indexing.types import BlockKind, Location, ParsedDocument

_SNIFF_BYTES = 16_384
_TAB_SEPARATED = frozenset({".tsv", ".tab"})


class CsvParser(Parser):
    format_name = "CSV"
    mime_types = frozenset(
        {
            "text/csv",
            "application/csv",
            "text/x-csv",
            "text/comma-separated-values",
            "text/tab-separated-values",
        }
    )
    extensions = frozenset({".csv", ".tsv", ".tab"})

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        text = decode_text(content, format_name=self.format_name)
        builder = DocumentBuilder(limits)
        reader = csv.reader(io.StringIO(text, newline=""), _dialect(text, name))
        columns: list[str] | None = None
        header = ""
        row = 0
        try:
            next_line = 1
            for cells in reader:
                line, next_line = next_line, reader.line_num + 1
                if not any(cell.strip() for cell in cells):
                    continue
                if columns is None:
                    columns = column_names(cells)
                    header = header_line(columns)
                    continue
                if row >= limits.max_rows:
                    builder.warn(f"only the first {limits.max_rows:,} rows were indexed")
                    break
                row += 1
                where = Location(row=row, line=line)
                builder.add(row_text(columns, cells), BlockKind.TABLE_ROW, where, table_header=header)
                if builder.full:
                    break
        except csv.Error as exc:
            raise ParseError(f"not a valid CSV file: {exc} (line {reader.line_num})") from exc
        if columns is not None and row == 0:
            builder.add(header, BlockKind.PARAGRAPH, Location(line=1))
        return builder.build()


def _dialect(text: str, name: str) -> type[csv.Dialect] | csv.Dialect:
    if PurePosixPath(name).suffix.lower() in _TAB_SEPARATED:
        return csv.excel_tab
    try:
        return csv.Sniffer().sniff(text[:_SNIFF_BYTES], delimiters=",;\t|")
    except csv.Error:  # one column, or too irregular to tell: commas, as most exports use
        return csv.excel


class JsonParser(Parser):
    format_name = "JSON"
    mime_types = frozenset(
        {"application/json", "text/json", "application/ld+json", "application/x-ndjson", "application/jsonl"}
    )
    extensions = frozenset({".json", ".jsonl", ".ndjson", ".geojson", ".jsonld"})

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        text = decode_text(content, format_name=self.format_name)
        builder = DocumentBuilder(limits)
        if PurePosixPath(name).suffix.lower() in (".jsonl", ".ndjson"):
            self._json_lines(text, builder, limits)
        else:
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ParseError(f"not a valid JSON file: {exc}") from exc
            for path, record_value, row in _records(value):
                _add_record(builder, path, record_value, Location(row=row) if row else Location())
                if builder.full:
                    break
        return builder.build()

    def _json_lines(self, text: str, builder: DocumentBuilder, limits: ParseLimits) -> None:
        row = 0
        for number, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            if row >= limits.max_rows:
                builder.warn(f"only the first {limits.max_rows:,} records were indexed")
                return
            try:
                value = json.loads(line)
            except ValueError as exc:
                raise ParseError(f"not a valid JSON Lines file: line {number}: {exc}") from exc
            row += 1
            _add_record(builder, "", value, Location(row=row, line=number))
            if builder.full:
                return


def _records(value: Any) -> Iterator[tuple[str, Any, int | None]]:
    """(path, value, 1-based record number or None) of each record of a JSON document."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield f"[{index}]", item, index + 1
        return
    if not isinstance(value, dict):
        yield "", value, None
        return
    records_key = next((key for key, item in value.items() if isinstance(item, list) and item), None)
    for key, item in value.items():
        if key == records_key:
            for index, element in enumerate(item):
                yield f"{key}[{index}]", element, index + 1
        else:
            yield str(key), item, None


def _add_record(builder: DocumentBuilder, path: str, value: Any, location: Location) -> None:
    lines = [f"{key}: {scalar}" if key else scalar for key, scalar in flatten(value, path)]
    builder.add("\n".join(lines), BlockKind.PARAGRAPH, location)


def flatten(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """("a.b[0].c", "value") pairs of a JSON value. Iterative: deep nesting must not overflow."""
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        key, item = stack.pop()
        if isinstance(item, dict) and item:
            children = [(f"{key}.{name}" if key else str(name), child) for name, child in item.items()]
            stack.extend(reversed(children))
        elif isinstance(item, list) and item:
            stack.extend(reversed([(f"{key}[{index}]", child) for index, child in enumerate(item)]))
        else:
            yield key, _scalar(item)


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return "{}" if isinstance(value, dict) else "[]"
    return " ".join(str(value).split())
