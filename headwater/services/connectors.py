"""Connector instances: adding one with its config, changing the config, enabling and disabling.

An instance is an `apps` node (`headwater.connectors.core.instances`); its config document lives
encrypted in the config store at `/services/connectors/{id}/config` (shape: `config_document`).
Instances are named: names are unique (case-insensitive) so that people and scripts can use them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from headwater.connectors.core import lease
from headwater.connectors.core.engine import INSTANCE_DISABLED, call_instance_hook
from headwater.connectors.core.instances import (
    APPS,
    InstanceStatus,
    create_instance,
    instance_lock,
    list_instances,
    require_instance,
    set_status,
    update_instance,
    update_instance_tx,
)
from headwater.events.base import ENTITY_EVENTS, EntityEventTypes
from headwater.settings import Settings
from headwater.store.base import Transaction

from . import config_document, config_input, local_folders
from . import config_schema as schema
from .catalog import connector_metadata, type_name_of
from .dry_run import check_config
from .errors import ConfigValueError, ConnectorNotReadyError, DuplicateNameError
from .platform import (
    Platform,
    config_key,
    default_creator,
    find_instance,
    find_user,
    open_platform,
    organisation,
)

MAX_NAME_LENGTH = 100


def connector_form(connector_type: str, auth_type: str | None = None) -> list[schema.ConfigField]:
    """The config form of a connector type (what `add` asks for)."""
    return schema.form_fields(connector_metadata(connector_type), auth_type)


def parse_values(
    fields: list[schema.ConfigField], given: Mapping[str, Any], *, file_paths: bool = False
) -> dict[str, Any]:
    """`{field name: raw value}` (names bare or `section.name`) -> typed values keyed `section.name`;
    a None value clears the field. `file_paths`: FILE fields name files to read (the CLI only)."""
    return {
        (f := schema.find_field(fields, name)).key: config_input.coerce(f, raw, file_paths=file_paths)
        for name, raw in given.items()
    }


def _merge(values: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**values, **changes}
    return {k: v for k, v in merged.items() if v is not None}


def instance_view(doc: Mapping[str, Any], form: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An instance as callers show it (never a secret)."""
    view = {
        "id": doc["_key"],
        "name": doc.get("name"),
        "type": doc.get("type"),
        "scope": doc.get("scope"),
        "isActive": bool(doc.get("isActive", True)),
        "status": doc.get("status"),
        "statusReason": doc.get("statusReason"),
        "intervalMinutes": doc.get("intervalMinutes"),
        "lastRunId": doc.get("lastRunId"),
    }
    if form is not None:
        view["config"] = form
    return view


def _check_name(platform: Platform, name: str) -> str:
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME_LENGTH:
        raise ConfigValueError("name", f"give a name of 1 to {MAX_NAME_LENGTH} characters")
    for doc in list_instances(platform.store):
        if str(doc.get("name", "")).lower() == clean.lower():
            raise DuplicateNameError(
                f"a connector instance named {doc.get('name')!r} exists already — pick another --name, "
                f"or change it with `headwater connectors configure {doc.get('name')}`"
            )
    return clean


async def _require_working(
    platform: Platform, instance: dict[str, Any], config: dict[str, Any], what: str, skip_hint: bool = True
) -> None:
    """ConnectorNotReadyError, with the connector's own reason, unless the connector starts and
    reaches its source with `config` (tried against a throwaway store: nothing is written)."""
    report = await check_config(platform, instance, config)
    failed = next((step for step in report.steps if not step.ok), None)
    if failed is not None:
        hint = " (or pass --skip-check to save it anyway)" if skip_hint else ""
        raise ConnectorNotReadyError(f"{what}: {failed.name} failed: {failed.detail}{hint}")


