"""ConnectorBuilder: defaults, field serialisation, and every misuse failing at decoration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from headwater.connectors.core.filters import FilterCategory, FilterOption, FilterType
from headwater.connectors.core.registry.connector_builder import (
    AuthField,
    CommonFields,
    ConnectorBuilder,
    ConnectorConfigBuilder,
    ConnectorDefinitionError,
    CustomField,
    FilterField,
    OAuthConfig,
    PermissionModel,
)
from headwater.errors import HeadwaterError

Configure = Callable[[ConnectorConfigBuilder], ConnectorConfigBuilder]


def build(configure: Configure, auth: str = "API_TOKEN", name: str = "Acme Wiki") -> dict[str, Any]:
    meta: dict[str, Any] = ConnectorBuilder(name).with_auth_type(auth).configure(configure).build_metadata()
    return meta


def test_defaults_are_the_reference_defaults() -> None:
    meta = ConnectorBuilder("Bare").build_metadata()
    config = meta["config"]
    assert config["iconPath"] == "/icons/connectors/default.svg"
    assert config["auth"]["supportedAuthTypes"] == ["OAUTH"]
    assert config["auth"]["schemas"] == {"OAUTH": {"fields": []}}
    assert config["sync"]["supportedStrategies"] == ["MANUAL"]
    assert config["sync"]["selectedStrategy"] == "MANUAL"
    assert config["permissionModel"] == "RECORD_LEVEL"
    assert meta["connectorScopes"] == ["personal"]


def test_builder_level_options_reach_the_metadata() -> None:
    meta = (
        ConnectorBuilder("Acme")
        .in_group("Acme Corp")
        .with_supported_auth_types(["API_TOKEN", "BASIC_AUTH"])
        .with_scopes(["personal", "team"])
        .with_info("beta")
        .with_permission_model(PermissionModel.APP_LEVEL)
        .configure(
            lambda b: (
                b.add_auth_field(CommonFields.api_token())
                .add_auth_field(CommonFields.username(), "BASIC_AUTH")
                .add_auth_field(CommonFields.password(), "BASIC_AUTH")
                .add_sync_custom_field(CommonFields.batch_size_field())
                .add_filter_field(CommonFields.enable_manual_sync_filter())
                .add_filter_field(CommonFields.file_extension_filter(["pdf"]))
                .with_webhook_config(True, ["created"])
                .with_realtime_support(True)
                .with_hide_connector(True)
                .with_admin_access_required(True, "personal-x")
            )
        )
        .build_metadata()
    )
    config = meta["config"]
    assert meta["supportedAuthTypes"] == ["API_TOKEN", "BASIC_AUTH"]
    assert meta["connectorScopes"] == ["personal", "team"]
    assert meta["connectorInfo"] == "beta"
    assert config["permissionModel"] == "APP_LEVEL"
    assert [f["name"] for f in config["auth"]["schemas"]["API_TOKEN"]["fields"]] == ["apiToken"]
    assert [f["name"] for f in config["auth"]["schemas"]["BASIC_AUTH"]["fields"]] == ["username", "password"]
    assert config["sync"]["supportedStrategies"] == ["MANUAL", "WEBHOOK"]
    assert config["sync"]["webhookConfig"]["events"] == ["created"]
    assert config["sync"]["realtimeConfig"] == {"supported": True, "connectionType": "WEBSOCKET"}
    assert config["hideConnector"] is True
    assert (config["isAdminAccessRequired"], config["personalConnectorType"]) == (True, "personal-x")
    assert config["sync"]["customFields"] == [
        {
            "name": "batchSize",
            "displayName": "Batch size",
            "description": "Items per batch",
            "fieldType": "SELECT",
            "required": False,
            "defaultValue": "50",
            "validation": {},
            "isSecret": False,
            "nonEditable": False,
            "options": ["25", "50", "100"],
        }
    ]
    indexing = config["filters"]["indexing"]["schema"]["fields"]
    assert [(f["name"], f["filterType"], f["defaultValue"]) for f in indexing] == [
        ("enable_manual_sync", "boolean", False)
    ]
    (ext,) = config["filters"]["sync"]["schema"]["fields"]
    assert ext["optionSourceType"] == "static"
    assert ext["options"] == [{"id": "pdf", "label": ".pdf"}]
    assert ext["defaultOperator"] == "in"


def test_playbook_multiselect_with_an_endpoint_is_dynamic() -> None:
    config = build(
        lambda b: b.add_filter_field(
            FilterField(
                name="folders",
                display_name="Folders",
                description="Select folders to sync",
                field_type="MULTISELECT",
                default_value=[],
                options=[],
            ),
            "https://api.example.com/folders",
        )
    )["config"]
    (folders,) = config["filters"]["sync"]["schema"]["fields"]
    assert folders["filterType"] == "multiselect"
    assert folders["optionSourceType"] == "dynamic"
    assert folders["operators"] == ["in", "not_in"]
    assert "options" not in folders


def test_reference_filter_form_and_option_source_defaults() -> None:
    config = build(
        lambda b: (
            b.add_filter_field(
                FilterField("labels", "Labels", FilterType.LIST, options=[FilterOption("a", "A")])
            )
            .add_filter_field(FilterField("title", "Title", "string", category=FilterCategory.INDEXING))
            .add_filter_field(
                FilterField("size", "Size", FilterType.NUMBER, no_implicit_operator_default=True)
            )
        )
    )["config"]
    labels, size = config["filters"]["sync"]["schema"]["fields"]
    (title,) = config["filters"]["indexing"]["schema"]["fields"]
    assert labels["optionSourceType"] == "static"
    assert title["optionSourceType"] == "manual"
    assert title["defaultValue"] == ""
    assert size["defaultOperator"] is None
    assert size["noImplicitOperatorDefault"] is True


def test_oauth_config_fills_schema_and_oauth_configs() -> None:
    config = build(
        lambda b: b.with_oauth_config(
            OAuthConfig(
                authorize_url="https://auth.example/authorize",
                token_url="https://auth.example/token",
                scopes=["read", "offline"],
            )
        ),
        auth="OAUTH",
    )["config"]
    schema = config["auth"]["schemas"]["OAUTH"]
    assert [f["name"] for f in schema["fields"]] == ["clientId", "clientSecret"]
    assert schema["redirectUri"] == "connectors/oauth/callback/Acme Wiki"
    assert config["auth"]["oauthConfigs"]["OAUTH"] == {
        "authorizeUrl": "https://auth.example/authorize",
        "tokenUrl": "https://auth.example/token",
        "scopes": ["read", "offline"],
        "redirectUri": "connectors/oauth/callback/Acme Wiki",
    }


def test_checkbox_and_conditional_display() -> None:
    config = build(
        lambda b: (
            b.add_auth_field(AuthField(name="hasAdminConsent", field_type="CHECKBOX", default_value=False))
            .add_auth_field(AuthField(name="redirectUri", field_type="URL", max_length=2000))
            .add_conditional_display("redirectUri", "hasAdminConsent", "equals", False)
        )
    )["config"]
    consent, redirect = config["auth"]["schemas"]["API_TOKEN"]["fields"]
    assert consent["validation"] == {"minLength": 0, "maxLength": 1000}
    assert consent["displayName"] == "hasAdminConsent"
    assert redirect["validation"] == {"minLength": 1, "maxLength": 2000}
    assert config["auth"]["conditionalDisplay"] == {
        "redirectUri": {"showWhen": {"field": "hasAdminConsent", "operator": "equals", "value": False}}
    }


def _field(name: str = "token", **kw: Any) -> AuthField:
    return AuthField(name=name, display_name=name, **kw)


MISUSES: list[tuple[str, Configure, str, str]] = [
    (
        "duplicate auth field",
        lambda b: b.add_auth_field(_field("token")).add_auth_field(_field("token")),
        "API_TOKEN",
        "'token'",
    ),
    ("empty auth field name", lambda b: b.add_auth_field(_field("")), "API_TOKEN", "empty name"),
    ("unknown field type", lambda b: b.add_auth_field(_field(field_type="COLOR")), "API_TOKEN", "'token'"),
    (
        "min_length > max_length",
        lambda b: b.add_auth_field(_field(min_length=10, max_length=5)),
        "API_TOKEN",
        "'token'",
    ),
    (
        "conditional display of an unknown field",
        lambda b: b.add_auth_field(_field()).add_conditional_display("ghost", "token", "equals", 1),
        "API_TOKEN",
        "'ghost'",
    ),
    (
        "conditional display on an unknown field",
        lambda b: b.add_auth_field(_field()).add_conditional_display("token", "ghost", "equals", 1),
        "API_TOKEN",
        "'ghost'",
    ),
    (
        "conditional display with an unknown operator",
        lambda b: (
            b.add_auth_field(_field("a"))
            .add_auth_field(_field("b"))
            .add_conditional_display("a", "b", "greater", 1)
        ),
        "API_TOKEN",
        "'greater'",
    ),
    (
        "OAuth config without a token URL",
        lambda b: b.with_oauth_config(OAuthConfig(authorize_url="https://a", token_url="", scopes=["x"])),
        "OAUTH",
        "token_url",
    ),
    (
        "OAuth config without scopes",
        lambda b: b.with_oauth_config(OAuthConfig(authorize_url="https://a", token_url="https://t")),
        "OAUTH",
        "scopes",
    ),
    (
        "filter operator not allowed for its type",
        lambda b: b.add_filter_field(
            FilterField("modified", "Modified", FilterType.DATETIME, allowed_operators=["in"])
        ),
        "API_TOKEN",
        "'modified'",
    ),
    (
        "default operator outside the operators",
        lambda b: b.add_filter_field(FilterField("tags", "Tags", FilterType.LIST, default_operator="is")),
        "API_TOKEN",
        "'tags'",
    ),
    (
        "unknown filter field type",
        lambda b: b.add_filter_field(FilterField(name="when", field_type="CALENDAR")),
        "API_TOKEN",
        "'when'",
    ),
    (
        "filter field without a type",
        lambda b: b.add_filter_field(FilterField(name="when")),
        "API_TOKEN",
        "'when'",
    ),
    (
        "dynamic options on a datetime filter",
        lambda b: b.add_filter_field(FilterField(name="when", field_type="DATERANGE"), "dynamic"),
        "API_TOKEN",
        "'when'",
    ),
    (
        "unknown option source",
        lambda b: b.add_filter_field(FilterField(name="tags", field_type="LIST"), "sometimes"),
        "API_TOKEN",
        "'tags'",
    ),
    (
        "duplicate filter field",
        lambda b: b.add_filter_field(FilterField("tags", "Tags", "list")).add_filter_field(
            FilterField("tags", "Tags", "list", category="indexing")
        ),
        "API_TOKEN",
        "'tags'",
    ),
    ("empty filter name", lambda b: b.add_filter_field(FilterField("", "X", "list")), "API_TOKEN", "empty"),
    ("interval 0", lambda b: b.with_scheduled_config(True, 0), "API_TOKEN", "interval_minutes"),
    ("negative interval", lambda b: b.with_scheduled_config(True, -5), "API_TOKEN", "interval_minutes"),
    ("unknown strategy", lambda b: b.with_sync_strategies(["SOMETIMES"]), "API_TOKEN", "'SOMETIMES'"),
    (
        "selected strategy not supported",
        lambda b: b.with_sync_strategies(["SCHEDULED"]),
        "API_TOKEN",
        "'MANUAL'",
    ),
    ("unknown auth type", lambda b: b, "PIGEON", "'PIGEON'"),
    (
        "auth field for an unsupported auth type",
        lambda b: b.add_auth_field(_field(), "OAUTH"),
        "API_TOKEN",
        "'token'",
    ),
    (
        "duplicate sync custom field",
        lambda b: b.add_sync_custom_field(CustomField("batch", "Batch")).add_sync_custom_field(
            CustomField("batch", "Batch")
        ),
        "API_TOKEN",
        "'batch'",
    ),
]


@pytest.mark.parametrize(
    ("configure", "auth", "names"), [m[1:] for m in MISUSES], ids=[m[0] for m in MISUSES]
)
def test_misuse_fails_at_decoration_naming_connector_and_field(
    configure: Configure, auth: str, names: str
) -> None:
    with pytest.raises(ConnectorDefinitionError) as caught:

        @ConnectorBuilder("Acme Wiki").with_auth_type(auth).configure(configure).build_decorator()
        class Broken:  # never created: the decorator is built (and fails) first
            pass

    message = str(caught.value)
    assert "'Acme Wiki'" in message
    assert names in message
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, HeadwaterError)


def test_empty_connector_name_fails() -> None:
    with pytest.raises(ConnectorDefinitionError, match="non-empty name"):
        ConnectorBuilder("").build_decorator()


def test_unknown_scope_fails() -> None:
    with pytest.raises(ConnectorDefinitionError, match="'Acme'.*'company'"):
        ConnectorBuilder("Acme").with_scopes(["company"]).build_decorator()


def test_metadata_is_a_private_copy_per_class() -> None:
    decorate = ConnectorBuilder("Twice").with_auth_type("API_TOKEN").build_decorator()

    @decorate
    class One:
        pass

    @decorate
    class Two:
        pass

    One._connector_metadata["config"]["iconPath"] = "changed"  # type: ignore[attr-defined]
    assert Two._connector_metadata["config"]["iconPath"] == "/icons/connectors/default.svg"  # type: ignore[attr-defined]
