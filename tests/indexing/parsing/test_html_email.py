from __future__ import annotations

import pytest

from headwater.indexing.parsing import ParseError, ParseLimits
from headwater.indexing.parsing.email import EmailParser
from headwater.indexing.parsing.html import HtmlParser
from headwater.indexing.types import BlockKind, ParsedDocument
from tests.indexing.parsing.fixtures import make_email

INLINE = ParseLimits(isolate=False)

PAGE = b"""<!DOCTYPE html>
<html><head><title>Install guide | Docs</title><style>p { color: red }</style>
<script>var tracking = "do not index";</script></head>
<body>
<header><a href="/">Home</a> <a href="/docs">Docs</a></header>
<nav><ul><li>Menu entry</li></ul></nav>
<div class="cookie-banner">We use cookies.</div>
<main>
  <article>
    <header><h1>Install</h1></header>
    <p>Download the <b>installer</b>.<br>Then run it.</p>
    <h2>Linux</h2>
    <ul><li>apt install headwater<ul><li>needs root</li></ul></li><li>or build it</li></ul>
    <pre>headwater serve
  --port 8080</pre>
    <table><tr><th>Name</th><th>Port</th></tr><tr><td>api</td><td>8080</td></tr></table>
    <blockquote>Quoted advice.</blockquote>
    <!-- a comment -->
  </article>
  <aside>Related pages</aside>
</main>
<footer>Copyright 2024</footer>
</body></html>"""


def summary(document: ParsedDocument) -> list[tuple[str, int, str]]:
    return [(b.kind.value, b.level, b.text) for b in document.blocks]


def test_html_main_content_with_headings_lists_code_and_tables_without_boilerplate() -> None:
    document = HtmlParser().parse(PAGE, name="install.html", limits=INLINE)
    assert summary(document) == [
        ("heading", 1, "Install"),
        ("paragraph", 0, "Download the installer. Then run it."),
        ("heading", 2, "Linux"),
        ("list_item", 0, "apt install headwater"),
        ("list_item", 0, "needs root"),
        ("list_item", 0, "or build it"),
        ("code", 0, "headwater serve\n  --port 8080"),
        ("table_row", 0, "Name: api; Port: 8080"),
        ("quote", 0, "Quoted advice."),
    ]
    assert document.title == "Install guide | Docs"


def test_html_without_main_uses_the_body_and_the_first_h1_as_title() -> None:
    page = b"<html><body><h1>Hello</h1><div>First <i>words</i></div><div>Second</div></body></html>"
    document = HtmlParser().parse(page, name="a.html", limits=INLINE)
    assert summary(document) == [
        ("heading", 1, "Hello"),
        ("paragraph", 0, "First words"),
        ("paragraph", 0, "Second"),
    ]
    assert document.title == "Hello"


def test_html_honours_its_declared_charset() -> None:
    page = '<html><head><meta charset="windows-1252"></head><body><p>café – “x”</p></body></html>'
    document = HtmlParser().parse(page.encode("cp1252"), name="a.html", limits=INLINE)
    assert summary(document) == [("paragraph", 0, "café – “x”")]


@pytest.fixture(scope="module")
def message() -> ParsedDocument:
    return EmailParser().parse(make_email(), name="numbers.eml", limits=INLINE)


def test_email_headers_are_one_metadata_block_and_the_subject_is_the_title(message: ParsedDocument) -> None:
    assert message.blocks[0].kind is BlockKind.METADATA
    assert message.blocks[0].text == (
        "From: Ann Example <ann@example.com>\n"
        "To: Bob Example <bob@example.com>\n"
        "Cc: carol@example.com\n"
        "Date: Tue, 02 Jan 2024 10:00:00 +0000\n"
        "Subject: Quarterly numbers"
    )
    assert message.title == "Quarterly numbers"


def test_email_body_prefers_plain_text_and_keeps_quoted_replies_apart(message: ParsedDocument) -> None:
    assert [(b.kind.value, b.text) for b in message.blocks[1:]] == [
        ("paragraph", "Hi Bob,"),
        ("paragraph", "The numbers are attached.\nRevenue is up."),
        ("quote", "Can you send the numbers?\nThanks"),
    ]


def test_email_attachments_come_back_unparsed_for_child_records(message: ParsedDocument) -> None:
    assert [(a.name, a.mime_type) for a in message.attachments] == [
        ("report.pdf", "application/pdf"),
        ("Original thread.eml", "message/rfc822"),
    ]
    assert message.attachments[0].content == b"%PDF-1.4 fake"
    forwarded = EmailParser().parse(message.attachments[1].content, name="fwd.eml", limits=INLINE)
    assert forwarded.title == "Original thread"
    assert forwarded.blocks[-1].text == "The original message."


def test_an_html_only_email_is_read_through_the_html_parser() -> None:
    document = EmailParser().parse(make_email(html_only=True), name="h.eml", limits=INLINE)
    assert [b.text for b in document.blocks[1:]] == ["Hi Bob,", "The numbers are attached."]


def test_a_file_without_message_headers_is_not_an_email() -> None:
    with pytest.raises(ParseError, match=r"^not a valid email message: it has no message headers$"):
        EmailParser().parse(b"just some words\nand more words\n", name="x.eml", limits=INLINE)


def test_a_page_state_class_on_a_wrapper_does_not_remove_the_content() -> None:
    page = (
        b'<html class="light sidebar-visible"><body><div class="sidebar">Chapter list</div>'
        b"<main><h1>Guide</h1><p>The content.</p></main></body></html>"
    )
    document = HtmlParser().parse(page, name="a.html", limits=INLINE)
    assert summary(document) == [("heading", 1, "Guide"), ("paragraph", 0, "The content.")]


def test_a_page_wrapped_in_a_form_keeps_its_content_but_not_the_controls() -> None:
    page = (
        b'<html><body><form action="/Default.aspx" method="post"><input type="hidden" value="state">'
        b"<h1>Team site</h1><p>Welcome to the team.</p><button>Save</button></form></body></html>"
    )
    document = HtmlParser().parse(page, name="a.aspx.html", limits=INLINE)
    assert summary(document) == [("heading", 1, "Team site"), ("paragraph", 0, "Welcome to the team.")]
