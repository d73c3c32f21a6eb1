"""A fake OAuth 2.0 authorisation server (RFC 6749 authorization-code grant, RFC 7636 PKCE S256,
refresh tokens with rotation) as an ASGI app, for the OAuth flow tests.

    provider = FakeOAuthProvider(client_id="cid", client_secret="csecret")
    http = httpx.AsyncClient(transport=httpx.ASGITransport(provider.app))

* `GET /authorize` approves at once (the "user" always consents, unless `deny` is set) and
  redirects to `redirect_uri?code=...&state=...`; the code remembers the client, redirect URI,
  scope and PKCE challenge.
* `POST /token`, `grant_type=authorization_code`: the client must authenticate (form fields or
  HTTP Basic), the code must be unused, unexpired, for the same client and redirect URI, and, when
  a challenge was sent, `code_verifier` must hash to it (`invalid_grant` otherwise). A code used
  twice is refused and revokes what it issued, as RFC 6749 §4.1.2 advises.
* `grant_type=refresh_token`: rotates the refresh token (the old one stops working); answers
  `invalid_grant` when `refuse_refresh` is set or the token is unknown, 503 while `unavailable`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass
class IssuedCode:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str | None
    method: str | None
    expires_at: float
    used: bool = False
    issued_refresh: str | None = None


@dataclass
class FakeOAuthProvider:
    client_id: str = "fake-client-id"
    client_secret: str = "fake-client-secret"
    expires_in: int = 3600
    refuse_refresh: bool = False
    unavailable: bool = False
    deny: bool = False
    codes: dict[str, IssuedCode] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> scope
    access_tokens: set[str] = field(default_factory=set)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/authorize", self.authorize, methods=["GET"]),
                Route("/token", self.token, methods=["POST"]),
            ]
        )

    # ---- endpoints -----------------------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.authorize_requests.append(params)
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != self.client_id or not redirect_uri:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        back: dict[str, str] = {"state": params.get("state", "")}
        if self.deny:
            back["error"] = "access_denied"
        elif params.get("response_type") != "code":
            back["error"] = "unsupported_response_type"
        else:
            code = secrets.token_urlsafe(24)
            self.codes[code] = IssuedCode(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                scope=params.get("scope", ""),
                challenge=params.get("code_challenge"),
                method=params.get("code_challenge_method"),
                expires_at=time.time() + 600,
            )
            back["code"] = code
        return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", status_code=302)

    async def token(self, request: Request) -> Response:
        form = {k: str(v) for k, v in (await request.form()).items()}
        self.token_requests.append(form)
        if self.unavailable:
            return JSONResponse({"error": "temporarily_unavailable"}, status_code=503)
        if not self._client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self._exchange(form)
        if grant == "refresh_token":
            return self._refresh(form)
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    # ---- grants --------------------------------------------------------------------------------

    def _client_ok(self, request: Request, form: dict[str, str]) -> bool:
        header = request.headers.get("authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return (user, password) == (self.client_id, self.client_secret)
        return (form.get("client_id"), form.get("client_secret")) == (self.client_id, self.client_secret)

    def _exchange(self, form: dict[str, str]) -> Response:
        issued = self.codes.get(form.get("code", ""))
        if issued is None or issued.expires_at < time.time():
            return _invalid_grant("unknown or expired code")
        if issued.used:
            if issued.issued_refresh:
                self.refresh_tokens.pop(issued.issued_refresh, None)
            return _invalid_grant("code already used")
        issued.used = True
        if form.get("redirect_uri") != issued.redirect_uri:
            return _invalid_grant("redirect_uri does not match the authorization request")
        if issued.challenge is not None:
            verifier = form.get("code_verifier", "")
            digest = hashlib.sha256(verifier.encode()).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            if issued.method != "S256" or expected != issued.challenge:
                return _invalid_grant("PKCE verification failed")
        elif "code_verifier" in form:
            return _invalid_grant("code_verifier sent without a code_challenge")
        body = self._issue(issued.scope)
        issued.issued_refresh = body["refresh_token"]
        return JSONResponse(body)

    def _refresh(self, form: dict[str, str]) -> Response:
        token = form.get("refresh_token", "")
        if self.refuse_refresh or token not in self.refresh_tokens:
            return _invalid_grant("the refresh token is invalid or revoked")
        scope = self.refresh_tokens.pop(token)  # rotation: the old refresh token dies
        return JSONResponse(self._issue(scope))

    def _issue(self, scope: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access_tokens.add(access)
        self.refresh_tokens[refresh] = scope
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": refresh,
            "scope": scope,
        }


def _invalid_grant(description: str) -> Response:
    return JSONResponse({"error": "invalid_grant", "error_description": description}, status_code=400)
