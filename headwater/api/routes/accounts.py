"""Users and the organisation: `/api/v1/users` (admins manage their organisation's users),
`/api/v1/me/password` (anyone changes their own), `/api/v1/organization`.

A user id from another organisation is answered exactly like one that does not exist (404).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Response, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from headwater.api.deps import AdminDep, CallerDep, StateDep
from headwater.api.errors import AUTH_ERRORS, error_responses
from headwater.services import accounts
from headwater.services.accounts import EMAIL_PATTERN, MAX_EMAIL, Account
from headwater.services.passwords import MAX_LENGTH, MIN_LENGTH

router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=AUTH_ERRORS)


class UserOut(BaseModel):
    """A platform user (never a password or its hash)."""

    id: str
    email: str
    name: str
    orgId: str  # noqa: N815 - the API's JSON is camelCase
    role: Literal["admin", "member"]
    isActive: bool  # noqa: N815
    createdAt: int  # noqa: N815

    @classmethod
    def of(cls, account: Account) -> UserOut:
        return cls.model_validate(account.as_dict())


class UserList(BaseModel):
    users: list[UserOut]


# What the service accepts, said in the schema too (so that clients and schemathesis know it).
NOT_BLANK = r"\S"


def _checked_email(value: str) -> str:
    # the schema's pattern, checked here for a message that says what is wrong
    if re.fullmatch(EMAIL_PATTERN, value) is None:
        raise ValueError(f"{value!r} is not an email address (expected name@example.com)")
    return value


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    email: Annotated[str, AfterValidator(_checked_email)] = Field(
        max_length=MAX_EMAIL, json_schema_extra={"pattern": EMAIL_PATTERN}, examples=["ada@example.com"]
    )
    name: str | None = Field(default=None, max_length=200, description="Default: from the email.")
    role: Literal["admin", "member"] = "member"
    password: str | None = Field(
        default=None,
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
        pattern=NOT_BLANK,
        description=f"Initial password (at least {MIN_LENGTH} characters); unset = none yet.",
    )


class UserChange(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    role: Literal["admin", "member"] | None = None
    isActive: bool | None = None  # noqa: N815
    name: str | None = Field(default=None, max_length=200, pattern=NOT_BLANK)


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    currentPassword: str = Field(max_length=MAX_LENGTH)  # noqa: N815
    newPassword: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH, pattern=NOT_BLANK)  # noqa: N815


class OrganizationOut(BaseModel):
    id: str
    name: str
    domains: list[str]
    createdAt: int  # noqa: N815


@router.get("/users")
async def list_users(caller: AdminDep, state: StateDep) -> UserList:
    """Your organisation's users (admins only)."""
    found = await state.call(accounts.list_accounts, state.store, caller.org_key)
    return UserList(users=[UserOut.of(a) for a in found])


@router.post("/users", status_code=status.HTTP_201_CREATED, responses=error_responses(404, 409))
async def create_user(body: NewUser, caller: AdminDep, state: StateDep) -> UserOut:
    """Add a user to your organisation with a role and, optionally, an initial password (admins only)."""
    account = await state.call(
        accounts.create_user,
        state.store,
        caller.org_key,
        body.email,
        name=body.name,
        role=body.role,
        password=body.password,
    )
    return UserOut.of(account)


@router.get("/users/{user_id}", responses=error_responses(404))
async def get_user(user_id: str, caller: CallerDep, state: StateDep) -> UserOut:
    """One user of your organisation: admins see anyone, members themselves."""
    if not caller.is_admin and user_id != caller.user_key:
        from headwater.services.errors import ForbiddenError

        raise ForbiddenError("members can only look up themselves; ask an admin")

    def lookup() -> Account:
        with state.store.read() as tx:
            return accounts.account_from_doc(accounts.org_user(tx, caller.org_key, user_id))

    return UserOut.of(await state.call(lookup))


@router.patch("/users/{user_id}", responses=error_responses(404, 409))
async def update_user(user_id: str, body: UserChange, caller: AdminDep, state: StateDep) -> UserOut:
    """Change a user's role, name, or deactivate / reactivate them (admins only). Deactivating ends
    their sessions and revokes their API tokens; the last active admin stays an admin."""
    account = await state.call(
        accounts.update_account,
        state.store,
        caller.org_key,
        user_id,
        role=body.role,
        active=body.isActive,
        name=body.name,
        acting_user_key=caller.user_key,
    )
    return UserOut.of(account)


@router.put("/me/password", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(429))
async def change_password(body: PasswordChange, caller: CallerDep, state: StateDep) -> Response:
    """Change your own password (the current one is required). Your other sessions end; your API
    tokens stay. Wrong current passwords count with failed logins of your email: after 5, 429."""
    await state.call(
        accounts.change_own_password,
        state.store,
        caller.user_key,
        body.currentPassword,
        body.newPassword,
        keep_session=caller.session_key,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/organization")
async def get_organization(caller: CallerDep, state: StateDep) -> OrganizationOut:
    """Your organisation."""
    found = await state.call(accounts.get_organization, state.store, caller.org_key)
    return OrganizationOut.model_validate(found)
