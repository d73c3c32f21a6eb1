"""A connector's config form from its builder metadata, and typing/checking the values people give."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from headwater.connectors.core.builder import ConnectorBuilder
from headwater.connectors.core.definitions import AuthField, CustomField, FilterField
from headwater.connectors.core.filters import FilterCategory, FilterType
from headwater.services import config_document, config_input
from headwater.services import config_schema as schema
from headwater.services.errors import ConfigValueError, MissingFieldsError


def _declare() -> dict[str, Any]:
    builder = (
        ConnectorBuilder("Form Test")
        .with_supported_auth_types(["API_TOKEN", "BASIC_AUTH"])
        .configure(
            lambda b: (
                b.add_auth_field(AuthField(name="site", field_type="URL"), "API_TOKEN")
                .add_auth_field(AuthField(name="token", field_type="PASSWORD", is_secret=True), "API_TOKEN")
                .add_auth_field(
                    AuthField(name="region", field_type="SELECT", options=["eu", "us"]), "API_TOKEN"
                )
                .add_auth_field(AuthField(name="regionUrl", field_type="URL", required=True), "API_TOKEN")
                .add_conditional_display("regionUrl", "region", "equals", "us")
                .add_auth_field(AuthField(name="user", field_type="EMAIL"), "BASIC_AUTH")
                .add_auth_field(
                    AuthField(
                        name="keyFile", field_type="FILE", accepted_file_types=[".json"], required=False
                    ),
                    "API_TOKEN",
                )
                .add_sync_custom_field(
                    CustomField(name="labels", field_type="MULTISELECT", options=["a", "b", "c"])
                )
                .add_sync_custom_field(CustomField(name="folders", field_type="TEXTAREA"))
                .add_sync_custom_field(CustomField(name="verbose", field_type="CHECKBOX"))
                .with_sync_strategies(["MANUAL"])
                .add_filter_field(FilterField(name="modified", filter_type=FilterType.DATETIME))
                .add_filter_field(FilterField(name="size", filter_type=FilterType.NUMBER))
                .add_filter_field(
                    FilterField(
                        name="files", filter_type=FilterType.BOOLEAN, category=FilterCategory.INDEXING
                    )
                )
            )
        )
    )
    return builder.build_metadata()


META = _declare()
FIELDS = schema.form_fields(META)


def field(name: str) -> schema.ConfigField:
    return schema.find_field(FIELDS, name)


def test_the_form_follows_the_first_auth_type_unless_told() -> None:
    assert [f.key for f in FIELDS] == [
        "auth.site", "auth.token", "auth.region", "auth.regionUrl", "auth.keyFile", "sync.labels",
        "sync.folders", "sync.verbose", "filters.sync.modified", "filters.sync.size",
        "filters.indexing.files",
    ]  # fmt: skip
    assert [f.key for f in schema.form_fields(META, "BASIC_AUTH")][:1] == ["auth.user"]
    with pytest.raises(ConfigValueError, match="supports API_TOKEN, BASIC_AUTH, not 'OAUTH'"):
        schema.form_fields(META, "OAUTH")
    assert field("token").secret
    assert not field("site").secret


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("site", " https://acme.test ", "https://acme.test"),
        ("region", "EU", "eu"),
        ("labels", "a, c", ["a", "c"]),
        ("labels", "a\nb", ["a", "b"]),
        ("folders", "/a\n/b\n", "/a\n/b"),
        ("verbose", "yes", True),
        ("verbose", "off", False),
        ("size", "greater_than: 10", {"type": "number", "operator": "greater_than", "value": 10}),
        ("size", "is_between:1..2.5", {"type": "number", "operator": "is_between", "value": [1, 2.5]}),
        ("files", "false", {"type": "boolean", "operator": "is", "value": False}),
        ("modified", "last_30_days", {"type": "datetime", "operator": "last_30_days", "value": None}),
        (
            "modified",
            "2026-01-31",
            {"type": "datetime", "operator": "is_after", "value": {"start": 1769817600000, "end": None}},
        ),
        (
            "modified",
            "is_before:2026-01-31T12:00",
            {"type": "datetime", "operator": "is_before", "value": {"start": None, "end": 1769860800000}},
        ),
        ("site", "   ", None),
    ],
)
def test_text_becomes_typed_values(name: str, text: str, value: Any) -> None:
    assert config_input.coerce(field(name), text) == value


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("site", "ftp://x", "'ftp://x' is not an http:// or https:// URL"),
        ("region", "asia", "'asia' is not one of eu, us"),
        ("labels", "a, z", "'z' is not one of a, b, c"),
        ("verbose", "perhaps", "'perhaps' is not true or false"),
        ("size", "big", "'big' is not a number"),
        ("size", "nan", "'nan' is not a finite number"),
        ("modified", "someday", "'someday' is not a date (write 2026-01-31 or 2026-01-31T12:00)"),
        ("modified", "is_between:2026-02-01..2026-01-01", "start is after end"),
        ("site", "https://a\nhttps://b", "takes one value, not several lines"),
        ("token", 42, "expects text, not int"),
    ],
)
def test_a_bad_value_says_which_field_and_why(name: str, raw: Any, reason: str) -> None:
    with pytest.raises(ConfigValueError) as caught:
        config_input.coerce(field(name), raw)
    assert (caught.value.field, caught.value.reason) == (name, reason)


def test_a_bad_secret_is_never_repeated() -> None:
    secret = schema.ConfigField(schema.Section.AUTH, "pin", "PIN", "NUMBER", secret=True)
    with pytest.raises(ConfigValueError) as caught:
        config_input.coerce(secret, "s3cret-not-a-number")
    assert "s3cret" not in str(caught.value)
    assert str(caught.value) == "pin: the value is not a number"


def test_a_file_field_stores_the_file_contents(tmp_path: Path) -> None:
    """The CLI (file_paths=True) names the file; the API and web UI send its contents, which are
    never taken for a path on the server."""
    key = tmp_path / "key.json"
    key.write_text('{"k": 1}')
    assert config_input.coerce(field("keyFile"), str(key), file_paths=True) == '{"k": 1}'
    with pytest.raises(ConfigValueError, match="expects a .json file"):
        config_input.coerce(field("keyFile"), str(tmp_path / "key.txt"), file_paths=True)
    with pytest.raises(ConfigValueError, match="cannot read"):
        config_input.coerce(field("keyFile"), str(tmp_path / "missing.json"), file_paths=True)
    assert config_input.coerce(field("keyFile"), str(key)) == str(key)  # the text itself, unread
    assert config_input.coerce(field("keyFile"), '{"k":\n 2}\n') == '{"k":\n 2}\n'


def test_required_fields_count_only_when_shown() -> None:
    values = {"auth.site": "https://a.test", "auth.token": "t", "auth.region": "eu"}
    config_document.check_complete("Form Test", FIELDS, values)  # regionUrl is hidden for eu
    with pytest.raises(MissingFieldsError) as caught:
        config_document.check_complete("Form Test", FIELDS, values | {"auth.region": "us"})
    assert caught.value.fields == ["regionUrl"]


def test_values_round_trip_through_the_stored_document() -> None:
    values = {
        "auth.site": "https://a.test",
        "auth.token": "t0k",
        "auth.region": "eu",
        "sync.labels": ["a"],
        "sync.verbose": False,
        "filters.sync.size": {"type": "number", "operator": "equal", "value": 3},
        "filters.indexing.files": {"type": "boolean", "operator": "is", "value": True},
    }
    base = {"credentials": {"access_token": "kept"}, "oauth": None}
    doc = config_document.build_config(
        FIELDS, values, auth_type="API_TOKEN", scope="team", connector_type="Form Test", base=base
    )
    assert doc == {
        "auth": {
            "authType": "API_TOKEN",
            "connectorScope": "team",
            "connectorType": "Form Test",
            "site": "https://a.test",
            "token": "t0k",
            "region": "eu",
        },
        "sync": {"labels": ["a"], "verbose": False},
        "filters": {
            "sync": {"values": {"size": {"type": "number", "operator": "equal", "value": 3}}},
            "indexing": {"values": {"files": {"type": "boolean", "operator": "is", "value": True}}},
        },
        "credentials": {"access_token": "kept"},
        "oauth": None,
    }
    assert config_document.values_from_config(FIELDS, doc) == values
    shown = {row["field"]: row["value"] for row in config_document.masked_form(FIELDS, values)}
    assert shown["auth.token"] == config_document.SECRET_MASK
    assert shown["filters.sync.size"] == "equal 3"
    assert "auth.regionUrl" not in shown


def test_dates_display_as_days() -> None:
    entry = config_input.coerce(field("modified"), "is_between:2026-01-01..2026-02-01")
    assert config_document.display_value(field("modified"), entry) == "is_between 2026-01-01..2026-02-01"
    assert datetime.fromtimestamp(entry["value"]["start"] / 1000, tz=UTC).day == 1


def test_a_connector_without_metadata_has_an_empty_form() -> None:
    assert schema.form_fields({"name": "Bare", "supportedAuthTypes": ["NONE"], "config": {}}) == []
