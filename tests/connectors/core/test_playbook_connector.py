"""The playbook's step 6.1/6.2 connector, written as the playbook writes it with `app.` -> `headwater.`.

Two unavoidable edits: the multi-line decorator is wrapped in parentheses (Python cannot parse the
playbook's listing without them), and `Connectors.YOUR_CONNECTOR` / `AppGroup.YOUR_VENDOR` are
stand-ins (a third-party connector names itself with a string). `create_connector` builds a fake
processor so that this test does not depend on the store.
"""

from __future__ import annotations

import importlib.util
import logging
from logging import Logger
from typing import Any

import pytest

from headwater.config.configuration_service import ConfigurationService
from headwater.config.constants.arangodb import Connectors
from headwater.connectors.core.base.connector.connector_service import BaseConnector
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.interfaces.connector.apps import App, AppGroup
from headwater.connectors.core.registry.connector_builder import (
    AuthField,
    ConnectorBuilder,
    DocumentationLink,
    FilterField,
)
from headwater.models.entities import Record
from tests.connectors.core.helpers import FakeProcessor, run

PROCESSOR_MODULE = "headwater.connectors.core.processor"
YOUR_CONNECTOR = "YourConnector"  # a third-party connector is not a Connectors member: a plain string


class YourConnectorApp(App):
    """App definition for YourConnector."""

    def __init__(self) -> None:
        super().__init__(
            app_name=YOUR_CONNECTOR,  # playbook: Connectors.YOUR_CONNECTOR
            app_group=AppGroup.MICROSOFT_365,  # e.g., AppGroup.MICROSOFT_365
        )


@(
    ConnectorBuilder("YourConnector")
    .in_group("Your Vendor")  # e.g., "Microsoft 365", "Atlassian"
    .with_auth_type("OAUTH_ADMIN_CONSENT")  # or "OAUTH", "API_TOKEN"
    .with_description("Sync data from YourConnector")
    .with_categories(["Category1", "Category2"])  # e.g., ["Email"], ["Storage"]
    .configure(
        lambda builder: (
            builder.with_icon("/assets/icons/connectors/yourconnector.svg")
            .add_documentation_link(DocumentationLink("Setup Guide", "https://docs.yourservice.com/setup"))
            .with_redirect_uri("connectors/YourConnector/oauth/callback", False)
            # Add authentication fields
            .add_auth_field(
                AuthField(
                    name="clientId",
                    display_name="Client ID",
                    placeholder="Enter your Client ID",
                    description="The OAuth Client ID from your app registration",
                )
            )
            .add_auth_field(
                AuthField(
                    name="clientSecret",
                    display_name="Client Secret",
                    placeholder="Enter your Client Secret",
                    description="The OAuth Client Secret",
                    field_type="PASSWORD",
                    is_secret=True,
                )
            )
            # Add filter fields (optional)
            .add_filter_field(
                FilterField(
                    name="dateRange",
                    display_name="Date Range",
                    description="Select date range for sync",
                    field_type="DATERANGE",
                ),
                "static",
            )
            # Configure sync strategies
            .with_sync_strategies(["SCHEDULED", "MANUAL"])
            .with_scheduled_config(True, 60)
        )  # Enable scheduling, default 60 min interval
    )
    .build_decorator()
)
class YourConnector(BaseConnector):
    """Connector for syncing data from YourService."""

    def __init__(
        self,
        logger: Logger,
        data_entities_processor: Any,
        data_store_provider: Any,
        config_service: ConfigurationService,
    ) -> None:
        super().__init__(
            YourConnectorApp(),
            logger,
            data_entities_processor,
            data_store_provider,
            config_service,
        )
        self.external_client: Any | None = None

    async def init(self) -> bool:
        try:
            if not self.test_connection_and_access():
                self.logger.error("Connection test failed")
                return False
            self.external_client = object()
            return True
        except Exception as e:
            self.logger.error(f"Failed to initialize connector: {e}")
            return False

    def test_connection_and_access(self) -> bool:
        return True

    async def _get_credentials(self, org_id: str) -> dict[str, Any]:
        config_path = f"/services/connectors/{self.app.get_app_name().value.lower()}/config"
        config = await self.config_service.get_config(config_path)
        if not config:
            raise ValueError("Connector configuration not found")
        return {"client_id": config["auth"]["clientId"], "client_secret": config["auth"]["clientSecret"]}

    async def run_sync(self) -> None:
        if not self.external_client:
            raise Exception("External API client not initialized. Call init() first.")
        self.logger.info("Sync completed successfully")

    async def run_incremental_sync(self) -> None:
        await self.run_sync()

    async def stream_record(self, record: Record) -> Any:
        raise NotImplementedError("Stream record not implemented")

    def get_signed_url(self, record: Record) -> str | None:
        return None

    async def handle_webhook_notification(self, org_id: str, notification: dict[str, Any]) -> bool:
        return True

    def cleanup(self) -> None:
        self.external_client = None

    @classmethod
    async def create_connector(
        cls, logger: Logger, data_store_provider: Any, config_service: ConfigurationService
    ) -> YourConnector:
        data_entities_processor = FakeProcessor(logger, data_store_provider, config_service)
        await data_entities_processor.initialize()
        return YourConnector(logger, data_entities_processor, data_store_provider, config_service)


