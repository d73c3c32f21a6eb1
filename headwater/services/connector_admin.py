"""Connector instances for signed-in people (the API and web UI): list, add, show, configure, enable,
disable and delete, each checked against `connector_access`'s rules. FastAPI-free: every function
takes the open `Platform` (stores) and the `Actor` asking.

    platform = Platform(settings, store, config_store)
    view = await create_connector(platform, caller, connector_type="Local FS", name="Docs",
                                  scope="personal", config={"folders": "/srv/docs"})
    await update_connector_config(platform, caller, view["id"], {"auth.apiToken": SECRET_MASK})

Secrets are write-only: a view shows a set secret as `SECRET_MASK`, never its value, to anyone (its
owner included); a change that leaves a secret out, or sends the mask back, keeps the stored one.
Names are unique per scope: among the organisation's team instances, and among one person's
personal instances. An OAuth instance is created disabled and unauthorised; it is enabled once it
is authorised (`oauth.start_authorization`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from headwater.connectors.core import lease
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.instances import (
    APPS,
    InstanceStatus,
    create_instance,
    instance_lock,
    list_instances,
    set_status,
    update_instance,
    update_instance_tx,
)
from headwater.events.base import SYNC_EVENTS, SyncActions, sync_event_type
from headwater.models.timeutil import now_ms

from . import config_document, config_schema, local_folders
from .catalog import connector_metadata
from .connector_access import Actor, check_may_create, managed_instance, may_manage, visible_instances
from .connector_access import visible_instance as _visible
from .connector_forms import OAUTH_AUTH_TYPES, icon_url, known_type, type_id
from .connectors import MAX_NAME_LENGTH, apply_enabled, parse_values
from .dry_run import check_config
from .errors import ConfigValueError, ConflictError, ConnectorNotReadyError, DuplicateNameError
from .platform import Platform, config_key

SECRET_MASK = config_document.SECRET_MASK
OAUTH_STATES = "oauthStates"


# ---- views ---------------------------------------------------------------------------------------


def uses_oauth(doc: Mapping[str, Any]) -> bool:
    return str(doc.get("authType") or "") in OAUTH_AUTH_TYPES


def connector_view(doc: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
    """An instance as the API shows it (no config; `get_connector` adds it for those who manage it)."""
    return {
        "id": str(doc["_key"]),
        "name": doc.get("name"),
        "type": doc.get("type"),
        "typeId": type_id(str(doc.get("type") or "")),
        "iconUrl": icon_url(str(doc.get("type") or "")),
        "scope": doc.get("scope"),
        "authType": doc.get("authType"),
        "isActive": bool(doc.get("isActive", True)),
        "isAuthenticated": doc.get("isAuthenticated") if uses_oauth(doc) else None,
        "status": doc.get("status"),
        "statusReason": doc.get("statusReason"),
        "intervalMinutes": doc.get("intervalMinutes"),
        "lastSyncStartedAt": doc.get("lastSyncStartedAt"),
        "lastSyncEndedAt": doc.get("lastSyncEndedAt"),
        "lastRunId": doc.get("lastRunId"),
        "createdBy": doc.get("createdBy"),
        "createdAt": doc.get("createdAtTimestamp"),
        "updatedAt": doc.get("updatedAtTimestamp"),
        "canManage": may_manage(actor, dict(doc)),
    }


def masked_values(fields: list[config_schema.ConfigField], values: Mapping[str, Any]) -> dict[str, Any]:
    """The config values keyed like the form, a set secret shown as SECRET_MASK (unset: absent)."""
    out: dict[str, Any] = {}
    for f in fields:
        value = values.get(f.key)
        if value in (None, "", []) or not f.shown(values):
            continue
        out[f.key] = SECRET_MASK if f.secret else value
    return out


async def _form_and_values(
    platform: Platform, doc: Mapping[str, Any]
) -> tuple[str, list[config_schema.ConfigField], dict[str, Any], dict[str, Any]]:
    stored = await platform.config_store.get(config_key(str(doc["_key"]))) or {}
    meta = connector_metadata(str(doc["type"]))
    auth_type = (stored.get("auth") or {}).get("authType") or config_schema.auth_types_of(meta)[0]
    fields = config_schema.form_fields(meta, auth_type)
    return auth_type, fields, config_document.values_from_config(fields, stored), stored


def list_connectors(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """The instances `actor` may see: their organisation's team instances and their own personal ones."""
    return [connector_view(d, actor) for d in visible_instances(platform.store, actor)]


