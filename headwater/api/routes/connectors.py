"""Connectors: the registry of connector types (`/api/v1/connector-types`) and connector instances
(`/api/v1/connectors`): add, show, configure, enable, disable, sync, watch, history, delete.

Who may do what (`headwater.services.connector_access`): everyone in an organisation sees its team
instances (state, progress, run counts) and their own personal instances; admins manage team
instances (config, syncs, failures, delete); a personal instance is its owner's alone. Another
organisation's instance, or another person's personal one, is 404. Secrets are write-only: a set
secret reads back as "••••"; sending "••••" (or leaving the field out) keeps it.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from headwater.api.deps import CallerDep, StateDep, still_signed_in
from headwater.api.errors import AUTH_ERRORS, error_responses
from headwater.api.state import ApiState
from headwater.services import connector_admin, connector_forms, connector_runs
from headwater.services.platform import Platform

router = APIRouter(prefix="/api/v1", tags=["connectors"], responses=AUTH_ERRORS)
log = logging.getLogger("headwater.api.connectors")

ConnectorId = Annotated[str, Field(min_length=1, max_length=200)]
SSE_POLL_S = 1.0


def platform_of(state: ApiState) -> Platform:
    return Platform(state.settings, state.store, state.config)


# ---- models ------------------------------------------------------------------------------------------


class ConnectorTypeOut(BaseModel):
    """A connector type that can be added."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str
    type: str
    appGroup: str  # noqa: N815 - the API's JSON is camelCase
    description: str
    authTypes: list[str]  # noqa: N815
    scopes: list[str]
    iconUrl: str  # noqa: N815
    oauthScopes: list[str]  # noqa: N815
    usesOAuth: bool  # noqa: N815


class ConnectorTypeList(BaseModel):
    connectorTypes: list[ConnectorTypeOut]  # noqa: N815


class FormSection(BaseModel):
    id: str
    title: str
    fields: list[dict[str, Any]]


class ConnectorForm(BaseModel):
    """The config form of a connector type (see `headwater.services.connector_forms`)."""

    type: str
    id: str
    authType: str  # noqa: N815
    authTypes: list[str]  # noqa: N815
    scopes: list[str]
    sections: list[FormSection]
    oauth: dict[str, Any] | None


class ConnectorConfigOut(BaseModel):
    authType: str  # noqa: N815
    values: dict[str, Any] = Field(description='Values by field key; a set secret is "••••".')


class ConnectorOut(BaseModel):
    """A connector instance. `config` only for those who manage it."""

    id: str
    name: str | None
    type: str | None
    typeId: str  # noqa: N815
    iconUrl: str  # noqa: N815
    scope: str | None
    authType: str | None  # noqa: N815
    isActive: bool  # noqa: N815
    isAuthenticated: bool | None  # noqa: N815
    status: str | None
    statusReason: str | None  # noqa: N815
    intervalMinutes: float | None  # noqa: N815
    lastSyncStartedAt: int | None  # noqa: N815
    lastSyncEndedAt: int | None  # noqa: N815
    lastRunId: str | None  # noqa: N815
    createdBy: str | None  # noqa: N815
    createdAt: int | None  # noqa: N815
    updatedAt: int | None  # noqa: N815
    canManage: bool  # noqa: N815
    config: ConnectorConfigOut | None = None
    changed: bool | None = None


class ConnectorList(BaseModel):
    connectors: list[ConnectorOut]


