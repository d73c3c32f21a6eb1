"""SharePoint Online: sites, their document libraries and pages (`SharePointConnector`)."""

from headwater.connectors.sources.microsoft.sharepoint.connector import SharePointConnector

__all__ = ["SharePointConnector"]
