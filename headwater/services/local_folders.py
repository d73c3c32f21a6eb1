"""Which folders on the Headwater server a Local FS instance may read.

A Local FS instance reads the server's disk with the server's own rights, so who configures one and
where it points are the platform's business, not the connector's:

* Headwater's own state is never a source: a folder inside the data directory (the database, the
  secret key, the index), or one that contains it, is refused everywhere, the CLI included; so is
  the secret key file and a SQLite store kept elsewhere.
* Through the API and web UI, only an organisation's admins add or change Local FS instances, as
  team instances, and only over folders inside the operator's `HEADWATER_LOCALFS_ROOTS`. On the
  server, `headwater connectors add` (the operator) may use any other folder.

Paths are compared after resolving symbolic links and `..`, and the policy is checked before the
connector opens anything, so a refused folder never tells whether it exists.

The data rule holds at sync time too, for instances saved before it or edited in the config store:
the sync worker and `headwater sync` install `protected_paths` as the Local FS connector's forbidden
paths (`forbid_headwater_data`), and its scan reports such a folder as a failed item instead of
reading it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from headwater.connectors.core.definitions import ConnectorScope
from headwater.connectors.sources.localfs.connector import NAME as LOCAL_FS
from headwater.connectors.sources.localfs.settings import FOLDERS, configured_folders, forbid_paths
from headwater.settings import Settings

from .connector_access import Actor
from .errors import ConfigValueError, ForbiddenError

ROOTS_SETTING = "HEADWATER_LOCALFS_ROOTS"
_SQLITE = "sqlite:///"
_EMBEDDED = "embedded://"
_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")  # files SQLite keeps beside a database


def is_local_fs(connector_type: str | None) -> bool:
    return connector_type == LOCAL_FS


def api_scopes(connector_type: str, scopes: list[str]) -> list[str]:
    """The scopes the API and web UI offer for a type: Local FS is team-only there."""
    return [ConnectorScope.TEAM.value] if is_local_fs(connector_type) else scopes


def check_may_manage(actor: Actor, scope: str | None = None) -> None:
    """ForbiddenError unless `actor` may add, change or enable a Local FS instance through the API
    or web UI (an admin); ConfigValueError for adding a personal one (`scope`: they are team
    instances there)."""
    if not actor.is_admin:
        raise ForbiddenError(
            "only an admin can add or change a Local FS connector: it reads folders on the Headwater "
            "server's own disk — ask an admin to add the folder as a team connector shared with you"
        )
    if scope is not None and scope != ConnectorScope.TEAM.value:
        raise ConfigValueError(
            "scope",
            "a Local FS connector added through the API or web UI is a team connector (scope: team); "
            "choose whom it shares the files with under 'Share with users' and 'Share with groups'",
        )


def check_folders(
    settings: Settings,
    config: Mapping[str, Any],
    *,
    within_roots: bool,
    previous: Mapping[str, Any] | None = None,
) -> None:
    """ConfigValueError for the first configured folder that is, holds or lies inside Headwater's
    own state, or (`within_roots`: the API and web UI) that lies outside every configured root. A
    folder the `previous` config had already (the operator's, from the CLI) needs no root: an
    admin who changes the sharing of such an instance reaches nothing new."""
    protected = protected_paths(settings)
    roots = [_real(str(root)) for root in settings.localfs_roots]
    kept = {_real(f) for f in configured_folders(previous) if os.path.isabs(f)}
    for configured in configured_folders(config):
        if not os.path.isabs(configured):
            continue  # the connector's own check explains what an absolute path is
        real = _real(configured)
        if within_roots and real not in kept and not any(_inside(real, root) for root in roots):
            raise ConfigValueError(FOLDERS, _outside_roots(configured, settings))
        if any(_inside(real, p) or _inside(p, real) for p in protected):
            raise ConfigValueError(
                FOLDERS,
                f"'{configured}' is or holds Headwater's own data (its data directory, database or "
                "secret key): a Local FS connector never reads it — pick another folder",
            )


def forbid_headwater_data(settings: Settings) -> None:
    """Make every Local FS sync in this process refuse Headwater's own data (`protected_paths`),
    whatever an instance's configuration says. Called where syncs run: the sync worker's start and
    `headwater sync`."""
    forbid_paths(protected_paths(settings))


def protected_paths(settings: Settings) -> list[str]:
    """The real paths of everything Headwater keeps on this server's disk."""
    paths = [str(settings.data_dir), str(settings.resolved_secret_key_file)]
    for url in (settings.resolved_store_url, settings.resolved_config_url):
        if url.startswith(_SQLITE):
            database = url.removeprefix(_SQLITE).split("?", 1)[0]
            if database:
                paths += [database, *(database + suffix for suffix in _SQLITE_SIDECARS)]
    if settings.resolved_index_url.startswith(_EMBEDDED):
        paths.append(settings.resolved_index_url.removeprefix(_EMBEDDED))
    return list(dict.fromkeys(_real(p) for p in paths if p))


def _outside_roots(configured: str, settings: Settings) -> str:
    if not settings.localfs_roots:
        return (
            f"'{configured}' cannot be added: this server lets the API and web UI read no folder until "
            f"its operator sets {ROOTS_SETTING} (the folders Local FS connectors may read, separated "
            f"by '{os.pathsep}'); on the server, `headwater connectors add` can add it"
        )
    shown = ", ".join(str(root) for root in settings.localfs_roots)
    return (
        f"'{configured}' is outside the folders this server lets connectors read ({ROOTS_SETTING}: "
        f"{shown}): pick a folder inside one of them, or ask the operator to add it to {ROOTS_SETTING}"
    )


def _real(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


def _inside(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or lies below it (both real paths)."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