DATETIME_OPERATORS = [
    "last_7_days",
    "last_14_days",
    "last_30_days",
    "last_90_days",
    "last_180_days",
    "last_365_days",
    "is_after",
    "is_before",
    "is_between",
]

EXPECTED_CONFIG: dict[str, Any] = {
    "iconPath": "/assets/icons/connectors/yourconnector.svg",
    "supportsRealtime": False,
    "supportsSync": True,
    "supportsAgent": True,
    "documentationLinks": [
        {"title": "Setup Guide", "url": "https://docs.yourservice.com/setup", "type": "setup"}
    ],
    "hideConnector": False,
    "isAdminAccessRequired": False,
    "personalConnectorType": None,
    "permissionModel": "RECORD_LEVEL",
    "auth": {
        "supportedAuthTypes": ["OAUTH_ADMIN_CONSENT"],
        "schemas": {
            "OAUTH_ADMIN_CONSENT": {
                "fields": [
                    {
                        "name": "clientId",
                        "displayName": "Client ID",
                        "placeholder": "Enter your Client ID",
                        "description": "The OAuth Client ID from your app registration",
                        "fieldType": "TEXT",
                        "required": True,
                        "usage": "BOTH",
                        "defaultValue": "",
                        "validation": {"minLength": 1, "maxLength": 1000},
                        "isSecret": False,
                    },
                    {
                        "name": "clientSecret",
                        "displayName": "Client Secret",
                        "placeholder": "Enter your Client Secret",
                        "description": "The OAuth Client Secret",
                        "fieldType": "PASSWORD",
                        "required": True,
                        "usage": "BOTH",
                        "defaultValue": "",
                        "validation": {"minLength": 1, "maxLength": 1000},
                        "isSecret": True,
                    },
                ],
                "redirectUri": "connectors/YourConnector/oauth/callback",
                "displayRedirectUri": False,
            }
        },
        "oauthConfigs": {},
        "values": {},
        "customFields": [],
        "customValues": {},
        "conditionalDisplay": {},
    },
    "sync": {
        "supportedStrategies": ["SCHEDULED", "MANUAL"],
        "selectedStrategy": "MANUAL",
        "webhookConfig": {
            "supported": False,
            "webhookUrl": "",
            "events": [],
            "verificationToken": "",
            "secretKey": "",
        },
        "scheduledConfig": {
            "intervalMinutes": 60,
            "cronExpression": "",
            "timezone": "UTC",
            "startTime": 0,
            "nextTime": 0,
            "endTime": 0,
            "maxRepetitions": 0,
            "repetitionCount": 0,
        },
        "realtimeConfig": {"supported": False, "connectionType": "WEBSOCKET"},
        "customFields": [],
        "customValues": {},
        "values": {},
    },
    "filters": {
        "sync": {
            "schema": {
                "fields": [
                    {
                        "name": "dateRange",
                        "displayName": "Date Range",
                        "description": "Select date range for sync",
                        "filterType": "datetime",
                        "category": "sync",
                        "required": False,
                        "defaultValue": None,
                        "defaultOperator": "is_after",
                        "operators": DATETIME_OPERATORS,
                        "optionSourceType": "static",
                    }
                ]
            },
            "values": {},
        },
        "indexing": {"schema": {"fields": []}, "values": {}},
    },
}


