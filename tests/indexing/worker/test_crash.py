"""A worker killed while records are IN_PROGRESS loses nothing: another worker finishes them, each in
the terminal state its content earns, and no record stays QUEUED or IN_PROGRESS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from headwater.indexing.index.registry import open_search_index
from headwater.models.constants import MimeTypes

from .doubles import FlakyEmbedder
from .helpers import ALICE, Env, doc, grant, make_env, run, wait_for
from .kill_target import LEASE_MS

REPO = Path(__file__).resolve().parents[3]


def test_a_worker_killed_mid_record_is_replaced_without_loss(tmp_path: Path) -> None:
    embedder = FlakyEmbedder()
    index_url = f"embedded://{tmp_path / 'index'}"
    env: Env = make_env(
        tmp_path, open_search_index(index_url, embedder.dimensions), embedder, lease_ms=LEASE_MS
    )
    env.index.close()  # the worker process owns the index while it runs
    files = tmp_path / "files"
    env.put("slow.txt", "a report the first worker never finishes")
    env.put("bad.pdf", b"%PDF-1.4 not a real PDF")
    env.put("quick.txt", "a note")
    (files / "slow.txt.block").write_text("")
    (files / "bad.pdf.block").write_text("")
    env.sync(
        (doc("slow.txt"), [grant(ALICE)]),
        (doc("bad.pdf", mime=MimeTypes.PDF.value), [grant(ALICE)]),
        (doc("quick.txt"), [grant(ALICE)]),
    )

    log = (tmp_path / "worker.log").open("w")
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.indexing.worker.kill_target", str(tmp_path)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(files / "slow.txt.entered")
        wait_for(files / "bad.pdf.entered")
        assert env.status("slow.txt")[0] == "IN_PROGRESS"
        assert env.status("bad.pdf")[0] == "IN_PROGRESS"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
        log.close()

    (files / "slow.txt.block").unlink()
    (files / "bad.pdf.block").unlink()
    time.sleep(LEASE_MS / 1000 + 0.3)  # the dead member's partitions expire
    env.index = open_search_index(index_url, embedder.dimensions)
    run(env.worker().run_until_idle(30))

    assert env.status("slow.txt") == ("COMPLETED", None)
    assert env.status("bad.pdf") == ("FAILED", "not a valid PDF: data format error")
    assert env.status("quick.txt") == ("COMPLETED", None)
    assert not {"QUEUED", "IN_PROGRESS"} & set(env.statuses().values())
    assert env.index.record_keys() == {env.key("slow.txt"), env.key("quick.txt")}
    assert all("indexingAttempts" not in env.doc(ext) for ext in ("slow.txt", "bad.pdf", "quick.txt"))
    env.index.close()
    run(env.config.close())
    env.store.close()
