"""driveItems -> file and folder records. Pure functions.

The record's revision is the item's `cTag`, which changes only when the content does; the `eTag`
also changes on a rename, a move or a sharing change, so it is not used: a new cTag re-indexes, a
new name does not. Folders have no content: their revision is a constant. Items directly under the
drive's root have no parent record (they belong to the drive's record group); deeper ones have
their folder as parent (PARENT_CHILD)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from headwater.connectors.sources.microsoft.common.timestamps import graph_ms
from headwater.models.constants import Connectors, MimeTypes, OriginTypes, RecordGroupType
from headwater.models.entities import FileRecord, Record

FOLDER_REVISION = "folder"
SHARED_CHANGED = "@microsoft.graph.sharedChanged"


def is_root(item: Mapping[str, Any]) -> bool:
    return "root" in item


def is_deleted(item: Mapping[str, Any]) -> bool:
    return "deleted" in item


def is_folder(item: Mapping[str, Any]) -> bool:
    return "folder" in item or "package" in item


def sharing_changed(item: Mapping[str, Any]) -> bool:
    """Whether delta flagged a change of the item's sharing (with `Prefer: deltashowsharingchanges`)."""
    return str(item.get(SHARED_CHANGED, "")).lower() == "true"


def parent_id(item: Mapping[str, Any], root_id: str | None) -> str | None:
    """The parent folder's item id; None directly under the root."""
    reference = item.get("parentReference")
    parent = reference.get("id") if isinstance(reference, Mapping) else None
    if not isinstance(parent, str) or not parent or parent == root_id:
        return None
    return parent


def extension_of(name: str) -> str | None:
    ext = posixpath.splitext(name)[1]
    return ext[1:].lower() if len(ext) > 1 else None


def item_record(
    item: Mapping[str, Any],
    *,
    drive_id: str,
    root_id: str | None,
    connector_name: Connectors | str,
    group_type: RecordGroupType = RecordGroupType.DRIVE,
) -> FileRecord:
    """The record of a live (not deleted) driveItem of drive `drive_id`.

    Raises:
        ValueError: the item lacks an id or a name.
    """
    item_id, name = item.get("id"), item.get("name")
    if not isinstance(item_id, str) or not item_id or not isinstance(name, str) or not name:
        raise ValueError("a driveItem without an id or a name")
    folder = is_folder(item)
    file_facet: Mapping[str, Any] = item["file"] if isinstance(item.get("file"), Mapping) else {}
    hashes: Mapping[str, Any] = file_facet["hashes"] if isinstance(file_facet.get("hashes"), Mapping) else {}
    ctag = item.get("cTag") if isinstance(item.get("cTag"), str) else None
    size = item.get("size")
    return FileRecord(
        record_name=name,
        external_record_id=item_id,
        # no cTag (OneDrive omits it on some changes): fall back to the eTag, which re-indexes once
        external_revision_id=FOLDER_REVISION if folder else (ctag or str(item.get("eTag") or "") or None),
        external_record_group_id=drive_id,
        parent_external_record_id=parent_id(item, root_id),
        record_group_type=group_type,
        origin=OriginTypes.CONNECTOR,
        connector_name=connector_name,
        mime_type=MimeTypes.FOLDER if folder else str(file_facet.get("mimeType") or MimeTypes.UNKNOWN.value),
        weburl=item.get("webUrl") if isinstance(item.get("webUrl"), str) else None,
        source_created_at=graph_ms(item.get("createdDateTime")),
        source_updated_at=graph_ms(item.get("lastModifiedDateTime")),
        size_in_bytes=0 if folder else (int(size) if isinstance(size, int) else None),
        is_file=not folder,
        extension=None if folder else extension_of(name),
        ctag=None if folder else ctag,
        quick_xor_hash=hashes.get("quickXorHash"),
        sha1_hash=hashes.get("sha1Hash"),
        sha256_hash=hashes.get("sha256Hash"),
    )


def same_record(new: Record, stored: Record) -> bool:
    """Whether `new` says nothing `stored` does not (a folder repeated in a delta round as a parent)."""
    return (
        new.record_name,
        new.parent_external_record_id,
        new.external_revision_id,
        new.weburl,
        new.size_in_bytes,
        str(new.mime_type),
        new.source_updated_at,
    ) == (
        stored.record_name,
        stored.parent_external_record_id,
        stored.external_revision_id,
        stored.weburl,
        stored.size_in_bytes,
        str(stored.mime_type),
        stored.source_updated_at,
    )
