"""Events a consumer read but did not commit are delivered again after the consumer process is
SIGKILLed (no close, no cleanup: its leases just run out)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from headwater.events.base import RECORD_EVENTS, EventTypes
from headwater.events.store_log import StoreEventLog
from headwater.store.registry import open_store

HELPER = Path(__file__).with_name("crash_consumer.py")
ROOT = Path(__file__).resolve().parents[2]
LEASE_MS = 1000


def test_events_read_but_not_committed_are_delivered_again_after_sigkill(store_url: str) -> None:
    store = open_store(store_url)
    try:
        with store.transaction() as tx:
            tx.append_events(
                RECORD_EVENTS,
                [
                    (f"rec-{i % 17}", EventTypes.NEW_RECORD.value, {"recordId": f"rec-{i % 17}", "n": i})
                    for i in range(100)
                ],
            )
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        proc = subprocess.Popen(
            [sys.executable, str(HELPER), store_url, "indexing", str(LEASE_MS), "30"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env=env,
        )
        committed: set[tuple[int, int]] = set()
        read: set[tuple[int, int]] = set()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                word, *rest = line.split()
                if word == "READY":
                    break
                (committed if word == "committed" else read).add((int(rest[0]), int(rest[1])))
            else:
                errors = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"helper exited early ({proc.wait(10)}): {errors}")
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
        assert proc.returncode == -signal.SIGKILL
        assert len(committed) == 30
        assert len(read) == 30

        successor = StoreEventLog(store, poll_interval_s=0.05).consumer("indexing", RECORD_EVENTS)
        got: list[tuple[int, int]] = []
        deadline = time.monotonic() + 10 + LEASE_MS / 1000
        while len(got) < 70 and time.monotonic() < deadline:
            events = successor.poll(timeout_s=0.5)
            got.extend((e.partition, e.offset) for e in events)
            successor.commit()
        assert read <= set(got), "events the killed consumer read but did not commit were not redelivered"
        assert not committed & set(got), "committed events were delivered again"
        assert len(got) == len(set(got)) == 70
        assert successor.poll(timeout_s=0.1) == []
        successor.close()
    finally:
        store.close()
