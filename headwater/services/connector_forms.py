"""The connector registry as the API and web UI show it: each type with its metadata and icon, and
its config form as data a UI renders (sections, field types, defaults, static options or where to
fetch dynamic ones, conditional display, which fields are secret).

A form field (one entry of a section's `fields`)::

    {key: "auth.apiToken", name, label, description, type: TEXT | PASSWORD | CHECKBOX | SELECT |
     MULTISELECT | NUMBER | URL | EMAIL | FILE | TEXTAREA (auth and sync fields) or string | boolean |
     number | datetime | list | multiselect (filters), required, default, secret,
     options: [{id, label}] (static choices), dynamicOptionsUrl (a filter whose options the
     connector fetches; `{connectorId}` is filled by the UI), showIf: {field, operator, value} (show
     the field only while another field's value matches), operators, defaultOperator, minLength,
     maxLength, acceptedFileTypes}

Icons: a connector ships `icon.svg` next to its module (its package folder); the others get the
generic icon. They are served at `ICON_URL`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from headwater.connectors.core.connector import BaseConnector
from headwater.connectors.core.definitions import AuthType
from headwater.connectors.core.factory import UnknownConnectorError, normalize_connector_name
from headwater.connectors.core.filters import OptionSourceType
from headwater.errors import NotFoundError

from . import config_schema as schema
from .catalog import connector_class, connector_metadata, connector_types, type_name_of
from .local_folders import api_scopes

API_PREFIX = "/api/v1"
ICON_URL = API_PREFIX + "/connector-types/{type_id}/icon"
DYNAMIC_OPTIONS_URL = API_PREFIX + "/connectors/{{connectorId}}/filters/{name}/options"
OAUTH_CALLBACK_PATH = API_PREFIX + "/oauth/callback"
OAUTH_AUTH_TYPES = frozenset({AuthType.OAUTH.value, AuthType.OAUTH_ADMIN_CONSENT.value})
DEFAULT_ICON = Path(__file__).with_name("icons") / "connector.svg"
SECTION_TITLES = {
    schema.Section.AUTH: "Authentication",
    schema.Section.SYNC: "Sync",
    schema.Section.SYNC_FILTERS: "Sync filters (what is fetched)",
    schema.Section.INDEXING_FILTERS: "Indexing filters (what is indexed)",
}


class ConnectorTypeNotFoundError(NotFoundError):
    """No connector type is registered under the name the caller gave."""


def known_type(type_name: str) -> str:
    """The canonical name of a connector type; ConnectorTypeNotFoundError (a 404) when unknown."""
    try:
        return type_name_of(type_name)
    except UnknownConnectorError as exc:
        raise ConnectorTypeNotFoundError(str(exc)) from None


def type_id(type_name: str) -> str:
    """The URL-safe id of a connector type ("Local FS" -> "localfs"); the API accepts either."""
    return normalize_connector_name(type_name)


def icon_url(type_name: str) -> str:
    return ICON_URL.format(type_id=type_id(type_name))


def _scopes_of(meta: Mapping[str, Any]) -> list[str]:
    oauth = ((meta.get("config") or {}).get("auth") or {}).get("oauthConfigs") or {}
    return sorted({str(s) for cfg in oauth.values() for s in (cfg.get("scopes") or [])})


def registry() -> list[dict[str, Any]]:
    """Every connector type that can be added (hidden ones left out), by group then name."""
    out = []
    for entry in connector_types():
        meta = connector_metadata(entry.type)
        config = meta.get("config") or {}
        out.append(
            entry.as_dict()
            | {
                "id": type_id(entry.type),
                "name": entry.type,
                "appGroup": entry.group,
                "iconUrl": icon_url(entry.type),
                "scopes": api_scopes(entry.type, list(entry.scopes)),
                "oauthScopes": _scopes_of(meta),
                "usesOAuth": any(t in OAUTH_AUTH_TYPES for t in entry.auth_types),
                "documentationLinks": list(config.get("documentationLinks") or []),
                "permissionModel": config.get("permissionModel"),
            }
        )
    return out


def icon_svg(type_name: str) -> bytes:
    """The type's own `icon.svg` (beside its module), else the generic connector icon."""
    cls: type[BaseConnector] = connector_class(known_type(type_name))
    module = sys.modules.get(cls.__module__)
    module_file = getattr(module, "__file__", None)
    if module_file:
        own = Path(module_file).with_name("icon.svg")
        if own.is_file():
            return own.read_bytes()
    return DEFAULT_ICON.read_bytes()


