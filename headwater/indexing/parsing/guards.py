"""Checks that run before a parser touches a file: size per format, and zip bombs in Office files.

Why the zip check can trust the central directory: DOCX, XLSX and PPTX are zip archives that
python-docx, openpyxl and python-pptx read through the standard `zipfile` module, and `zipfile`
never inflates an entry past the size the directory declares for it (it stops at `file_size`, and a
CRC mismatch fails the read). So the sum of declared sizes bounds the memory a library can be made
to use, and it can be read without inflating a single byte.
"""

from __future__ import annotations

import io
import zipfile

from headwater.indexing.parsing.base import FileTooLarge, ParseError, ParseLimits

# A compression ratio only means something for an entry big enough to matter: tiny XML parts of
# repeated tags compress 300:1 and are harmless.
_RATIO_FLOOR_BYTES = 1024 * 1024


def format_size(size: int) -> str:
    """ "312 MB", "1.5 GB", "900 KB": for messages users read."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            shown = f"{value:.1f}".removesuffix(".0") if value < 10 else f"{value:.0f}"
            return f"{shown} {unit}"
    return f"{size} bytes"


def check_size(size: int, format_name: str, limits: ParseLimits) -> None:
    """Reject a file over its format's limit before anything reads it."""
    limit = limits.max_bytes_for(format_name)
    if size > limit:
        shown, shown_limit = format_size(size), format_size(limit)
        if shown == shown_limit:  # 100.2 MB against 100 MB would read "100 MB; the limit is 100 MB"
            shown = f"{size:,} bytes"
            shown_limit = f"{limit:,} bytes"
        raise FileTooLarge(f"file is {shown}; the limit for {format_name} is {shown_limit}")


def check_zip_archive(
    content: bytes,
    *,
    format_name: str,
    required_part: str,
    limits: ParseLimits,
) -> None:
    """Raise ParseError unless `content` is a zip holding `required_part` whose entries would inflate
    within `limits`. Reads only the central directory."""
    what = f"not a valid {format_name} file"
    try:
        archive = zipfile.ZipFile(io.BytesIO(content))
    except zipfile.BadZipFile as exc:
        raise ParseError(f"{what}: it is not a zip archive ({exc})") from exc
    except (OSError, ValueError, EOFError) as exc:  # truncated or mangled directory records
        raise ParseError(f"{what}: its zip directory is damaged ({exc})") from exc
    with archive:
        entries = archive.infolist()
    if len(entries) > limits.max_zip_entries:
        raise ParseError(
            f"{what}: it holds {len(entries):,} zip entries; the limit is {limits.max_zip_entries:,}"
        )
    names = {entry.filename for entry in entries}
    if required_part not in names:
        raise ParseError(f"{what}: the zip archive has no {required_part}")
    total_inflated = 0
    total_compressed = 0
    for entry in entries:
        total_inflated += entry.file_size
        total_compressed += entry.compress_size
        if entry.file_size > limits.max_uncompressed_bytes:
            raise ParseError(
                f"{what}: entry {entry.filename} would inflate to {format_size(entry.file_size)}; "
                f"the limit is {format_size(limits.max_uncompressed_bytes)} (possible zip bomb)"
            )
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > _RATIO_FLOOR_BYTES and ratio > limits.max_compression_ratio:
            raise ParseError(
                f"{what}: entry {entry.filename} is compressed {ratio:,.0f} to 1; "
                f"the limit is {limits.max_compression_ratio:,.0f} to 1 (possible zip bomb)"
            )
    if total_inflated > limits.max_uncompressed_bytes:
        raise ParseError(
            f"{what}: it would inflate to {format_size(total_inflated)}; "
            f"the limit is {format_size(limits.max_uncompressed_bytes)} (possible zip bomb)"
        )
    overall_ratio = total_inflated / max(total_compressed, 1)
    if total_inflated > _RATIO_FLOOR_BYTES and overall_ratio > limits.max_compression_ratio:
        raise ParseError(
            f"{what}: it is compressed {overall_ratio:,.0f} to 1; "
            f"the limit is {limits.max_compression_ratio:,.0f} to 1 (possible zip bomb)"
        )
