"""A connector's config values as the stored document (reference §9.3 shape:
`{auth: {...values, authType, connectorScope, connectorType}, sync: {selectedStrategy,
scheduledConfig, ...custom values}, filters: {sync: {values}, indexing: {values}}, credentials,
oauth}`) and back, and as people may see them: secrets masked, filters as `operator value`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .config_input import coerce
from .config_schema import ConfigField, Section
from .errors import MissingFieldsError

SECRET_MASK = "••••"


def check_complete(connector: str, fields: list[ConfigField], values: Mapping[str, Any]) -> None:
    """MissingFieldsError naming every required field (that applies) without a value."""
    missing = [
        f"{f.name} ({f.label})" if f.label != f.name else f.name
        for f in fields
        if f.required and f.shown(values) and values.get(f.key) in (None, "", [])
    ]
    if missing:
        raise MissingFieldsError(connector, missing)


def defaults(fields: list[ConfigField]) -> dict[str, Any]:
    """The schema defaults, as values (filters without a default stay unset)."""
    out: dict[str, Any] = {}
    for f in fields:
        if f.is_filter or f.default in (None, "", []):
            continue
        out[f.key] = coerce(f, f.default) if isinstance(f.default, str) else f.default
    return out


def values_from_config(fields: list[ConfigField], config: Mapping[str, Any]) -> dict[str, Any]:
    """The values stored in a config document, keyed like the form."""
    auth = config.get("auth") or {}
    sync = config.get("sync") or {}
    filters = config.get("filters") or {}
    out: dict[str, Any] = {}
    for f in fields:
        if f.section is Section.AUTH:
            value = auth.get(f.name)
        elif f.section is Section.SYNC and f.name == "strategy":
            value = sync.get("selectedStrategy")
        elif f.section is Section.SYNC and f.name == "intervalMinutes":
            value = (sync.get("scheduledConfig") or {}).get("intervalMinutes")
        elif f.section is Section.SYNC:
            value = sync.get(f.name)
        else:
            category = f.section.value.split(".", 1)[1]
            value = ((filters.get(category) or {}).get("values") or {}).get(f.name)
        if value is not None:
            out[f.key] = value
    return out


def build_config(
    fields: list[ConfigField],
    values: Mapping[str, Any],
    *,
    auth_type: str,
    scope: str,
    connector_type: str,
    base: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The stored config document (reference §9.3 shape) with `values`, keeping whatever `base`
    holds outside the form (OAuth credentials, flow state)."""
    doc: dict[str, Any] = {k: v for k, v in (base or {}).items()}
    auth = {"authType": auth_type, "connectorScope": scope, "connectorType": connector_type}
    sync: dict[str, Any] = {}
    filters: dict[str, dict[str, Any]] = {"sync": {"values": {}}, "indexing": {"values": {}}}
    for f in fields:
        value = values.get(f.key)
        if value is None or not f.shown(values):
            continue
        if f.section is Section.AUTH:
            auth[f.name] = value
        elif f.section is Section.SYNC and f.name == "strategy":
            sync["selectedStrategy"] = value
        elif f.section is Section.SYNC and f.name == "intervalMinutes":
            sync["scheduledConfig"] = {"intervalMinutes": value}
        elif f.section is Section.SYNC:
            sync[f.name] = value
        else:
            filters[f.section.value.split(".", 1)[1]]["values"][f.name] = value
    doc.update({"auth": auth, "sync": sync, "filters": filters})
    doc.setdefault("credentials", None)
    doc.setdefault("oauth", None)
    return doc


def interval_minutes(fields: list[ConfigField], values: Mapping[str, Any]) -> float | None:
    """How often the scheduler syncs the instance: None unless its strategy is SCHEDULED."""
    strategy = values.get("sync.strategy")
    interval = next((f for f in fields if f.key == "sync.intervalMinutes"), None)
    if interval is None or (strategy is not None and strategy != "SCHEDULED"):
        return None
    value = values.get(interval.key)
    return float(value) if value else None


def display_value(field: ConfigField, value: Any) -> str:
    """How a value is shown to people: secrets masked, filters as `operator value`."""
    if value in (None, "", []):
        return ""
    if field.secret:
        return SECRET_MASK
    if field.is_filter and isinstance(value, Mapping):
        shown = value.get("value")
        if isinstance(shown, list):
            shown = ", ".join(str(v) for v in shown)
        elif isinstance(shown, Mapping):
            shown = "..".join(_iso(shown.get(k)) for k in ("start", "end"))
        return (
            f"{value.get('operator')} {shown}".strip()
            if shown not in (None, "")
            else str(value.get("operator"))
        )
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _iso(ms: Any) -> str:
    return "" if ms is None else datetime.fromtimestamp(int(ms) / 1000, tz=UTC).date().isoformat()


def masked_form(fields: list[ConfigField], values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The form with its values as people may see them (API responses, `--json`): secrets masked."""
    return [
        {
            "field": f.key,
            "label": f.label,
            "required": f.required,
            "secret": f.secret,
            "value": display_value(f, values.get(f.key)) if f.secret or f.is_filter else values.get(f.key),
        }
        for f in fields
        if f.shown(values)
    ]
