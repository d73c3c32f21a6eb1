"""Chunking keeps the document's structure: pages and slides apart, heading paths, table headers,
sizes within the budget, overlap only inside a long block, and the same chunks every time."""

from __future__ import annotations

import pytest

from headwater.indexing.chunking import chunk_document, estimate_tokens
from headwater.indexing.parsing import ParseLimits
from headwater.indexing.parsing.pdf import PdfParser
from headwater.indexing.parsing.powerpoint import PptxParser
from headwater.indexing.types import Block, BlockKind, Chunk, Location, ParsedDocument
from tests.indexing.parsing.fixtures import make_pdf, make_pptx

HEADING = BlockKind.HEADING
ROW = BlockKind.TABLE_ROW


def doc(*blocks: Block) -> ParsedDocument:
    return ParsedDocument(blocks=list(blocks))


def heading(text: str, level: int, **where: object) -> Block:
    return Block(text, HEADING, Location(**where), level=level)  # type: ignore[arg-type]


def para(text: str, **where: object) -> Block:
    return Block(text, BlockKind.PARAGRAPH, Location(**where))  # type: ignore[arg-type]


def sentences(count: int, topic: str = "topic") -> str:
    return " ".join(f"Sentence {n} talks about the {topic} in plain words." for n in range(1, count + 1))


def test_estimate_counts_word_pieces_erring_high() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("the cat sat") == 3
    assert estimate_tokens("internationalization") == 7  # rare long words split into many pieces
    assert estimate_tokens("x = f(a, b);") == 9  # every punctuation mark is a piece
    assert estimate_tokens("2024") == 2
    assert estimate_tokens("東京都") == 3  # other scripts: one piece a character
    assert estimate_tokens("Привет мир") == 9
    assert estimate_tokens("café") == 2


def test_headings_start_chunks_and_chunks_carry_their_heading_path() -> None:
    chunks = chunk_document(
        doc(
            heading("Install", 1),
            para("Read this first."),
            heading("Linux", 2),
            para("Use apt."),
            heading("Windows", 2),
            para("Use the installer."),
            heading("Usage", 1),
            para("Run it."),
        )
    )
    assert [(c.location.heading, c.text) for c in chunks] == [
        ("Install", "Install\n\nRead this first."),
        ("Install > Linux", "Install > Linux\n\nUse apt."),
        ("Install > Windows", "Install > Windows\n\nUse the installer."),
        ("Usage", "Usage\n\nRun it."),
    ]
    assert [c.ordinal for c in chunks] == [0, 1, 2, 3]


def test_a_heading_with_nothing_under_it_is_still_a_chunk() -> None:
    chunks = chunk_document(
        doc(heading("Empty section", 1), heading("Next", 1), para("Body."), heading("Last", 2))
    )
    assert [(c.text, c.location.heading) for c in chunks] == [
        ("Empty section", "Empty section"),
        ("Next\n\nBody.", "Next"),
        ("Next > Last", "Next > Last"),
    ]


def test_pages_never_share_a_chunk_but_headings_flow_across_pages() -> None:
    chunks = chunk_document(
        doc(heading("Results", 1, page=1), para("End of page one.", page=1), para("Top of page two.", page=2))
    )
    assert [(c.location.page, c.location.heading, c.text) for c in chunks] == [
        (1, "Results", "Results\n\nEnd of page one."),
        (2, "Results", "Results\n\nTop of page two."),
    ]


def test_slides_never_share_a_chunk_and_a_slide_without_title_has_no_heading() -> None:
    parsed = PptxParser().parse(make_pptx(), name="deck.pptx", limits=ParseLimits(isolate=False))
    chunks = chunk_document(parsed)
    assert [(c.location.slide, c.location.heading, c.text) for c in chunks] == [
        (1, "Roadmap", "Roadmap\n\n- Ship search\n- Ship answers\n\nSpeaker notes: Mention the beta"),
        (2, "Budget", "Budget\nItem | Cost\n\nItem: Servers; Cost: 100\nItem: People; Cost: 900"),
        (3, None, "Questions?"),
        (4, "Thanks", "Thanks"),
    ]
    assert chunks[1].location.row == 1


def test_pdf_pages_stay_apart_and_keep_their_numbers() -> None:
    parsed = PdfParser().parse(make_pdf(pages=3), name="r.pdf", limits=ParseLimits(isolate=False))
    chunks = chunk_document(parsed, max_tokens=64, overlap_tokens=8)
    for chunk in chunks:
        assert chunk.location.heading == f"Chapter {chunk.location.page}"
        mentioned = {n for n in (1, 2, 3) if f"page {n} " in chunk.text}
        assert mentioned <= {chunk.location.page}
    assert {c.location.page for c in chunks} == {1, 2, 3}


def test_table_rows_are_grouped_under_a_repeated_header_with_their_first_row() -> None:
    rows = [
        Block(
            f"Region: North; Rep: Person {n}; Amount: {n * 100}",
            ROW,
            Location(sheet="Sales", row=n),
            table_header="Region | Rep | Amount",
        )
        for n in range(1, 41)
    ]
    chunks = chunk_document(doc(*rows), max_tokens=64)
    assert len(chunks) > 3
    for chunk in chunks:
        lines = chunk.text.split("\n")
        assert lines[0] == "Region | Rep | Amount"
        assert lines[1] == ""
        assert (
            lines[2] == f"Region: North; Rep: Person {chunk.location.row}; Amount: {chunk.location.row * 100}"
        )
        assert chunk.location.sheet == "Sales"
        assert estimate_tokens(chunk.text) <= 64
    found = [line for chunk in chunks for line in chunk.text.split("\n")[2:]]
    assert found == [row.text for row in rows]  # every row once, in order, none split


