"""Parsers by MIME type: bytes -> ParsedDocument. See `base.py`."""
