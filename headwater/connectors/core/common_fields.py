"""Ready-made fields most connectors need (reference §2.5)."""

from __future__ import annotations

from collections.abc import Iterable

from headwater.connectors.core.definitions import (
    AuthField,
    CustomField,
    FilterField,
)
from headwater.connectors.core.filters import (
    FilterCategory,
    FilterOperator,
    FilterOption,
    FilterType,
    OptionSourceType,
)


class CommonFields:
    """Ready-made fields most connectors need (reference §2.5)."""

    @staticmethod
    def client_id(provider: str = "the provider") -> AuthField:
        return AuthField(
            name="clientId",
            display_name="Client ID",
            placeholder="Enter your Client ID",
            description=f"The OAuth client ID from {provider}",
        )

    @staticmethod
    def client_secret(provider: str = "the provider") -> AuthField:
        return AuthField(
            name="clientSecret",
            display_name="Client Secret",
            placeholder="Enter your Client Secret",
            description=f"The OAuth client secret from {provider}",
            field_type="PASSWORD",
            is_secret=True,
        )

    @staticmethod
    def tenant_id(provider: str = "Microsoft Entra ID") -> AuthField:
        return AuthField(
            name="tenantId",
            display_name="Tenant ID",
            placeholder="Enter your Tenant ID",
            description=f"The tenant (directory) ID from {provider}",
        )

    @staticmethod
    def api_token(
        token_name: str = "API Token",
        placeholder: str = "Enter your API token",
        field_name: str = "apiToken",
        required: bool = True,
    ) -> AuthField:
        return AuthField(
            name=field_name,
            display_name=token_name,
            placeholder=placeholder,
            description=f"The {token_name}",
            field_type="PASSWORD",
            required=required,
            max_length=2000,
            is_secret=True,
        )

    @staticmethod
    def bearer_token(
        token_name: str = "Bearer Token", placeholder: str = "Enter your bearer token"
    ) -> AuthField:
        return AuthField(
            name="bearerToken",
            display_name=token_name,
            placeholder=placeholder,
            description=f"The {token_name}",
            field_type="PASSWORD",
            max_length=8000,
            is_secret=True,
        )

    @staticmethod
    def username() -> AuthField:
        return AuthField(
            name="username", display_name="Username", placeholder="Enter your username", min_length=3
        )

    @staticmethod
    def password() -> AuthField:
        return AuthField(
            name="password",
            display_name="Password",
            placeholder="Enter your password",
            field_type="PASSWORD",
            min_length=8,
            is_secret=True,
        )

    @staticmethod
    def base_url(service: str = "the service") -> AuthField:
        return AuthField(
            name="baseUrl",
            display_name="Base URL",
            placeholder="https://",
            description=f"The base URL of {service}",
            field_type="URL",
            max_length=2000,
        )

    @staticmethod
    def file_extension_filter(extensions: Iterable[str] = ()) -> FilterField:
        exts = list(extensions) or [
            "pdf", "docx", "doc", "xlsx", "xls", "pptx", "ppt", "csv", "tsv", "txt", "md", "mdx",
            "html", "json", "xml", "yaml", "eml", "png", "jpg", "jpeg", "gif", "svg",
        ]  # fmt: skip
        return FilterField(
            name="file_extensions",
            display_name="File extensions",
            filter_type=FilterType.MULTISELECT,
            category=FilterCategory.SYNC,
            description="Only sync files with these extensions",
            default_operator=FilterOperator.IN,
            options=[FilterOption(id=e, label=f".{e}") for e in exts],
            option_source_type=OptionSourceType.STATIC,
        )

    @staticmethod
    def folders_filter() -> FilterField:
        return FilterField(
            name="folders", display_name="Folders", filter_type=FilterType.LIST, description="Folders to sync"
        )

    @staticmethod
    def channels_filter() -> FilterField:
        return FilterField(
            name="channels",
            display_name="Channels",
            filter_type=FilterType.LIST,
            description="Channels to sync",
        )

    @staticmethod
    def modified_date_filter() -> FilterField:
        return FilterField(
            name="modified",
            display_name="Modified date",
            filter_type=FilterType.DATETIME,
            description="Only sync items modified in this range",
        )

    @staticmethod
    def created_date_filter() -> FilterField:
        return FilterField(
            name="created",
            display_name="Created date",
            filter_type=FilterType.DATETIME,
            description="Only sync items created in this range",
        )

    @staticmethod
    def enable_manual_sync_filter() -> FilterField:
        return FilterField(
            name="enable_manual_sync",
            display_name="Manual indexing",
            filter_type=FilterType.BOOLEAN,
            category=FilterCategory.INDEXING,
            description="Disable automatic indexing: records are synced, and indexed only on request",
            default_value=False,
        )

    @staticmethod
    def batch_size_field() -> CustomField:
        return CustomField(
            name="batchSize",
            display_name="Batch size",
            field_type="SELECT",
            description="Items per batch",
            default_value="50",
            options=["25", "50", "100"],
        )
