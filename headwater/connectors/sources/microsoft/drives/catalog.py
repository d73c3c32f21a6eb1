"""Which drives a OneDrive or SharePoint instance syncs, kept between syncs (sync point
`microsoft/drives`).

    containers  who holds the drives: a user (OneDrive) or a site (SharePoint) -> its drive ids
    drives      drive id -> what a round over it needs without listing users or sites again (name,
                the permissions it inherits from its site), so a change notification can sync just it
    leaving     retirement scope -> record group ids: drives and sites the tenant no longer has,
                whose records wait for the mass-deletion brake (`common.retire`)

A full pass builds a new catalog from what it synced (`add`), keeps the entries of a container it
could not read this time (`keep`), and compares it with the previous one (`gone`) to retire what
disappeared. Subscriptions follow `drives`: one per drive, on its root.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from headwater.connectors.core.sync_point import SyncPoint
from headwater.connectors.sources.microsoft.drives.delta import DriveScope

CATALOG_KEY = "microsoft/drives"


@dataclass
class DriveCatalog:
    containers: dict[str, list[str]] = field(default_factory=dict)
    drives: dict[str, DriveScope] = field(default_factory=dict)
    leaving: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    async def load(cls, sync_point: SyncPoint) -> DriveCatalog:
        state = await sync_point.read_sync_point(CATALOG_KEY)
        containers, drives, leaving = (_mapping(state.get(k)) for k in ("containers", "drives", "leaving"))
        return cls(
            containers={str(k): [str(d) for d in v] for k, v in containers.items()},
            drives={str(k): _scope(str(k), v) for k, v in drives.items()},
            leaving={str(k): [str(g) for g in v] for k, v in leaving.items()},
        )

    async def save(self, sync_point: SyncPoint) -> None:
        await sync_point.update_sync_point(
            CATALOG_KEY,
            {
                "containers": {k: sorted(v) for k, v in sorted(self.containers.items())},
                "drives": {
                    k: {"name": s.name, "inherited": sorted(s.inherited_permission_ids)}
                    for k, s in sorted(self.drives.items())
                },
                "leaving": {k: list(v) for k, v in sorted(self.leaving.items())},
            },
        )

    def add(self, container: str, scope: DriveScope | None = None) -> None:
        """`container` is there (with `scope` among its drives, when given)."""
        drives = self.containers.setdefault(container, [])
        if scope is not None:
            if scope.drive_id not in drives:
                drives.append(scope.drive_id)
            self.drives[scope.drive_id] = scope

    def keep(self, container: str, previous: DriveCatalog) -> None:
        """`container` could not be read this time: what it had stays as it was."""
        self.add(container)
        for drive_id in previous.containers.get(container, []):
            scope = previous.drives.get(drive_id)
            if scope is not None:
                self.add(container, scope)

    def gone(self, previous: DriveCatalog, *, container_is_group: bool) -> Iterator[tuple[str, list[str]]]:
        """(retirement scope, record group ids) of what `previous` had and this catalog has not: a
        whole container (a site: its libraries and its own record group) or a single drive."""
        for container, drive_ids in sorted(previous.containers.items()):
            missing = [d for d in drive_ids if d not in self.drives]
            if container not in self.containers and container_is_group:
                yield container, [*missing, container]
                continue
            for drive_id in missing:
                yield drive_id, [drive_id]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _scope(drive_id: str, value: Any) -> DriveScope:
    data = value if isinstance(value, dict) else {}
    return DriveScope(
        drive_id,
        str(data.get("name") or drive_id),
        inherited_permission_ids=frozenset(str(i) for i in data.get("inherited") or []),
    )