async def create_instance_with_config(
    settings: Settings,
    connector_type: str,
    name: str,
    config: Mapping[str, Any],
    scope: str = "personal",
    created_by: str | None = None,
    *,
    auth_type: str | None = None,
    check: bool = True,
    file_paths: bool = False,
) -> dict[str, Any]:
    """Add a connector instance of `connector_type` named `name` with `config` (field -> value, text
    or typed), created by the user with email `created_by` (default: the first admin). With
    `file_paths` (the CLI, on the server) a FILE field's value is a path whose file is read.

    The config is checked field by field, then (with `check`) the connector is started with it and
    its connection tested, all before anything is written: a config that does not work is refused
    with the connector's reason. The instance starts enabled and IDLE; without `check` it starts
    disabled (enabling it runs the check)."""
    type_name = type_name_of(connector_type)
    meta = connector_metadata(type_name)
    scopes = list(meta.get("connectorScopes") or ["personal"])
    if scope not in scopes:
        raise ConfigValueError("scope", f"{type_name} can be {' or '.join(scopes)}, not {scope!r}")
    chosen_auth = auth_type or schema.auth_types_of(meta)[0]
    fields = schema.form_fields(meta, chosen_auth)
    values = _merge(config_document.defaults(fields), parse_values(fields, config, file_paths=file_paths))
    config_document.check_complete(type_name, fields, values)
    document = config_document.build_config(
        fields, values, auth_type=chosen_auth, scope=scope, connector_type=type_name
    )
    if local_folders.is_local_fs(type_name):  # the operator may name any folder but Headwater's own
        local_folders.check_folders(settings, document, within_roots=False)
    async with open_platform(settings) as platform:
        clean_name = _check_name(platform, name)
        with platform.store.read() as tx:
            org = organisation(tx)
            creator = find_user(tx, created_by) if created_by else default_creator(tx)
        planned = {
            "_key": str(uuid.uuid4()),
            "name": clean_name,
            "type": type_name,
            "scope": scope,
            "orgId": str(org["_key"]),
            "createdBy": str(creator["_key"]),
        }
        if check:
            await _require_working(platform, planned, document, f"cannot add {clean_name}")
        doc = create_instance(
            platform.store,
            type=type_name,
            connector_id=planned["_key"],
            name=clean_name,
            scope=scope,
            org_id=planned["orgId"],
            created_by=planned["createdBy"],
            interval_minutes=config_document.interval_minutes(fields, values),
            is_active=check,
        )
        try:
            await platform.config_store.put(config_key(doc["_key"]), document)
        except BaseException:
            with platform.store.transaction() as wtx:  # no instance without its config
                wtx.delete_nodes(APPS, [doc["_key"]])
            raise
    return instance_view(doc, config_document.masked_form(fields, values))


async def instance_form(
    settings: Settings, name: str
) -> tuple[dict[str, Any], list[schema.ConfigField], dict[str, Any]]:
    """(instance, its form, its stored values): what `configure` starts from."""
    async with open_platform(settings) as platform:
        doc = find_instance(platform.store, name)
        stored = await platform.config_store.get(config_key(doc["_key"])) or {}
    auth_type = (stored.get("auth") or {}).get("authType")
    fields = schema.form_fields(connector_metadata(str(doc["type"])), auth_type)
    return doc, fields, config_document.values_from_config(fields, stored)


def _clear_failure_tx(tx: Transaction, connector_id: str) -> dict[str, Any]:
    """A FAILED / NEEDS_REAUTH instance that now starts goes back to IDLE, unless a sync holds it
    (the caller holds the instance lock)."""
    doc = require_instance(tx, connector_id)
    stuck = doc.get("status") in (InstanceStatus.FAILED.value, InstanceStatus.NEEDS_REAUTH.value)
    if stuck and not lease.is_live(lease.read_lease(tx, connector_id)):
        doc = set_status(tx, connector_id, InstanceStatus.IDLE, None)
    return doc


def _clear_failure(platform: Platform, connector_id: str) -> dict[str, Any]:
    with platform.store.transaction() as tx:
        tx.lock(instance_lock(connector_id))
        return _clear_failure_tx(tx, connector_id)


