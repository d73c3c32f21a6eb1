"""A connector written exactly as the playbook's step 6.2 boilerplate and 6.3 snippets, with
`app.` -> `headwater.` in the imports and the TODOs filled in against `fake_service.YourAPIClient`.

Unavoidable edits, as in tests/connectors/core/test_playbook_connector.py: the multi-line decorator
is wrapped in parentheses (Python cannot parse the listing without them); `Connectors.YOUR_CONNECTOR`
is a plain-string stand-in (a third-party connector is not a `Connectors` member); the snippets'
`self` methods sit inside the class. Filled-in TODOs: the client, fetching users, items and the delta
feed, tombstones (`on_record_deleted_by_external_id`), and the item's shared-with permissions.
"""

# ruff: noqa: UP006, UP035, UP045, E501, B904, SIM105
import uuid
from datetime import datetime
from logging import Logger
from typing import Any, Dict, List, Optional

from fastapi import HTTPException
from fastapi.responses import StreamingResponse

from headwater.config.configuration_service import ConfigurationService
from headwater.config.constants.arangodb import (
    MimeTypes,
    OriginTypes,
)
from headwater.connectors.core.base.connector.connector_service import BaseConnector
from headwater.connectors.core.base.data_processor.data_source_entities_processor import (
    DataSourceEntitiesProcessor,
)
from headwater.connectors.core.base.data_store.data_store import DataStoreProvider
from headwater.connectors.core.base.sync_point.sync_point import (
    SyncDataPointType,
    SyncPoint,
    generate_record_sync_point_key,
)
from headwater.connectors.core.interfaces.connector.apps import App, AppGroup
from headwater.connectors.core.registry.connector_builder import (
    AuthField,
    ConnectorBuilder,
    DocumentationLink,
    FilterField,
)
from headwater.models.entities import (
    AppUser,
    FileRecord,
    Record,
    RecordGroupType,
    RecordType,
)
from headwater.models.permission import EntityType, Permission, PermissionType
from tests.connectors.engine.fake_service import YourAPIClient

YOUR_CONNECTOR = "YourConnector"  # playbook: Connectors.YOUR_CONNECTOR (defined in its step 7.1)


