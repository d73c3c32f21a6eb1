"""Source code: CODE blocks that start at top-level definitions, each with its first line.

No grammar per language: a top-level unit (a function, a class, a struct, a SQL statement) starts
on a line at column 0 that follows a blank line, in every mainstream language's usual formatting.
A comment or decorator block right above a definition stays with it, because no blank line separates
them. Closing lines ("}", "end", ")") never start a unit. The chunker packs small units together and
cuts long ones at line boundaries, so the parser does not size them.
"""

from __future__ import annotations

import re

from headwater.indexing.parsing.base import ParseLimits, Parser
from headwater.indexing.parsing.blocks import DocumentBuilder
from headwater.indexing.parsing.encoding import decode_text
from headwater.indexing.types import BlockKind, Location, ParsedDocument

_CLOSER = re.compile(r"^(?:[}\])]|end\b|fi\b|done\b|esac\b|</)")

CODE_EXTENSIONS = frozenset(
    {
        # general purpose
        ".py", ".pyi", ".pyw", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".mts", ".cts", ".tsx",
        ".go", ".rs", ".java", ".kt", ".kts", ".scala", ".sc", ".groovy", ".cs", ".fs", ".vb",
        ".c", ".h", ".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".m", ".mm", ".swift",
        ".rb", ".php", ".pl", ".pm", ".lua", ".r", ".jl", ".dart", ".ex", ".exs", ".erl", ".hrl",
        ".hs", ".ml", ".mli", ".clj", ".cljs", ".elm", ".nim", ".zig", ".v", ".sol",
        # shells, queries, build and configuration files people search in
        ".sh", ".bash", ".zsh", ".fish", ".ps1", ".psm1", ".bat", ".cmd", ".sql", ".graphql", ".gql",
        ".proto", ".tf", ".hcl", ".gradle", ".cmake", ".mk", ".yaml", ".yml", ".toml", ".ini", ".cfg",
        ".conf", ".properties", ".env", ".dockerfile", ".vue", ".svelte", ".css", ".scss", ".less",
    }
)  # fmt: skip

CODE_MIME_TYPES = frozenset(
    {
        "text/x-python", "text/x-script.python", "application/x-python-code", "text/javascript",
        "application/javascript", "application/x-javascript", "text/typescript", "application/typescript",
        "text/x-go", "text/x-rust", "text/x-java", "text/x-java-source", "text/x-kotlin", "text/x-scala",
        "text/x-csharp", "text/x-c", "text/x-csrc", "text/x-chdr", "text/x-c++", "text/x-c++src",
        "text/x-c++hdr", "text/x-ruby", "application/x-ruby", "text/x-php", "application/x-httpd-php",
        "text/x-perl", "text/x-lua", "text/x-r", "text/x-swift", "text/x-sh", "application/x-sh",
        "text/x-shellscript", "application/x-shellscript", "application/sql", "text/x-sql",
        "application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml", "application/toml",
        "text/x-toml", "text/css",
    }
)  # fmt: skip


def split_units(lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) line indexes of each top-level unit, blank lines at their edges left out."""
    starts = []
    previous_blank = True
    for index, line in enumerate(lines):
        blank = not line.strip()
        if not blank and previous_blank and not line[0].isspace() and not _CLOSER.match(line):
            starts.append(index)
        previous_blank = blank
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    units = []
    for position, first in enumerate(starts):
        end = starts[position + 1] if position + 1 < len(starts) else len(lines)
        while first < end and not lines[first].strip():
            first += 1
        while end > first and not lines[end - 1].strip():
            end -= 1
        if first < end:
            units.append((first, end))
    return units


class SourceCodeParser(Parser):
    format_name = "source code"
    mime_types = CODE_MIME_TYPES
    extensions = CODE_EXTENSIONS

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        builder = DocumentBuilder(limits)
        lines = decode_text(content, format_name=self.format_name).split("\n")
        for first, end in split_units(lines):
            if builder.full:
                break
            builder.add("\n".join(lines[first:end]), BlockKind.CODE, Location(line=first + 1))
        return builder.build()