async def configure(
    settings: Settings,
    name: str,
    changes: Mapping[str, Any],
    *,
    check: bool = True,
    file_paths: bool = False,
) -> dict[str, Any]:
    """Change some fields of an instance's config (the others keep their values; a None value
    clears a field); returns the instance view with `changed`. A changed config is checked whole,
    and (with `check`) the connector must start and reach its source with it, before it is saved.
    An instance that FAILED or NEEDS_REAUTH and passes the check goes back to IDLE."""
    async with open_platform(settings) as platform:
        doc = find_instance(platform.store, name)
        key = config_key(doc["_key"])
        stored = await platform.config_store.get(key) or {}
        auth = stored.get("auth") or {}
        meta = connector_metadata(str(doc["type"]))
        auth_type = auth.get("authType") or schema.auth_types_of(meta)[0]
        fields = schema.form_fields(meta, auth_type)
        parsed = parse_values(fields, changes, file_paths=file_paths)
        values = _merge(config_document.values_from_config(fields, stored), parsed)
        config_document.check_complete(str(doc["type"]), fields, values)
        document = config_document.build_config(
            fields,
            values,
            auth_type=auth_type,
            scope=str(doc.get("scope") or "personal"),
            connector_type=str(doc["type"]),
            base=stored,
        )
        if local_folders.is_local_fs(str(doc["type"])):
            local_folders.check_folders(settings, document, within_roots=False)
        changed = document != stored
        if changed and check:
            await _require_working(platform, doc, document, f"{doc.get('name')}: config not saved")
        if changed:
            await platform.config_store.put(key, document)
        doc = update_instance(
            platform.store, doc["_key"], intervalMinutes=config_document.interval_minutes(fields, values)
        )
        if changed and check:
            doc = _clear_failure(platform, doc["_key"])
    return instance_view(doc, config_document.masked_form(fields, values)) | {"changed": changed}


async def set_enabled(settings: Settings, name: str, enabled: bool) -> dict[str, Any]:
    """Enable or disable an instance; returns its view with `changed`. Enabling first starts the
    connector with its stored config and tests its connection, writing nothing
    (ConnectorNotReadyError with the reason when that fails), as the reference's toggle does;
    disabling stops scheduled and requested syncs (a sync running now finishes)."""
    async with open_platform(settings) as platform:
        doc = find_instance(platform.store, name)
        connector_id = str(doc["_key"])
        if bool(doc.get("isActive", True)) == enabled:
            return instance_view(doc) | {"changed": False}
        if enabled:
            stored = await platform.config_store.get(config_key(connector_id)) or {}
            if local_folders.is_local_fs(str(doc["type"])):
                local_folders.check_folders(settings, stored, within_roots=False)
            what = f"{doc.get('name')} cannot be enabled"
            try:
                await _require_working(platform, doc, stored, what, skip_hint=False)
            except ConnectorNotReadyError as exc:
                raise ConnectorNotReadyError(
                    f"{exc} — fix it with `headwater connectors configure {doc.get('name')}`"
                ) from None
        doc = await apply_enabled(platform, connector_id, enabled)
    return instance_view(doc) | {"changed": True}


async def apply_enabled(platform: Platform, connector_id: str, enabled: bool) -> dict[str, Any]:
    """Write the switch once its checks passed (the CLI's and the API's paths share this): the
    instance's `isActive`, a FAILED / NEEDS_REAUTH status cleared on enable, the APP_ENABLED /
    APP_DISABLED event in the same transaction; after a disable, the connector's best-effort
    `on_instance_disabled` hook (e.g. the source's webhook subscriptions go). Returns the instance."""
    event = EntityEventTypes.APP_ENABLED if enabled else EntityEventTypes.APP_DISABLED
    with platform.store.transaction() as tx:
        tx.lock(instance_lock(connector_id))
        if enabled:
            _clear_failure_tx(tx, connector_id)
        doc = update_instance_tx(tx, connector_id, {"isActive": enabled})
        tx.append_event(
            ENTITY_EVENTS,
            event.value,
            {"orgId": doc.get("orgId"), "appId": connector_id, "connector": doc.get("type")},
            key=connector_id,
        )
    if not enabled:
        await call_instance_hook(platform.store, platform.config_store, doc, INSTANCE_DISABLED)
    return doc


async def ensure_name_free(settings: Settings, name: str) -> None:
    """DuplicateNameError (or ConfigValueError) now, before anyone is asked for a config."""
    async with open_platform(settings, with_config=False) as platform:
        _check_name(platform, name)


async def show(settings: Settings, name: str) -> dict[str, Any]:
    """An instance with its config form and values (secrets masked)."""
    doc, fields, values = await instance_form(settings, name)
    return instance_view(doc, config_document.masked_form(fields, values))
