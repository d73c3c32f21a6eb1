"""OAuth for connector instances: `GET /api/v1/connectors/{id}/oauth/authorize` sends the browser to
the vendor (state + PKCE, see `headwater.services.oauth`); the vendor sends it back to
`GET /api/v1/oauth/callback`, which stays out of the API's auth dependency (a browser coming back
from the vendor sends no CSRF token, and a missing login deserves its own message) but checks
itself that the request is signed in as the user who started the flow (session cookie, or an API
token); then it consumes the single-use state, stores the tokens encrypted and redirects to the
connector's page.

The redirect URI to register at the vendor is this server's `/api/v1/oauth/callback` as browsers
reach it: `HEADWATER_PUBLIC_URL` + that path when set (do set it behind a proxy), else the address
of the request that starts the flow.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from headwater.api.deps import CallerDep, StateDep, signed_in_user
from headwater.api.errors import AUTH_ERRORS, error_responses
from headwater.api.public_urls import external_url
from headwater.services import oauth

from .connectors import platform_of

router = APIRouter(prefix="/api/v1", tags=["oauth"])

CALLBACK_ROUTE = "oauth_callback"


class AuthorizationOut(BaseModel):
    authorizationUrl: str  # noqa: N815 - the API's JSON is camelCase
    expiresAt: int  # noqa: N815


@router.get(
    "/connectors/{connector_id}/oauth/authorize",
    response_model=AuthorizationOut,
    responses={
        **AUTH_ERRORS,
        302: {"description": "To the vendor's authorisation page (mode=redirect, the default)."},
        **error_responses(400, 404),
    },
)
async def authorize(
    connector_id: str,
    request: Request,
    caller: CallerDep,
    state: StateDep,
    mode: Annotated[Literal["redirect", "json"], Query(description="redirect (302) or json")] = "redirect",
    return_to: Annotated[
        str | None, Query(alias="returnTo", max_length=500, description="A path on this server to land on.")
    ] = None,
) -> Any:
    """Start authorising an OAuth connector instance (those who manage it)."""
    started = await oauth.start_authorization(
        platform_of(state),
        caller,
        connector_id,
        callback_url=external_url(request, state.settings, request.app.url_path_for(CALLBACK_ROUTE)),
        return_to=return_to,
    )
    if mode == "json":
        return started
    return RedirectResponse(started["authorizationUrl"], status_code=302)


@router.get(
    "/oauth/callback",
    name=CALLBACK_ROUTE,
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: {"description": "Authorised: to the connector's page (`?oauth=connected`)."},
        **error_responses(400, 401, 403, 422, 503),
    },
)
async def callback(
    request: Request,
    state: StateDep,
    code: Annotated[str | None, Query(max_length=4096)] = None,
    oauth_state: Annotated[str | None, Query(alias="state", max_length=512)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
) -> RedirectResponse:
    """Where the vendor sends the browser back: checks the state (once, within 10 minutes, in a
    request signed in as the user who started the flow: 401 when nobody is, 403 for another user),
    exchanges the code (with the PKCE verifier) and stores the tokens encrypted."""
    done = await oauth.complete_authorization(
        platform_of(state),
        state.http,
        state=oauth_state,
        code=code,
        error=error,
        user_key=await signed_in_user(request, state),
    )
    target = str(done["returnTo"])
    separator = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{separator}{urlencode({'oauth': 'connected'})}", status_code=303)
