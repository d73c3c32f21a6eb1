"""The driveItem machinery OneDrive and SharePoint share: delta rounds per drive (`delta`), items as
records (`mapping`), Graph permissions as grants (`permissions`), content and download URLs
(`content`)."""

from headwater.connectors.sources.microsoft.drives.content import (
    DriveItemGoneError,
    DriveItemRefusedError,
    DriveItemStream,
    open_stream,
    signed_url,
)
from headwater.connectors.sources.microsoft.drives.delta import (
    DriveDeltaSync,
    DriveRound,
    DriveScope,
    sync_key,
)

__all__ = [
    "DriveDeltaSync",
    "DriveItemGoneError",
    "DriveItemRefusedError",
    "DriveItemStream",
    "DriveRound",
    "DriveScope",
    "open_stream",
    "signed_url",
    "sync_key",
]
