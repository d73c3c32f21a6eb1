"""Absolute addresses of this server as browsers and vendors reach it.

With `HEADWATER_PUBLIC_URL` set (e.g. `https://hw.example.com/headwater` behind a proxy) every
absolute URL Headwater hands out starts with it: the OAuth redirect URI a vendor calls back, and
links people open later. Unset, the base comes from the request being answered (its scheme, host
and root path; uvicorn runs with proxy headers, so a local TLS proxy's `X-Forwarded-Proto` counts).

    external_url(request, settings, "/api/v1/oauth/callback")
"""

from __future__ import annotations

from fastapi import Request

from headwater.settings import Settings


def public_base(request: Request, settings: Settings) -> str:
    """The server's base address, without a trailing slash."""
    if settings.public_url:
        return settings.public_url
    return str(request.base_url).rstrip("/")


def external_url(request: Request, settings: Settings, path: str) -> str:
    """`path` (the app's own, starting with "/") as an absolute URL of this server."""
    return public_base(request, settings) + path
