"""Rendering pages: the Jinja2 environment (autoescape on), the filters templates use, and the
security headers every page carries.

Nothing a user or a source wrote reaches the page unescaped. The one filter that returns markup,
`marks`, escapes its input first and only then turns search's `[[term]]` marks into `<mark>`.
The Content-Security-Policy allows scripts and styles from this origin only, so the pages hold
no inline script: behaviour lives in `static/app.js`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import RedirectResponse, Response

from headwater.services import connector_forms

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

_MARK = re.compile(r"\[\[(.+?)\]\]", re.DOTALL)


def marks(text: Any) -> Markup:
    """Search snippets mark matched terms as `[[term]]`: escape everything, then highlight."""
    escaped = str(escape("" if text is None else str(text)))
    return Markup(_MARK.sub(lambda m: f"<mark>{m.group(1)}</mark>", escaped))


def unmark(text: Any) -> str:
    """A snippet without its marks (for titles and plain text)."""
    return _MARK.sub(lambda m: m.group(1), "" if text is None else str(text))


def when(ms: Any) -> str:
    """Epoch milliseconds as a short UTC date and time; blank when there is none."""
    if ms in (None, "", 0):
        return ""
    try:
        moment = datetime.fromtimestamp(int(ms) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return ""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def filesize(size: Any) -> str:
    try:
        value = float(size)
    except (TypeError, ValueError):
        return ""
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return ""  # pragma: no cover - the loop always returns


def initials(name: Any) -> str:
    words = [w for w in re.split(r"[\s_\-]+", str(name or "")) if w]
    return "".join(w[0] for w in words[:2]).upper() or "?"


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters.update(marks=marks, unmark=unmark, when=when, filesize=filesize, initials=initials)
templates.env.globals["icon_url"] = connector_forms.icon_url
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> Response:
    """The page `template` rendered with `context`, with the security headers."""
    response = templates.TemplateResponse(request, template, context or {}, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    return response


def secure(response: Response) -> Response:
    """The security headers on a response that is not a rendered page (a fragment, a redirect)."""
    response.headers.update(SECURITY_HEADERS)
    return response


def page(
    request: Request, caller: Any, template: str, section: str = "", *, status_code: int = 200, **context: Any
) -> Response:
    """A page for a logged-in `caller` (the layout's menu, CSRF token and current section)."""
    return render(
        request, template, {"caller": caller, "section": section, **context}, status_code=status_code
    )


def error_page(
    request: Request, caller: Any, status_code: int, title: str, message: str, **context: Any
) -> Response:
    """A page that says what went wrong and where to go instead."""
    return page(
        request, caller, "error.html", status_code=status_code, title=title, message=message, **context
    )


def see_other(url: str) -> Response:
    """After a form: go to `url` (303, so a reload does not post again)."""
    return secure(RedirectResponse(url, status_code=303))
