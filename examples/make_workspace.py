"""Builds the binary and email files of the sample workspace from readable sources.

    .venv/bin/python examples/make_workspace.py          # (re)writes examples/workspace/
    .venv/bin/python examples/make_workspace.py --check  # fails if the workspace is out of date

Sources live in `examples/sources/`, at the path of the file they become plus a source suffix:
- `NAME.pdf.md`, `NAME.docx.md`: a small Markdown subset (`#`/`##`/`###` headings, paragraphs, `- `
  bullets, `| a | b |` tables, `<!-- pagebreak -->`) rendered with reportlab / python-docx;
- `NAME.pptx.md`: slides separated by `---`, each a `# title`, bullets and `> speaker notes`;
- `NAME.xlsx.json`: `{"sheets": [{"name", "rows", "widths"}]}`; values only, no formulas, because a
  formula written by openpyxl has no cached value and a parser reading values would see nothing;
- `NAME.eml.txt`: RFC 822 headers, a blank line, the body; `X-Attach: path` (relative to the
  workspace) attaches that file.
Everything else in `examples/workspace/` is written by hand (Markdown, HTML, TXT, CSV, JSON, code).

Output is byte-for-byte reproducible: document dates are fixed, PDFs are written in reportlab's
invariant mode, and every Office file's zip entries get a fixed timestamp.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import zipfile
from collections.abc import Callable
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import HeaderParser
from email.utils import parsedate_to_datetime
from mimetypes import guess_type
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
WORKSPACE = HERE / "workspace"
FIXED_TIME = datetime(2026, 3, 31, 9, 0, 0)
ZIP_TIME = (2026, 3, 31, 9, 0, 0)
AUTHOR = "Larkspur Labs"

Block = tuple[str, object]  # ("h1" | "h2" | "h3" | "p" | "li" | "table" | "pagebreak", payload)


def parse_markdown(text: str) -> list[Block]:
    """The Markdown subset the sources use, as a flat list of blocks."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    table: list[list[str]] = []

    def flush() -> None:
        if paragraph:
            blocks.append(("p", " ".join(paragraph)))
            paragraph.clear()
        if table:
            blocks.append(("table", [row[:] for row in table]))
            table.clear()

    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("|"):
            if paragraph:
                flush()
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):  # skip the |---| line
                table.append(cells)
            continue
        if table:
            flush()
        if not line:
            flush()
        elif line == "<!-- pagebreak -->":
            flush()
            blocks.append(("pagebreak", None))
        elif match := re.match(r"(#{1,3}) (.*)", line):
            flush()
            blocks.append((f"h{len(match.group(1))}", match.group(2)))
        elif line.startswith("- "):
            flush()
            blocks.append(("li", line[2:]))
        else:
            paragraph.append(line)
    flush()
    return blocks


def _inline_pdf(text: str) -> str:
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)


