"""Logging in and out of the web UI, and who am I: `/api/v1/auth/login`, `/auth/logout`, `/me`.

Login sets the `hw_session` cookie (HttpOnly, SameSite=Lax, Secure when the request came over
HTTPS) and returns the CSRF token the UI sends back as `X-CSRF-Token` on unsafe requests. The web
pages (`headwater.web`) log in through `start_session` too.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from headwater.api.deps import SESSION_COOKIE, CallerDep, StateDep
from headwater.api.errors import AUTH_ERRORS, error_responses
from headwater.api.routes.accounts import UserOut
from headwater.api.state import ApiState
from headwater.services import accounts
from headwater.services.accounts import Account
from headwater.services.sessions import create_session, csrf_token, revoke_session, token_digest

router = APIRouter(prefix="/api/v1", tags=["auth"])


class Credentials(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: str = Field(max_length=254, examples=["ada@example.com"])
    password: str = Field(max_length=1024)


class LoginResult(BaseModel):
    user: UserOut
    csrfToken: str  # noqa: N815


class Me(BaseModel):
    user: UserOut
    via: Literal["session", "token"]
    csrfToken: str | None = Field(  # noqa: N815
        description="Send as X-CSRF-Token on unsafe requests; null when authenticated by an API token."
    )


async def start_session(request: Request, response: Response, state: ApiState, account: Account) -> str:
    """Open a session for `account`, set its cookie on `response`; returns the CSRF token."""
    max_ms = state.settings.session_max_hours * 3_600_000
    idle_ms = state.settings.session_idle_minutes * 60_000
    token = await state.call(create_session, state.store, account, max_ms=max_ms, idle_ms=idle_ms)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_ms // 1000,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return csrf_token(state.csrf_key, token_digest(token))


def end_session(request: Request, response: Response, state: ApiState) -> None:
    """Forget the session behind the request's cookie (if any) and clear the cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        revoke_session(state.store, token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


@router.post("/auth/login", responses=error_responses(400, 401, 422, 429, 503))
async def login(body: Credentials, request: Request, response: Response, state: StateDep) -> LoginResult:
    """Log in with email and password; sets the session cookie. Five wrong passwords in 15 minutes
    lock the email for 5 minutes (429, with Retry-After)."""
    account = await state.call(accounts.authenticate, state.store, body.email, body.password)
    token = await start_session(request, response, state, account)
    return LoginResult(user=UserOut.of(account), csrfToken=token)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=AUTH_ERRORS)
async def logout(request: Request, caller: CallerDep, state: StateDep) -> Response:
    """End this session (cookie callers; an API token stays valid — revoke it under /tokens)."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    if caller.via == "session":
        await state.call(end_session, request, response, state)
    return response


@router.get("/me", responses=AUTH_ERRORS)
async def me(caller: CallerDep, state: StateDep) -> Me:
    """Who you are, and the CSRF token for this session."""
    account = await state.call(accounts.get_account, state.store, caller.user_key)
    return Me(user=UserOut.of(account), via=caller.via, csrfToken=caller.csrf_token)
