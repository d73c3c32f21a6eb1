"""Schemathesis over the records, content, search and ask routes: whatever it sends, no 5xx, no
status code or response the OpenAPI document does not declare."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from headwater.settings import Settings
from tests.api.schema_app import app_with_token
from tests.api.seeded_world import MEMBER, World, world_fixture  # noqa: F401

MY_PATHS = r"^/api/v1/(records|search|ask|content)"
EXAMPLES = 20
EXPECTED_OPERATIONS = {
    "GET /api/v1/records",
    "GET /api/v1/records/{key}",
    "GET /api/v1/records/{key}/explain",
    "POST /api/v1/records/{key}/content-link",
    "GET /api/v1/content/{token}",
    "POST /api/v1/search",
    "POST /api/v1/ask",
}


@pytest.fixture
def seeded_schema(world: World, tmp_path: Path) -> Iterator[tuple[schemathesis.BaseSchema, str]]:
    """The OpenAPI schema of an app over a copy of the seeded world (only these routes), and a
    member's API token."""
    data_dir = tmp_path / "data"
    shutil.copytree(world.data_dir, data_dir)
    with app_with_token(Settings(data_dir=data_dir), MEMBER) as (app, token):
        yield schemathesis.openapi.from_asgi("/openapi.json", app).include(path_regex=MY_PATHS), token


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_server_errors_and_only_documented_answers(
    seeded_schema: tuple[schemathesis.BaseSchema, str], mode: GenerationMode
) -> None:
    schema, token = seeded_schema
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert {op.label for op in operations} == EXPECTED_OPERATIONS
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: schemathesis.Case[Any]) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {token}"},
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )

        check()
