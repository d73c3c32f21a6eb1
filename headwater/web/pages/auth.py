"""Logging in and out of the web UI (the same accounts and sessions as `/api/v1/auth`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from headwater.api.deps import StateDep
from headwater.api.routes.auth import end_session, start_session
from headwater.services import accounts
from headwater.services.errors import AuthenticationError, InvalidArgumentError, TooManyAttemptsError
from headwater.web.session import (
    MaybeCaller,
    PageCaller,
    clear_login_token,
    login_token_matches,
    new_login_token,
    safe_next,
    set_login_token,
)
from headwater.web.templating import render, see_other

router = APIRouter()

EXPIRED_FORM = "the login form had expired — please try again"


def _login_page(
    request: Request, *, next_url: str, email: str = "", error: str = "", status_code: int = 200
) -> Response:
    token = new_login_token()
    response = render(
        request,
        "login.html",
        {
            "caller": None,
            "narrow": True,
            "login_token": token,
            "next": next_url,
            "email": email,
            "error": error,
        },
        status_code=status_code,
    )
    set_login_token(response, request, token)
    return response


@router.get("/login")
async def login_form(request: Request, caller: MaybeCaller, next: str | None = None) -> Response:  # noqa: A002
    if caller is not None:
        return see_other(safe_next(next))
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
async def login(
    request: Request,
    state: StateDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",  # noqa: A002
) -> Response:
    target = safe_next(next)
    if not login_token_matches(request, csrf_token):
        return _login_page(request, next_url=target, email=email, error=EXPIRED_FORM, status_code=403)
    if not email.strip() or not password:
        return _login_page(
            request, next_url=target, email=email, error="enter your email and password", status_code=422
        )
    try:
        account = await state.call(accounts.authenticate, state.store, email, password)
    except TooManyAttemptsError as exc:
        response = _login_page(request, next_url=target, email=email, error=str(exc), status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except (AuthenticationError, InvalidArgumentError) as exc:
        return _login_page(request, next_url=target, email=email, error=str(exc), status_code=401)
    response = see_other(target)
    await start_session(request, response, state, account)
    clear_login_token(response)
    return response


@router.post("/logout")
async def logout(request: Request, caller: PageCaller, state: StateDep) -> Response:
    response = see_other("/login")
    await state.call(end_session, request, response, state)
    return response