async def get_connector(platform: Platform, actor: Actor, connector_id: str) -> dict[str, Any]:
    """One instance; with `config` ({authType, values} with secrets masked) for those who manage it."""
    doc = _visible(platform.store, actor, connector_id)
    view = connector_view(doc, actor)
    if view["canManage"]:
        auth_type, fields, values, _ = await _form_and_values(platform, doc)
        view["config"] = {"authType": auth_type, "values": masked_values(fields, values)}
    return view


# ---- adding and changing -------------------------------------------------------------------------


def _clean_name(platform: Platform, actor: Actor, scope: str, name: str, exclude: str | None = None) -> str:
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME_LENGTH:
        raise ConfigValueError("name", f"give a name of 1 to {MAX_NAME_LENGTH} characters")
    for doc in list_instances(platform.store, org_id=actor.org_key):
        if doc["_key"] == exclude or str(doc.get("scope")) != scope:
            continue
        if scope != "team" and doc.get("createdBy") != actor.user_key:
            continue  # personal names are unique per person
        if str(doc.get("name") or "").lower() == clean.lower():
            raise DuplicateNameError(
                f"a {scope} connector named {doc.get('name')!r} exists already — pick another name"
            )
    return clean


def _merge(values: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**values, **changes}
    return {k: v for k, v in merged.items() if v is not None}


async def _require_working(
    platform: Platform, instance: dict[str, Any], config: dict[str, Any], what: str
) -> None:
    report = await check_config(platform, instance, config)
    failed = next((step for step in report.steps if not step.ok), None)
    if failed is not None:
        raise ConnectorNotReadyError(
            f"{what}: {failed.name} failed: {failed.detail} (or send check: false to save it anyway)"
        )


async def create_connector(
    platform: Platform,
    actor: Actor,
    *,
    connector_type: str,
    name: str,
    scope: str = "personal",
    auth_type: str | None = None,
    config: Mapping[str, Any] | None = None,
    check: bool = True,
) -> dict[str, Any]:
    """Add an instance owned by `actor` (team scope: admins only). The config (`{field: value}`,
    names bare or `section.name`) is validated against the type's form; with `check` the connector
    must start and reach its source with it before anything is saved. OAuth instances skip the
    check (they have no tokens yet) and start disabled and unauthorised; others start enabled after
    a check, disabled without one."""
    type_name = known_type(connector_type)
    meta = connector_metadata(type_name)
    scopes = list(meta.get("connectorScopes") or ["personal"])
    if scope not in scopes:
        raise ConfigValueError("scope", f"{type_name} can be {' or '.join(scopes)}, not {scope!r}")
    if local_folders.is_local_fs(type_name):
        local_folders.check_may_manage(actor, scope)
    check_may_create(actor, scope)
    chosen_auth = auth_type or config_schema.auth_types_of(meta)[0]
    fields = config_schema.form_fields(meta, chosen_auth)
    values = _merge(config_document.defaults(fields), parse_values(fields, config or {}))
    config_document.check_complete(type_name, fields, values)
    document = config_document.build_config(
        fields, values, auth_type=chosen_auth, scope=scope, connector_type=type_name
    )
    if local_folders.is_local_fs(type_name):  # before the connector looks at the disk
        local_folders.check_folders(platform.settings, document, within_roots=True)
    clean_name = _clean_name(platform, actor, scope, name)
    oauth = chosen_auth in OAUTH_AUTH_TYPES
    planned = {
        "_key": str(uuid.uuid4()),
        "name": clean_name,
        "type": type_name,
        "scope": scope,
        "orgId": actor.org_key,
        "createdBy": actor.user_key,
    }
    if check and not oauth:
        await _require_working(platform, planned, document, f"cannot add {clean_name}")
    doc = create_instance(
        platform.store,
        type=type_name,
        connector_id=planned["_key"],
        name=clean_name,
        scope=scope,
        org_id=actor.org_key,
        created_by=actor.user_key,
        interval_minutes=config_document.interval_minutes(fields, values),
        is_active=check and not oauth,
    )
    try:
        await platform.config_store.put(config_key(doc["_key"]), document)
    except BaseException:
        with platform.store.transaction() as wtx:  # no instance without its config
            wtx.delete_nodes(APPS, [doc["_key"]])
        raise
    doc = update_instance(
        platform.store, doc["_key"], authType=chosen_auth, isAuthenticated=False if oauth else None
    )
    return connector_view(doc, actor) | {
        "config": {"authType": chosen_auth, "values": masked_values(fields, values)}
    }


