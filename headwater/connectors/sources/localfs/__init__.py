"""Local FS: folders on the Headwater server as a connector (`LocalFilesystemConnector`).

Modules, one idea each: `settings` (configuration and its checks), `names` (file names as bytes,
stored text and display text), `fsaccess` (disk access that never follows links), `state` (what
the last sync saw, in sync points), `scan` (listing a root), `reconcile` (which record each file
is: renames, moves, deletions), `mapping` (records, record group, grants), `sync_run` (one sync),
`content` (serving a file's bytes), `connector` (the connector class and its builder metadata),
`watch` (syncing soon after a change on disk).
"""

from headwater.connectors.sources.localfs.connector import LocalFilesystemConnector
from headwater.connectors.sources.localfs.content import (
    LocalFileGoneError,
    LocalFileRefusedError,
    LocalFileStream,
)

__all__ = ["LocalFileGoneError", "LocalFileRefusedError", "LocalFileStream", "LocalFilesystemConnector"]
