"""ParsedDocument -> Chunks small enough to embed, cut along the document's own structure.

Rules, in order of precedence:
- A chunk never spans two pages, slides or sheets. A new slide or sheet also ends the headings of the
  previous one; a new page does not (sections flow across pages).
- A heading starts a new chunk. Every chunk carries its heading path ("Install > Linux") in
  `Location.heading` and as its first line: all-MiniLM sees a chunk alone, and "Linux" under
  "Install" retrieves better than a bare list of commands. A heading with no text under it
  becomes a chunk of its own, so every heading stays searchable.
- Table rows of one table are packed together below a repeat of the table's header line, and never
  share a chunk with prose; `Location.row` is the chunk's first row.
- Blocks are packed whole while they fit. A block too big for one chunk is cut at sentence ends (at
  line ends for code, at cells for a table row), and only there do consecutive chunks overlap, by up
  to `overlap_tokens`: the overlap keeps a thought that straddles the cut findable from both sides.
  Whole blocks never overlap.
- The same document always gives the same chunks (no randomness, no dependence on dict order), so
  unchanged content re-chunks to identical text and needs no new embedding.

Sizes are estimated, not tokenized: the embedding backend may be local MiniLM or a remote endpoint,
and the chunker must not load a tokenizer. `estimate_tokens` counts word-pieces the way BERT's
WordPiece tends to cut them: a run of n ASCII letters as 1 + (n - 2) // 3 pieces, digits in pairs,
every punctuation mark as one, letters of non-Latin scripts one each (the uncased vocabulary knows
few Cyrillic, Greek or CJK words). Against all-MiniLM-L6-v2's real tokenizer, on 180-word windows
of English prose, Markdown, Python, PDF text, table rows and JSON lines, the real count stays at or
under the estimate for 95% of windows in every kind of text (worst window 7% over); prose is
over-estimated (real = 0.67 x estimate on average, 0.85-0.95 for code and tables). So 256 estimated
tokens fit the model's 256-piece window with room to spare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from headwater.indexing.types import Block, BlockKind, Chunk, Location, ParsedDocument

_LETTER_PIECE = re.compile(r"(?<![A-Za-z])[A-Za-z]{1,4}|[A-Za-z]{1,3}")
_DIGIT_PAIR = re.compile(r"\d{1,2}")
_ASCII_PUNCTUATION = re.compile(r"[^\w\s]|_", re.ASCII)
_PUNCTUATION = re.compile(r"[^\w\s]|_")
# The model's uncased vocabulary strips accents, but knows few words of other scripts: Cyrillic,
# Greek, Arabic, CJK... come out about one piece per character.
_ACCENTED_LATIN = re.compile(r"[\u00c0-\u024f]")
_PER_CHARACTER = re.compile(r"[^\W\d_\x00-\u024f]")
_WORD = re.compile(r"\S+\s*")
_LINE = re.compile(r"[^\n]*\n|[^\n]+")
_CELL = re.compile(r".*?(?:; |$)", re.DOTALL)
# a sentence runs to a terminator followed by white space (so "3.5" and "e.g.x" stay whole)
_SENTENCE = re.compile(r"\s*\S.*?(?:[.!?…。！？][\"'”’)\]]*(?:\s+|$)|$)", re.DOTALL)
_PATH_SEPARATOR = " > "
_CONTINUED_KINDS = frozenset({BlockKind.LIST_ITEM, BlockKind.TABLE_ROW})


def estimate_tokens(text: str) -> int:
    """About how many word-pieces all-MiniLM's tokenizer makes of `text`, erring high.

    Counted with regular expressions only (no Python loop per word: chunking a 100 000-row CSV
    estimates millions of words): a run of ASCII letters matches its first 4 letters, then every 3
    more; digits match in pairs; accented Latin letters count half a piece; letters of other scripts
    one piece each."""
    count = len(_LETTER_PIECE.findall(text)) + len(_DIGIT_PAIR.findall(text))
    if text.isascii():  # most text: an ASCII-only class is faster
        return count + len(_ASCII_PUNCTUATION.findall(text))
    return (
        count
        + len(_PUNCTUATION.findall(text))
        + len(_PER_CHARACTER.findall(text))
        + (len(_ACCENTED_LATIN.findall(text)) + 1) // 2
    )


def chunk_document(
    doc: ParsedDocument, *, max_tokens: int = 256, overlap_tokens: int | None = None
) -> list[Chunk]:
    """The chunks of `doc`, ordinals 0..n-1, each at most `max_tokens` estimated tokens. The overlap
    inside a long block is `max_tokens // 8` (32 of 256) unless given."""
    if max_tokens < 16:
        raise ValueError(f"max_tokens must be at least 16, not {max_tokens}")
    if overlap_tokens is None:
        overlap_tokens = max_tokens // 8
    if not 0 <= overlap_tokens <= max_tokens // 2:
        raise ValueError(f"overlap_tokens must be between 0 and max_tokens / 2, not {overlap_tokens}")
    chunker = _Chunker(max_tokens, overlap_tokens)
    for block in doc.blocks:
        chunker.add(block)
    return chunker.finish()


@dataclass(slots=True)
class _Heading:
    level: int
    text: str
    location: Location
    used: bool = False  # some chunk already shows it in its path


@dataclass(slots=True)
class _Piece:
    """A whole block, or the part of one that fits a chunk."""

    text: str
    kind: BlockKind
    tokens: int
    line: int | None
    row: int | None
    block_id: int  # pieces of one block join with a line break, not a paragraph break

    @property
    def is_table(self) -> bool:
        return self.kind is BlockKind.TABLE_ROW


@dataclass(frozen=True, slots=True)
class _Prefix:
    text: str  # the heading path line, then the table header line
    tokens: int
    heading: str | None


@dataclass(slots=True)
class _Unit:
    start: int
    end: int
    tokens: int
    clean_end: bool  # a good place to cut: a sentence's, line's or cell's end


class _Chunker:
    def __init__(self, max_tokens: int, overlap_tokens: int) -> None:
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        self.chunks: list[Chunk] = []
        self.headings: list[_Heading] = []
        self.section: tuple[int | None, int | None, str | None] | None = None
        self.pieces: list[_Piece] = []
        self.table_header: str | None = None
        self.used_tokens = 0
        self.blocks_seen = 0
        self._prefixes: dict[tuple[tuple[str, ...], str | None], _Prefix] = {}

    def add(self, block: Block) -> None:
        if not block.text.strip():
            return
        self.blocks_seen += 1
        where = block.location
        section = (where.page, where.slide, where.sheet)
        if section != self.section:
            self._flush()
            if self.section is not None and section[1:] != self.section[1:]:
                self._close_headings(0)  # a new slide or sheet starts its own outline
            self.section = section
        if block.kind is BlockKind.HEADING and estimate_tokens(block.text) <= self.max_tokens // 4:
            self._flush()
            level = max(block.level, 1)
            self._close_headings(level)
            self.headings.append(_Heading(level, " ".join(block.text.split()), where))
            return
        kind = BlockKind.PARAGRAPH if block.kind is BlockKind.HEADING else block.kind
        table_header = block.table_header if kind is BlockKind.TABLE_ROW else None
        is_table = kind is BlockKind.TABLE_ROW
        if self.pieces and (table_header != self.table_header or is_table != self.pieces[0].is_table):
            self._flush()
        self.table_header = table_header
        budget = self._budget()
        for piece in self._pieces(block, kind, budget):
            if self.pieces and self.used_tokens + piece.tokens > budget:
                self._flush()
            self.pieces.append(piece)
            self.used_tokens += piece.tokens

    def finish(self) -> list[Chunk]:
        self._flush()
        self._close_headings(0)
        return self.chunks

    # -- headings and prefixes ---------------------------------------------------------------

    def _close_headings(self, level: int) -> None:
        """Pop headings at `level` or deeper; one that no chunk showed becomes a chunk itself."""
        popped = []
        while self.headings and self.headings[-1].level >= level:
            popped.append(self.headings.pop())
        if popped and not popped[0].used:
            path = [h.text for h in self.headings] + [h.text for h in reversed(popped)]
            location = Location.from_dict(popped[0].location.as_dict())
            location.heading = self._path_text(path)
            self._emit(location.heading, location)

    def _path_text(self, path: list[str]) -> str:
        """The heading path, its deepest headings kept when all of them would not fit a quarter of a
        chunk."""
        limit = self.max_tokens // 4
        while len(path) > 1 and estimate_tokens(_PATH_SEPARATOR.join(path)) > limit:
            path = path[1:]
        text = _PATH_SEPARATOR.join(path)
        if estimate_tokens(text) > limit:
            words = text.split()
            while len(words) > 1 and estimate_tokens(" ".join(words)) > limit:
                words.pop()
            text = " ".join(words)
        return text

    def _prefix(self) -> _Prefix:
        """What goes above the current chunk's body; computed once per heading path and table."""
        key = (tuple(h.text for h in self.headings), self.table_header)
        prefix = self._prefixes.get(key)
        if prefix is None:
            heading = self._path_text(list(key[0])) if self.headings else None
            lines = [line for line in (heading, self._trimmed_header(self.table_header)) if line]
            text = "\n".join(lines)
            prefix = self._prefixes[key] = _Prefix(text, estimate_tokens(text), heading)
        return prefix

    def _trimmed_header(self, header: str | None) -> str | None:
        limit = self.max_tokens // 4
        if header is None or estimate_tokens(header) <= limit:
            return header
        columns = header.split(" | ")
        while len(columns) > 1 and estimate_tokens(" | ".join(columns) + " | …") > limit:
            columns.pop()
        return " | ".join(columns) + " | …"

    def _budget(self) -> int:
        return self.max_tokens - self._prefix().tokens

    # -- packing --------------------------------------------------------------------------------

    def _flush(self) -> None:
        if not self.pieces:
            return
        pieces, self.pieces, self.used_tokens = self.pieces, [], 0
        first = pieces[0]
        parts = []
        for previous, piece in zip([None, *pieces], pieces, strict=False):
            if previous is not None:
                same_run = previous.block_id == piece.block_id or (
                    previous.kind is piece.kind and piece.kind in _CONTINUED_KINDS
                )
                parts.append("\n" if same_run else "\n\n")
            parts.append(f"- {piece.text}" if piece.kind is BlockKind.LIST_ITEM else piece.text)
        prefix = self._prefix()
        body = "".join(parts)
        page, slide, sheet = self.section or (None, None, None)
        location = Location(
            page=page, slide=slide, sheet=sheet, row=first.row, heading=prefix.heading, line=first.line
        )
        self._emit(f"{prefix.text}\n\n{body}" if prefix.text else body, location)
        for entry in self.headings:
            entry.used = True

    def _emit(self, text: str, location: Location) -> None:
        self.chunks.append(Chunk(ordinal=len(self.chunks), text=text, location=location))

    def _pieces(self, block: Block, kind: BlockKind, budget: int) -> list[_Piece]:
        text = block.text
        tokens = estimate_tokens(text) + (1 if kind is BlockKind.LIST_ITEM else 0)
        row = block.location.row if kind is BlockKind.TABLE_ROW else None
        line = block.location.line
        if tokens <= budget:
            return [_Piece(text, kind, tokens, line, row, self.blocks_seen)]
        budget -= 1 if kind is BlockKind.LIST_ITEM else 0
        overlap = 0 if kind is BlockKind.TABLE_ROW else self.overlap_tokens
        pieces = []
        for start, end, piece_tokens in _split(_units(text, kind, budget), budget, overlap):
            piece_line = line + text.count("\n", 0, start) if line is not None else None
            piece_text = text[start:end].strip() if kind is not BlockKind.CODE else text[start:end].rstrip()
            pieces.append(_Piece(piece_text, kind, piece_tokens, piece_line, row, self.blocks_seen))
        return pieces


