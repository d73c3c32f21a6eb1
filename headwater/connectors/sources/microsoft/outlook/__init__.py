"""Outlook: Exchange Online mailboxes over Microsoft Graph (see `connector.py`)."""

from headwater.connectors.sources.microsoft.outlook.connector import OutlookConnector, OutlookContent

__all__ = ["OutlookConnector", "OutlookContent"]
