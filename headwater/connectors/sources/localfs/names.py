"""File names as Linux has them (bytes) and as the graph stores them (text).

Linux file names are bytes; Python hands them to us as `str` where bytes that are not UTF-8 become
lone surrogates (U+DC80..U+DCFF, the "surrogateescape" error handler). Lone surrogates cannot be
stored (the store's JSON encoder rejects them), so a name exists in three forms:

* the os name: `str` with surrogates, what `os.scandir` gives and `os.open` takes;
* the stored name: exactly reversible text. Each byte that is not UTF-8 is written `%XX`, and `%`
  itself `%25`; every other character stays as it is, so ordinary names are stored unchanged;
* the display name: what people read. Bytes that are not UTF-8 show as U+FFFD.

A stored relative path joins stored names with `/` (which no name can contain).
"""

from __future__ import annotations

import os
import re

_NEEDS_ESCAPE = re.compile("[%\udc80-\udcff]")
# only what `stored_name` writes: '%25' and the bytes that are not UTF-8 (0x80-0xFF); anything
# else (a '%2F' in a tampered record) stays as it is and can never turn into a '/'
_ESCAPED = re.compile("%(25|[89A-F][0-9A-F])")
_FIRST_UNDECODABLE_BYTE = 0x80
FOLDER_ID_PREFIX = "dir-"


def stored_name(os_name: str) -> str:
    """The reversible text form of an os name."""
    if "%" not in os_name and os_name.isascii():
        return os_name
    return _NEEDS_ESCAPE.sub(_escape_one, os_name)


def os_name(stored: str) -> str:
    """The os name back from its stored form (`stored_name`'s inverse)."""
    if "%" not in stored:
        return stored
    return _ESCAPED.sub(_unescape_one, stored)


def display_name(os_name: str) -> str:
    """The readable form of an os name; undecodable bytes become U+FFFD."""
    if os_name.isascii():
        return os_name
    return os_name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def stored_path(parts: tuple[str, ...]) -> str:
    """The stored relative path of os-name parts (`""` for the root itself)."""
    return "/".join(stored_name(p) for p in parts)


def os_parts(stored: str) -> list[str]:
    """The os-name parts of a stored relative path, unchecked (see `content.checked_parts`)."""
    return [os_name(p) for p in stored.split("/")] if stored else []


def display_path(root_display: str, parts: tuple[str, ...]) -> str:
    """The absolute path people read: the root's display path, then the parts."""
    if not parts:
        return root_display
    return os.path.join(root_display, *(display_name(p) for p in parts))


def folder_ext_id(node: str) -> str:
    """A folder's external id: its node, marked so that no file id (see `reconcile`) can equal it."""
    return FOLDER_ID_PREFIX + node


def _escape_one(match: re.Match[str]) -> str:
    char = match.group(0)
    byte = 0x25 if char == "%" else ord(char) - 0xDC00
    return f"%{byte:02X}"


def _unescape_one(match: re.Match[str]) -> str:
    byte = int(match.group(1), 16)
    return chr(0xDC00 + byte) if byte >= _FIRST_UNDECODABLE_BYTE else "%"
