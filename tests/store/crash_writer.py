"""A process that writes batches of records, edges and events, one transaction each, until killed.

Usage: python crash_writer.py STORE_URL BATCH_SIZE [pause-inside]
Prints "committed K" after batch K commits; with `pause-inside` it writes batch 0, prints "inside",
and sleeps inside the open transaction.
"""

from __future__ import annotations

import sys
import time

from headwater.models.entities import FileRecord
from headwater.store.registry import open_store


def batch(k: int, size: int) -> list[FileRecord]:
    return [
        FileRecord(
            id=f"b{k}-r{i}",
            record_name=f"b{k}-r{i}.txt",
            external_record_id=f"b{k}-r{i}",
            connector_id="crash",
            org_id="org1",
            created_at=1,
            updated_at=1,
        )
        for i in range(size)
    ]


def main() -> None:
    url, size = sys.argv[1], int(sys.argv[2])
    pause = len(sys.argv) > 3 and sys.argv[3] == "pause-inside"
    store = open_store(url)
    k = 0
    while True:
        records = batch(k, size)
        with store.transaction() as tx:
            tx.upsert_records(records)
            tx.upsert_edges(
                "permissions",
                (
                    {"_from": "users/u1", "_to": f"records/{r.id}", "role": "READER", "type": "USER"}
                    for r in records
                ),
            )
            tx.append_events(
                "record-events", ((r.id, "newRecord", {"recordId": r.id, "batch": k}) for r in records)
            )
            if pause:
                print("inside", flush=True)
                time.sleep(60)
        print(f"committed {k}", flush=True)
        k += 1


if __name__ == "__main__":
    main()
