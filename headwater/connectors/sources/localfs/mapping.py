"""Pure mapping: a folder entry to its FileRecord, a root to its record group, the settings to the
grants and groups that decide who sees the records. No disk access, no store access."""

from __future__ import annotations

import mimetypes
import os

from headwater.connectors.sources.localfs.names import display_name, display_path, stored_path
from headwater.connectors.sources.localfs.settings import GroupShare, LocalFsSettings, Root
from headwater.models.constants import Connectors, MimeTypes, OriginTypes, ProgressStatus, RecordGroupType
from headwater.models.entities import AppUser, AppUserGroup, FileRecord, RecordGroup
from headwater.models.permission import EntityType, Permission, PermissionType

CONNECTOR = Connectors.LOCAL_FS
GROUP_TYPE = RecordGroupType.DRIVE
FOLDER_REVISION = "folder"  # a folder has no content: its revision never changes
# the standard library's built-in table only (not the host's /etc/mime.types): the same file gets
# the same MIME type on every machine
_MIME = mimetypes.MimeTypes()
for _type, _ext in (
    ("text/markdown", ".md"),
    ("text/markdown", ".markdown"),
    ("text/mdx", ".mdx"),
    ("application/yaml", ".yaml"),
    ("application/yaml", ".yml"),
    ("application/typescript", ".ts"),
    ("text/x-python", ".py"),
):
    _MIME.add_type(_type, _ext)


def mime_type_of(name: str) -> str:
    guessed, _ = _MIME.guess_type(name, strict=False)
    return guessed or MimeTypes.BIN.value


def extension_of(name: str) -> str | None:
    _, ext = os.path.splitext(name)
    return ext[1:].lower() or None


def revision_of(digest: str | None, size: int, mtime_ns: int) -> str:
    """What tells a content change: the content hash; for a file too large to hash, its size and
    mtime (any change of them counts as new content, which is not indexed anyway)."""
    return digest if digest is not None else f"unhashed:{size}:{mtime_ns}"


def file_record(
    root: Root,
    parts: tuple[str, ...],
    *,
    ext_id: str,
    parent_ext_id: str | None,
    size: int,
    mtime_ns: int,
    digest: str | None,
    max_file_bytes: int,
) -> FileRecord:
    """The record of the file at `parts` (os names from the root, its own name last)."""
    name = display_name(parts[-1])
    record = FileRecord(
        record_name=name,
        external_record_id=ext_id,
        external_revision_id=revision_of(digest, size, mtime_ns),
        external_record_group_id=root.group_id,
        parent_external_record_id=parent_ext_id,
        record_group_type=GROUP_TYPE,
        origin=OriginTypes.CONNECTOR,
        connector_name=CONNECTOR,
        mime_type=mime_type_of(name),
        extension=extension_of(name),
        is_file=True,
        size_in_bytes=size,
        source_updated_at=mtime_ns // 1_000_000,
        path=display_path(root.display, parts),
        local_fs_relative_path=stored_path(parts),
        sha256_hash=digest,
    )
    if size > max_file_bytes:
        record.indexing_status = ProgressStatus.AUTO_INDEX_OFF
        size_text, limit_text = _readable_size(size), _readable_size(max_file_bytes)
        record.reason = f"not indexed: {size_text} is over this connector's file size limit of {limit_text}"
    return record


def folder_record(
    root: Root, parts: tuple[str, ...], *, ext_id: str, parent_ext_id: str | None
) -> FileRecord:
    return FileRecord(
        record_name=display_name(parts[-1]),
        external_record_id=ext_id,
        external_revision_id=FOLDER_REVISION,
        external_record_group_id=root.group_id,
        parent_external_record_id=parent_ext_id,
        record_group_type=GROUP_TYPE,
        origin=OriginTypes.CONNECTOR,
        connector_name=CONNECTOR,
        mime_type=MimeTypes.FOLDER,
        is_file=False,
        size_in_bytes=0,
        path=display_path(root.display, parts),
        local_fs_relative_path=stored_path(parts),
    )


def root_record_group(root: Root) -> RecordGroup:
    return RecordGroup(
        name=root.display,
        short_name=os.path.basename(root.display.rstrip("/")) or root.display,
        description=f"Local folder {root.display}",
        external_group_id=root.group_id,
        connector_name=CONNECTOR,
        group_type=GROUP_TYPE,
    )


def root_permissions(settings: LocalFsSettings, owner: Permission | None) -> list[Permission]:
    """Who may read a root's records: the instance owner (through the SDK's connector group), the
    configured users and the configured groups. Nobody else: with none of them, nobody."""
    grants = [owner] if owner is not None else []
    grants += [
        Permission(email=email, type=PermissionType.READ, entity_type=EntityType.USER)
        for email in settings.share_with_users
    ]
    grants += [
        Permission(external_id=group.external_id, type=PermissionType.READ, entity_type=EntityType.GROUP)
        for group in settings.share_with_groups
    ]
    return grants


def sharing_group(group: GroupShare) -> tuple[AppUserGroup, list[AppUser]]:
    """A configured group as the SDK's group of this connector instance, with its members."""
    members = [AppUser(app_name=CONNECTOR, source_user_id=email, email=email) for email in group.members]
    return AppUserGroup(app_name=CONNECTOR, source_user_group_id=group.external_id, name=group.name), members


def _readable_size(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size:,} bytes"