def _without_kept_secrets(
    fields: list[config_schema.ConfigField], changes: Mapping[str, Any]
) -> dict[str, Any]:
    """The changes minus secrets sent back masked (a form re-submitted as shown keeps them)."""
    kept = {}
    for name, value in changes.items():
        field = config_schema.find_field(fields, name)
        if field.secret and value == SECRET_MASK:
            continue
        kept[name] = value
    return kept


async def update_connector_config(
    platform: Platform,
    actor: Actor,
    connector_id: str,
    changes: Mapping[str, Any],
    *,
    name: str | None = None,
    check: bool = True,
) -> dict[str, Any]:
    """Change some config fields (others, and secrets left out or sent as SECRET_MASK, keep their
    values; None clears a field) and optionally the name. A changed config is validated whole and,
    with `check` (and not OAuth), must work before it is saved. Changing an OAuth instance's auth
    fields (client id/secret) drops its tokens: it must be authorised again. A change of sync
    filters makes the next sync a full one. Returns the view with `changed`."""
    doc = managed_instance(platform.store, actor, connector_id)
    local = local_folders.is_local_fs(str(doc.get("type")))
    if local:
        local_folders.check_may_manage(actor)
    auth_type, fields, values, stored = await _form_and_values(platform, doc)
    parsed = parse_values(fields, _without_kept_secrets(fields, changes))
    new_values = _merge(values, parsed)
    config_document.check_complete(str(doc["type"]), fields, new_values)
    document = config_document.build_config(
        fields,
        new_values,
        auth_type=auth_type,
        scope=str(doc.get("scope") or "personal"),
        connector_type=str(doc["type"]),
        base=stored,
    )
    if local:
        local_folders.check_folders(platform.settings, document, within_roots=True, previous=stored)
    oauth = auth_type in OAUTH_AUTH_TYPES
    reauth = oauth and document.get("auth") != stored.get("auth")
    if reauth:
        document["credentials"] = None
    changed = document != stored
    fields_update: dict[str, Any] = {"intervalMinutes": config_document.interval_minutes(fields, new_values)}
    if name is not None and name.strip() != doc.get("name"):
        fields_update["name"] = _clean_name(
            platform, actor, str(doc.get("scope")), name, exclude=connector_id
        )
    if changed and check and not oauth:
        await _require_working(platform, doc, document, f"{doc.get('name')}: config not saved")
    if changed:
        await platform.config_store.put(config_key(connector_id), document)
    if (document.get("filters") or {}).get("sync") != (stored.get("filters") or {}).get("sync") and stored:
        fields_update["pendingFullSync"] = True
    if reauth:
        fields_update["isAuthenticated"] = False
    with platform.store.transaction() as tx:
        tx.lock(instance_lock(connector_id))
        current = update_instance_tx(tx, connector_id, fields_update)
        stuck = current.get("status") in (InstanceStatus.FAILED.value, InstanceStatus.NEEDS_REAUTH.value)
        if (
            changed
            and check
            and not oauth
            and stuck
            and not lease.is_live(lease.read_lease(tx, connector_id))
        ):
            current = set_status(tx, connector_id, InstanceStatus.IDLE, None)
    view = connector_view(current, actor)
    return view | {
        "config": {"authType": auth_type, "values": masked_values(fields, new_values)},
        "changed": changed or "name" in fields_update,
    }