class NewConnector(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    name: str = Field(min_length=1, max_length=100)
    type: str = Field(
        min_length=1, max_length=200, description='A connector type: "Local FS" or its id "localfs".'
    )
    scope: Literal["personal", "team"] = "personal"
    authType: str | None = Field(default=None, max_length=50)  # noqa: N815
    config: dict[str, Any] = Field(
        default_factory=dict, description="Field values by key (`auth.x`) or name."
    )
    check: bool = Field(
        default=True, description="Start the connector and test its connection before saving."
    )


class ConfigChange(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    config: dict[str, Any] = Field(
        default_factory=dict, description='Changed fields; null clears one; a secret sent as "••••" is kept.'
    )
    name: str | None = Field(default=None, min_length=1, max_length=100)
    check: bool = True


class SyncRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    full: bool = Field(default=False, description="Re-list everything from scratch (a full resync).")


class SyncRequested(BaseModel):
    connectorId: str  # noqa: N815
    requested: bool
    full: bool
    status: str | None


class RetryRequested(BaseModel):
    connectorId: str  # noqa: N815
    mode: Literal["full_sync"]
    failedItems: int  # noqa: N815
    indexingRetried: str  # noqa: N815


class ConnectorStatus(BaseModel):
    connectorId: str  # noqa: N815
    status: str | None
    statusReason: str | None  # noqa: N815
    isActive: bool  # noqa: N815
    isAuthenticated: bool | None  # noqa: N815
    syncRequested: bool  # noqa: N815
    pendingFullSync: bool  # noqa: N815
    throttledUntil: int | None  # noqa: N815
    lastSyncStartedAt: int | None  # noqa: N815
    lastSyncedAt: int | None  # noqa: N815
    progress: dict[str, Any] | None
    lastRun: dict[str, Any] | None  # noqa: N815
    error: str | None


class RunOut(BaseModel):
    id: str
    full: bool
    outcome: str | None
    startedAt: int | None  # noqa: N815
    endedAt: int | None  # noqa: N815
    error: str | None
    throttleResumes: int  # noqa: N815
    counts: dict[str, int]
    failedItems: int | None = None  # noqa: N815


class RunList(BaseModel):
    runs: list[RunOut]


class FailureOut(BaseModel):
    externalId: str | None  # noqa: N815
    recordName: str | None  # noqa: N815
    reason: str | None
    at: int | None


class RunFailures(RunOut):
    failures: list[FailureOut]


class Deleted(BaseModel):
    connectorId: str  # noqa: N815
    deleted: bool
    scheduled: bool
    deletedRecords: int | None  # noqa: N815


class FilterOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    success: bool
    options: list[dict[str, str]]
    page: int
    limit: int
    hasMore: bool  # noqa: N815


# ---- the registry ---------------------------------------------------------------------------------


@router.get("/connector-types", response_model=ConnectorTypeList)
async def list_connector_types(caller: CallerDep) -> dict[str, Any]:
    """Every connector type that can be added, with its metadata and icon URL."""
    return {"connectorTypes": connector_forms.registry()}


@router.get(
    "/connector-types/{connector_type}/form", response_model=ConnectorForm, responses=error_responses(404)
)
async def connector_type_form(
    caller: CallerDep,
    connector_type: str,
    auth_type: Annotated[str | None, Query(alias="authType", max_length=50)] = None,
) -> dict[str, Any]:
    """The config form of a type for one auth type (default: its first)."""
    return connector_forms.type_form(connector_type, auth_type)


@router.get(
    "/connector-types/{connector_type}/icon",
    response_class=Response,
    responses={
        200: {"content": {"image/svg+xml": {}}, "description": "The icon (SVG)."},
        **error_responses(404),
    },
)
async def connector_type_icon(caller: CallerDep, connector_type: str) -> Response:
    """The type's icon (its own `icon.svg`, else the generic one)."""
    return Response(
        connector_forms.icon_svg(connector_type),
        media_type="image/svg+xml",
        headers={
            "Cache-Control": "private, max-age=3600",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
        },
    )


# ---- instances --------------------------------------------------------------------------------------


@router.get("/connectors", response_model=ConnectorList)
async def list_connectors(caller: CallerDep, state: StateDep) -> dict[str, Any]:
    """Your organisation's team instances and your own personal instances, by name."""
    return {"connectors": connector_admin.list_connectors(platform_of(state), caller)}


@router.post(
    "/connectors",
    response_model=ConnectorOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(404, 409),
)
async def create_connector(body: NewConnector, caller: CallerDep, state: StateDep) -> dict[str, Any]:
    """Add an instance (team scope: admins only). The config is validated against the type's form;
    with `check` the connector must start and reach its source first."""
    return await connector_admin.create_connector(
        platform_of(state),
        caller,
        connector_type=body.type,
        name=body.name,
        scope=body.scope,
        auth_type=body.authType,
        config=body.config,
        check=body.check,
    )


@router.get("/connectors/{connector_id}", response_model=ConnectorOut, responses=error_responses(404))
async def get_connector(connector_id: str, caller: CallerDep, state: StateDep) -> dict[str, Any]:
    """One instance; its config (secrets masked) only for those who manage it."""
    return await connector_admin.get_connector(platform_of(state), caller, connector_id)


@router.patch(
    "/connectors/{connector_id}/config", response_model=ConnectorOut, responses=error_responses(404, 409)
)
async def update_config(
    connector_id: str, body: ConfigChange, caller: CallerDep, state: StateDep
) -> dict[str, Any]:
    """Change some config fields (and the name). Omitted secrets, and secrets sent as "••••", keep
    their stored values. Changing an OAuth instance's client settings requires authorising it again."""
    return await connector_admin.update_connector_config(
        platform_of(state), caller, connector_id, body.config, name=body.name, check=body.check
    )


@router.post("/connectors/{connector_id}/enable", response_model=ConnectorOut, responses=error_responses(404))
async def enable_connector(connector_id: str, caller: CallerDep, state: StateDep) -> dict[str, Any]:
    """Enable (the connector must start and reach its source; OAuth ones must be authorised)."""
    return await connector_admin.set_connector_enabled(platform_of(state), caller, connector_id, True)


@router.post(
    "/connectors/{connector_id}/disable", response_model=ConnectorOut, responses=error_responses(404)
)
async def disable_connector(connector_id: str, caller: CallerDep, state: StateDep) -> dict[str, Any]:
    """Disable: scheduled and requested syncs stop (a running one finishes)."""
    return await connector_admin.set_connector_enabled(platform_of(state), caller, connector_id, False)


@router.delete(
    "/connectors/{connector_id}",
    response_model=Deleted,
    responses={
        202: {"model": Deleted, "description": "A sync is running: deletion handed to the sync worker."},
        **error_responses(404, 409),
    },
)
async def delete_connector(
    connector_id: str, caller: CallerDep, state: StateDep, response: Response
) -> dict[str, Any]:
    """Delete the instance and everything it synced (records, edges, sync points, history, config);
    the indexing worker drops its index entries. 202 when a sync is running: the worker deletes it."""
    result = await connector_admin.delete_connector(platform_of(state), caller, connector_id)
    if result["scheduled"]:
        response.status_code = status.HTTP_202_ACCEPTED
    return result


# ---- syncing ----------------------------------------------------------------------------------------


@router.post(
    "/connectors/{connector_id}/sync",
    response_model=SyncRequested,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(404, 409),
)
async def sync_connector(
    connector_id: str, caller: CallerDep, state: StateDep, body: SyncRequest | None = None
) -> dict[str, Any]:
    """Ask the sync workers for a sync now (`full`: a full resync). Follow it at /status or /events."""
    full = body.full if body is not None else False
    return connector_runs.request_sync(platform_of(state), caller, connector_id, full=full)


@router.post(
    "/connectors/{connector_id}/retry-failed",
    response_model=RetryRequested,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(404, 409),
)
async def retry_failed(connector_id: str, caller: CallerDep, state: StateDep) -> dict[str, Any]:
    """Retry what failed: a full sync (items that failed never became records, so they are found again
    by re-listing; unchanged items are not rewritten) and re-indexing of records whose indexing FAILED."""
    return connector_runs.retry_failed(platform_of(state), caller, connector_id)


@router.get(
    "/connectors/{connector_id}/status", response_model=ConnectorStatus, responses=error_responses(404)
)
async def connector_status(connector_id: str, caller: CallerDep, state: StateDep) -> dict[str, Any]:
    """State, the run in progress with its counts so far, the last run, last sync time and error."""
    return connector_runs.connector_status(state.store, caller, connector_id)


@router.get(
    "/connectors/{connector_id}/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`event: status` with the /status body, on every change.",
        },
        **error_responses(404),
    },
)
async def connector_events(
    connector_id: str,
    request: Request,
    caller: CallerDep,
    state: StateDep,
    limit: Annotated[
        int | None, Query(ge=1, le=10_000, description="Stop after this many status events.")
    ] = None,
) -> StreamingResponse:
    """Server-Sent Events: the status now and on every change (keep-alive comments while quiet);
    ends when the client disconnects, after `limit` events, when the instance is deleted, or when
    the session or token it was opened with stops working (`event: ended`)."""
    stream = connector_runs.status_events(
        state.store,
        caller,
        connector_id,
        poll_s=SSE_POLL_S,
        limit=limit,
        still_allowed=lambda: still_signed_in(request, state, caller),
    )
    first = await anext(stream)  # checks access (404) before the response starts

    async def events() -> Any:
        try:
            yield first
            async for chunk in stream:
                if await request.is_disconnected():
                    break
                yield chunk
        finally:  # also when Starlette cancels the response because the client went away
            await stream.aclose()
            log.debug("status stream of connector %s closed", connector_id)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/connectors/{connector_id}/runs", response_model=RunList, responses=error_responses(404))
