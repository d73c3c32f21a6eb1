"""Helper for test_crash.py, run as a separate process: consume, commit one batch, read another
without committing, report what was read, then wait to be killed.

    python tests/events/crash_consumer.py STORE_URL GROUP LEASE_MS BATCH

Prints one line per event as `committed P O` or `read P O`, then `READY`.
"""

from __future__ import annotations

import sys
import time

from headwater.events.base import RECORD_EVENTS
from headwater.events.store_log import StoreEventLog
from headwater.store.registry import open_store


def main() -> None:
    url, group, lease_ms, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = open_store(url)
    consumer = StoreEventLog(store, lease_ms=lease_ms).consumer(group, RECORD_EVENTS, member="doomed")
    done = consumer.poll(batch, timeout_s=10)
    consumer.commit()
    for e in done:
        print("committed", e.partition, e.offset)
    read = consumer.poll(batch, timeout_s=10)
    for e in read:
        print("read", e.partition, e.offset)
    print("READY", flush=True)
    while True:  # "processing": never commits, never closes; the test SIGKILLs us here
        time.sleep(1)


if __name__ == "__main__":
    main()