def test_a_table_never_shares_a_chunk_with_prose_or_with_another_table() -> None:
    chunks = chunk_document(
        doc(
            para("Before the table."),
            Block("A: 1; B: 2", ROW, Location(row=1), table_header="A | B"),
            Block("X: 9", ROW, Location(row=1), table_header="X"),
            para("After the tables."),
        )
    )
    assert [c.text for c in chunks] == [
        "Before the table.",
        "A | B\n\nA: 1; B: 2",
        "X\n\nX: 9",
        "After the tables.",
    ]


def test_small_blocks_are_packed_together_without_overlap() -> None:
    blocks = [para(f"Paragraph {n} is short.") for n in range(1, 31)]
    chunks = chunk_document(doc(*blocks), max_tokens=40, overlap_tokens=10)
    texts = [p for chunk in chunks for p in chunk.text.split("\n\n")]
    assert texts == [b.text for b in blocks]  # each paragraph exactly once: no overlap between blocks
    assert all(estimate_tokens(c.text) <= 40 for c in chunks)
    assert len(chunks) < len(blocks)


def test_a_long_paragraph_is_cut_at_sentence_ends_and_its_pieces_overlap() -> None:
    text = sentences(40)
    chunks = chunk_document(doc(heading("Notes", 1), para(text)), max_tokens=80, overlap_tokens=24)
    bodies = [c.text.removeprefix("Notes\n\n") for c in chunks]
    assert len(chunks) > 3
    for body, chunk in zip(bodies, chunks, strict=True):
        assert chunk.text.startswith("Notes\n\n")
        assert estimate_tokens(chunk.text) <= 80
        assert body.startswith("Sentence ")  # whole sentences
        assert body.endswith("words.")
    numbers = [[int(s.split()[0]) for s in body.split("Sentence ")[1:]] for body in bodies]
    for previous, following in zip(numbers, numbers[1:], strict=False):
        assert following[0] == previous[-1]  # the overlap: the last sentence of the piece before
        assert following == list(range(following[0], following[0] + len(following)))
    assert numbers[0][0] == 1
    assert numbers[-1][-1] == 40


def test_a_very_long_sentence_or_word_is_still_cut_to_size() -> None:
    chunks = chunk_document(doc(para("word " * 500 + "x" * 3000)), max_tokens=50, overlap_tokens=0)
    assert all(0 < estimate_tokens(c.text) <= 50 for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks) == "word" * 500 + "x" * 3000


def test_long_code_is_cut_at_line_ends_and_each_piece_cites_its_first_line() -> None:
    code = "\n".join(f"    total = total + compute(value_{n})" for n in range(1, 121))
    block = Block(code, BlockKind.CODE, Location(line=10))
    chunks = chunk_document(doc(block), max_tokens=60, overlap_tokens=0)
    assert len(chunks) > 3
    for chunk in chunks:
        first = chunk.text.split("\n")[0]
        number = int(first.split("value_")[1].rstrip(")"))
        assert chunk.location.line == 10 + number - 1
        assert estimate_tokens(chunk.text) <= 60
    assert "\n".join(c.text for c in chunks) == code


def test_a_long_table_row_is_cut_at_cells_and_keeps_its_header_and_row() -> None:
    row = "; ".join(f"Column {n}: value {n}" for n in range(1, 60))
    chunks = chunk_document(doc(Block(row, ROW, Location(row=7), table_header="Wide")), max_tokens=48)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.text.startswith("Wide\n\nColumn ")
        assert chunk.location.row == 7
        assert estimate_tokens(chunk.text) <= 48


def test_every_chunk_respects_the_budget_with_a_deep_heading_path() -> None:
    blocks = [heading(f"Level {n} long words long words", n) for n in range(1, 7)] + [para(sentences(30))]
    for chunk in chunk_document(doc(*blocks), max_tokens=64, overlap_tokens=8):
        assert estimate_tokens(chunk.text) <= 64
        assert chunk.location.heading is not None
        assert chunk.location.heading.endswith("long words")  # the deepest headings are kept


def test_the_same_document_always_gives_the_same_chunks() -> None:
    parsed = PdfParser().parse(make_pdf(pages=3), name="r.pdf", limits=ParseLimits(isolate=False))
    first: list[Chunk] = chunk_document(parsed, max_tokens=64)
    again = PdfParser().parse(make_pdf(pages=3), name="r.pdf", limits=ParseLimits(isolate=False))
    assert chunk_document(again, max_tokens=64) == first


def test_an_empty_document_has_no_chunks() -> None:
    assert chunk_document(doc()) == []
    assert chunk_document(doc(para("   "))) == []


def test_nonsense_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="max_tokens must be at least 16"):
        chunk_document(doc(), max_tokens=8)
    with pytest.raises(ValueError, match="overlap_tokens must be between 0 and max_tokens / 2"):
        chunk_document(doc(), max_tokens=64, overlap_tokens=40)
