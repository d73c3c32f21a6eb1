"""The interactive API documentation at /docs: Swagger UI served from this server, never a CDN.

FastAPI's own /docs and /redoc load their JavaScript from cdn.jsdelivr.net into Headwater's origin,
where it would run as whoever opens them. Here the Swagger UI files come from the installed
`swagger_ui_bundle` package (the three the page needs, nothing else of that folder), and the page
carries a Content-Security-Policy that lets only this origin's scripts run, plus the one inline
script that starts Swagger UI (allowed by its SHA-256, computed from the page itself), and that no
other site may frame. There is no /redoc.

The bundled Swagger UI (4.x) refuses a document that says `openapi: 3.1.x`, which FastAPI writes
(it renders the 3.1 schemas FastAPI makes well enough). So the page reads `/docs/openapi.json`: the
same document, labelled 3.0.3 for Swagger UI alone; `/openapi.json` stays the API's real schema.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import swagger_ui_bundle  # type: ignore[import-untyped]  # no type information shipped
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from headwater.errors import NotFoundError

DOCS_PATH = "/docs"
DOCS_SCHEMA_PATH = "/docs/openapi.json"
ASSETS_PATH = "/docs/assets"
SWAGGER_UI_OPENAPI_VERSION = "3.0.3"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

router = APIRouter(include_in_schema=False)


def docs_csp(html: str) -> str:
    """The page's policy: its own origin only, and the inline scripts it holds by their hash."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        "default-src 'none'; "
        f"script-src 'self' {hashes}; "
        "style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


@router.get(DOCS_PATH)
async def swagger_ui(request: Request) -> HTMLResponse:
    app: FastAPI = request.app
    prefix = str(request.scope.get("root_path") or "").rstrip("/")  # behind a proxy's path prefix
    page = get_swagger_ui_html(
        openapi_url=f"{prefix}{DOCS_SCHEMA_PATH}",
        title=f"{app.title} API",
        swagger_js_url=f"{prefix}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{prefix}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{prefix}{ASSETS_PATH}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from validator.swagger.io
    )
    html = bytes(page.body).decode()
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": docs_csp(html),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        },
    )


@router.get(DOCS_SCHEMA_PATH)
async def swagger_ui_schema(request: Request) -> JSONResponse:
    document = request.app.openapi() | {"openapi": SWAGGER_UI_OPENAPI_VERSION}
    return JSONResponse(document, headers={"Cache-Control": "no-store"})


@router.get(f"{ASSETS_PATH}/{{name}}")
async def swagger_ui_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFoundError(f"no documentation asset {name!r}")
    return FileResponse(
        Path(swagger_ui_bundle.swagger_ui_path) / name,
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