def _paths(doc: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts to {"a.b.c": leaf} so a mismatch names its key."""
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for key, value in doc.items():
            out.update(_paths(value, f"{prefix}.{key}" if prefix else str(key)))
        return out if doc else {prefix: {}}
    return {prefix: doc}


def test_decorator_marks_the_class() -> None:
    assert YourConnector._is_connector is True  # type: ignore[attr-defined]
    meta = YourConnector._connector_metadata  # type: ignore[attr-defined]
    assert {k: v for k, v in meta.items() if k != "config"} == {
        "name": "YourConnector",
        "appGroup": "Your Vendor",
        "supportedAuthTypes": ["OAUTH_ADMIN_CONSENT"],
        "appDescription": "Sync data from YourConnector",
        "appCategories": ["Category1", "Category2"],
        "connectorScopes": ["personal"],
        "connectorInfo": None,
    }


def test_config_has_the_reference_shape_key_by_key() -> None:
    config = YourConnector._connector_metadata["config"]  # type: ignore[attr-defined]
    got, want = _paths(config), _paths(EXPECTED_CONFIG)
    assert sorted(got) == sorted(want)
    for key in want:
        assert got[key] == want[key], key
    assert config == EXPECTED_CONFIG


def test_playbook_connector_is_instantiable_and_runs() -> None:
    logger = logging.getLogger("test_yourconnector")

    async def body() -> None:
        connector = await YourConnector.create_connector(logger, None, None)  # type: ignore[arg-type]
        assert connector.data_entities_processor.initialized
        assert connector.get_app_name().value.lower() == "yourconnector"
        assert connector.get_app_group_name() == "Microsoft"
        assert connector.connector_id == "YourConnector"  # no processor connector_id: the app name
        assert connector.scope == "personal"
        assert await connector.init() is True
        assert connector.test_connection_and_access() is True
        await connector.run_incremental_sync()
        assert await connector.handle_webhook_notification("org", {}) is True
        connector.cleanup()
        assert connector.external_client is None

    run(body())


def test_factory_builds_the_playbook_connector_with_its_three_argument_hook() -> None:
    ConnectorFactory.register_connector("YourConnector", YourConnector)
    try:

        async def body() -> BaseConnector:
            return await ConnectorFactory.create_connector(
                "Your Connector",
                logging.getLogger("t"),
                None,
                None,
                connector_id="c-42",
                scope="team",
                created_by="user-7",
                org_id="org-9",
            )

        connector = run(body())
        assert isinstance(connector, YourConnector)
        assert (connector.connector_id, connector.scope, connector.created_by) == ("c-42", "team", "user-7")
        assert connector.data_entities_processor.org_id == "org-9"
    finally:
        ConnectorFactory.unregister_connector("YourConnector")


def test_enum_named_connector_still_works() -> None:
    app = App(app_name=Connectors.ONEDRIVE, app_group=AppGroup.MICROSOFT)
    assert app.get_app_name() is Connectors.ONEDRIVE
    assert app.get_app_name().value.lower() == "onedrive"


@pytest.mark.parametrize(
    "line",
    [
        "from fastapi import HTTPException",
        "from fastapi.responses import StreamingResponse",
        "from headwater.config.configuration_service import ConfigurationService",
        "from headwater.config.constants.arangodb import (CollectionNames, Connectors, MimeTypes, "
        "OriginTypes)",
        "from headwater.config.constants.arangodb import (RecordType, RecordGroupType, RecordRelations, "
        "ProgressStatus, EventTypes, AppGroups)",
        "from headwater.connectors.core.base.connector.connector_service import BaseConnector",
        "from headwater.connectors.core.base.data_processor.data_source_entities_processor import "
        "DataSourceEntitiesProcessor",
        "from headwater.connectors.core.base.data_store.data_store import DataStoreProvider",
        "from headwater.connectors.core.base.sync_point.sync_point import (SyncDataPointType, SyncPoint, "
        "generate_record_sync_point_key)",
        "from headwater.connectors.core.registry.connector_builder import (AuthField, ConnectorBuilder, "
        "DocumentationLink, FilterField)",
        "from headwater.connectors.core.interfaces.connector.apps import App, AppGroup",
        "from headwater.models.entities import (AppUser, FileRecord, Record, RecordGroupType, RecordType)",
        "from headwater.models.permission import EntityType, Permission, PermissionType",
    ],
)
def test_every_playbook_import_line_works(line: str) -> None:
    namespace: dict[str, Any] = {}
    exec(line, namespace)  # the playbook's own import statements, app. -> headwater.
    imported = [k for k in namespace if k != "__builtins__"]
    assert imported
    assert all(namespace[k] is not None for k in imported)


def test_shim_packages_do_not_import_the_processor_eagerly() -> None:
    import sys

    for mod in [m for m in sys.modules if m.startswith("headwater.connectors.core.base")]:
        del sys.modules[mod]
    saved = sys.modules.pop("headwater.connectors.core.processor", None)
    try:
        importlib.import_module(
            "headwater.connectors.core.base.data_processor.data_source_entities_processor"
        )
        importlib.import_module("headwater.connectors.core.base.sync_point.sync_point")
        assert "headwater.connectors.core.processor" not in sys.modules
    finally:
        if saved is not None:
            sys.modules["headwater.connectors.core.processor"] = saved
