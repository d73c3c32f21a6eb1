"""Documents built at test time, in memory, with the libraries that write each format.

Each builder returns bytes and documents what the parser must find in them, so a test reads as
"this deck has a title slide, a table slide and notes" and asserts exactly that.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from email.message import EmailMessage

from docx.shared import Pt

# A DOCX needs these parts to be recognised as one before any bomb check matters.
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'
)


def make_pdf(*, pages: int = 3, title: str = "Quarterly Report") -> bytes:
    """`pages` pages; page N has heading "Chapter N", two paragraphs that mention "page N", and a
    bulleted line "Item on page N"."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    styles = getSampleStyleSheet()
    body = ParagraphStyle("Body", parent=styles["Normal"], spaceBefore=8)
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=title, invariant=True)
    story = []
    for number in range(1, pages + 1):
        story.append(Paragraph(f"Chapter {number}", styles["Heading1"]))
        story.append(
            Paragraph(
                f"The first paragraph of page {number} explains the revenue figures. "
                + "Sales grew in every region and the margin held steady. " * 4,
                body,
            )
        )
        story.append(Paragraph(f"The second paragraph of page {number} covers hiring plans.", body))
        story.append(Paragraph(f"Item on page {number}", body, bulletText="•"))
        if number < pages:
            story.append(PageBreak())
    document.build(story)
    return buffer.getvalue()


