"""Email messages (.eml, message/rfc822): headers, body, and attachments handed back unparsed.

The headers people search by (From, To, Cc, Date, Subject) become one METADATA block; the Subject is
the title. The body is the text/plain alternative when there is one (what the sender wrote, without
the markup), else the HTML one through the HTML parser. Attachments, including forwarded messages,
come back as `Attachment`s for the worker to index as child records with their own permissions and
status; they are never parsed inline, so a bad attachment cannot fail its message.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from headwater.indexing.parsing.base import ParseError, ParseLimits, Parser
from headwater.indexing.parsing.blocks import DocumentBuilder
from headwater.indexing.parsing.encoding import decode_text
from headwater.indexing.parsing.html import html_to_blocks
from headwater.indexing.parsing.text import add_paragraphs
from headwater.indexing.types import Attachment, BlockKind, ParsedDocument

_SHOWN_HEADERS = ("From", "To", "Cc", "Date", "Subject")
# A file with none of these is not a message: the stdlib parser would take any text for a body.
_MESSAGE_HEADERS = frozenset(
    {"from", "to", "cc", "subject", "date", "message-id", "mime-version", "received", "return-path", "sender"}
)


class EmailParser(Parser):
    format_name = "email"
    mime_types = frozenset({"message/rfc822", "application/eml"})
    extensions = frozenset({".eml", ".mht", ".mhtml"})
    preload = ("bs4", "lxml.html")

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        message = BytesParser(policy=policy.default).parsebytes(content)
        assert isinstance(message, EmailMessage)  # what policy.default builds
        if not _MESSAGE_HEADERS.intersection(key.lower() for key in message):
            raise ParseError("not a valid email message: it has no message headers")
        builder = DocumentBuilder(limits, title=_header(message, "Subject") or None)
        shown = [f"{key}: {value}" for key in _SHOWN_HEADERS if (value := _header(message, key))]
        builder.add("\n".join(shown), BlockKind.METADATA)
        body = message.get_body(preferencelist=("plain", "html"))
        if isinstance(body, EmailMessage):
            text = _part_text(body)
            if body.get_content_subtype() == "html":
                html_to_blocks(text, builder, layout_tables=True)
            else:
                add_paragraphs(builder, text)
        builder.attachments.extend(_attachments(message, body))
        return builder.build()


def _header(message: Message, key: str) -> str:
    try:
        value = message.get(key)
    except Exception:  # a header the default policy cannot parse: show what is there
        raw = message.get_all(key, failobj=[])
        value = raw[0] if raw else None
    return " ".join(str(value).split()) if value is not None else ""


def _part_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset, a broken transfer encoding
        content = part.get_payload(decode=True)
    if isinstance(content, bytes):
        return decode_text(content, format_name="email")
    return str(content)


def _leaf_parts(message: Message) -> Iterator[Message]:
    """The non-multipart parts, not descending into attached messages (they are one attachment)."""
    if message.is_multipart() and message.get_content_maintype() == "multipart":
        for part in message.iter_parts() if isinstance(message, EmailMessage) else message.get_payload():
            if isinstance(part, Message):
                yield from _leaf_parts(part)
    else:
        yield message


def _attachments(message: EmailMessage, body: Message | None) -> Iterator[Attachment]:
    if not message.is_multipart():
        return
    for number, part in enumerate(_leaf_parts(message), start=1):
        if part is body:
            continue
        filename = part.get_filename()
        disposition = part.get_content_disposition()
        mime_type = part.get_content_type()
        if mime_type == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            data = inner.as_bytes(policy=policy.default) if isinstance(inner, Message) else b""
            subject = _header(inner, "Subject") if isinstance(inner, Message) else ""
            filename = filename or f"{subject or f'message-{number}'}.eml"
        elif disposition == "attachment" or filename:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        else:
            continue  # an alternative the body stands for, or an inline image without a name
        extension = mimetypes.guess_extension(mime_type) or ""
        yield Attachment(
            name=filename or f"attachment-{number}{extension}", mime_type=mime_type, content=data
        )
