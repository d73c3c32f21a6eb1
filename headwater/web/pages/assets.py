"""The UI's own CSS, JavaScript and images under /static (no third-party assets, no build step)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.responses import FileResponse

from headwater.web.templating import STATIC_DIR

router = APIRouter()

MEDIA_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml", ".png": "image/png"}


@router.get("/static/{name:path}")
async def static_file(name: str) -> FileResponse:
    path = (STATIC_DIR / name).resolve()
    if not path.is_relative_to(STATIC_DIR.resolve()) or not path.is_file() or path.suffix not in MEDIA_TYPES:
        raise HTTPException(status_code=404, detail=f"no static file {name!r}")
    return FileResponse(
        path,
        media_type=MEDIA_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
