"""Who is looking at a page: the API's session-cookie caller, with a redirect to the login page
instead of a 401, and the helpers the login form needs.

Pages accept only the session cookie (never a bearer token), so a page is always something a
person in a browser asked for. Unsafe methods need the CSRF token, checked by the API's
`current_caller`: every form carries it as the `csrf_token` field and `app.js` sends it as the
`X-CSRF-Token` header. The login form has no session yet; it is protected by a double-submit
token (a random value in a SameSite=Strict cookie and in the form, which must match), so that
another site cannot log a browser into an account of its choosing.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from starlette.responses import Response

from headwater.api.deps import Caller, StateDep, cookie_scheme, current_caller
from headwater.services.errors import AuthenticationError

LOGIN_CSRF_COOKIE = "hw_login_csrf"


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this site only (never `//host` or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_redirect(request: Request) -> HTTPException:
    """A 303 to the login page that comes back to the requested page afterwards."""
    wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return HTTPException(
        status_code=303, detail="log in first", headers={"Location": f"/login?next={quote(wanted)}"}
    )


async def page_caller(
    request: Request,
    state: StateDep,
    session_cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Caller:
    """The logged-in user (a 303 to /login when there is none). On POST the CSRF token must
    match (the API's 403 otherwise)."""
    if not session_cookie:
        raise login_redirect(request)
    try:
        return await current_caller(request, state, None, session_cookie)
    except AuthenticationError:
        raise login_redirect(request) from None


async def optional_caller(
    request: Request,
    state: StateDep,
    session_cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Caller | None:
    """The logged-in user, or None (for the login page itself)."""
    if not session_cookie:
        return None
    try:
        return await current_caller(request, state, None, session_cookie)
    except AuthenticationError:
        return None


PageCaller = Annotated[Caller, Depends(page_caller)]
MaybeCaller = Annotated[Caller | None, Depends(optional_caller)]


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def login_token_matches(request: Request, presented: str | None) -> bool:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    return bool(expected and presented) and hmac.compare_digest(str(expected), str(presented))


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_login_token(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=is_https(request),
        path="/login",
    )


def clear_login_token(response: Response) -> None:
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
