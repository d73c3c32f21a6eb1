"""Schemathesis over the connectors and OAuth routes: whatever it sends (as a member, so both the
allowed and the refused paths run), no 5xx, no status code or response body the OpenAPI document
does not declare. The live event stream is left out (it runs until the client leaves; its own test
bounds it with `limit`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from headwater.api import create_app
from headwater.settings import Settings
from tests.api.conftest import ApiInstance
from tests.api.schema_app import app_with_token

MY_PATHS = r"^/api/v1/(connector-types|connectors|oauth)"
schema = (
    schemathesis.openapi.from_dict(create_app(Settings(data_dir="/nonexistent")).openapi())
    .include(path_regex=MY_PATHS)
    .exclude(path_regex=r"/events$")
)


@pytest.fixture
def member_app(instance: ApiInstance) -> Iterator[tuple[FastAPI, str]]:
    with app_with_token(instance.settings, "member@acme.test") as app_and_token:
        yield app_and_token


@schema.parametrize()
@settings(
    max_examples=8, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
def test_connector_routes_answer_only_as_documented(
    case: schemathesis.Case[Any], member_app: tuple[FastAPI, str]
) -> None:
    app, token = member_app
    case.operation.schema.app = app
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        app=app,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