async def set_connector_enabled(
    platform: Platform, actor: Actor, connector_id: str, enabled: bool
) -> dict[str, Any]:
    """Enable (after the connector starts and reaches its source with its stored config; an OAuth
    instance must be authorised first) or disable (scheduled and requested syncs stop; a running
    one finishes). Returns the view with `changed`."""
    doc = managed_instance(platform.store, actor, connector_id)
    if bool(doc.get("isActive", True)) == enabled:
        return connector_view(doc, actor) | {"changed": False}
    if enabled:
        if local_folders.is_local_fs(str(doc.get("type"))):  # the check reads the server's disk
            local_folders.check_may_manage(actor)
        if uses_oauth(doc) and not doc.get("isAuthenticated"):
            raise ConnectorNotReadyError(
                f"{doc.get('name')} is not authorised yet: authorise it first "
                f"(GET /api/v1/connectors/{connector_id}/oauth/authorize)"
            )
        stored = await platform.config_store.get(config_key(connector_id)) or {}
        if local_folders.is_local_fs(str(doc.get("type"))):
            local_folders.check_folders(platform.settings, stored, within_roots=False)
        report = await check_config(platform, doc, stored)
        failed = next((step for step in report.steps if not step.ok), None)
        if failed is not None:
            raise ConnectorNotReadyError(
                f"{doc.get('name')} cannot be enabled: {failed.name} failed: {failed.detail} — fix its config"
            )
    current = await apply_enabled(platform, connector_id, enabled)
    return connector_view(current, actor) | {"changed": True}


# ---- deleting ------------------------------------------------------------------------------------


async def delete_connector(platform: Platform, actor: Actor, connector_id: str) -> dict[str, Any]:
    """Delete the instance with everything it synced (records, their edges, record groups, groups,
    sync points, run history, its config and OAuth flow state); the indexing worker removes its
    index entries on the `bulkDeleteRecords` event published in the same transaction. When a worker
    is syncing it right now, the deletion is handed to the sync workers (`{type}.delete` on
    `sync-events`, which cancels the run first) and the instance is disabled meanwhile:
    `{"deleted": False, "scheduled": True}`."""
    doc = managed_instance(platform.store, actor, connector_id)
    with platform.store.transaction() as tx:
        tx.lock(instance_lock(connector_id))
        syncing = lease.is_live(lease.read_lease(tx, connector_id))
        if syncing:
            update_instance_tx(tx, connector_id, {"isActive": False, "deleteRequestedAt": now_ms()})
            tx.append_event(
                SYNC_EVENTS,
                sync_event_type(str(doc["type"]), SyncActions.DELETE),
                {"orgId": doc.get("orgId"), "connector": doc.get("type"), "connectorId": connector_id},
                key=connector_id,
            )
        states = [d["_key"] for d in tx.find_nodes(OAUTH_STATES) if d.get("connectorId") == connector_id]
        tx.delete_nodes(OAUTH_STATES, states)
    if syncing:
        return {"connectorId": connector_id, "deleted": False, "scheduled": True, "deletedRecords": None}
    result = await SyncEngine(platform.store, platform.config_store).delete_instance(connector_id)
    if result is None:
        raise ConflictError(f"{doc.get('name')} was deleted meanwhile")
    return {
        "connectorId": connector_id,
        "deleted": True,
        "scheduled": False,
        "deletedRecords": int(result.get("deletedRecords") or 0),
    }
