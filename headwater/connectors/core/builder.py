"""ConnectorBuilder: a connector's static metadata, declared as a class decorator (reference §2.3-2.5).

    @(ConnectorBuilder("Acme Wiki")
        .in_group("Acme")
        .with_auth_type("API_TOKEN")
        .configure(lambda b: b.add_auth_field(CommonFields.api_token("Acme API token")))
        .build_decorator())
    class AcmeWikiConnector(BaseConnector): ...

(Python needs the parentheses around a decorator that spans lines; the playbook's listing omits them.)

``build_decorator()`` builds the ``config`` document in exactly the shape of reference §2.4 and
validates the whole declaration; a mistake raises ``ConnectorDefinitionError`` (a ``ValueError``)
naming the connector and the field, when the module is imported, not when a user first configures
the connector. The decorated class gets ``_connector_metadata`` and ``_is_connector = True``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from headwater.connectors.core.common_fields import CommonFields
from headwater.connectors.core.definitions import (
    _OAUTH_TYPES,
    CONDITION_OPERATORS,
    DEFAULT_ICON_PATH,
    FIELD_USAGES,
    FILE_RULE_TYPES,
    OAUTH_REDIRECT_TEMPLATE,
    AuthField,
    AuthType,
    ConnectorDefinitionError,
    ConnectorScope,
    CustomField,
    DocumentationLink,
    FieldType,
    FilterField,
    OAuthConfig,
    PermissionModel,
    SyncStrategy,
    _enum_value,
)
from headwater.connectors.core.filters import (
    FilterCategory,
)

T = TypeVar("T", bound=type)


class ConnectorConfigBuilder:
    """Builds the ``config`` document; used inside ``ConnectorBuilder.configure(lambda b: ...)``.

    Declarations are recorded as given and validated together by ``build(connector_name)``.
    """

    def __init__(self) -> None:
        self.icon_path = DEFAULT_ICON_PATH
        self.supports_realtime = False
        self.realtime_connection_type = "WEBSOCKET"
        self.supports_sync = True
        self.supports_agent = True
        self.hide_connector = False
        self.admin_access_required = False
        self.personal_connector_type: str | None = None
        self.permission_model: str = PermissionModel.RECORD_LEVEL.value
        self.documentation_links: list[DocumentationLink] = []
        self.supported_auth_types: list[str] = []
        self.auth_fields: list[tuple[AuthField, str | None]] = []
        self.oauth_configs: dict[str | None, OAuthConfig] = {}
        self.redirect_uri: str | None = None
        self.display_redirect_uri = True
        self.conditional_display: list[tuple[str, str, str, Any]] = []
        self.sync_strategies: list[str] = [SyncStrategy.MANUAL.value]
        self.selected_strategy: str = SyncStrategy.MANUAL.value
        self.webhook_supported = False
        self.webhook_events: list[str] = []
        self.interval_minutes: Any = 60
        self.sync_custom_fields: list[CustomField] = []
        self.filter_fields: list[tuple[FilterField, str | None]] = []

    # -- general --

    def with_icon(self, path: str) -> ConnectorConfigBuilder:
        self.icon_path = path
        return self

    def with_permission_model(self, model: PermissionModel | str) -> ConnectorConfigBuilder:
        self.permission_model = str(_enum_value(model))
        return self

    def with_realtime_support(
        self, supported: bool = True, connection_type: str = "WEBSOCKET"
    ) -> ConnectorConfigBuilder:
        self.supports_realtime = supported
        self.realtime_connection_type = connection_type
        return self

    def with_sync_support(self, supported: bool = True) -> ConnectorConfigBuilder:
        self.supports_sync = supported
        return self

    def with_agent_support(self, supported: bool = True) -> ConnectorConfigBuilder:
        self.supports_agent = supported
        return self

    def with_hide_connector(self, hide: bool = True) -> ConnectorConfigBuilder:
        self.hide_connector = hide
        return self

    def with_admin_access_required(
        self, required: bool = True, personal_connector_type: str | None = None
    ) -> ConnectorConfigBuilder:
        self.admin_access_required = required
        self.personal_connector_type = personal_connector_type
        return self

    def add_documentation_link(self, link: DocumentationLink) -> ConnectorConfigBuilder:
        self.documentation_links.append(link)
        return self

    # -- auth --

    def with_supported_auth_types(
        self, auth_types: str | AuthType | Iterable[str | AuthType]
    ) -> ConnectorConfigBuilder:
        items = [auth_types] if isinstance(auth_types, str) else list(auth_types)
        self.supported_auth_types = []
        for item in items:
            self.add_supported_auth_type(item)
        return self

    def add_supported_auth_type(self, auth_type: str | AuthType) -> ConnectorConfigBuilder:
        value = str(_enum_value(auth_type))
        if value not in self.supported_auth_types:
            self.supported_auth_types.append(value)
        return self

    def add_auth_field(
        self, auth_field: AuthField, auth_type: str | AuthType | None = None
    ) -> ConnectorConfigBuilder:
        """Add a field to the form of `auth_type` (default: the first supported auth type)."""
        self.auth_fields.append((auth_field, None if auth_type is None else str(_enum_value(auth_type))))
        return self

    def with_redirect_uri(self, redirect_uri: str, display: bool = True) -> ConnectorConfigBuilder:
        self.redirect_uri = redirect_uri
        self.display_redirect_uri = display
        return self

    def with_oauth_config(
        self,
        oauth_config: OAuthConfig,
        auth_type: str | AuthType | None = None,
        auto_add_common_fields: bool = True,
    ) -> ConnectorConfigBuilder:
        """Declare the OAuth flow of `auth_type` (default OAUTH); adds clientId/clientSecret if absent."""
        kind = AuthType.OAUTH.value if auth_type is None else str(_enum_value(auth_type))
        self.oauth_configs[kind] = oauth_config
        self.add_supported_auth_type(kind)
        present = {f.name for f, t in self.auth_fields if t in (None, kind)}
        for extra in oauth_config.auth_fields:
            if extra.name not in present:
                self.auth_fields.append((extra, kind))
                present.add(extra.name)
        if auto_add_common_fields:
            for common in (CommonFields.client_id(), CommonFields.client_secret()):
                if common.name not in present:
                    self.auth_fields.append((common, kind))
        return self

    def add_conditional_display(
        self, field_name: str, show_when_field: str, operator: str, value: Any
    ) -> ConnectorConfigBuilder:
        self.conditional_display.append((field_name, show_when_field, operator, value))
        return self

    # -- sync --

    def with_sync_strategies(
        self, strategies: Iterable[str | SyncStrategy], selected: str | SyncStrategy = SyncStrategy.MANUAL
    ) -> ConnectorConfigBuilder:
        self.sync_strategies = [str(_enum_value(s)) for s in strategies]
        self.selected_strategy = str(_enum_value(selected))
        return self

    def with_webhook_config(
        self, supported: bool = True, events: Iterable[str] = ()
    ) -> ConnectorConfigBuilder:
        self.webhook_supported = supported
        self.webhook_events = list(events)
        if supported and SyncStrategy.WEBHOOK.value not in self.sync_strategies:
            self.sync_strategies.append(SyncStrategy.WEBHOOK.value)
        return self

    def with_scheduled_config(
        self, supported: bool = True, interval_minutes: int = 60
    ) -> ConnectorConfigBuilder:
        self.interval_minutes = interval_minutes
        if supported and SyncStrategy.SCHEDULED.value not in self.sync_strategies:
            self.sync_strategies.append(SyncStrategy.SCHEDULED.value)
        return self

    def add_sync_custom_field(self, custom_field: CustomField) -> ConnectorConfigBuilder:
        self.sync_custom_fields.append(custom_field)
        return self

    # -- filters --

    def add_filter_field(
        self, filter_field: FilterField, options_source: str | None = None
    ) -> ConnectorConfigBuilder:
        """Add a filter; `options_source` is the playbook's second argument: "static", "dynamic",
        "manual", or the URL of an options endpoint (meaning dynamic)."""
        self.filter_fields.append((filter_field, options_source))
        return self

    # -- build --

    def build(self, connector_name: str = "<unnamed connector>") -> dict[str, Any]:
        """The §2.4 config document; ConnectorDefinitionError naming connector and field when wrong."""

        def fail(what: str) -> ConnectorDefinitionError:
            return ConnectorDefinitionError(f"connector {connector_name!r}: {what}")

        auth_types = self.supported_auth_types or [AuthType.OAUTH.value]
        known_auth = {a.value for a in AuthType}
        for auth_type in auth_types:
            if auth_type not in known_auth:
                raise fail(f"unknown auth type {auth_type!r} (one of {', '.join(sorted(known_auth))})")
        for kind in self.oauth_configs:
            if kind not in auth_types:
                raise fail(f"OAuth config declared for auth type {kind!r}, which is not supported")

        schemas: dict[str, dict[str, Any]] = {t: {"fields": []} for t in auth_types}
        names_by_type: dict[str, set[str]] = {t: set() for t in auth_types}
        all_auth_names: set[str] = set()
        known_field_types = {f.value for f in FieldType}
        for auth_field, kind in self.auth_fields:
            target = kind or auth_types[0]
            if target not in schemas:
                raise fail(
                    f"auth field {auth_field.name!r} is for auth type {target!r}, which is not supported"
                )
            self._check_field(fail, "auth field", auth_field.name, auth_field.field_type, known_field_types)
            if auth_field.name in names_by_type[target]:
                raise fail(f"duplicate auth field {auth_field.name!r} in the {target} form")
            if auth_field.min_length > auth_field.max_length:
                raise fail(
                    f"auth field {auth_field.name!r}: min_length {auth_field.min_length} > "
                    f"max_length {auth_field.max_length}"
                )
            if auth_field.min_length < 0:
                raise fail(f"auth field {auth_field.name!r}: min_length must not be negative")
            if auth_field.usage not in FIELD_USAGES:
                raise fail(
                    f"auth field {auth_field.name!r}: usage {auth_field.usage!r} is not one of {FIELD_USAGES}"
                )
            for rule in auth_field.validation_rules:
                if rule.type not in FILE_RULE_TYPES:
                    raise fail(f"auth field {auth_field.name!r}: unknown validation rule {rule.type!r}")
            names_by_type[target].add(auth_field.name)
            all_auth_names.add(auth_field.name)
            schemas[target]["fields"].append(auth_field.to_dict())

        oauth_configs: dict[str, dict[str, Any]] = {}
        for kind, oauth in self.oauth_configs.items():
            assert kind is not None
            missing = [
                label
                for label, ok in (
                    ("authorize_url", bool(oauth.authorize_url)),
                    ("token_url", bool(oauth.token_url)),
                    ("scopes", bool(oauth.all_scopes())),
                )
                if not ok
            ]
            if missing:
                raise fail(f"{kind} OAuth config is missing {', '.join(missing)}")
            redirect = (
                self.redirect_uri
                or oauth.redirect_uri
                or OAUTH_REDIRECT_TEMPLATE.format(connector_name=connector_name)
            )
            oauth_configs[kind] = {
                "authorizeUrl": oauth.authorize_url,
                "tokenUrl": oauth.token_url,
                "scopes": oauth.all_scopes(),
                "redirectUri": redirect,
            }
            schemas[kind]["redirectUri"] = redirect
            schemas[kind]["displayRedirectUri"] = self.display_redirect_uri
        if self.redirect_uri is not None:
            for kind, schema in schemas.items():
                if kind in _OAUTH_TYPES or kind == AuthType.OAUTH_ADMIN_CONSENT.value or len(schemas) == 1:
                    schema["redirectUri"] = self.redirect_uri
                    schema["displayRedirectUri"] = self.display_redirect_uri
        for kind in auth_types:
            if kind in _OAUTH_TYPES and kind in self.oauth_configs and not schemas[kind].get("redirectUri"):
                raise fail(f"{kind} needs a redirect URI")

        conditional: dict[str, Any] = {}
        for field_name, when_field, operator, value in self.conditional_display:
            if field_name not in all_auth_names:
                raise fail(f"conditional display names field {field_name!r}, which is not an auth field")
            if when_field not in all_auth_names:
                raise fail(
                    f"conditional display of {field_name!r} depends on {when_field!r}, "
                    "which is not an auth field"
                )
            if operator not in CONDITION_OPERATORS:
                raise fail(
                    f"conditional display of {field_name!r}: operator {operator!r} is not one of "
                    f"{', '.join(CONDITION_OPERATORS)}"
                )
            if operator in ("in", "not_in") and not isinstance(value, list | tuple):
                raise fail(f"conditional display of {field_name!r}: operator {operator!r} needs a list value")
            if field_name in conditional:
                raise fail(f"conditional display declared twice for {field_name!r}")
            conditional[field_name] = {
                "showWhen": {"field": when_field, "operator": operator, "value": value}
            }

        known_strategies = {s.value for s in SyncStrategy}
        for strategy in [*self.sync_strategies, self.selected_strategy]:
            if strategy not in known_strategies:
                raise fail(
                    f"unknown sync strategy {strategy!r} (one of {', '.join(sorted(known_strategies))})"
                )
        if len(set(self.sync_strategies)) != len(self.sync_strategies):
            raise fail("a sync strategy is listed twice")
        if self.selected_strategy not in self.sync_strategies:
            raise fail(
                f"selected sync strategy {self.selected_strategy!r} is not among the supported strategies"
            )
        if (
            isinstance(self.interval_minutes, bool)
            or not isinstance(self.interval_minutes, int)
            or self.interval_minutes <= 0
        ):
            raise fail(
                f"scheduled config interval_minutes must be a positive integer, not {self.interval_minutes!r}"
            )

        custom_names: set[str] = set()
        custom_fields: list[dict[str, Any]] = []
        for custom in self.sync_custom_fields:
            self._check_field(fail, "sync custom field", custom.name, custom.field_type, known_field_types)
            if custom.name in custom_names:
                raise fail(f"duplicate sync custom field {custom.name!r}")
            if (
                custom.min_length is not None
                and custom.max_length is not None
                and custom.min_length > custom.max_length
            ):
                raise fail(
                    f"sync custom field {custom.name!r}: min_length {custom.min_length} > "
                    f"max_length {custom.max_length}"
                )
            custom_names.add(custom.name)
            custom_fields.append(custom.to_dict())

        filters: dict[str, list[dict[str, Any]]] = {c.value: [] for c in FilterCategory}
        filter_names: set[str] = set()
        for filter_field, source_hint in self.filter_fields:
            if not isinstance(filter_field.name, str) or not filter_field.name.strip():
                raise fail(f"a filter field has an empty name ({filter_field.display_name!r})")
            if filter_field.name in filter_names:
                raise fail(f"duplicate filter field {filter_field.name!r}")
            try:
                as_dict = filter_field.to_dict(source_hint)
            except ValueError as exc:
                raise fail(f"filter field {filter_field.name!r}: {exc}") from None
            filter_names.add(filter_field.name)
            filters[as_dict["category"]].append(as_dict)

        if self.permission_model not in {m.value for m in PermissionModel}:
            raise fail(f"unknown permission model {self.permission_model!r}")

        return {
            "iconPath": self.icon_path,
            "supportsRealtime": self.supports_realtime,
            "supportsSync": self.supports_sync,
            "supportsAgent": self.supports_agent,
            "documentationLinks": [link.to_dict() for link in self.documentation_links],
            "hideConnector": self.hide_connector,
            "isAdminAccessRequired": self.admin_access_required,
            "personalConnectorType": self.personal_connector_type,
            "permissionModel": self.permission_model,
            "auth": {
                "supportedAuthTypes": list(auth_types),
                "schemas": schemas,
                "oauthConfigs": oauth_configs,
                "values": {},
                "customFields": [],
                "customValues": {},
                "conditionalDisplay": conditional,
            },
            "sync": {
                "supportedStrategies": list(self.sync_strategies),
                "selectedStrategy": self.selected_strategy,
                "webhookConfig": {
                    "supported": self.webhook_supported,
                    "webhookUrl": "",
                    "events": list(self.webhook_events),
                    "verificationToken": "",
                    "secretKey": "",
                },
                "scheduledConfig": {
                    "intervalMinutes": self.interval_minutes,
                    "cronExpression": "",
                    "timezone": "UTC",
                    "startTime": 0,
                    "nextTime": 0,
                    "endTime": 0,
                    "maxRepetitions": 0,
                    "repetitionCount": 0,
                },
                "realtimeConfig": {
                    "supported": self.supports_realtime,
                    "connectionType": self.realtime_connection_type,
                },
                "customFields": custom_fields,
                "customValues": {},
                "values": {},
            },
            "filters": {
                "sync": {"schema": {"fields": filters[FilterCategory.SYNC.value]}, "values": {}},
                "indexing": {"schema": {"fields": filters[FilterCategory.INDEXING.value]}, "values": {}},
            },
        }

    @staticmethod
    def _check_field(
        fail: Callable[[str], ConnectorDefinitionError],
        what: str,
        name: Any,
        field_type: Any,
        known: set[str],
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise fail(
                f"an {what} has an empty name" if what[0] in "aeiou" else f"a {what} has an empty name"
            )
        ftype = str(_enum_value(field_type)).upper()
        if ftype not in known:
            raise fail(
                f"{what} {name!r}: unknown field type {field_type!r} (one of {', '.join(sorted(known))})"
            )


class ConnectorBuilder:
    """The fluent declaration of a connector's static metadata; ends with ``build_decorator()``."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.app_group = ""
        self.description = ""
        self.categories: list[str] = []
        self.scopes: list[str] = [ConnectorScope.PERSONAL.value]
        self.info: str | None = None
        self.permission_model: str | None = None
        self.config_builder = ConnectorConfigBuilder()

    def in_group(self, app_group: str) -> ConnectorBuilder:
        self.app_group = str(_enum_value(app_group))
        return self

    def with_auth_type(self, auth_type: str | AuthType) -> ConnectorBuilder:
        """Add one supported auth type (call again to add more)."""
        self.config_builder.add_supported_auth_type(auth_type)
        return self

    def with_supported_auth_types(
        self, auth_types: str | AuthType | Iterable[str | AuthType]
    ) -> ConnectorBuilder:
        self.config_builder.with_supported_auth_types(auth_types)
        return self

    def with_description(self, description: str) -> ConnectorBuilder:
        self.description = description
        return self

    def with_categories(self, categories: Iterable[str]) -> ConnectorBuilder:
        self.categories = list(categories)
        return self

    def with_scopes(self, scopes: Iterable[str | ConnectorScope]) -> ConnectorBuilder:
        self.scopes = [str(_enum_value(s)) for s in scopes]
        return self

    def with_info(self, info: str) -> ConnectorBuilder:
        self.info = info
        return self

    def with_permission_model(self, model: PermissionModel | str) -> ConnectorBuilder:
        self.permission_model = str(_enum_value(model))
        return self

    def configure(
        self, fn: Callable[[ConnectorConfigBuilder], ConnectorConfigBuilder | None]
    ) -> ConnectorBuilder:
        result = fn(self.config_builder)
        if result is not None and result is not self.config_builder:
            if not isinstance(result, ConnectorConfigBuilder):
                raise ConnectorDefinitionError(
                    f"connector {self.name!r}: configure() must return the builder it was given"
                )
            self.config_builder = result
        return self

    def build_metadata(self) -> dict[str, Any]:
        """The ``_connector_metadata`` dict; ConnectorDefinitionError when the declaration is wrong."""
        if not isinstance(self.name, str) or not self.name.strip():
            raise ConnectorDefinitionError(f"a connector needs a non-empty name, not {self.name!r}")
        if self.permission_model is not None:
            self.config_builder.with_permission_model(self.permission_model)
        known_scopes = {s.value for s in ConnectorScope}
        for scope in self.scopes:
            if scope not in known_scopes:
                raise ConnectorDefinitionError(
                    f"connector {self.name!r}: unknown scope {scope!r} (personal or team)"
                )
        config = self.config_builder.build(self.name)
        return {
            "name": self.name,
            "appGroup": self.app_group,
            "supportedAuthTypes": list(config["auth"]["supportedAuthTypes"]),
            "appDescription": self.description,
            "appCategories": list(self.categories),
            "config": config,
            "connectorScopes": list(self.scopes),
            "connectorInfo": self.info,
        }

    def build_decorator(self) -> Callable[[T], T]:
        """Validate now (at import) and return the class decorator that attaches the metadata."""
        metadata = self.build_metadata()
        # the flow settings the metadata leaves out (PKCE, extra authorize params), for the OAuth flow
        oauth_configs = {k: copy.deepcopy(v) for k, v in self.config_builder.oauth_configs.items() if k}

        def decorate(cls: T) -> T:
            cls._connector_metadata = copy.deepcopy(metadata)  # type: ignore[attr-defined]
            cls._oauth_configs = oauth_configs  # type: ignore[attr-defined]
            cls._is_connector = True  # type: ignore[attr-defined]
            return cls

        return decorate


def connector_metadata(cls: type) -> dict[str, Any] | None:
    """The metadata a ``build_decorator()`` attached to `cls`, or None."""
    meta = getattr(cls, "_connector_metadata", None)
    return meta if isinstance(meta, dict) else None
