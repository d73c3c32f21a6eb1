"""What an administrator configures on a Local FS instance, and the checks that turn mistakes into
messages saying what to fix.

The fields are sync custom fields of the builder metadata (`SETTINGS_FIELDS`); their values sit in
the instance config under `sync` (`/services/connectors/{id}/config` -> `{"sync": {"folders": ...}}`),
as the reference stores custom sync values.

`ForbiddenPaths` is the other side of configuration: paths no Local FS sync in this process reads,
whatever an instance says. The platform installs them (`forbid_paths`) when a sync worker or
`headwater sync` starts; the connector does not know where the platform keeps its data.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from headwater.connectors.core.connector import ConnectorInitError
from headwater.connectors.core.definitions import CustomField
from headwater.connectors.sources.localfs.fsaccess import FsAccess
from headwater.connectors.sources.localfs.names import display_name, stored_name

FOLDERS = "folders"
MAX_FILE_SIZE_MB = "maxFileSizeMb"
SHARE_WITH_USERS = "shareWithUsers"
SHARE_WITH_GROUPS = "shareWithGroups"
DEFAULT_MAX_FILE_SIZE_MB = 100
ROOT_GROUP_PREFIX = "root:"

SETTINGS_FIELDS = (
    CustomField(
        name=FOLDERS,
        display_name="Folders to sync",
        field_type="TEXTAREA",
        description="Absolute paths of folders on the Headwater server, one per line",
        required=True,
    ),
    CustomField(
        name=MAX_FILE_SIZE_MB,
        display_name="Maximum file size (MiB)",
        field_type="NUMBER",
        description="Larger files are listed but not indexed",
        default_value=DEFAULT_MAX_FILE_SIZE_MB,
    ),
    CustomField(
        name=SHARE_WITH_USERS,
        display_name="Share with users",
        field_type="TEXTAREA",
        description="Emails of people who may search these files, one per line (the owner always may)",
    ),
    CustomField(
        name=SHARE_WITH_GROUPS,
        display_name="Share with groups",
        field_type="TEXTAREA",
        description="One group per line: 'group name: email, email'",
    ),
)

_EMAIL = re.compile(r"^[^@\s,;:]+@[^@\s,;:]+\.[^@\s,;:]+$")
_LIST_SEPARATORS = re.compile(r"[\n,;]+")


@dataclass(frozen=True, slots=True)
class Root:
    """One configured folder: where it is, and the record group that stands for it."""

    path: str  # the real path (symlinks in the configured path resolved), an os string
    group_id: str  # external id of its record group

    @property
    def display(self) -> str:
        return display_name(self.path)


@dataclass(frozen=True, slots=True)
class GroupShare:
    name: str
    members: tuple[str, ...]  # lower-cased emails

    @property
    def external_id(self) -> str:
        return "share:" + self.name.casefold()


@dataclass(frozen=True, slots=True)
class LocalFsSettings:
    roots: tuple[Root, ...]
    max_file_bytes: int
    share_with_users: tuple[str, ...]
    share_with_groups: tuple[GroupShare, ...]


@dataclass(frozen=True, slots=True)
class ForbiddenPaths:
    """Real paths (files or folders) that a sync never reads, nor anything inside them.

    A root that is one of them or lies inside one is refused as a whole; a root that holds one is
    walked, and the walk refuses the path when it reaches it (a folder is refused before it is
    listed, a file before it is read)."""

    paths: frozenset[str] = frozenset()
    # folder -> names of forbidden paths directly inside it: the walk asks once per folder
    _by_parent: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_parent: dict[str, set[str]] = {}
        for path in self.paths:
            parent, name = os.path.split(path)
            if name:
                by_parent.setdefault(parent, set()).add(name)
        object.__setattr__(self, "_by_parent", {k: frozenset(v) for k, v in by_parent.items()})

    @classmethod
    def of(cls, paths: Iterable[str]) -> ForbiddenPaths:
        """From configured paths (resolved: symbolic links and `..` as the root paths are)."""
        return cls(frozenset(os.path.realpath(os.path.expanduser(p)) for p in paths if p))

    def covers(self, real_path: str) -> bool:
        """Whether `real_path` is a forbidden path or lies inside one."""
        return any(real_path == p or real_path.startswith(p.rstrip(os.sep) + os.sep) for p in self.paths)

    def names_in(self, real_folder: str) -> frozenset[str]:
        """The os names of the forbidden paths directly inside `real_folder` (usually none)."""
        return self._by_parent.get(real_folder, frozenset()) if self.paths else frozenset()


_forbidden = ForbiddenPaths()


def forbid_paths(paths: Iterable[str]) -> None:
    """Make every Local FS sync in this process refuse `paths` and what lies inside them (replacing
    the paths forbidden before). A process-wide setting because the connector is built by the sync
    engine from stored configuration alone: it is the platform's rule, installed once at startup."""
    global _forbidden
    _forbidden = ForbiddenPaths.of(paths)


def forbidden_paths() -> ForbiddenPaths:
    """The paths `forbid_paths` installed (none until it is called)."""
    return _forbidden


def root_group_id(real_path: str) -> str:
    return ROOT_GROUP_PREFIX + stored_name(real_path)


