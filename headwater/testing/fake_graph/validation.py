"""Checks the fake's own responses against Graph's published contract (JSON Schemas generated from
Microsoft's CSDL metadata), so the fake cannot drift into shapes the real service never sends.

Entities are checked one by one against their type's schema (the item's `@odata.type` wins over the
endpoint's type, as for directory members); collection envelopes against the OData envelope rules
(`value`, absolute `@odata.nextLink` or `@odata.deltaLink`, never both). Violations are recorded,
not raised, so one bad response does not hide the next; the test fixture asserts none at teardown."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# Shapes that are not entity types of the metadata, written from Graph's documentation.
_LOCAL_SCHEMAS: dict[str, dict[str, Any]] = {
    "error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "innerError": {"type": "object"},
                },
            }
        },
    },
    "envelope": {
        "type": "object",
        "required": ["value"],
        "additionalProperties": False,
        "properties": {
            "@odata.context": {"type": "string"},
            "@odata.nextLink": {"type": "string"},
            "@odata.deltaLink": {"type": "string"},
            "@odata.count": {"type": "integer"},
            "value": {"type": "array"},
        },
        "not": {"required": ["@odata.nextLink", "@odata.deltaLink"]},
    },
    "token": {
        "type": "object",
        "required": ["token_type", "expires_in", "access_token"],
        "additionalProperties": False,
        "properties": {
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer"},
            "ext_expires_in": {"type": "integer"},
            "access_token": {"type": "string", "minLength": 20},
        },
    },
    "openidConfiguration": {
        "type": "object",
        "required": ["token_endpoint", "issuer", "authorization_endpoint"],
        "properties": {"token_endpoint": {"type": "string", "pattern": "/oauth2/v2.0/token$"}},
    },
    "instanceDiscovery": {
        "type": "object",
        "required": ["tenant_discovery_endpoint", "api-version", "metadata"],
        "properties": {"metadata": {"type": "array"}},
    },
    "tokenError": {
        "type": "object",
        "required": ["error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id"],
        "additionalProperties": False,
        "properties": {
            "error": {"type": "string"},
            "error_description": {"type": "string", "pattern": "^AADSTS[0-9]+: "},
            "error_codes": {"type": "array", "items": {"type": "integer"}},
            "timestamp": {"type": "string"},
            "trace_id": {"type": "string", "format": "uuid"},
            "correlation_id": {"type": "string", "format": "uuid"},
        },
    },
}


def default_schema_dir() -> Path:
    """The schemas copied into the repository (tests/fakes/msgraph_schemas), else ../shared/specs."""
    repo = Path(__file__).resolve().parents[3]
    for candidate in (
        repo / "tests" / "fakes" / "msgraph_schemas",
        repo.parent / "shared" / "specs" / "msgraph" / "jsonschema",
    ):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "no Microsoft Graph JSON Schemas found: expected tests/fakes/msgraph_schemas in the repository "
        "or ../shared/specs/msgraph/jsonschema; pass schema_dir= explicitly"
    )


def _format_checker() -> Any:
    from jsonschema import FormatChecker  # type: ignore[import-untyped]  # a dev dependency: imported on use

    checker = FormatChecker()

    def is_date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(_DATE_TIME.match(value))

    # jsonschema checks date-time only with an optional package installed; Graph's format is simple
    checker.checkers["date-time"] = (is_date_time, ())
    return checker


class SchemaValidator:
    """Validates response bodies; `violations` lists every mismatch found so far."""

    def __init__(self, schema_dir: Path | None = None) -> None:
        self.schema_dir = schema_dir or default_schema_dir()
        self.violations: list[str] = []
        self.checked = 0
        self._validators: dict[str, Any] = {}
        self._formats: Any = None

    def _validator(self, entity: str) -> Any:
        if entity not in self._validators:
            from jsonschema import Draft202012Validator

            if self._formats is None:
                self._formats = _format_checker()
            if entity in _LOCAL_SCHEMAS:
                schema = _LOCAL_SCHEMAS[entity]
            else:
                path = self.schema_dir / f"{entity}.schema.json"
                if not path.is_file():
                    raise FileNotFoundError(f"no JSON Schema for Graph type {entity!r} at {path}")
                schema = json.loads(path.read_text())
            self._validators[entity] = Draft202012Validator(schema, format_checker=self._formats)
        return self._validators[entity]

    def check_entity(self, entity: str, body: Any, *, where: str) -> None:
        self.checked += 1
        odata_type = body.get("@odata.type") if isinstance(body, dict) else None
        if isinstance(odata_type, str) and odata_type.startswith("#microsoft.graph."):
            entity = odata_type.removeprefix("#microsoft.graph.")
        for error in self._validator(entity).iter_errors(body):
            location = "/".join(str(p) for p in error.absolute_path) or "<root>"
            self.violations.append(f"{where}: {entity} {location}: {error.message[:200]}")

    def check_collection(self, entity: str, body: dict[str, Any], *, where: str) -> None:
        self.check_entity("envelope", body, where=where)
        for key in ("@odata.nextLink", "@odata.deltaLink"):
            link = body.get(key)
            if isinstance(link, str):
                parsed = urlparse(link)
                if parsed.scheme not in ("http", "https") or not parsed.netloc:
                    self.violations.append(f"{where}: {key} is not an absolute URL: {link!r}")
        for index, item in enumerate(body.get("value") or []):
            self.check_entity(entity, item, where=f"{where} value[{index}]")