class YourConnectorApp(App):
    """App definition for YourConnector."""

    def __init__(self) -> None:
        super().__init__(
            app_name=YOUR_CONNECTOR,  # This will be defined in Step 7.1
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
        data_entities_processor: DataSourceEntitiesProcessor,
        data_store_provider: DataStoreProvider,
        config_service: ConfigurationService,
    ) -> None:
        super().__init__(
            YourConnectorApp(),
            logger,
            data_entities_processor,
            data_store_provider,
            config_service,
        )

        # TODO: Initialize your external API client reference
        self.external_client: Optional[Any] = None

        # Initialize sync point for delta sync
        # See: https://github.com/pipeshub-ai/pipeshub-ai/blob/main/backend/python/app/connectors/core/base/sync_point/sync_point.py
        self.sync_point = SyncPoint(
            connector_name=YOUR_CONNECTOR,
            org_id=self.data_entities_processor.org_id,
            sync_data_point_type=SyncDataPointType.RECORDS,
            data_store_provider=self.data_store_provider,
        )

    async def init(self) -> bool:
        """Initialize the connector with credentials and API client."""
        try:
            org_id = self.data_entities_processor.org_id

            # TODO: Load credentials from config
            credentials = await self._get_credentials(org_id)

            # TODO: Initialize your external API client
            self.external_client = YourAPIClient(credentials)

            # Test connection
            if not self.test_connection_and_access():
                self.logger.error("Connection test failed")
                return False

            return True

        except Exception as e:
            self.logger.error(f"Failed to initialize connector: {e}")
            return False

    def test_connection_and_access(self) -> bool:
        """Test connection and access to external API."""
        try:
            # TODO: Implement connection test
            # Example: Make a simple API call to verify credentials
            return True
        except Exception as e:
            self.logger.error(f"Connection test failed: {e}")
            return False

    async def _get_credentials(self, org_id: str) -> Dict:
        """Load connector credentials from configuration."""
        try:
            config_path = f"/services/connectors/{self.app.get_app_name().value.lower()}/config"
            config = await self.config_service.get_config(config_path)

            if not config:
                raise ValueError("Connector configuration not found")

            # TODO: Extract and return credentials
            return {
                "client_id": config["auth"]["clientId"],
                "client_secret": config["auth"]["clientSecret"],
                # Add other credential fields
            }
        except Exception as e:
            self.logger.error(f"Failed to load credentials: {e}")
            raise

    async def run_sync(self) -> None:
        """Run full synchronization."""
        try:
            org_id = self.data_entities_processor.org_id
            self.logger.info("Starting sync...")

            # TODO: Implement your sync logic
            # Step 1: Ensure external client is initialized
            if not self.external_client:
                raise Exception("External API client not initialized. Call init() first.")

            # Step 2: Get users from external API (if applicable)
            external_users = await self._get_all_users_external()

            # Step 3: Get active users from database to filter
            # NOTE: Sync should only be ran for active users on platform, which can be get from data_entities_processor
            # active_users = await self.data_entities_processor.get_all_active_users()
            users_to_sync = external_users

            # Step 4: Process users/entities and sync data
            await self._process_entities(org_id, users_to_sync)

            self.logger.info("Sync completed successfully")

        except Exception as e:
            self.logger.error(f"Error during sync: {e}")
            raise

    async def run_incremental_sync(self) -> None:
        """Run incremental synchronization using delta links."""
        # Most connectors can delegate to run_sync() if delta sync is handled internally
        await self.run_sync()

    async def stream_record(self, record: Record) -> StreamingResponse:
        """Stream record content (download file/email/document)."""
        try:
            # TODO: Implement record streaming
            raise NotImplementedError("Stream record not implemented")

        except Exception as e:
            raise HTTPException(status_code=500, detail=f"Failed to stream record: {str(e)}")

    def get_signed_url(self, record: Record) -> Optional[str]:
        """Get signed URL for record access (optional - if API supports it)."""
        # TODO: Implement if your API provides signed URLs
        return None

    async def handle_webhook_notification(self, org_id: str, notification: Dict) -> bool:
        """Handle webhook notifications (optional - for real-time sync)."""
        try:
            # TODO: Implement webhook handling if supported
            return True
        except Exception as e:
            self.logger.error(f"Error handling webhook: {e}")
            return False

    def cleanup(self) -> None:
        """Clean up resources used by the connector."""
        try:
            # TODO: Clean up external clients, caches, etc.
            self.external_client = None
        except Exception as e:
            self.logger.error(f"Error during cleanup: {e}")

    @classmethod
    async def create_connector(
        cls, logger: Logger, data_store_provider: DataStoreProvider, config_service: ConfigurationService
    ) -> "YourConnector":
        """Factory method to create and initialize connector."""
        data_entities_processor = DataSourceEntitiesProcessor(logger, data_store_provider, config_service)
        await data_entities_processor.initialize()

        return YourConnector(logger, data_entities_processor, data_store_provider, config_service)

    # ---- step 6.3.1 ----

    async def _get_all_users_external(self) -> List[AppUser]:
        """Get all users from external API."""
        try:
            # TODO: Call your external API
            response = await self.external_client.get_users()

            # TODO: Transform to AppUser entities
            users = []
            for user_data in response:
                app_user = AppUser(
                    app_name=YOUR_CONNECTOR,
                    source_user_id=user_data["id"],
                    email=user_data["email"],
                    full_name=user_data["name"],
                )
                users.append(app_user)

            return users

        except Exception as e:
            self.logger.error(f"Error getting users: {e}")
            return []

    # ---- step 6.3.2 ----

    async def _process_entities(self, org_id: str, users: List[AppUser]) -> None:
        """Process entities and create records."""
        try:
            # Save users to database
            await self.data_entities_processor.on_new_app_users(users)

            # Process each user's data
            for user in users:
                await self._process_user_data(org_id, user)

        except Exception as e:
            self.logger.error(f"Error processing entities: {e}")
            raise

    async def _process_user_data(self, org_id: str, user: AppUser) -> None:
        """Process data for a single user."""
        try:
            # TODO: Read sync point for delta sync
            sync_point_key = generate_record_sync_point_key(
                RecordType.FILE.value,  # Or appropriate type
                "users",
                user.source_user_id,
            )
            sync_point = await self.sync_point.read_sync_point(sync_point_key)
            delta_link = sync_point.get("delta_link") if sync_point else None

            # TODO: Fetch only changed items if delta_link exists
            if delta_link:
                items, new_delta_link = await self.external_client.get_items_delta(delta_link)
            else:
                items, new_delta_link = await self.external_client.get_items(user.source_user_id)

            # Transform items to records
            records_with_permissions = []
            for item in items:
                if item.get("deleted"):  # a tombstone from the delta feed
                    await self.data_entities_processor.on_record_deleted_by_external_id(
                        self.connector_id, item["id"]
                    )
                    continue
                record = self._transform_to_record(org_id, item, user)
                permissions = self._extract_permissions(item, user)
                records_with_permissions.append((record, permissions))

            # Save records in batch
            if records_with_permissions:
                await self.data_entities_processor.on_new_records(records_with_permissions)

            # TODO: Update sync point with new delta_link
            await self.sync_point.update_sync_point(
                sync_point_key,
                {"delta_link": new_delta_link, "last_sync_timestamp": 1_700_000_000_000},
            )

        except Exception as e:
            self.logger.error(f"Error processing user {user.email}: {e}")

    # ---- step 6.3.3 ----

    def _transform_to_record(self, org_id: str, item: Dict, user: AppUser) -> Record:
        """Transform external API item to Record entity."""

        # Example for FileRecord (adjust based on your data type)
        record = FileRecord(
            id=str(uuid.uuid4()),
            org_id=org_id,
            record_name=item.get("name", "Unnamed"),
            record_type=RecordType.FILE,  # Or MAIL, DOCUMENT, etc.
            external_record_id=item["id"],
            external_revision_id=item.get("etag"),
            version=0,
            origin=OriginTypes.CONNECTOR,
            connector_name=YOUR_CONNECTOR,
            source_created_at=self._parse_datetime(item.get("created_at")),
            source_updated_at=self._parse_datetime(item.get("updated_at")),
            weburl=item.get("web_url", ""),
            mime_type=MimeTypes.PDF,  # Determine from item data
            parent_external_record_id=item.get("parent_id"),
            external_record_group_id=item.get("group_id"),
            record_group_type=RecordGroupType.FOLDER,  # Or appropriate type
            size_in_bytes=item.get("size", 0),
            is_file=True,
            extension=self._get_extension(item.get("name", "")),
        )

        return record

    def _parse_datetime(self, dt_str: Optional[str]) -> Optional[int]:
        """Parse datetime string to epoch milliseconds."""
        if not dt_str:
            return None
        try:
            dt = datetime.fromisoformat(dt_str.replace("Z", "+00:00"))
            return int(dt.timestamp() * 1000)
        except Exception:
            return None

    def _get_extension(self, filename: str) -> Optional[str]:
        """Extract file extension."""
        if "." in filename:
            return filename.split(".")[-1].lower()
        return None

    # ---- step 6.3.4 ----

    def _extract_permissions(self, item: Dict, owner: AppUser) -> List[Permission]:
        """Extract permissions from item data."""
        permissions = []

        try:
            # Owner permission
            permissions.append(
                Permission(
                    email=owner.email,
                    type=PermissionType.OWNER,
                    entity_type=EntityType.USER,
                )
            )

            # TODO: Extract other permissions from item data
            for permission_data in item.get("permissions", []):
                permission = Permission(
                    email=permission_data.get("email"),
                    type=self._map_permission_type(permission_data.get("role")),
                    entity_type=EntityType.USER,
                )
                permissions.append(permission)

            return permissions

        except Exception as e:
            self.logger.error(f"Error extracting permissions: {e}")
            return permissions

    def _map_permission_type(self, role: str) -> PermissionType:
        """Map external API role to internal PermissionType."""
        role_map = {
            "owner": PermissionType.OWNER,
            "editor": PermissionType.WRITER,
            "writer": PermissionType.WRITER,
            "reader": PermissionType.READ,
            "viewer": PermissionType.READ,
        }
        return role_map.get(role.lower(), PermissionType.READ)
