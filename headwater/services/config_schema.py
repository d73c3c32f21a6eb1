"""A connector's config form, read from its builder metadata (reference §2.4).

Fields come in four sections, each field keyed `section.name`:
  * `auth`: the fields of the chosen auth type's form (secrets marked `isSecret`);
  * `sync`: the connector's custom sync fields, the sync strategy and the schedule interval (when
    SCHEDULED);
  * `filters.sync` / `filters.indexing`: the connector's filters, stored as `{type, operator, value}`.

`config_input` turns what people type into values for these fields; `config_document` turns the
values into the stored config document and back, and shows them with secrets masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import ConfigValueError


class Section(StrEnum):
    AUTH = "auth"
    SYNC = "sync"
    SYNC_FILTERS = "filters.sync"
    INDEXING_FILTERS = "filters.indexing"


@dataclass(frozen=True)
class ConfigField:
    """One field of the form. `kind` is a UI field type (TEXT, PASSWORD, CHECKBOX, SELECT,
    MULTISELECT, NUMBER, URL, EMAIL, FILE, TEXTAREA) or, for filters, a filter type."""

    section: Section
    name: str
    label: str
    kind: str
    required: bool = False
    default: Any = None
    options: tuple[str, ...] = ()
    secret: bool = False
    description: str = ""
    min_length: int | None = None
    max_length: int | None = None
    operators: tuple[str, ...] = ()
    default_operator: str | None = None
    show_when: tuple[str, str, Any] | None = None  # (field name, operator, value), same section
    accepted_file_types: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.section.value}.{self.name}"

    @property
    def is_filter(self) -> bool:
        return self.section in (Section.SYNC_FILTERS, Section.INDEXING_FILTERS)

    def shown(self, values: Mapping[str, Any]) -> bool:
        """Whether the field applies, given the other values (conditional display)."""
        if self.show_when is None:
            return True
        other, operator, expected = self.show_when
        actual = values.get(f"{self.section.value}.{other}")
        if operator == "equals":
            return bool(actual == expected)
        if operator == "not_equals":
            return bool(actual != expected)
        if operator == "in":
            return actual in expected
        return actual not in expected


def _option_ids(options: Iterable[Any]) -> tuple[str, ...]:
    return tuple(str(o.get("id", o.get("value", ""))) if isinstance(o, Mapping) else str(o) for o in options)


def _auth_fields(meta: Mapping[str, Any], auth_type: str) -> list[ConfigField]:
    auth = (meta.get("config") or {}).get("auth") or {}
    schema = (auth.get("schemas") or {}).get(auth_type) or {}
    conditions = auth.get("conditionalDisplay") or {}
    fields = []
    for f in schema.get("fields") or []:
        when = (conditions.get(f["name"]) or {}).get("showWhen")
        validation = f.get("validation") or {}
        kind = str(f.get("fieldType") or "TEXT").upper()
        fields.append(
            ConfigField(
                section=Section.AUTH,
                name=str(f["name"]),
                label=str(f.get("displayName") or f["name"]),
                kind=kind,
                required=bool(f.get("required", True)),
                default=f.get("defaultValue") if f.get("defaultValue") not in ("", None) else None,
                options=_option_ids(f.get("options") or []),
                secret=bool(f.get("isSecret")) or kind == "PASSWORD",
                description=str(f.get("description") or ""),
                min_length=validation.get("minLength"),
                max_length=validation.get("maxLength"),
                show_when=(when["field"], when["operator"], when["value"]) if when else None,
                accepted_file_types=tuple(validation.get("acceptedFileTypes") or ()),
            )
        )
    return fields


def _sync_fields(meta: Mapping[str, Any]) -> list[ConfigField]:
    sync = (meta.get("config") or {}).get("sync") or {}
    strategies = tuple(sync.get("supportedStrategies") or ())
    fields: list[ConfigField] = []
    for f in sync.get("customFields") or []:
        if f.get("nonEditable"):
            continue
        validation = f.get("validation") or {}
        fields.append(
            ConfigField(
                Section.SYNC,
                str(f["name"]),
                str(f.get("displayName") or f["name"]),
                str(f.get("fieldType") or "TEXT").upper(),
                required=bool(f.get("required")),
                default=f.get("defaultValue"),
                options=_option_ids(f.get("options") or []),
                secret=bool(f.get("isSecret")),
                description=str(f.get("description") or ""),
                min_length=validation.get("minLength"),
                max_length=validation.get("maxLength"),
            )
        )
    if len(strategies) > 1:
        fields.append(
            ConfigField(
                Section.SYNC,
                "strategy",
                "Sync strategy",
                "SELECT",
                required=True,
                default=sync.get("selectedStrategy") or strategies[0],
                options=strategies,
                description="MANUAL: only when asked; SCHEDULED: every interval",
            )
        )
    if "SCHEDULED" in strategies:
        fields.append(
            ConfigField(
                Section.SYNC,
                "intervalMinutes",
                "Sync every (minutes)",
                "NUMBER",
                required=True,
                default=(sync.get("scheduledConfig") or {}).get("intervalMinutes") or 60,
                show_when=("strategy", "equals", "SCHEDULED") if len(strategies) > 1 else None,
            )
        )
    return fields


def _filter_fields(meta: Mapping[str, Any]) -> list[ConfigField]:
    filters = (meta.get("config") or {}).get("filters") or {}
    out = []
    for category, section in (("sync", Section.SYNC_FILTERS), ("indexing", Section.INDEXING_FILTERS)):
        for f in ((filters.get(category) or {}).get("schema") or {}).get("fields") or []:
            out.append(
                ConfigField(
                    section,
                    str(f["name"]),
                    str(f.get("displayName") or f["name"]),
                    str(f.get("filterType") or "string"),
                    required=bool(f.get("required")),
                    default=f.get("defaultValue"),
                    options=_option_ids(f.get("options") or []),
                    description=str(f.get("description") or ""),
                    operators=tuple(f.get("operators") or ()),
                    default_operator=f.get("defaultOperator"),
                )
            )
    return out


def auth_types_of(meta: Mapping[str, Any]) -> list[str]:
    return list(meta.get("supportedAuthTypes") or ["NONE"])


def form_fields(meta: Mapping[str, Any], auth_type: str | None = None) -> list[ConfigField]:
    """The config form of a connector type for one auth type (default: its first)."""
    auth_types = auth_types_of(meta)
    chosen = auth_type or auth_types[0]
    if chosen not in auth_types:
        raise ConfigValueError(
            "auth type", f"{meta.get('name')} supports {', '.join(auth_types)}, not {chosen!r}"
        )
    return [*_auth_fields(meta, chosen), *_sync_fields(meta), *_filter_fields(meta)]


def find_field(fields: list[ConfigField], name: str) -> ConfigField:
    """The field called `name` (`section.name` or a bare name that only one section uses)."""
    for f in fields:
        if f.key == name:
            return f
    matches = [f for f in fields if f.name == name or f.name.lower() == name.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigValueError(name, f"ambiguous; write one of {', '.join(f.key for f in matches)}")
    known = ", ".join(f.name for f in fields) or "none"
    raise ConfigValueError(name, f"no such field (fields: {known})")
