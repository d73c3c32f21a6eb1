"""Resetting the embedded data directory: what it holds, what `reset` deletes and what it keeps.

`reset` only ever deletes files of an embedded instance. It refuses a directory that does not look
like a Headwater data directory (no `headwater.db` and no `secret.key` in it), and it never touches
server backends (PostgreSQL, etcd, Kafka): dropping a server database is a decision for its
administrator, with that server's own tools. When a server config store (`HEADWATER_CONFIG_URL`)
holds secrets encrypted with the key file, the key file is kept: deleting it would make those
secrets unreadable for good.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from headwater.settings import Settings

from .errors import NotADataDirError

MARKERS = ("headwater.db", "secret.key")


@dataclass
class ResetPlan:
    data_dir: Path
    delete: list[Path] = field(default_factory=list)
    keep: list[tuple[Path, str]] = field(default_factory=list)  # (path, why)
    server_backends: list[str] = field(default_factory=list)  # "what: scheme://host", no credentials

    def as_dict(self) -> dict[str, object]:
        return {
            "dataDir": str(self.data_dir),
            "delete": [str(p) for p in self.delete],
            "keep": [{"path": str(p), "why": why} for p, why in self.keep],
            "serverBackends": self.server_backends,
        }


def _shown(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}{parts.path}"


def _server_backends(settings: Settings) -> list[str]:
    named = [
        ("graph store", settings.store_url),
        ("event log", settings.events_url),
        ("config store", settings.config_url),
        ("search index", settings.index_url),
    ]
    return [
        f"{what}: {_shown(url)}"
        for what, url in named
        if url is not None and urlsplit(url).scheme not in ("sqlite", "embedded")
    ]


def plan_reset(settings: Settings) -> ResetPlan:
    """What `reset` would delete; NotADataDirError when the directory is not a Headwater one."""
    data_dir = settings.data_dir.expanduser().resolve()
    if not data_dir.is_dir():
        raise NotADataDirError(f"{data_dir} does not exist or is not a directory — nothing to reset")
    if data_dir == Path(data_dir.anchor) or data_dir == Path.home().resolve():
        raise NotADataDirError(f"refusing to reset {data_dir}: it is a root or home directory")
    if not any((data_dir / marker).exists() for marker in MARKERS):
        raise NotADataDirError(
            f"{data_dir} does not look like a Headwater data directory (no {' or '.join(MARKERS)}) "
            "— pass the right --data-dir"
        )
    plan = ResetPlan(data_dir, server_backends=_server_backends(settings))
    key_file = settings.resolved_secret_key_file.expanduser().resolve()
    server_config = settings.config_url is not None and urlsplit(settings.config_url).scheme != "sqlite"
    for entry in sorted(data_dir.iterdir()):
        if entry.resolve() == key_file and server_config:
            plan.keep.append((entry, "the server config store's secrets are encrypted with it"))
        else:
            plan.delete.append(entry)
    return plan


def apply_reset(plan: ResetPlan) -> None:
    """Delete what the plan lists (the directory itself stays, empty)."""
    for path in plan.delete:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
