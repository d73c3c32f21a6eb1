"""HTML -> the page's own content as blocks: headings with levels, paragraphs, lists, code, tables.

Boilerplate goes first: scripts, styles, form controls, navigation, sidebars, and the page's header and
footer (a <header> inside an <article> is the article's and stays). Then the main content is the
<main> element, the [role=main] one, or the single <article>, falling back to <body>.

Why BeautifulSoup over lxml and not trafilatura: trafilatura finds main content well on news pages,
but it drops short pages and tables it judges to be boilerplate, and its output depends on scoring
heuristics; intranet and wiki pages are structured, and a predictable walk that keeps every heading
and table is what citations need. Measured on Python and PostgreSQL doc pages: 20-50 ms a page.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING

from headwater.indexing.parsing.base import ParseLimits, Parser
from headwater.indexing.parsing.blocks import DocumentBuilder, clean_text
from headwater.indexing.types import BlockKind, Location, ParsedDocument

if TYPE_CHECKING:  # imported when parsing, in the worker process: choosing a parser stays cheap
    from bs4 import BeautifulSoup, Tag

# Not <form>: ASP.NET pages (SharePoint's among them) wrap the whole body in one.
_DROPPED_TAGS = (
    "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed",
    "button", "select", "input", "textarea", "nav", "aside", "dialog", "head", "link", "meta",
)  # fmt: skip
_BOILERPLATE_ROLES = frozenset(
    {"navigation", "banner", "contentinfo", "search", "complementary", "menu", "menubar", "dialog"}
)
# class / id words that mark page furniture; matched as whole words ("sidebar", "cookie-banner")
_BOILERPLATE_WORDS = frozenset(
    {"cookie", "cookies", "breadcrumb", "breadcrumbs", "sidebar", "navbar", "skip"}
)
_CONTENT_TAGS = ("html", "body", "main", "article")
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "main", "header", "footer", "address", "figure", "figcaption",
        "dl", "dt", "dd", "details", "summary", "center", "hr", "body", "html", "fieldset", "caption",
    }
)  # fmt: skip
_WORD_SPLIT = re.compile(r"[\s_-]+")


def html_to_blocks(markup: bytes | str, builder: DocumentBuilder, *, layout_tables: bool = False) -> None:
    """Add the main content of an HTML document to `builder`, and its title if it has none yet.
    `layout_tables`: tables arrange the page (HTML email) and their cells are paragraphs, not rows."""
    from bs4 import BeautifulSoup, Tag

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # XHTML parsed as HTML, markup that looks like a file name
        soup = BeautifulSoup(markup, "lxml")
    if not builder.title:
        builder.title = _title(soup)
    for element in soup.find_all(_DROPPED_TAGS):
        element.decompose()
    for element in soup.find_all(True):
        if isinstance(element, Tag) and not element.decomposed and _is_boilerplate(element):
            element.decompose()
    _Walker(builder, layout_tables=layout_tables).walk(_main_content(soup))


def _title(soup: BeautifulSoup) -> str | None:
    from bs4 import Tag

    if soup.title and soup.title.get_text(strip=True):
        return clean_text(soup.title.get_text(), keep_lines=False)
    meta = soup.find("meta", attrs={"property": "og:title"})
    if isinstance(meta, Tag) and isinstance(meta.get("content"), str):
        return clean_text(str(meta["content"]), keep_lines=False) or None
    heading = soup.find("h1")
    return clean_text(heading.get_text(" "), keep_lines=False) or None if heading else None


def _is_boilerplate(element: Tag) -> bool:
    if element.name in _CONTENT_TAGS:
        return False
    if element.name in ("header", "footer"):
        return element.find_parent(_CONTENT_TAGS) is None
    role = element.get("role")
    if isinstance(role, str) and role.strip().lower() in _BOILERPLATE_ROLES:
        return True
    marks = " ".join([element.get("id") or "", *(element.get("class") or [])]).lower()  # type: ignore[list-item]
    if not marks or _BOILERPLATE_WORDS.isdisjoint(_WORD_SPLIT.split(marks)):
        return False
    # "sidebar-visible" on a wrapper says how the page looks, not that the wrapper is a sidebar
    return element.find(_CONTENT_TAGS) is None


def _main_content(soup: BeautifulSoup) -> Tag:
    from bs4 import Tag

    main = soup.find("main") or soup.find(None, {"role": "main"})
    if isinstance(main, Tag):
        return main
    articles = soup.find_all("article")
    if len(articles) == 1 and isinstance(articles[0], Tag):
        return articles[0]
    return soup.body or soup


class _Walker:
    """Depth-first over the DOM: inline text gathers into a paragraph until a block element ends it."""

    def __init__(self, builder: DocumentBuilder, *, layout_tables: bool) -> None:
        self.builder = builder
        self.layout_tables = layout_tables
        self.inline: list[str] = []
        self.kinds: list[BlockKind] = []  # inside <li> text is a LIST_ITEM, inside <blockquote> a QUOTE

    def walk(self, root: Tag) -> None:
        self._children(root)
        self._flush()

    def _children(self, node: Tag) -> None:
        from bs4.element import NavigableString, PreformattedString, Tag

        for child in node.children:
            if self.builder.full:
                return
            if isinstance(child, PreformattedString):  # comments, CDATA, doctype
                continue
            if isinstance(child, NavigableString):
                self.inline.append(str(child))
            elif isinstance(child, Tag):
                self._element(child)

    def _element(self, element: Tag) -> None:
        name = element.name
        if name in _HEADINGS:
            self._flush()
            text = element.get_text(" ")
            self.builder.add(text, BlockKind.HEADING, level=_HEADINGS[name], keep_lines=False)
        elif name == "pre":
            self._flush()
            self.builder.add(element.get_text(), BlockKind.CODE)
        elif name == "table" and not self.layout_tables:
            self._flush()
            self.builder.add_table(_table_rows(element), Location())
        elif name in ("li", "blockquote"):
            self._flush()
            self.kinds.append(BlockKind.LIST_ITEM if name == "li" else BlockKind.QUOTE)
            self._children(element)
            self._flush()
            self.kinds.pop()
        elif name == "br":
            self.inline.append("\n")
        elif name in _BLOCK_TAGS or name in ("ul", "ol", "table", "tr", "td", "th"):
            self._flush()
            self._children(element)
            self._flush()
        else:
            self._children(element)

    def _flush(self) -> None:
        text = clean_text("".join(self.inline), keep_lines=False)
        self.inline = []
        if text:
            self.builder.add(text, self.kinds[-1] if self.kinds else BlockKind.PARAGRAPH)


def _table_rows(table: Tag) -> list[list[str]]:
    from bs4 import Tag

    rows = []
    for row in table.find_all("tr"):
        if not isinstance(row, Tag) or row.find_parent("table") is not table:
            continue  # a nested table's row: its text is in the outer cell
        cells = [cell.get_text(" ") for cell in row.find_all(("th", "td"), recursive=False)]
        if cells:
            rows.append(cells)
    return rows


class HtmlParser(Parser):
    format_name = "HTML"
    mime_types = frozenset({"text/html", "application/xhtml+xml"})
    extensions = frozenset({".html", ".htm", ".xhtml", ".shtml"})
    preload = ("bs4", "lxml.html")

    def parse(self, content: bytes, *, name: str, limits: ParseLimits) -> ParsedDocument:
        builder = DocumentBuilder(limits)
        html_to_blocks(content, builder)
        return builder.build()
