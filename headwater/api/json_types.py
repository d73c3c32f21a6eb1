"""Field types for requests that accept exactly what their JSON Schema says.

Request bodies are strict (`ConfigDict(strict=True)`): `"stream": 0` is not a boolean and `"k": "5"`
is not an integer, as the OpenAPI document promises. Where JSON Schema and pydantic's strict mode
disagree, these follow the schema:

    JsonInt          an integer; 5.0 counts (JSON Schema's "integer" is about the value, not the
                     notation), 5.5, "5" and true do not. With constraints inside a union, write
                     `Annotated[int, Field(ge=1), WHOLE_FLOATS] | None` (pydantic documents the
                     constraints wrongly when they come after the validator)
    JsonDateTime     an ISO 8601 date-time string (no offset means UTC); a number, or a string of
                     one, is not (pydantic would read it as seconds since 1970). For bodies and
                     query parameters alike.

FastAPI validates a parsed body as Python data, where strict mode would refuse a date-time string;
hence the explicit check instead of strictness for date-times.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, Strict

_STARTS_WITH_A_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _integral_float_as_int(value: object) -> object:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _date_time_string(value: object) -> object:
    if isinstance(value, datetime) or (isinstance(value, str) and _STARTS_WITH_A_DATE.match(value)):
        return value
    raise ValueError("must be an ISO 8601 date-time, e.g. 2026-02-01T00:00:00Z")


WHOLE_FLOATS = BeforeValidator(_integral_float_as_int)
JsonInt = Annotated[int, WHOLE_FLOATS]
JsonDateTime = Annotated[datetime, Strict(False), BeforeValidator(_date_time_string)]
