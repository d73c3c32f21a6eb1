"""What indexing reads for an Outlook record: a message as one HTML document (its headers, then its
body), an attachment as its own bytes. HTML to text is the parser's job."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from headwater.connectors.sources.microsoft.outlook.mapping import NO_SUBJECT, address, addresses

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.IGNORECASE | re.DOTALL)


def message_html(message: Mapping[str, Any]) -> str:
    """The message as an HTML page: the subject as its title and heading, who wrote to whom, the body.
    The headers are part of the text so that a search for a correspondent finds the message."""
    subject = str(message.get("subject") or "").strip() or NO_SUBJECT
    people: list[tuple[str, list[Any]]] = [
        ("From", [address(message.get("from")) or address(message.get("sender"))]),
        ("To", addresses(message.get("toRecipients"))),
        ("Cc", addresses(message.get("ccRecipients"))),
        ("Bcc", addresses(message.get("bccRecipients"))),
        ("Date", [message.get("receivedDateTime") or message.get("sentDateTime")]),
    ]
    header = "".join(
        f"<p>{label}: {html.escape(', '.join(str(v) for v in values if v))}</p>"
        for label, values in people
        if any(values)
    )
    title = html.escape(subject)
    return (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{header}"
        f"{_body_html(message.get('body'))}</body></html>"
    )


def _body_html(body: Any) -> str:
    if not isinstance(body, Mapping):
        return ""
    content = str(body.get("content") or "")
    if str(body.get("contentType") or "html").lower() == "text":
        return "".join(f"<p>{html.escape(line)}</p>" for line in content.splitlines() if line.strip())
    inner = _BODY.search(content)
    return inner.group(1) if inner else content
