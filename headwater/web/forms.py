"""Connector config forms in HTML: what the form posts, turned into the `{field key: raw value}`
changes the connector services take, and a service's complaint turned into a message next to the
field it is about.

Inputs are named by field key (`auth.apiToken`, `sync.folders`, `filters.sync.file_extensions`).
A filter posts its operator as `<key>.operator` beside its value; a checkbox posts a hidden
`false` before its `true`, so an unticked box is sent too. A secret left empty keeps its stored
value: the page never holds a secret, so it cannot send one back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from starlette.datastructures import FormData

from headwater.connectors.core.filters import RELATIVE_DAYS, FilterOperator
from headwater.services.errors import ConfigValueError, MissingFieldsError

VALUELESS_OPERATORS = frozenset(
    {FilterOperator.IS_EMPTY.value, FilterOperator.IS_NOT_EMPTY.value} | {op.value for op in RELATIVE_DAYS}
)
MULTI_KINDS = frozenset({"MULTISELECT", "multiselect"})
OPERATOR_SUFFIX = ".operator"


def form_fields(form_schema: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [f for section in form_schema.get("sections") or [] for f in section.get("fields") or []]


def _is_filter(field: Mapping[str, Any]) -> bool:
    return str(field["key"]).startswith("filters.")


def _last(form: FormData, key: str) -> str | None:
    values = [v for v in form.getlist(key) if isinstance(v, str)]
    return values[-1] if values else None


def submitted_values(form_schema: Mapping[str, Any], form: FormData, *, updating: bool) -> dict[str, Any]:
    """The changes a posted form asks for. Creating: only fields given a value. Updating: every
    field on the form, an emptied one as None (cleared), secrets left empty omitted (kept)."""
    changes: dict[str, Any] = {}
    for field in form_fields(form_schema):
        key = str(field["key"])
        if key not in form and f"{key}{OPERATOR_SUFFIX}" not in form:
            continue  # not on the page (a hidden conditional field is disabled, so not posted)
        if field.get("type") in MULTI_KINDS:
            raw: Any = [v for v in form.getlist(key) if isinstance(v, str) and v]
            raw = raw or None
        else:
            raw = _last(form, key)
            raw = raw if raw is None or raw.strip() else None
        if _is_filter(field):
            raw = _filter_text(field, form.get(f"{key}{OPERATOR_SUFFIX}"), raw)
        if field.get("secret") and raw is None:
            continue
        if raw is None and not updating:
            continue
        changes[key] = raw
    return changes


def _filter_text(field: Mapping[str, Any], operator: Any, raw: Any) -> Any:
    """`operator:value` (the form the config services parse), or the operator alone for those
    that take no value."""
    op = operator if isinstance(operator, str) and operator in (field.get("operators") or []) else None
    if op is not None and op in VALUELESS_OPERATORS:
        return op
    if raw is None:
        return None
    text = ", ".join(raw) if isinstance(raw, list) else str(raw)
    return f"{op}:{text}" if op else text


def shown_values(
    form_schema: Mapping[str, Any], stored: Mapping[str, Any], form: FormData | None
) -> dict[str, Any]:
    """What each input shows: what was just posted (a form sent back with an error keeps what the
    person typed, secrets excepted), else the stored value."""
    out: dict[str, Any] = {}
    for field in form_fields(form_schema):
        key = str(field["key"])
        if field.get("secret"):
            continue
        if form is not None and (key in form or f"{key}{OPERATOR_SUFFIX}" in form):
            out[key] = form.getlist(key) if field.get("type") in MULTI_KINDS else _last(form, key)
            if _is_filter(field):
                out[f"{key}{OPERATOR_SUFFIX}"] = form.get(f"{key}{OPERATOR_SUFFIX}")
            continue
        value = stored.get(key, field.get("default") if not _is_filter(field) else None)
        if _is_filter(field) and isinstance(value, Mapping):
            out[f"{key}{OPERATOR_SUFFIX}"] = value.get("operator")
            value = value.get("value")
        if isinstance(value, list) and field.get("type") not in MULTI_KINDS:
            value = "\n".join(str(v) for v in value)
        out[key] = value
    return out


def secrets_set(form_schema: Mapping[str, Any], stored: Mapping[str, Any]) -> set[str]:
    """Keys of secret fields that have a value (the page says "set", never what)."""
    return {str(f["key"]) for f in form_fields(form_schema) if f.get("secret") and stored.get(f["key"])}


def field_errors(exc: Exception, fields: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """`{field key or "name"/"scope"/"": message}` for a service's complaint about a form."""
    by_name: dict[str, str] = {}
    for f in fields:
        by_name.setdefault(str(f["name"]), str(f["key"]))
    if isinstance(exc, MissingFieldsError):
        errors = {}
        for entry in exc.fields:
            name = entry.split(" ", 1)[0]
            errors[by_name.get(name, "")] = "this is required"
        return errors
    if isinstance(exc, ConfigValueError):
        if exc.field in ("name", "scope"):
            return {exc.field: exc.reason}
        return {by_name.get(exc.field, ""): exc.reason}
    return {"": str(exc)}
