"""SIGKILL in the middle of a transaction: records, edges and events exist all together or not at all."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from headwater.store.base import GraphStore
from headwater.store.registry import open_store
from headwater.store.schema import PARTITIONS

WRITER = Path(__file__).with_name("crash_writer.py")
BATCH = 40


def start_writer(url: str, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).parents[2]))
    return subprocess.Popen(
        [sys.executable, str(WRITER), url, str(BATCH), *extra],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )


def read_until(proc: subprocess.Popen[str], pattern: str, timeout_s: float = 60) -> list[str]:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if re.fullmatch(pattern, line.strip()):
            return lines
    proc.kill()
    pytest.fail(f"writer never printed {pattern!r}; got {lines[-5:]}")


def census(store: GraphStore) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Per batch: how many records, permission edges and events exist."""
    with store.read() as tx:
        records = Counter(d["_key"].split("-")[0] for d in tx.find_nodes("records", connector_id="crash"))
        edges = Counter(
            e["_to"].split("/")[1].split("-")[0] for e in tx.get_edges("permissions", from_id="users/u1")
        )
        events: Counter[str] = Counter()
        for p in range(PARTITIONS):
            for ev in tx._read_events("record-events", p, -1, 1_000_000):
                events[f"b{ev.event['payload']['batch']}"] += 1
    return records, edges, events


def test_kill_inside_an_open_transaction_leaves_nothing(store_url: str) -> None:
    with start_writer(store_url, "pause-inside") as proc:
        try:
            read_until(proc, "inside")
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    store = open_store(store_url)
    try:
        assert census(store) == (Counter(), Counter(), Counter())
    finally:
        store.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_at_a_random_instant_is_all_or_nothing(store_url: str, seed: int) -> None:
    rng = random.Random(seed)
    with start_writer(store_url) as proc:
        try:
            lines = read_until(proc, "committed 2")
            time.sleep(rng.uniform(0.0, 0.3))
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        assert proc.stdout is not None
        lines += [line.strip() for line in proc.stdout.read().splitlines()]
    reported = {f"b{line.split()[1]}" for line in lines if line.startswith("committed")}
    store = open_store(store_url)
    try:
        records, edges, events = census(store)
    finally:
        store.close()
    assert reported <= set(records), "a batch reported committed is missing"
    for batch in records | edges | events:
        assert (records[batch], edges[batch], events[batch]) == (BATCH, BATCH, BATCH), batch
    # at most one batch was in flight when the kill came
    assert len(set(records) - reported) <= 1
