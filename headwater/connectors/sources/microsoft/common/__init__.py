"""What every Microsoft 365 connector shares: the app registration's config and the Graph client built
from it (`graph`), the tenant's directory of users and groups (`directory`), timestamps (`timestamps`)."""

from headwater.connectors.sources.microsoft.common.directory import (
    Directory,
    DirectorySync,
    DirectoryUser,
)
from headwater.connectors.sources.microsoft.common.graph import (
    GraphConnection,
    GraphEndpoint,
    credentials_from_config,
    declare_app_registration,
    graph_errors,
    source_error,
)

__all__ = [
    "Directory",
    "DirectorySync",
    "DirectoryUser",
    "GraphConnection",
    "GraphEndpoint",
    "credentials_from_config",
    "declare_app_registration",
    "graph_errors",
    "source_error",
]
