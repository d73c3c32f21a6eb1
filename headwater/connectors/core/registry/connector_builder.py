"""Playbook path of ConnectorBuilder: re-exports the builder and the vocabulary of declarations."""

from headwater.connectors.core.builder import ConnectorBuilder, ConnectorConfigBuilder
from headwater.connectors.core.common_fields import CommonFields
from headwater.connectors.core.definitions import (
    AuthField,
    AuthType,
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
