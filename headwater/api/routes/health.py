"""`GET /api/v1/health`: is the process up and can it read its store (no authentication)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from headwater import __version__
from headwater.api.deps import StateDep
from headwater.api.errors import error_responses
from headwater.api.state import ApiState

router = APIRouter(prefix="/api/v1", tags=["health"])


class Health(BaseModel):
    status: Literal["ok"]
    version: str


def _read_store(state: ApiState) -> None:
    with state.store.read() as tx:
        tx.find_nodes("organizations", limit=1)


@router.get("/health", responses=error_responses(503))
async def health(state: StateDep) -> Health:
    """`ok` when the API can read its graph store; 503 when the instance cannot be opened."""
    await state.call(_read_store, state)
    return Health(status="ok", version=__version__)