def _raw_fields(meta: Mapping[str, Any], auth_type: str) -> dict[str, dict[str, Any]]:
    """The builder's field dicts keyed like the form (`section.name`): what ConfigField leaves out
    (option labels, where options come from)."""
    config = meta.get("config") or {}
    auth = config.get("auth") or {}
    out: dict[str, dict[str, Any]] = {}
    for f in ((auth.get("schemas") or {}).get(auth_type) or {}).get("fields") or []:
        out[f"auth.{f['name']}"] = f
    for f in (config.get("sync") or {}).get("customFields") or []:
        out[f"sync.{f['name']}"] = f
    for category in ("sync", "indexing"):
        filters = ((config.get("filters") or {}).get(category) or {}).get("schema") or {}
        for f in filters.get("fields") or []:
            out[f"filters.{category}.{f['name']}"] = f
    return out


def _options(raw: Mapping[str, Any], field: schema.ConfigField) -> list[dict[str, str]]:
    given = raw.get("options") or []
    if not given:
        return [{"id": o, "label": o} for o in field.options]
    out = []
    for option in given:
        if isinstance(option, Mapping):
            ident = str(option.get("id", option.get("value", "")))
            out.append({"id": ident, "label": str(option.get("label") or ident)})
        else:
            out.append({"id": str(option), "label": str(option)})
    return out


def field_schema(field: schema.ConfigField, raw: Mapping[str, Any]) -> dict[str, Any]:
    """One field as the form schema shows it (see the module docstring)."""
    out: dict[str, Any] = {
        "key": field.key,
        "name": field.name,
        "label": field.label,
        "description": field.description,
        "type": field.kind,
        "required": field.required,
        "default": field.default,
        "secret": field.secret,
        "options": _options(raw, field),
        "dynamicOptionsUrl": None,
        "showIf": None,
    }
    if field.is_filter:
        out["operators"] = list(field.operators)
        out["defaultOperator"] = field.default_operator
        if raw.get("optionSourceType") == OptionSourceType.DYNAMIC.value:
            out["dynamicOptionsUrl"] = DYNAMIC_OPTIONS_URL.format(name=field.name)
    if field.show_when is not None:
        other, operator, value = field.show_when
        out["showIf"] = {"field": f"{field.section.value}.{other}", "operator": operator, "value": value}
    for key, value in (
        ("minLength", field.min_length),
        ("maxLength", field.max_length),
        ("acceptedFileTypes", list(field.accepted_file_types) or None),
    ):
        if value is not None:
            out[key] = value
    return out


def oauth_summary(meta: Mapping[str, Any], auth_type: str) -> dict[str, Any] | None:
    """What the UI tells a user about an OAuth auth type: scopes asked for, the callback URL to
    register at the vendor (relative to the server's public address)."""
    if auth_type not in OAUTH_AUTH_TYPES:
        return None
    config = ((meta.get("config") or {}).get("auth") or {}).get("oauthConfigs") or {}
    declared = config.get(auth_type) or {}
    return {
        "authorizeUrl": declared.get("authorizeUrl"),
        "scopes": list(declared.get("scopes") or []),
        "callbackPath": OAUTH_CALLBACK_PATH,
    }


def type_form(type_name: str, auth_type: str | None = None) -> dict[str, Any]:
    """The config form of a connector type for one auth type (default: its first): sections
    `auth`, `sync`, `filters.sync`, `filters.indexing`, each with its fields."""
    canonical = known_type(type_name)
    meta = connector_metadata(canonical)
    auth_types = schema.auth_types_of(meta)
    chosen = auth_type or auth_types[0]
    fields = schema.form_fields(meta, chosen)  # ConfigValueError for an auth type it lacks
    raw = _raw_fields(meta, chosen)
    sections = [
        {
            "id": section.value,
            "title": title,
            "fields": [field_schema(f, raw.get(f.key, {})) for f in fields if f.section is section],
        }
        for section, title in SECTION_TITLES.items()
    ]
    return {
        "type": canonical,
        "id": type_id(canonical),
        "authType": chosen,
        "authTypes": auth_types,
        "scopes": api_scopes(canonical, list(meta.get("connectorScopes") or ["personal"])),
        "sections": sections,
        "oauth": oauth_summary(meta, chosen),
    }