def settings_from_config(config: Mapping[str, Any] | None, fs: FsAccess) -> LocalFsSettings:
    """The settings of an instance config; ConnectorInitError with what to fix when they are wrong
    (including a folder that is missing, not a folder, or unreadable right now)."""
    if not isinstance(config, Mapping):
        raise ConnectorInitError(
            "Local FS is not configured yet: enter at least one folder under 'Folders to sync'"
        )
    values = _sync_values(config)
    return LocalFsSettings(
        roots=_roots(values.get(FOLDERS), fs),
        max_file_bytes=_max_file_bytes(values.get(MAX_FILE_SIZE_MB)),
        share_with_users=_emails(values.get(SHARE_WITH_USERS), "Share with users"),
        share_with_groups=_groups(values.get(SHARE_WITH_GROUPS)),
    )


def configured_folders(config: Mapping[str, Any] | None) -> list[str]:
    """The folder paths of an instance config as configured (not checked, not resolved): what the
    platform's folder policy looks at before the connector ever opens them."""
    if not isinstance(config, Mapping):
        return []
    return _lines(_sync_values(config).get(FOLDERS))


def _sync_values(config: Mapping[str, Any]) -> dict[str, Any]:
    sync = config.get("sync")
    if not isinstance(sync, Mapping):
        return {}
    # the builder's template keeps a `customValues` slot; a value set directly on `sync` wins
    custom = sync.get("customValues")
    values = dict(custom) if isinstance(custom, Mapping) else {}
    values.update({k: v for k, v in sync.items() if k in {f.name for f in SETTINGS_FIELDS}})
    return values


def _lines(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else str(value).splitlines()
    return [str(item).strip() for item in items if str(item).strip()]


def _roots(value: Any, fs: FsAccess) -> tuple[Root, ...]:
    paths = _lines(value)
    if not paths:
        raise ConnectorInitError(
            "No folder to sync: enter the absolute path of at least one folder (one per line) "
            "under 'Folders to sync'"
        )
    roots: dict[str, Root] = {}
    for configured in paths:
        real = _checked_folder(configured, fs)
        roots.setdefault(real, Root(real, root_group_id(real)))
    ordered = sorted(roots)
    for outer in ordered:
        for inner in ordered:
            if inner != outer and inner.startswith(outer.rstrip("/") + "/"):
                raise ConnectorInitError(
                    f"'{display_name(inner)}' is inside '{display_name(outer)}', which is already "
                    f"listed under 'Folders to sync': keep only '{display_name(outer)}'"
                )
    return tuple(roots[p] for p in ordered)


def _checked_folder(configured: str, fs: FsAccess) -> str:
    if not os.path.isabs(configured):
        raise ConnectorInitError(
            f"'{configured}' is not an absolute path: enter the full path of the folder on the "
            "Headwater server, for example /srv/shared/notes"
        )
    real = os.path.realpath(configured)
    if not os.path.lexists(real):
        raise ConnectorInitError(
            f"The folder '{configured}' does not exist on the Headwater server: check the path (and "
            "that its disk is mounted), or remove it from 'Folders to sync'"
        )
    if not os.path.isdir(real):
        raise ConnectorInitError(
            f"'{configured}' is a file, not a folder: enter the folder that contains it under "
            "'Folders to sync'"
        )
    try:
        fd = fs.open_root(real)
        try:
            fs.list_dir(fd)
        finally:
            os.close(fd)
    except PermissionError:
        raise ConnectorInitError(
            f"Headwater cannot read the folder '{configured}' (permission denied): give the account "
            "that runs Headwater read and execute permission on it (for example chmod o+rx), or "
            "remove it from 'Folders to sync'"
        ) from None
    except OSError as exc:
        raise ConnectorInitError(
            f"Headwater cannot open the folder '{configured}' ({exc.strerror or exc}): check that it "
            "is a reachable folder, or remove it from 'Folders to sync'"
        ) from None
    return real


def _max_file_bytes(value: Any) -> int:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_MAX_FILE_SIZE_MB * 2**20
    try:
        mebibytes = float(value)
    except (TypeError, ValueError):
        mebibytes = math.nan
    if isinstance(value, bool) or not math.isfinite(mebibytes) or mebibytes <= 0:
        raise ConnectorInitError(
            f"'Maximum file size (MiB)' must be a positive number, not {value!r}: for example "
            f"{DEFAULT_MAX_FILE_SIZE_MB}"
        )
    return int(mebibytes * 2**20)


def _emails(value: Any, field: str) -> tuple[str, ...]:
    found: list[str] = []
    for line in _lines(value):
        found.extend(_emails_in(line, field))
    return tuple(dict.fromkeys(found))


def _emails_in(text: str, field: str) -> list[str]:
    emails = []
    for item in _LIST_SEPARATORS.split(text):
        email = item.strip().lower()
        if not email:
            continue
        if not _EMAIL.match(email):
            raise ConnectorInitError(f"'{item.strip()}' in '{field}' is not an email address")
        emails.append(email)
    return emails


def _groups(value: Any) -> tuple[GroupShare, ...]:
    groups: dict[str, GroupShare] = {}
    for line in _lines(value):
        name, colon, members = line.partition(":")
        name = name.strip()
        if not colon or not name:
            raise ConnectorInitError(
                f"The line '{line}' in 'Share with groups' is not 'group name: email, email'"
            )
        emails = tuple(dict.fromkeys(_emails_in(members, "Share with groups")))
        if not emails:
            raise ConnectorInitError(
                f"The group '{name}' in 'Share with groups' has no members: write 'group name: email, email'"
            )
        share = GroupShare(name, emails)
        if share.external_id in {g.external_id for g in groups.values()}:
            raise ConnectorInitError(f"The group '{name}' appears twice in 'Share with groups'")
        groups[name] = share
    return tuple(groups.values())
