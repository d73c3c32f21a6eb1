"""Your API tokens: `/api/v1/tokens` (list, create — the token is shown once — and revoke).

A token acts as you, with your current role. Only its first characters are ever shown again.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from headwater.api.deps import CallerDep, StateDep
from headwater.api.errors import AUTH_ERRORS, error_responses
from headwater.api.json_types import WHOLE_FLOATS
from headwater.services import api_tokens
from headwater.services.accounts import Account

router = APIRouter(prefix="/api/v1", tags=["tokens"], responses=AUTH_ERRORS)


class TokenOut(BaseModel):
    id: str
    name: str
    prefix: str = Field(description="The token's first characters, to recognise it by.")
    createdAt: int  # noqa: N815
    lastUsedAt: int | None  # noqa: N815
    expiresAt: int | None  # noqa: N815


class TokenList(BaseModel):
    tokens: list[TokenOut]


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(max_length=100, pattern=r"\S", examples=["backup script"])
    expiresInDays: Annotated[int, Field(ge=1, le=3650), WHOLE_FLOATS] | None = None  # noqa: N815


class CreatedToken(TokenOut):
    token: str = Field(description="The token itself: shown only now, store it somewhere safe.")


@router.get("/tokens")
async def list_tokens(caller: CallerDep, state: StateDep) -> TokenList:
    """Your API tokens, newest first."""
    found = await state.call(api_tokens.list_tokens, state.store, caller.user_key)
    return TokenList(tokens=[TokenOut.model_validate(t.as_dict()) for t in found])


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
async def create_token(body: NewToken, caller: CallerDep, state: StateDep) -> CreatedToken:
    """A new API token acting as you. The response is the only time the token is shown."""
    owner = Account(caller.user_key, caller.email, caller.name, caller.org_key, caller.role, True, 0)
    token, info = await state.call(
        api_tokens.create_token, state.store, owner, body.name, expires_in_days=body.expiresInDays
    )
    return CreatedToken.model_validate(info.as_dict() | {"token": token})


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(404))
async def revoke_token(token_id: str, caller: CallerDep, state: StateDep) -> Response:
    """Revoke one of your tokens; it stops working at once."""
    await state.call(api_tokens.revoke_token, state.store, caller.user_key, token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
