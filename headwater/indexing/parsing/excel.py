"""Excel workbooks (XLSX) with openpyxl in read-only mode: every sheet is a table.

The first non-empty row of a sheet is its header; each later row is a TABLE_ROW "column: value; ..."
with the sheet's name and its row number among the data rows (the header is not counted, as in every
other table). Cells show their cached values, not formulas: what the reader of the sheet saw.
`ParseLimits.max_rows` counts rows across all sheets; rows past it are left out with a warning.
Charts and pictures are left out.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from typing import Any

from headwater.indexing.parsing.base import ParseLimits, Parser
from headwater.indexing.parsing.blocks import DocumentBuilder, column_names, header_line, row_text
from headwater.indexing.parsing.guards import check_zip_archive
from headwater.indexing.types import BlockKind, Location, ParsedDocument


class XlsxParser(Parser):
    format_name = "XLSX"
    mime_types = frozenset(
        {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
            "application/vnd.ms-excel.sheet.macroenabled.12",
        }
    )
    extensions = frozenset({".xlsx", ".xlsm", ".xltx"})
    preload = ("openpyxl",)

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        check_zip_archive(
            content, format_name=self.format_name, required_part="xl/workbook.xml", limits=limits
        )
        import openpyxl

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style", unsupported extensions: harmless
            workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            try:
                builder = DocumentBuilder(limits, title=workbook.properties.title or None)
                rows_left = limits.max_rows
                for sheet in workbook.worksheets:
                    if builder.full or rows_left <= 0:
                        break
                    rows_left -= _add_sheet(builder, sheet, rows_left)
            finally:
                workbook.close()
        return builder.build()


def _add_sheet(builder: DocumentBuilder, sheet: Any, rows_left: int) -> int:
    """Add one sheet's rows; how many data rows it added."""
    # A sheet's declared dimensions can claim 16 384 columns; without them, rows hold only their cells.
    sheet.reset_dimensions()
    columns: list[str] | None = None
    first_row: list[str] = []
    header = ""
    added = 0
    for values in sheet.iter_rows(values_only=True):
        cells = [cell_text(value) for value in values]
        if not any(cells):
            continue
        if columns is None:
            first_row = [cell for cell in cells if cell]
            columns = column_names(_trim(cells))
            header = f"{sheet.title}: {header_line(columns)}"
            continue
        if added >= rows_left:
            builder.warn(f"only the first {builder.limits.max_rows:,} rows were indexed")
            break
        added += 1
        where = Location(sheet=sheet.title, row=added)
        builder.add(row_text(columns, cells), BlockKind.TABLE_ROW, where, table_header=header)
        if builder.full:
            break
    if columns is not None and added == 0:  # a sheet of one row: keep its words
        builder.add(
            f"{sheet.title}: {' | '.join(first_row)}", BlockKind.PARAGRAPH, Location(sheet=sheet.title)
        )
    return added


def _trim(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells.pop()
    return cells


def cell_text(value: Any) -> str:
    """A cell's value as a reader sees it: 3 not 3.0, dates without a midnight time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value).strip()
