"""Connector pages: the list with live status, adding one (pick a type, then its generated form),
one connector (config with masked secrets, enable/disable, sync now, full resync, runs, failed
items, retry failed, delete with a confirmation), the status fragment `app.js` polls, and the
sync history fragment it re-fetches when the status says a run started or ended.

Every action calls the same services as `/api/v1/connectors` (`connector_admin`,
`connector_runs`) with the logged-in caller, so the access rules are the API's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from headwater.api.deps import Caller, StateDep
from headwater.api.public_urls import external_url
from headwater.api.state import ApiState
from headwater.errors import HeadwaterError, NotFoundError
from headwater.models.timeutil import now_ms
from headwater.services import connector_admin, connector_forms, connector_runs
from headwater.services.connector_access import visible_instance
from headwater.services.errors import (
    ConfigValueError,
    ConflictError,
    ConnectorNotReadyError,
    DuplicateNameError,
    ForbiddenError,
    MissingFieldsError,
)
from headwater.services.platform import Platform
from headwater.web import forms, views
from headwater.web.session import PageCaller
from headwater.web.templating import error_page, page, render, see_other

router = APIRouter()

NOTICES = {
    "added": "Connector added. Sync it to fetch its content.",
    "saved": "Configuration saved.",
    "unchanged": "Nothing changed.",
    "enabled": "Connector enabled.",
    "disabled": "Connector disabled: scheduled and requested syncs stop.",
    "sync": "Sync requested: progress shows below as it runs.",
    "full": "Full resync requested: everything is listed again; only what changed is re-indexed.",
    "retry": "Retrying: a full sync fetches the failed items again, and failed indexing is queued again.",
    "deleted": "Connector deleted with everything it synced.",
    "oauth": "Signed in: the connector is authorised. Enable it, then sync it.",
    "deleting": "The connector is syncing right now: it is disabled, and deleted as soon as the sync stops.",
}
HISTORY_RUNS = 10  # runs shown in a connector's sync history
NOT_FOUND = "This connector does not exist, or it is someone else's personal connector."


def platform_of(state: ApiState) -> Platform:
    return Platform(state.settings, state.store, state.config)


def _problem(request: Request, caller: Caller, exc: HeadwaterError) -> Response:
    if isinstance(exc, NotFoundError):
        return error_page(
            request,
            caller,
            404,
            "Connector not found",
            NOT_FOUND,
            back="/connectors",
            back_label="All connectors",
        )
    if isinstance(exc, ForbiddenError):
        return error_page(
            request, caller, 403, "Not allowed", str(exc), back="/connectors", back_label="All connectors"
        )
    raise exc


# ---- the list and the live status --------------------------------------------------------------


@router.get("/connectors")
async def connectors(request: Request, caller: PageCaller, state: StateDep, notice: str = "") -> Response:
    found = await state.call(views.visible_connectors, state, caller)
    return page(
        request, caller, "connectors.html", "connectors", connectors=found, notice=NOTICES.get(notice)
    )


@router.get("/connectors/{connector_id}/status")
async def status_fragment(
    request: Request, caller: PageCaller, state: StateDep, connector_id: str, requested: int | None = None
) -> Response:
    try:
        summary = await state.call(_summary, state, caller, connector_id, requested)
    except NotFoundError:
        return render(request, "partials/gone.html", {}, status_code=404)
    return render(request, "partials/connector_status.html", {"c": summary})


def _summary(
    state: ApiState, caller: Caller, connector_id: str, requested_at: int | None = None
) -> dict[str, Any]:
    doc = visible_instance(state.store, caller, connector_id)
    return views.connector_summary(state, caller, doc, requested_at=requested_at)


# ---- adding ------------------------------------------------------------------------------------


@router.get("/connectors/new")
async def pick_type(request: Request, caller: PageCaller, state: StateDep) -> Response:
    types = await state.call(connector_forms.registry)
    return page(request, caller, "connector_types.html", "connectors", types=types)


def _new_form_context(
    caller: Caller, type_id: str, auth_type: str | None, form: FormData | None, errors: dict[str, str]
) -> dict[str, Any]:
    schema = connector_forms.type_form(type_id, auth_type)
    scopes = [s for s in schema["scopes"] if s == "personal" or caller.is_admin] or schema["scopes"]
    return {
        "schema": schema,
        "values": forms.shown_values(schema, {}, form),
        "secrets_set": set(),
        "errors": errors,
        "name": (form.get("name") if form else None) or "",
        "scope": (form.get("scope") if form else None)
        or ("team" if caller.is_admin and "team" in scopes else scopes[0]),
        "scopes": scopes,
        "icon": connector_forms.icon_url(schema["type"]),
        "connector_id": None,
    }


def _redirect_uri(request: Request, state: ApiState) -> str:
    """The OAuth redirect URI to register at the vendor (what the flow will send)."""
    return external_url(request, state.settings, connector_forms.OAUTH_CALLBACK_PATH)


@router.get("/connectors/new/{type_id}")
async def new_form(
    request: Request, caller: PageCaller, state: StateDep, type_id: str, auth_type: str | None = None
) -> Response:
    try:
        context = await state.call(_new_form_context, caller, type_id, auth_type, None, {})
    except (ConfigValueError, HeadwaterError) as exc:
        return error_page(
            request,
            caller,
            404,
            "Unknown connector type",
            str(exc),
            back="/connectors/new",
            back_label="Pick a type",
        )
    return page(
        request,
        caller,
        "connector_new.html",
        "connectors",
        redirect_uri=_redirect_uri(request, state),
        **context,
    )


@router.post("/connectors/new/{type_id}")
async def create(request: Request, caller: PageCaller, state: StateDep, type_id: str) -> Response:
    form = await request.form()
    auth_type = str(form.get("auth_type") or "") or None
    context = await state.call(_new_form_context, caller, type_id, auth_type, form, {})
    schema = context["schema"]
    try:
        view = await connector_admin.create_connector(
            platform_of(state),
            caller,
            connector_type=schema["type"],
            name=str(form.get("name") or ""),
            scope=str(form.get("scope") or context["scope"]),
            auth_type=schema["authType"],
            config=forms.submitted_values(schema, form, updating=False),
        )
    except (
        ConfigValueError,
        MissingFieldsError,
        DuplicateNameError,
        ConnectorNotReadyError,
        ForbiddenError,
    ) as exc:
        errors = forms.field_errors(exc, forms.form_fields(schema))
        if isinstance(exc, DuplicateNameError):
            errors = {"name": str(exc)}
        elif isinstance(exc, ForbiddenError):
            errors = {"scope": str(exc)}
        context["errors"] = errors
        return page(
            request,
            caller,
            "connector_new.html",
            "connectors",
            status_code=422,
            redirect_uri=_redirect_uri(request, state),
            **context,
        )
    if view.get("authType") in connector_forms.OAUTH_AUTH_TYPES:
        return see_other(f"/api/v1/connectors/{view['id']}/oauth/authorize")
    return see_other(f"/connectors/{view['id']}?notice=added")


# ---- one connector -----------------------------------------------------------------------------


async def _detail_context(
    state: ApiState,
    caller: Caller,
    connector_id: str,
    form: FormData | None = None,
    requested_at: int | None = None,
) -> dict[str, Any]:
    platform = platform_of(state)
    view = await connector_admin.get_connector(platform, caller, connector_id)
    summary = await state.call(_summary, state, caller, connector_id, requested_at)
    context: dict[str, Any] = {"view": view, "c": summary, "schema": None}
    context.update(await _history_context(state, caller, view))
    if view["canManage"]:
        config = view.get("config") or {}
        schema = await state.call(connector_forms.type_form, str(view["type"]), config.get("authType"))
        stored = config.get("values") or {}
        context.update(
            schema=schema,
            values=forms.shown_values(schema, stored, form),
            secrets_set=forms.secrets_set(schema, stored),
            connector_id=connector_id,
        )
    return context


async def _history_context(state: ApiState, caller: Caller, view: dict[str, Any]) -> dict[str, Any]:
    """What `partials/connector_history.html` shows: the last runs and, for those who manage the
    instance, the failed items of the newest run that had some."""
    connector_id = str(view["id"])
    runs = await state.call(connector_runs.connector_runs, state.store, caller, connector_id, HISTORY_RUNS)
    failures = None
    if view["canManage"]:
        last_failed = next((r for r in runs if r.get("failedItems")), None)
        if last_failed is not None:
            failures = await state.call(
                connector_runs.run_failures, state.store, caller, connector_id, last_failed["id"]
            )
    return {
        "runs": runs,
        "failures": failures,
        "history_key": views.history_key(runs[0] if runs else None),
    }


def _plain_view(state: ApiState, caller: Caller, connector_id: str) -> dict[str, Any]:
    """The instance without its config (the history needs no secrets decrypted)."""
    return connector_admin.connector_view(visible_instance(state.store, caller, connector_id), caller)


@router.get("/connectors/{connector_id}/history")
async def history_fragment(
    request: Request, caller: PageCaller, state: StateDep, connector_id: str
) -> Response:
    """The sync history fragment `app.js` re-fetches when a run starts or ends."""
    try:
        view = await state.call(_plain_view, state, caller, connector_id)
    except NotFoundError:
        return render(request, "partials/gone.html", {}, status_code=404)
    context = await _history_context(state, caller, view)
    return render(request, "partials/connector_history.html", {"caller": caller, "view": view, **context})


@router.get("/connectors/{connector_id}")
async def detail(
    request: Request,
    caller: PageCaller,
    state: StateDep,
    connector_id: str,
    notice: str = "",
    requested: int | None = None,
) -> Response:
    try:
        context = await _detail_context(state, caller, connector_id, requested_at=requested)
    except (NotFoundError, ForbiddenError) as exc:
        return _problem(request, caller, exc)
    return page(
        request, caller, "connector.html", "connectors", notice=NOTICES.get(notice), errors={}, **context
    )


async def _detail_with_error(
    request: Request,
    caller: Caller,
    state: ApiState,
    connector_id: str,
    message: str,
    *,
    form: FormData | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 409,
) -> Response:
    context = await _detail_context(state, caller, connector_id, form)
    return page(
        request,
        caller,
        "connector.html",
        "connectors",
        status_code=status_code,
        notice=message,
        notice_kind="bad",
        errors=errors or {},
        **context,
    )


@router.post("/connectors/{connector_id}/config")
async def save_config(request: Request, caller: PageCaller, state: StateDep, connector_id: str) -> Response:
    form = await request.form()
    try:
        view = await connector_admin.get_connector(platform_of(state), caller, connector_id)
        schema = await state.call(
            connector_forms.type_form, str(view["type"]), (view.get("config") or {}).get("authType")
        )
        result = await connector_admin.update_connector_config(
            platform_of(state),
            caller,
            connector_id,
            forms.submitted_values(schema, form, updating=True),
            name=str(form.get("name") or "") or None,
        )
    except (NotFoundError, ForbiddenError) as exc:
        return _problem(request, caller, exc)
    except (ConfigValueError, MissingFieldsError, DuplicateNameError, ConnectorNotReadyError) as exc:
        errors = (
            {"name": str(exc)}
            if isinstance(exc, DuplicateNameError)
            else forms.field_errors(exc, forms.form_fields(schema))
        )
        return await _detail_with_error(
            request,
            caller,
            state,
            connector_id,
            "The configuration was not saved: see the marked fields.",
            form=form,
            errors=errors,
            status_code=422,
        )
    return see_other(f"/connectors/{connector_id}?notice={'saved' if result.get('changed') else 'unchanged'}")


@router.post("/connectors/{connector_id}/{action}")
async def act(
    request: Request, caller: PageCaller, state: StateDep, connector_id: str, action: str
) -> Response:
    """enable, disable, sync, full (resync), retry; `delete` needs the name typed again."""
    platform = platform_of(state)
    try:
        if action in ("enable", "disable"):
            await connector_admin.set_connector_enabled(platform, caller, connector_id, action == "enable")
        elif action in ("sync", "full"):
            await state.call(
                connector_runs.request_sync, platform, caller, connector_id, full=action == "full"
            )
        elif action == "retry":
            await state.call(connector_runs.retry_failed, platform, caller, connector_id)
        elif action == "delete":
            return await _delete(request, caller, state, connector_id)
        else:
            return error_page(
                request,
                caller,
                404,
                "Unknown action",
                f"there is no action {action!r}",
                back=f"/connectors/{connector_id}",
            )
    except (NotFoundError, ForbiddenError) as exc:
        return _problem(request, caller, exc)
    except (ConflictError, ConnectorNotReadyError) as exc:
        return await _detail_with_error(request, caller, state, connector_id, str(exc))
    if action in ("sync", "full", "retry"):
        return see_other(f"/connectors/{connector_id}?notice={action}&requested={now_ms()}")
    return see_other(f"/connectors/{connector_id}?notice={action}d")


@router.get("/connectors/{connector_id}/delete")
async def confirm_delete(
    request: Request, caller: PageCaller, state: StateDep, connector_id: str
) -> Response:
    try:
        view = await connector_admin.get_connector(platform_of(state), caller, connector_id)
        if not view["canManage"]:
            raise ForbiddenError(f"only an admin can delete the team connector {view.get('name')!r}")
    except (NotFoundError, ForbiddenError) as exc:
        return _problem(request, caller, exc)
    summary = await state.call(_summary, state, caller, connector_id)
    return page(request, caller, "connector_delete.html", "connectors", view=view, c=summary, errors={})


async def _delete(request: Request, caller: Caller, state: ApiState, connector_id: str) -> Response:
    form = await request.form()
    view = await connector_admin.get_connector(platform_of(state), caller, connector_id)
    if str(form.get("confirm_name") or "").strip() != str(view.get("name")):
        summary = await state.call(_summary, state, caller, connector_id)
        errors = {"confirm_name": f"type the connector's name, {view.get('name')}, to delete it"}
        return page(
            request,
            caller,
            "connector_delete.html",
            "connectors",
            status_code=422,
            view=view,
            c=summary,
            errors=errors,
        )
    result = await connector_admin.delete_connector(platform_of(state), caller, connector_id)
    return see_other(f"/connectors?notice={'deleted' if result.get('deleted') else 'deleting'}")
