"""Who is calling, and what the request may touch: the dependencies every route uses.

A request is authenticated by a session cookie (the web UI; unsafe methods also need the CSRF token)
or by `Authorization: Bearer <API token>` (scripts, the CLI). Every route except health, the OAuth
callback and webhooks depends on `current_caller`; admin-only routes on `require_admin`. A caller
only ever sees their own organisation's data: routes filter by `caller.org_key`.

For route authors:

    from headwater.api.deps import AdminDep, CallerDep, StateDep

    @router.get("/things", responses=AUTH_ERRORS)
    async def things(caller: CallerDep, state: StateDep) -> ...:
        return await state.call(service_function, state.store, caller.org_key)

Without credentials the answer is 401 with `WWW-Authenticate: Bearer`; with a cookie but no valid
CSRF token on POST/PUT/PATCH/DELETE it is 403; a member on an admin route gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from headwater.services.accounts import Account
from headwater.services.api_tokens import resolve_token
from headwater.services.errors import AuthenticationError, ForbiddenError
from headwater.services.sessions import csrf_matches, csrf_token, resolve_session, session_is_live

from .state import ApiState, holder_of

Role = Literal["admin", "member"]

SESSION_COOKIE = "hw_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared as security schemes so that /docs offers both ways to authenticate.
bearer_scheme = HTTPBearer(
    auto_error=False, description="An API token: `hw_...` (`headwater tokens create`)."
)
cookie_scheme = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, description="The web UI's session.")


@dataclass(frozen=True)
class Caller:
    """The authenticated user behind a request."""

    user_key: str
    email: str
    name: str
    org_key: str
    role: Role
    via: Literal["session", "token"]
    session_key: str | None = None  # the stored key of the session (cookie callers only)
    csrf_token: str | None = None  # what the UI must send back on unsafe requests (cookie callers only)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


async def get_state(request: Request) -> ApiState:
    return await holder_of(request.app).get()


StateDep = Annotated[ApiState, Depends(get_state)]


def caller_from(account: Account, via: Literal["session", "token"], **extra: str | None) -> Caller:
    return Caller(account.key, account.email, account.name, account.org_key, account.role, via, **extra)


async def _presented_csrf(request: Request) -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()  # Starlette caches the parsed form: the route reads it again
        value = form.get(CSRF_FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


async def current_caller(
    request: Request,
    state: StateDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    session_cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Caller:
    """The caller, from a bearer token (preferred when both are sent) or the session cookie."""
    if bearer is not None:
        account = await state.call(resolve_token, state.store, bearer.credentials)
        return caller_from(account, "token")
    if request.headers.get("authorization"):
        raise AuthenticationError("the Authorization header must be `Bearer hw_...`")
    if not session_cookie:
        raise AuthenticationError("log in first, or send an API token as `Authorization: Bearer hw_...`")
    idle_ms = state.settings.session_idle_minutes * 60_000
    session = await state.call(resolve_session, state.store, session_cookie, idle_ms=idle_ms)
    unsafe = request.method not in SAFE_METHODS
    if unsafe and not csrf_matches(state.csrf_key, session.key, await _presented_csrf(request)):
        raise ForbiddenError(
            f"missing or wrong CSRF token: send the csrfToken from login or /api/v1/me as the "
            f"{CSRF_HEADER} header (or the {CSRF_FORM_FIELD} form field)"
        )
    token = csrf_token(state.csrf_key, session.key)
    return caller_from(session.account, "session", session_key=session.key, csrf_token=token)


CallerDep = Annotated[Caller, Depends(current_caller)]


def still_signed_in(request: Request, state: ApiState, caller: Caller) -> bool:
    """Whether the credentials `caller` came with still work (the session was not ended, the
    token not revoked, the user not deactivated): long-lived responses re-check it as they go."""
    if caller.via == "session":
        return caller.session_key is not None and session_is_live(state.store, caller.session_key)
    scheme, _, token = (request.headers.get("authorization") or "").partition(" ")
    try:
        account = resolve_token(state.store, token.strip()) if scheme.lower() == "bearer" else None
    except AuthenticationError:
        return False
    return account is not None and account.key == caller.user_key


async def signed_in_user(request: Request, state: ApiState) -> str | None:
    """The key of the user a safe (GET) request is signed in as, by API token or session cookie;
    None for nobody. For the few routes that stay out of `current_caller` (the OAuth callback) and
    check who is calling themselves."""
    header = request.headers.get("authorization") or ""
    scheme, _, credentials = header.partition(" ")
    try:
        if scheme.lower() == "bearer" and credentials.strip():
            return (await state.call(resolve_token, state.store, credentials.strip())).key
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            idle_ms = state.settings.session_idle_minutes * 60_000
            return (await state.call(resolve_session, state.store, cookie, idle_ms=idle_ms)).account.key
    except AuthenticationError:
        return None
    return None


async def require_admin(caller: CallerDep) -> Caller:
    if not caller.is_admin:
        raise ForbiddenError("this needs an admin of your organisation")
    return caller


AdminDep = Annotated[Caller, Depends(require_admin)]