def render_pdf(source: str, target: Path, root: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    blocks = parse_markdown(source)
    title = next(str(payload) for kind, payload in blocks if kind == "h1")
    styles = getSampleStyleSheet()
    story: list[object] = []
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3"):
            story.append(
                Paragraph(_inline_pdf(str(payload)), styles[{"h1": "Title"}.get(kind, f"Heading{kind[1]}")])
            )
        elif kind == "p":
            story.append(Paragraph(_inline_pdf(str(payload)), styles["BodyText"]))
        elif kind == "li":
            story.append(Paragraph(_inline_pdf(str(payload)), styles["BodyText"], bulletText="\u2022"))
        elif kind == "pagebreak":
            story.append(PageBreak())
        elif kind == "table":
            rows = [[Paragraph(_inline_pdf(cell), styles["BodyText"]) for cell in row] for row in payload]
            table = Table(rows, repeatRows=1, hAlign="LEFT")
            table.setStyle(
                TableStyle(
                    [
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dfe7f1")),
                        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story.extend([Spacer(1, 3 * mm), table, Spacer(1, 3 * mm)])

    def footer(canvas: object, doc: object) -> None:
        canvas.setFont("Helvetica", 8)
        canvas.drawString(20 * mm, 10 * mm, f"Larkspur Labs \u2014 {title} \u2014 page {doc.page}")

    document = SimpleDocTemplate(
        str(target), pagesize=A4, title=title, author=AUTHOR, creator=AUTHOR, invariant=True
    )
    document.build(story, onFirstPage=footer, onLaterPages=footer)


def _fixed_core(properties: object) -> None:
    for name, value in (("author", AUTHOR), ("last_modified_by", AUTHOR), ("revision", 1)):
        setattr(properties, name, value)
    for name in ("created", "modified", "last_printed"):
        setattr(properties, name, FIXED_TIME)


def render_docx(source: str, target: Path, root: Path) -> None:
    import docx

    document = docx.Document()
    _fixed_core(document.core_properties)
    for kind, payload in parse_markdown(source):
        if kind == "h1":
            document.core_properties.title = str(payload)
            document.add_heading(str(payload), level=0 if not document.paragraphs else 1)
        elif kind in ("h2", "h3"):
            document.add_heading(str(payload), level=int(kind[1]) - 1)
        elif kind in ("p", "li"):
            paragraph = document.add_paragraph(style="List Bullet" if kind == "li" else None)
            for i, part in enumerate(re.split(r"\*\*(.+?)\*\*", str(payload))):
                paragraph.add_run(part).bold = i % 2 == 1
        elif kind == "pagebreak":
            document.add_page_break()
        elif kind == "table":
            rows: list[list[str]] = payload
            table = document.add_table(rows=len(rows), cols=len(rows[0]), style="Light Grid Accent 1")
            for r, row in enumerate(rows):
                for c, cell in enumerate(row):
                    table.cell(r, c).text = cell
    document.save(str(target))


def render_pptx(source: str, target: Path, root: Path) -> None:
    from pptx import Presentation
    from pptx.util import Pt

    presentation = Presentation()
    _fixed_core(presentation.core_properties)
    for number, slide_text in enumerate(re.split(r"^---$", source, flags=re.M)):
        lines = [line.strip() for line in slide_text.strip().splitlines() if line.strip()]
        title = next(line[2:] for line in lines if line.startswith("# "))
        bullets = [line[2:] for line in lines if line.startswith("- ")]
        notes = " ".join(line[2:] for line in lines if line.startswith("> "))
        layout = presentation.slide_layouts[0 if number == 0 else 1]
        slide = presentation.slides.add_slide(layout)
        slide.shapes.title.text = title
        body = slide.placeholders[1].text_frame
        for i, bullet in enumerate(bullets):
            paragraph = body.paragraphs[0] if i == 0 else body.add_paragraph()
            paragraph.text = bullet
            paragraph.font.size = Pt(18 if number else 20)
        if notes:
            slide.notes_slide.notes_text_frame.text = notes
        if number == 0:
            presentation.core_properties.title = title
    presentation.save(str(target))


def render_xlsx(source: str, target: Path, root: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    spec = json.loads(source)
    workbook = Workbook()
    workbook.remove(workbook.active)
    _fixed_core(workbook.properties)
    workbook.properties.creator = AUTHOR
    workbook.properties.title = spec.get("title")
    for sheet_spec in spec["sheets"]:
        sheet = workbook.create_sheet(sheet_spec["name"])
        for row in sheet_spec["rows"]:
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for column, width in zip("ABCDEFGHIJKLMNOP", sheet_spec.get("widths", []), strict=False):
            sheet.column_dimensions[column].width = width
        sheet.freeze_panes = "A2"
    workbook.save(str(target))


def render_eml(source: str, target: Path, root: Path) -> None:
    head, _, body = source.partition("\n\n")
    headers = HeaderParser().parsestr(head)
    message = EmailMessage(policy=policy.SMTP)
    for name, value in headers.items():
        if name != "X-Attach":
            message[name] = value
    message.set_content(body.rstrip("\n") + "\n", cte="quoted-printable")
    attach = headers.get("X-Attach")
    if attach:
        # A rendered attachment comes from this build; a hand-written one from the workspace.
        path = root / attach if (root / attach).exists() else WORKSPACE / attach
        maintype, _, subtype = (guess_type(path.name)[0] or "application/octet-stream").partition("/")
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
        # A fixed boundary, derived from the Message-ID, instead of a random one.
        message.set_boundary("=_larkspur_" + re.sub(r"\W", "", headers["Message-ID"])[:24])
    parsedate_to_datetime(headers["Date"])  # every source must carry a valid RFC 822 date
    target.write_bytes(message.as_bytes())


RENDERERS: dict[str, Callable[[str, Path, Path], None]] = {
    ".pdf.md": render_pdf,
    ".docx.md": render_docx,
    ".pptx.md": render_pptx,
    ".xlsx.json": render_xlsx,
    ".eml.txt": render_eml,
}


def fix_zip_timestamps(path: Path) -> None:
    """Rewrites an Office file with a fixed time on every entry (the libraries stamp the current time),
    and the fixed time in docProps/core.xml (openpyxl sets `modified` to now when saving)."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    output = io.BytesIO()
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for entry in source.infolist():
            data = source.read(entry.filename)
            if entry.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), data
                )
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, data)
    path.write_bytes(output.getvalue())


def build(destination: Path) -> list[Path]:
    """Renders every source into `destination` (the workspace or a scratch copy); returns the files."""
    written = []
    # Emails last: one of them attaches a file that another renderer produces.
    sources = sorted(SOURCES.rglob("*"), key=lambda p: (p.name.endswith(".eml.txt"), str(p)))
    for source in sources:
        suffix = next((s for s in RENDERERS if source.name.endswith(s)), None)
        if suffix is None:
            continue
        relative = source.relative_to(SOURCES).with_name(
            source.name.removesuffix(suffix) + suffix[: -len(Path(suffix).suffix)]
        )
        target = destination / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        RENDERERS[suffix](source.read_text(encoding="utf-8"), target, destination)
        if target.suffix in (".docx", ".xlsx", ".pptx"):
            fix_zip_timestamps(target)
        written.append(target)
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a rendered file differs")
    args = parser.parse_args()
    if not args.check:
        for path in build(WORKSPACE):
            print(path.relative_to(HERE))
        return 0
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        stale = [
            str(path.relative_to(scratch))
            for path in build(Path(scratch))
            if (WORKSPACE / path.relative_to(scratch)).read_bytes() != path.read_bytes()
        ]
    print("\n".join(stale) or "workspace is up to date")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
