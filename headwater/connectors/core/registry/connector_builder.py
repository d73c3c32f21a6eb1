"""Playbook path of ConnectorBuilder: re-exports ``headwater.connectors.core.builder``."""

from headwater.connectors.core.builder import (
    AuthField,
    AuthType,
    CommonFields,
    ConnectorBuilder,
    ConnectorConfigBuilder,
    ConnectorDefinitionError,
    ConnectorScope,
    CustomField,
    DocumentationLink,
    FieldType,
    FileContentValidationRule,
    FilterField,
    OAuthConfig,
    OAuthScopeConfig,
    PermissionModel,
    SyncStrategy,
)

__all__ = [
    "AuthField",
    "AuthType",
    "CommonFields",
    "ConnectorBuilder",
    "ConnectorConfigBuilder",
    "ConnectorDefinitionError",
    "ConnectorScope",
    "CustomField",
    "DocumentationLink",
    "FieldType",
    "FileContentValidationRule",
    "FilterField",
    "OAuthConfig",
    "OAuthScopeConfig",
    "PermissionModel",
    "SyncStrategy",
]
