"""Sync throughput: a synthetic connector yields N records in pages of 500 (one grant each, a sync
point per page) through the real DataSourceEntitiesProcessor and SyncEngine into a SQLite store.

    .venv/bin/python bench/sync_throughput.py                      # 100,000 records
    .venv/bin/python bench/sync_throughput.py --records 1000000
    .venv/bin/python bench/sync_throughput.py --both               # 100,000 and 1,000,000

Prints records/s and peak RSS (psutil, sampled every 50 ms in a thread) per run, and whether the
targets are met: >= 5,000 records/s, and (with --both) peak RSS at 1,000,000 within 50 MB of the
peak at 100,000. Each size runs in a fresh process so one run's memory does not hide the other's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from headwater.config.crypto import SecretBox
from headwater.config.registry import create_config_store
from headwater.connectors.core.apps import App
from headwater.connectors.core.connector import BaseConnector
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import create_instance
from headwater.connectors.core.sync_point import SyncDataPointType, SyncPoint
from headwater.models.constants import MimeTypes, RecordType
from headwater.models.entities import FileRecord, Record
from headwater.models.permission import EntityType, Permission, PermissionType
from headwater.store.registry import open_store

NAME = "BenchSynthetic"
PAGE = 500
TARGET_RPS = 5_000
TARGET_RSS_DELTA_MB = 50
TOTAL = 100_000


class BenchConnector(BaseConnector):
    """Yields TOTAL synthetic files in pages of PAGE, committing a sync point per page."""

    def __init__(self, logger: Any, processor: Any, provider: Any, config_service: Any) -> None:
        super().__init__(App(app_name=NAME, app_group="Bench"), logger, processor, provider, config_service)
        self.sync_point = SyncPoint(NAME, processor.org_id, SyncDataPointType.RECORDS, provider)

    async def init(self) -> bool:
        return True

    def test_connection_and_access(self) -> bool:
        return True

    def get_signed_url(self, record: Record) -> str | None:
        return None

    async def stream_record(self, record: Record, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def cleanup(self) -> None:
        return None

    async def run_sync(self) -> None:
        start = int((await self.sync_point.read_sync_point("listing")).get("next", 0))
        processor = self.data_entities_processor
        for first in range(start, TOTAL, PAGE):
            page = [
                (
                    FileRecord(
                        record_name=f"file-{i}.pdf",
                        record_type=RecordType.FILE,
                        external_record_id=f"ext-{i:08d}",
                        external_revision_id="r1",
                        connector_name=NAME,
                        mime_type=MimeTypes.PDF,
                        extension="pdf",
                        is_file=True,
                        size_in_bytes=1000 + i,
                        source_updated_at=1_700_000_000_000 + i,
                    ),
                    [
                        Permission(
                            email=f"user{i % 50}@example.com",
                            type=PermissionType.READ,
                            entity_type=EntityType.USER,
                        )
                    ],
                )
                for i in range(first, min(TOTAL, first + PAGE))
            ]
            await processor.on_new_records(page)
            await self.sync_point.update_sync_point("listing", {"next": first + PAGE})
            await asyncio.sleep(0)  # a real connector awaits its HTTP client here


class PeakRss:
    def __init__(self, interval_s: float = 0.05) -> None:
        self.proc = psutil.Process()
        self.peak = self.proc.memory_info().rss
        self.interval_s = interval_s
        self._halt = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._halt.wait(self.interval_s):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._halt.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def run_once(records: int) -> dict[str, Any]:
    global TOTAL
    TOTAL = records
    logging.basicConfig(level=logging.WARNING)
    ConnectorFactory.register_connector(NAME, BenchConnector)
    with tempfile.TemporaryDirectory(prefix="hw-bench-") as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        with store.transaction() as tx:
            tx.upsert_nodes("organizations", [{"_key": "org1", "registeredName": "Bench"}])
        create_instance(store, type=NAME, connector_id="bench-1", org_id="org1")

        async def main() -> dict[str, Any]:
            config = create_config_store(f"sqlite:///{Path(tmp) / 'config.db'}", SecretBox.generate())
            await config.connect()
            try:
                engine = SyncEngine(store, config, logger=logging.getLogger("bench"))
                return await engine.run_sync("bench-1")
            finally:
                await config.close()

        baseline = psutil.Process().memory_info().rss
        with PeakRss() as rss:
            started = time.perf_counter()
            run = asyncio.run(main())
            elapsed = time.perf_counter() - started
        with store.read() as tx:
            stored = len(tx.find_nodes("records", connector_id="bench-1", limit=None))
        store.close()
    return {
        "records": records,
        "outcome": run["outcome"],
        "new": run["new"],
        "stored": stored,
        "seconds": round(elapsed, 2),
        "records_per_s": round(records / elapsed),
        "peak_rss_mb": round(rss.peak / 2**20, 1),
        "baseline_rss_mb": round(baseline / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--both", action="store_true", help="run 100,000 and 1,000,000 and compare peaks")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_once(args.records)))
        return 0
    sizes = [100_000, 1_000_000] if args.both else [args.records]
    results = []
    for size in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", "--records", str(size)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        ok = result["records_per_s"] >= TARGET_RPS and result["stored"] == size
        print(
            f"{size:>9,} records: {result['records_per_s']:>7,} records/s ({result['seconds']} s), "
            f"peak RSS {result['peak_rss_mb']} MB (baseline {result['baseline_rss_mb']} MB), "
            f"stored {result['stored']:,}, outcome {result['outcome']} -> "
            f"throughput target (>= {TARGET_RPS:,}/s) {'MET' if ok else 'MISSED'}"
        )
    if len(results) == 2:
        delta = results[1]["peak_rss_mb"] - results[0]["peak_rss_mb"]
        verdict = "MET" if abs(delta) <= TARGET_RSS_DELTA_MB else "MISSED"
        print(
            f"peak RSS 1,000,000 vs 100,000: {delta:+.1f} MB -> "
            f"memory target (±{TARGET_RSS_DELTA_MB} MB) {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