def make_docx() -> bytes:
    """Title "Employee Handbook"; "Introduction" (H1) with a paragraph; "Install" (H1) > "Linux" (H2)
    with two bullets and a numbered item; a Quote; a 3x3 table Name/Role/Office whose header spans
    no merges, then a table with a cell merged across two columns."""
    import docx

    document = docx.Document()
    document.core_properties.title = ""
    document.add_paragraph("Employee Handbook", style="Title")
    document.add_heading("Introduction", level=1)
    document.add_paragraph("Welcome to the company. This handbook explains how we work.")
    document.add_heading("Install", level=1)
    document.add_heading("Linux", level=2)
    document.add_paragraph("Download the package.", style="List Bullet")
    document.add_paragraph("Run the installer.", style="List Bullet")
    document.add_paragraph("Reboot the machine.", style="List Number")
    document.add_paragraph("Simplicity is prerequisite for reliability.", style="Quote")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows,
        [("Name", "Role", "Office"), ("Ann", "Engineer", "Paris"), ("Bob", "", "Oslo")],
        strict=True,
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    merged = document.add_table(rows=2, cols=3)
    merged.cell(0, 0).text = "Key"
    merged.cell(0, 1).text = "Value"
    merged.cell(0, 2).text = "Note"
    merged.cell(1, 0).text = "Budget"
    merged.cell(1, 1).merge(merged.cell(1, 2)).text = "100k"
    run = document.add_paragraph().add_run("Closing words in a plain paragraph.")
    run.font.size = Pt(11)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def make_xlsx(*, rows: int = 3) -> bytes:
    """Sheet "Sales": header Region/Rep/Amount/Date and `rows` rows (Region North/South alternating,
    Rep "Rep N", Amount N*1.5, Date 2024-01-N); sheet "Notes": a single cell "only a note"; an empty
    sheet "Blank"."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sales = workbook.active
    sales.title = "Sales"
    sales.append(["Region", "Rep", "Amount", "Date"])
    for number in range(1, rows + 1):
        sales.append(
            [
                "North" if number % 2 else "South",
                f"Rep {number}",
                number * 1.5,
                dt.datetime(2024, 1, min(number, 28)),
            ]
        )
    notes = workbook.create_sheet("Notes")
    notes["B2"] = "only a note"
    workbook.create_sheet("Blank")
    workbook.properties.title = "Sales 2024"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def make_pptx() -> bytes:
    """Slide 1: title "Roadmap", bullets "Ship search" / "Ship answers", notes "Mention the beta".
    Slide 2: title "Budget", a table Item/Cost with rows Servers/100 and People/900.
    Slide 3: no title, one text box "Questions?". Slide 4: title "Thanks" only."""
    from pptx import Presentation
    from pptx.util import Inches

    presentation = Presentation()
    bullets_layout = presentation.slide_layouts[1]
    title_only_layout = presentation.slide_layouts[5]
    blank_layout = presentation.slide_layouts[6]

    slide = presentation.slides.add_slide(bullets_layout)
    slide.shapes.title.text = "Roadmap"
    body = slide.placeholders[1].text_frame
    body.text = "Ship search"
    body.add_paragraph().text = "Ship answers"
    slide.notes_slide.notes_text_frame.text = "Mention the beta"

    slide = presentation.slides.add_slide(title_only_layout)
    slide.shapes.title.text = "Budget"
    table = slide.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2)).table
    for row, values in enumerate([("Item", "Cost"), ("Servers", "100"), ("People", "900")]):
        for column, value in enumerate(values):
            table.cell(row, column).text = value

    slide = presentation.slides.add_slide(blank_layout)
    box = slide.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1))
    box.text_frame.text = "Questions?"

    slide = presentation.slides.add_slide(title_only_layout)
    slide.shapes.title.text = "Thanks"
    buffer = io.BytesIO()
    presentation.save(buffer)
    return buffer.getvalue()


def make_email(*, html_only: bool = False) -> bytes:
    """From Ann to Bob (Cc Carol), subject "Quarterly numbers"; a plain-text body of two paragraphs
    and a quoted reply (an HTML alternative too); attachments report.pdf and a forwarded message
    whose subject is "Original thread"."""
    message = EmailMessage()
    message["From"] = "Ann Example <ann@example.com>"
    message["To"] = "Bob Example <bob@example.com>"
    message["Cc"] = "carol@example.com"
    message["Date"] = "Tue, 02 Jan 2024 10:00:00 +0000"
    message["Subject"] = "Quarterly numbers"
    plain = "Hi Bob,\n\nThe numbers are attached.\nRevenue is up.\n\n> Can you send the numbers?\n> Thanks\n"
    html = "<html><body><p>Hi Bob,</p><p>The numbers are <b>attached</b>.</p></body></html>"
    if html_only:
        message.set_content(html, subtype="html")
    else:
        message.set_content(plain)
        message.add_alternative(html, subtype="html")
    message.add_attachment(b"%PDF-1.4 fake", maintype="application", subtype="pdf", filename="report.pdf")
    forwarded = EmailMessage()
    forwarded["From"] = "dave@example.com"
    forwarded["Subject"] = "Original thread"
    forwarded.set_content("The original message.")
    message.add_attachment(forwarded)
    return message.as_bytes()


def make_zip_bomb(*, inflated_bytes: int, part: str = "word/document.xml") -> bytes:
    """An Office-looking zip whose `part` inflates to `inflated_bytes` of zeros. Written in 1 MB
    steps, so building a 20 MB bomb never holds 20 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zeros = bytes(1024 * 1024)
        with archive.open(part, "w", force_zip64=True) as member:
            left = inflated_bytes
            while left > 0:
                member.write(zeros[: min(left, len(zeros))])
                left -= len(zeros)
    return buffer.getvalue()


def declare_size(archive_bytes: bytes, part: str, declared: int) -> bytes:
    """`archive_bytes` with the central directory claiming `part` inflates to `declared` bytes: the
    shape of a zip bomb whose directory is honest about its size, without writing that much."""
    data = bytearray(archive_bytes)
    name = part.encode()
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if bytes(data[position + 46 : position + 46 + name_length]) == name:
            struct.pack_into("<I", data, position + 24, min(declared, 0xFFFFFFFE))
            return bytes(data)
        position = data.find(b"PK\x01\x02", position + 4)
    raise ValueError(f"{part} is not in the archive")


def tiny_zip(part: str, body: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr(part, body)
    return buffer.getvalue()