def _units(text: str, kind: BlockKind, budget: int) -> list[_Unit]:
    """The cut points of an oversized block: lines of code, cells of a row, sentences of prose. A
    unit bigger than a whole chunk is cut into words (then characters); only its end is clean."""
    pattern = _LINE if kind is BlockKind.CODE else _CELL if kind is BlockKind.TABLE_ROW else _SENTENCE
    units: list[_Unit] = []
    for match in pattern.finditer(text):
        start, end = match.span()
        if start == end:
            continue
        tokens = estimate_tokens(match.group())
        if tokens <= budget:
            units.append(_Unit(start, end, tokens, True))
            continue
        for word in _WORD.finditer(text, start, end):
            word_tokens = estimate_tokens(word.group())
            if word_tokens <= budget:
                units.append(_Unit(word.start(), word.end(), word_tokens, False))
            else:
                units.extend(_characters(word.group(), word.start(), budget))
        units[-1].clean_end = True
    return units


def _characters(word: str, offset: int, budget: int) -> list[_Unit]:
    """A "word" too big for a chunk (base64, a minified line) in slices that fit."""
    units = []
    start = 0
    while start < len(word):
        end = min(len(word), start + max(1, budget))
        while end - start > 1 and estimate_tokens(word[start:end]) > budget:
            end = start + (end - start) * 3 // 4
        units.append(_Unit(offset + start, offset + end, estimate_tokens(word[start:end]), False))
        start = end
    return units