async def connector_run_history(
    connector_id: str,
    caller: CallerDep,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=connector_runs.MAX_RUNS)] = 20,
) -> dict[str, Any]:
    """The instance's sync runs, newest first, with their counts and number of failed items."""
    return {"runs": connector_runs.connector_runs(state.store, caller, connector_id, limit)}


@router.get(
    "/connectors/{connector_id}/runs/{run_id}/failures",
    response_model=RunFailures,
    responses=error_responses(404),
)
async def connector_run_failures(
    connector_id: str, run_id: str, caller: CallerDep, state: StateDep
) -> dict[str, Any]:
    """One run with the items that failed in it and why (for those who manage the instance)."""
    return connector_runs.run_failures(state.store, caller, connector_id, run_id)


@router.get(
    "/connectors/{connector_id}/filters/{filter_name}/options",
    response_model=FilterOptions,
    responses=error_responses(404),
)
async def dynamic_filter_options(
    connector_id: str,
    filter_name: str,
    caller: CallerDep,
    state: StateDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    search: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> dict[str, Any]:
    """Options of a filter whose choices the connector lists (a form field's `dynamicOptionsUrl`)."""
    return await connector_runs.filter_options(
        platform_of(state),
        caller,
        connector_id,
        filter_name,
        page=page,
        limit=limit,
        search=search,
        cursor=cursor,
    )
