"""OneDrive for Business: every active user's OneDrive (`OneDriveConnector`)."""

from headwater.connectors.sources.microsoft.onedrive.connector import OneDriveConnector

__all__ = ["OneDriveConnector"]
