"""Typing and checking what people give for a config field: text from a prompt or `--set`, or a
JSON value from the API. Every error names the field and says why; none repeats a secret's value.

A FILE field (a key file, a service account) holds the file's contents. Only the CLI, run by the
operator on the server, may name a file by its path instead (`file_paths=True`): through the API
and web UI the value IS the contents, so nobody reads the server's files through a config field.

A filter value may start with one of its operators: `not_in:tmp,log`,
`is_between:2026-01-01..2026-03-01`, `last_30_days`. A list is written `a, b` or one item per line.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from headwater.connectors.core.filters import (
    OPERATORS_BY_TYPE,
    RELATIVE_DAYS,
    Filter,
    FilterOperator,
    FilterType,
    FilterValueError,
)

from .config_schema import ConfigField
from .errors import ConfigValueError

_VALUELESS_OPERATORS = frozenset({FilterOperator.IS_EMPTY.value, FilterOperator.IS_NOT_EMPTY.value}) | {
    op.value for op in RELATIVE_DAYS
}
_ALL_OPERATORS = frozenset(op.value for op in FilterOperator)
_TRUE = frozenset({"true", "yes", "y", "1", "on"})
_FALSE = frozenset({"false", "no", "n", "0", "off"})


def coerce(field: ConfigField, raw: Any, *, file_paths: bool = False) -> Any:
    """The typed value of `raw` (text from a prompt or `--set`, or a JSON value) for `field`; None
    for "no value". ConfigValueError names the field and says why (never echoing a secret).
    `file_paths` (the CLI only): a FILE field's value is the path of a file to read."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if field.is_filter:
        return _filter_entry(field, raw)
    return _field_value(field, raw, file_paths)


def _field_value(field: ConfigField, raw: Any, file_paths: bool = False) -> Any:
    kind = field.kind.upper()
    shown = "the value" if field.secret else repr(raw)
    if kind == "CHECKBOX":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ConfigValueError(field.name, f"{shown} is not true or false")
    if kind == "NUMBER":
        return _number(field.name, raw, shown)
    if kind == "MULTISELECT":
        items = _split(raw) if isinstance(raw, str) else list(raw)
        items = [str(i) for i in items if str(i)]
        for item in items:
            _check_option(field, item)
        return items
    if not isinstance(raw, str):
        raise ConfigValueError(field.name, f"expects text, not {type(raw).__name__}")
    if kind == "FILE":
        return _file_path_contents(field, raw.strip()) if file_paths else _file_text(field, raw)
    text = raw.strip("\n") if kind == "TEXTAREA" else raw.strip()
    if kind != "TEXTAREA" and "\n" in text:
        raise ConfigValueError(field.name, "takes one value, not several lines")
    if kind == "SELECT":
        return _check_option(field, text)
    if kind == "URL" and not text.startswith(("http://", "https://")):
        raise ConfigValueError(field.name, f"{shown} is not an http:// or https:// URL")
    if kind == "EMAIL" and ("@" not in text or text.startswith("@") or text.endswith("@")):
        raise ConfigValueError(field.name, f"{shown} is not an email address")
    if field.min_length is not None and len(text) < field.min_length:
        raise ConfigValueError(field.name, f"needs at least {field.min_length} characters")
    if field.max_length is not None and len(text) > field.max_length:
        raise ConfigValueError(field.name, f"takes at most {field.max_length} characters")
    return text


def _split(text: str) -> list[str]:
    """A list typed as `a, b` or one item per line (a repeated `--set`)."""
    return [item.strip() for line in text.splitlines() for item in line.split(",") if item.strip()]


def _number(name: str, raw: Any, shown: str) -> int | float:
    if isinstance(raw, bool):
        raise ConfigValueError(name, f"{shown} is not a number")
    if isinstance(raw, int | float):
        value: int | float = raw
    else:
        text = str(raw).strip()
        try:
            value = int(text)
        except ValueError:
            try:
                value = float(text)
            except ValueError:
                raise ConfigValueError(name, f"{shown} is not a number") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ConfigValueError(name, f"{shown} is not a finite number")
    return value