def _split(units: list[_Unit], budget: int, overlap: int) -> list[tuple[int, int, int]]:
    """(start, end, tokens) of consecutive runs of units, each within `budget`: cut at the last clean
    end in the second half of a run when there is one; the next run starts up to `overlap` tokens
    back, at a sentence start when one is in reach."""
    runs = []
    first = 0
    while first < len(units):
        end = first
        total = 0
        while end < len(units) and total + units[end].tokens <= budget:
            total += units[end].tokens
            end += 1
        end = max(end, first + 1)  # every unit fits a budget; this only guards against a stall
        if end < len(units):
            for candidate in range(end, first + (end - first) // 2, -1):
                if units[candidate - 1].clean_end:
                    end = candidate
                    break
        tokens = sum(unit.tokens for unit in units[first:end])
        runs.append((units[first].start, units[end - 1].end, tokens))
        if end >= len(units):
            break
        first = _overlap_start(units, first, end, budget, overlap)
    return runs


def _overlap_start(units: list[_Unit], first: int, end: int, budget: int, overlap: int) -> int:
    """Where the run after `units[first:end]` starts: whole sentences of the run's tail that fit the
    overlap when the run ended at a sentence end (none if the last sentence alone is too long), else
    its last words, the cut being mid-sentence anyway."""
    start = end
    back = 0
    while start - 1 > first and back + units[start - 1].tokens <= overlap:
        back += units[start - 1].tokens
        start -= 1
    if units[end - 1].clean_end:
        start = next((c for c in range(start, end) if units[c - 1].clean_end), end)
    if sum(unit.tokens for unit in units[start : end + 1]) > budget:
        return end  # the overlap would crowd out the next unit: no overlap here
    return start
