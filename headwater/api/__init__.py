"""The HTTP API (FastAPI). `create_app(settings)` builds it; `headwater serve` runs it beside the workers."""

from .app import create_app

__all__ = ["create_app"]
