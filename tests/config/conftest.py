"""Config store fixtures: a real etcd for the session, and one unconnected store per backend.

etcd is Debian's `etcd-server` (`/usr/bin/etcd`, or HEADWATER_TEST_ETCD_BIN), started on 127.0.0.1
with free client and peer ports and a temporary data dir. It runs in its own session (so a Ctrl-C
in the terminal does not hit it first) and dies with the test process (PR_SET_PDEATHSIG, via `setpriv`), so
a killed test run leaves no etcd behind; the finalizer stops it in the normal case. A missing binary
fails the tests: the contract must run against every backend.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator

import pytest

from headwater.config.base import ConfigStore
from headwater.config.crypto import SecretBox
from headwater.config.registry import create_config_store

ETCD_BIN = os.environ.get("HEADWATER_TEST_ETCD_BIN") or shutil.which("etcd") or "/usr/bin/etcd"
ETCD_START_TIMEOUT_S = 30.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


SETPRIV = shutil.which("setpriv")  # util-linux: sets the parent-death signal, then execs
_LIBC = None if SETPRIV else ctypes.CDLL(None, use_errno=True)  # loaded before fork, not in the child


def _die_with_parent() -> None:  # fallback without setpriv: runs in the child between fork and exec
    if _LIBC is not None:
        PR_SET_PDEATHSIG = 1
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _healthy(client_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{client_url}/health", timeout=1) as resp:
            body = json.loads(resp.read())
    except (OSError, ValueError):
        return False
    return str(body.get("health")) == "true"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def etcd_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """host:port of a fresh etcd listening on 127.0.0.1 only, for the whole test session."""
    if not (os.path.isfile(ETCD_BIN) and os.access(ETCD_BIN, os.X_OK)):
        pytest.fail(
            f"etcd not found at {ETCD_BIN}: install etcd-server (apt-get install -y etcd-server); "
            "the config store contract must run against etcd"
        )
    workdir = tmp_path_factory.mktemp("etcd")
    last_error = ""
    try:
        for _attempt in range(3):  # a free port can be taken between probing and binding
            client_port, peer_port = _free_port(), _free_port()
            client_url = f"http://127.0.0.1:{client_port}"
            peer_url = f"http://127.0.0.1:{peer_port}"
            data_dir = workdir / f"data-{client_port}"
            log_path = workdir / f"etcd-{client_port}.log"
            env = {k: v for k, v in os.environ.items() if not k.startswith("ETCD")}
            with open(log_path, "wb") as log:
                proc = subprocess.Popen(
                    [
                        *([SETPRIV, "--pdeathsig", "TERM"] if SETPRIV else []),
                        ETCD_BIN,
                        "--name",
                        "hwtest",
                        "--data-dir",
                        str(data_dir),
                        "--listen-client-urls",
                        client_url,
                        "--advertise-client-urls",
                        client_url,
                        "--listen-peer-urls",
                        peer_url,
                        "--initial-advertise-peer-urls",
                        peer_url,
                        "--initial-cluster",
                        f"hwtest={peer_url}",
                        "--initial-cluster-state",
                        "new",
                        "--logger",
                        "zap",
                        "--log-level",
                        "warn",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                    preexec_fn=None if SETPRIV else _die_with_parent,
                )
            deadline = time.monotonic() + ETCD_START_TIMEOUT_S
            while time.monotonic() < deadline and proc.poll() is None and not _healthy(client_url):
                time.sleep(0.1)
            if proc.poll() is None and _healthy(client_url):
                try:
                    yield f"127.0.0.1:{client_port}"
                finally:
                    _stop(proc)
                return
            _stop(proc)
            last_error = log_path.read_text(errors="replace")[-2000:]
        pytest.fail(f"etcd at {ETCD_BIN} did not become healthy; its log ends with:\n{last_error}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def etcd_url(etcd_endpoint: str) -> str:
    """An etcd config URL with a prefix of its own, so tests never see each other's keys."""
    return f"etcd://{etcd_endpoint}/hw-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["sqlite", "postgres", "etcd"])
def config_url(request: pytest.FixtureRequest) -> str:
    name = {"sqlite": "sqlite_url", "postgres": "pg_url", "etcd": "etcd_url"}[request.param]
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture
def secret_box() -> SecretBox:
    return SecretBox.generate()


@pytest.fixture
def make_store(config_url: str, secret_box: SecretBox) -> Callable[..., ConfigStore]:
    """A factory of unconnected stores on the same backend and data, by default with the same key."""

    def make(box: SecretBox | None = None) -> ConfigStore:
        return create_config_store(config_url, box or secret_box)

    return make


@pytest.fixture
def config_store(make_store: Callable[..., ConfigStore]) -> ConfigStore:
    """An unconnected store of each backend: use `async with config_store:` inside `run(...)`.

    (Stores are bound to an event loop once connected; each test body runs in its own loop.)"""
    return make_store()