def _check_option(field: ConfigField, value: str) -> str:
    if field.options and value not in field.options:
        folded = {o.lower(): o for o in field.options}
        if value.lower() in folded:
            return folded[value.lower()]
        raise ConfigValueError(field.name, f"{value!r} is not one of {', '.join(field.options)}")
    return value


def _file_text(field: ConfigField, contents: str) -> str:
    """A FILE field's contents as sent through the API or a web form (never a path to read)."""
    if field.max_length is not None and len(contents) > field.max_length:
        raise ConfigValueError(field.name, f"takes a file of at most {field.max_length} characters")
    return contents


def _file_path_contents(field: ConfigField, text: str) -> str:
    """The CLI names a FILE field's file by its path; its contents are stored."""
    path = Path(text).expanduser()
    if field.accepted_file_types and not any(path.name.endswith(t) for t in field.accepted_file_types):
        raise ConfigValueError(field.name, f"expects a {' or '.join(field.accepted_file_types)} file")
    try:
        contents = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigValueError(field.name, f"cannot read {path}: {exc.strerror or exc}") from None
    return _file_text(field, contents)


def _filter_entry(field: ConfigField, raw: Any) -> dict[str, Any]:
    """`{type, operator, value}` (the stored shape) from text or a typed value."""
    ftype = FilterType(field.kind.lower())
    operators = field.operators or tuple(op.value for op in OPERATORS_BY_TYPE[ftype])
    if isinstance(raw, Mapping):
        entry = dict(raw)
        entry["type"] = ftype.value
        entry["operator"] = entry.get("operator") or field.default_operator or operators[0]
        return _checked(field, entry)
    operator = field.default_operator or operators[0]
    value: Any = raw
    if isinstance(raw, str):
        text = raw.strip()
        head, sep, rest = text.partition(":")
        if text in operators and text in _VALUELESS_OPERATORS:
            return _checked(field, {"type": ftype.value, "operator": text, "value": None})
        if sep and head.strip() in operators:
            operator, text = head.strip(), rest.strip()
        elif sep and head.strip() in _ALL_OPERATORS:
            raise ConfigValueError(
                field.name, f"operator {head.strip()!r} is not one of {', '.join(operators)}"
            )
        value = _filter_value_from_text(field, ftype, operator, text)
    elif ftype in (FilterType.LIST, FilterType.MULTISELECT) and isinstance(raw, list | tuple):
        value = [str(v) for v in raw]
    return _checked(field, {"type": ftype.value, "operator": operator, "value": value})


def _filter_value_from_text(field: ConfigField, ftype: FilterType, operator: str, text: str) -> Any:
    if ftype is FilterType.BOOLEAN:
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise ConfigValueError(field.name, f"{text!r} is not true or false")
    if ftype in (FilterType.LIST, FilterType.MULTISELECT):
        items = _split(text)
        for item in items:
            if field.options and ftype is FilterType.MULTISELECT:
                _check_option(field, item)
        return items
    if ftype is FilterType.NUMBER:
        if operator == FilterOperator.IS_BETWEEN.value:
            low, _, high = text.partition("..")
            return [_number(field.name, low, repr(low)), _number(field.name, high, repr(high))]
        return _number(field.name, text, repr(text))
    if ftype is FilterType.DATETIME:
        if operator in _VALUELESS_OPERATORS:
            return None
        start, sep, end = text.partition("..")
        if operator == FilterOperator.IS_BETWEEN.value or sep:
            return {"start": _epoch_ms(field, start), "end": _epoch_ms(field, end)}
        if operator == FilterOperator.IS_BEFORE.value:
            return {"start": None, "end": _epoch_ms(field, text)}
        return {"start": _epoch_ms(field, text), "end": None}
    return text


def _epoch_ms(field: ConfigField, text: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigValueError(
            field.name, f"{text!r} is not a date (write 2026-01-31 or 2026-01-31T12:00)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _checked(field: ConfigField, entry: dict[str, Any]) -> dict[str, Any]:
    if field.operators and entry.get("operator") not in field.operators:
        raise ConfigValueError(
            field.name, f"operator {entry.get('operator')!r} is not one of {', '.join(field.operators)}"
        )
    try:
        Filter.from_stored(field.name, entry)
    except FilterValueError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise ConfigValueError(field.name, reason) from None
    return entry
