"""Settings: your password (change it: the current one is asked, your other sessions end), your API
tokens (create, shown once, revoke) and, for admins, the organisation's users (add one with a role
and a first password, change a role, deactivate, reactivate)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from headwater.api.deps import Caller, StateDep
from headwater.api.state import ApiState
from headwater.errors import NotFoundError
from headwater.services import accounts, api_tokens
from headwater.services.errors import (
    ConflictError,
    ForbiddenError,
    InvalidArgumentError,
    TooManyAttemptsError,
)
from headwater.services.passwords import MIN_LENGTH
from headwater.web.session import PageCaller
from headwater.web.templating import error_page, page, see_other

router = APIRouter()

NOTICES = {
    "revoked": "Token revoked: scripts using it stop working now.",
    "user-added": "User added. Tell them their email and first password; they can log in now.",
    "user-changed": "User updated.",
    "password-changed": "Password changed. Your other sessions were logged out; this one goes on.",
}


def _settings_context(state: ApiState, caller: Caller) -> dict[str, Any]:
    tokens = [t.as_dict() for t in api_tokens.list_tokens(state.store, caller.user_key)]
    users = (
        [a.as_dict() for a in accounts.list_accounts(state.store, caller.org_key)] if caller.is_admin else []
    )
    return {"tokens": tokens, "users": users}


async def _settings_page(
    request: Request, caller: Caller, state: ApiState, *, status_code: int = 200, **extra: Any
) -> Response:
    context = await state.call(_settings_context, state, caller)
    defaults: dict[str, Any] = {
        "new_token": None,
        "errors": {},
        "form": {},
        "notice": None,
        "notice_kind": None,
        "min_password": MIN_LENGTH,
    }
    return page(
        request, caller, "settings.html", "settings", status_code=status_code, **(context | defaults | extra)
    )


@router.get("/settings")
async def settings(request: Request, caller: PageCaller, state: StateDep, notice: str = "") -> Response:
    return await _settings_page(request, caller, state, notice=NOTICES.get(notice))


@router.post("/settings/password")
async def change_password(request: Request, caller: PageCaller, state: StateDep) -> Response:
    form = await request.form()
    current, new, again = (str(form.get(k) or "") for k in ("current_password", "new_password", "confirm"))
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = "type your current password"
    if new != again:
        errors["confirm"] = "the two new passwords differ: type the same one twice"
    if not errors:
        try:
            await state.call(
                accounts.change_own_password,
                state.store,
                caller.user_key,
                current,
                new,
                keep_session=caller.session_key,
            )
        except (ForbiddenError, TooManyAttemptsError) as exc:  # wrong, or too many wrong guesses
            errors["current_password"] = str(exc)
        except InvalidArgumentError as exc:  # the new one breaks a rule (length, blank)
            errors["new_password"] = str(exc)
    if errors:  # passwords are never sent back into the form
        return await _settings_page(request, caller, state, status_code=422, errors=errors)
    return see_other("/settings?notice=password-changed")


@router.post("/settings/tokens")
async def create_token(request: Request, caller: PageCaller, state: StateDep) -> Response:
    form = await request.form()
    name = str(form.get("token_name") or "")
    days_text = str(form.get("expires_in_days") or "").strip()
    try:
        days = int(days_text) if days_text else None
    except ValueError:
        return await _settings_page(
            request,
            caller,
            state,
            status_code=422,
            errors={"expires_in_days": "give a number of days, or leave it empty"},
            form={"token_name": name},
        )
    account = await state.call(accounts.get_account, state.store, caller.user_key)
    try:
        token, info = await state.call(
            api_tokens.create_token, state.store, account, name, expires_in_days=days
        )
    except InvalidArgumentError as exc:
        field = "expires_in_days" if "expires" in str(exc) else "token_name"
        return await _settings_page(
            request, caller, state, status_code=422, errors={field: str(exc)}, form={"token_name": name}
        )
    # shown once, on this response only: it is not stored anywhere it could be shown again
    return await _settings_page(request, caller, state, new_token={"token": token, "name": info.name})


@router.post("/settings/tokens/{token_id}/revoke")
async def revoke_token(request: Request, caller: PageCaller, state: StateDep, token_id: str) -> Response:
    try:
        await state.call(api_tokens.revoke_token, state.store, caller.user_key, token_id)
    except NotFoundError:
        return error_page(
            request,
            caller,
            404,
            "Token not found",
            "That token does not exist or is not yours.",
            back="/settings",
            back_label="Settings",
        )
    return see_other("/settings?notice=revoked")


def _admin_only(request: Request, caller: Caller) -> Response | None:
    if caller.is_admin:
        return None
    return error_page(
        request,
        caller,
        403,
        "Admins only",
        "Only an admin of your organisation manages users.",
        back="/settings",
        back_label="Settings",
    )


@router.post("/settings/users")
async def add_user(request: Request, caller: PageCaller, state: StateDep) -> Response:
    refused = _admin_only(request, caller)
    if refused is not None:
        return refused
    form = await request.form()
    given = {k: str(form.get(k) or "") for k in ("email", "name", "role", "password")}
    try:
        await state.call(
            accounts.create_user,
            state.store,
            caller.org_key,
            given["email"],
            name=given["name"] or None,
            role=given["role"] or "member",
            password=given["password"] or None,
        )
    except (InvalidArgumentError, ConflictError) as exc:
        message = str(exc)
        field = "password" if "password" in message else "role" if "role" in message else "email"
        kept = {k: v for k, v in given.items() if k != "password"}
        return await _settings_page(
            request, caller, state, status_code=422, errors={field: message}, form=kept
        )
    return see_other("/settings?notice=user-added")


@router.post("/settings/users/{user_key}")
async def change_user(request: Request, caller: PageCaller, state: StateDep, user_key: str) -> Response:
    refused = _admin_only(request, caller)
    if refused is not None:
        return refused
    form = await request.form()
    role = str(form.get("role") or "") or None
    active_text = str(form.get("active") or "")
    active = {"true": True, "false": False}.get(active_text)
    try:
        await state.call(
            accounts.update_account,
            state.store,
            caller.org_key,
            user_key,
            role=role,
            active=active,
            acting_user_key=caller.user_key,
        )
    except NotFoundError:
        return error_page(
            request,
            caller,
            404,
            "User not found",
            "No such user in your organisation.",
            back="/settings",
            back_label="Settings",
        )
    except (ConflictError, ForbiddenError, InvalidArgumentError) as exc:
        return await _settings_page(
            request, caller, state, status_code=409, notice=str(exc), notice_kind="bad"
        )
    return see_other("/settings?notice=user-changed")
