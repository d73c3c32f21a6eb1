"""Indexing throughput end to end, against the embedding model alone on the same chunks.

    .venv/bin/python bench/indexing.py                    # 20,000 chunks (several minutes on 2 cores)
    .venv/bin/python bench/indexing.py --chunks 2000      # a quick run

The corpus: generated prose, written as .txt files of `--chunks-per-file` paragraphs (each one fills
about 240 of the chunker's 256 estimated tokens: one chunk) into a temporary folder. A Local FS
connector instance syncs the folder through the sync engine (records, grants and `newRecord` events
in the store); then the indexing worker indexes it with the REAL local model
(`local://all-minilm-l6-v2`) into the embedded index: stream_record -> parse (in the parser sandbox)
-> chunk -> embed -> index -> status, every record ending COMPLETED.

Printed: the sync time; the indexing time and chunks/s from the first event to the last status
(the model is loaded and warmed up before, as a running worker's is) and how busy the worker kept
the model; the raw model throughput on the very same chunk texts at the same batch size
(`LocalEmbedder.raw_throughput`), measured in the same run just before and just after indexing (the
mean is the reference: on a shared machine the load moves); and their ratio (target >= 0.8).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from headwater.config.crypto import SecretBox
from headwater.config.registry import create_config_store
from headwater.connectors.core.engine import SyncEngine
from headwater.connectors.core.factory import ConnectorFactory
from headwater.connectors.core.instances import create_instance
from headwater.connectors.sources.localfs.connector import NAME as LOCAL_FS
from headwater.connectors.sources.localfs.connector import LocalFilesystemConnector
from headwater.events.store_log import StoreEventLog
from headwater.indexing.chunking import chunk_document, estimate_tokens
from headwater.indexing.embeddings.local import LocalEmbedder
from headwater.indexing.embeddings.registry import open_embedder
from headwater.indexing.index.registry import open_search_index
from headwater.indexing.parsing.registry import parse_document
from headwater.indexing.sources import ConnectorPool, ContentFetcher
from headwater.indexing.status import indexing_status_counts
from headwater.indexing.types import ParsedDocument
from headwater.indexing.worker import IndexingWorker, WorkerOptions
from headwater.models.entities import User
from headwater.store.registry import open_store

ORG = "bench-org"
CID = "bench-localfs"
TARGET_RATIO = 0.8
PARAGRAPH_TOKENS = 240  # the chunker's estimate; chunks are cut at 256, so a paragraph is one chunk
_VOCABULARY = """
river harbour lantern meadow ledger orchard quarry signal timber valley bridge cellar chapel compass
engine furnace garden harvest island journey kettle ladder market needle ocean pepper quiver ribbon
saddle tunnel umbrella velvet wagon yard anchor basket candle desert feather glacier hammer ivory
jacket kingdom lemon mirror nectar oyster pillow quartz rocket silver thunder violin window yellow
zephyr budget contract invoice meeting schedule report project customer release incident policy
review security network storage backup license training
"""
WORDS = tuple(_VOCABULARY.split())


def paragraph(rng: random.Random, budget: int = PARAGRAPH_TOKENS) -> str:
    """Sentences of made-up prose, as many as fit `budget` estimated tokens (one chunk's worth)."""
    sentences: list[str] = []
    while True:
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 18)))
        sentence = words[0].upper() + words[1:] + "."
        if sentences and estimate_tokens(" ".join([*sentences, sentence])) > budget:
            return " ".join(sentences)
        sentences.append(sentence)


def write_corpus(folder: Path, chunks: int, per_file: int, seed: int = 5) -> int:
    rng = random.Random(seed)
    files = (chunks + per_file - 1) // per_file
    for i in range(files):
        count = min(per_file, chunks - i * per_file)
        text = "\n\n".join(paragraph(rng) for _ in range(count))
        (folder / f"doc-{i:05d}.txt").write_text(text + "\n")
    return files


async def main(chunks: int, per_file: int, max_embed_chunks: int) -> None:
    logging.basicConfig(level=logging.WARNING)
    ConnectorFactory.register_connector(LOCAL_FS, LocalFilesystemConnector)
    with tempfile.TemporaryDirectory(prefix="hw-bench-indexing-") as tmp:
        root = Path(tmp)
        docs = root / "docs"
        docs.mkdir()
        files = write_corpus(docs, chunks, per_file)
        store = open_store(f"sqlite:///{root / 'headwater.db'}")
        config = create_config_store(f"sqlite:///{root / 'config.db'}", SecretBox.generate())
        await config.connect()
        owner = User(email="owner@bench.test", org_id=ORG)
        with store.transaction() as tx:
            tx.upsert_nodes("organizations", [{"_key": ORG, "registeredName": "Bench"}])
            tx.upsert_nodes("users", [owner.to_document()])
        create_instance(store, type=LOCAL_FS, connector_id=CID, org_id=ORG, created_by=owner.id)
        await config.put(f"/services/connectors/{CID}/config", {"sync": {"folders": str(docs)}})

        began = time.perf_counter()
        run = await SyncEngine(store, config).run_sync(CID)
        sync_s = time.perf_counter() - began
        assert run["outcome"] == "completed", run

        embedder = open_embedder("local://all-minilm-l6-v2")
        assert isinstance(embedder, LocalEmbedder)
        # the chunk texts the worker will make (the chunker is deterministic), for the raw figure
        texts = [c.text for path in sorted(docs.iterdir()) for c in chunk_document(parse_text(path))]
        load_before = os.getloadavg()[0]
        raw_before = embedder.raw_throughput(texts)  # also loads and warms up the model

        index = open_search_index(f"embedded://{root / 'index'}", embedder.dimensions)
        worker = IndexingWorker(
            store,
            StoreEventLog(store),
            index,
            embedder,
            ContentFetcher(ConnectorPool(store, config)),
            options=WorkerOptions(max_embed_chunks=max_embed_chunks),
        )
        busy = _time_calls(embedder)
        began = time.perf_counter()
        await worker.run_until_idle(timeout_s=3600)
        index_s = time.perf_counter() - began
        raw_after = embedder.raw_throughput(texts)
        load_after = os.getloadavg()[0]

        counts = indexing_status_counts(store, connector_id=CID)
        indexed = sum(len(index.get_chunks(key)) for key in index.record_keys())
        assert indexed == len(texts), (indexed, len(texts))
        raw = (raw_before + raw_after) / 2
        end_to_end = len(texts) / index_s
        print(f"corpus: {files} files, {len(texts)} chunks; statuses {counts}")
        print(f"sync (Local FS -> store, events): {sync_s:.1f} s")
        print(
            f"indexing end to end: {index_s:.1f} s, {end_to_end:.1f} chunks/s (embedding calls of up to "
            f"{max_embed_chunks} chunks, model batch {embedder.batch_size}, {embedder.precision}, "
            f"{embedder.threads} threads); the model was busy {busy[0] / index_s:.0%} of it ({busy[1]} calls)"
        )
        print(
            f"raw model on the same {len(texts)} chunk texts: {raw:.1f} chunks/s "
            f"(before {raw_before:.1f}, after {raw_after:.1f}); "
            f"load average {load_before:.1f} -> {load_after:.1f}"
        )
        ratio = end_to_end / raw
        print(f"ratio end to end / raw: {ratio:.2f} (target >= {TARGET_RATIO})")
        index.close()
        await config.close()
        store.close()


def parse_text(path: Path) -> ParsedDocument:
    return parse_document(path.read_bytes(), mime_type="text/plain", name=path.name)


def _time_calls(embedder: LocalEmbedder) -> list[float]:
    """[seconds spent inside embed_documents, calls]: how busy the worker kept the model."""
    totals = [0.0, 0]
    inner = embedder.embed_documents

    def timed(texts: Any) -> Any:
        began = time.perf_counter()
        try:
            return inner(texts)
        finally:
            totals[0] += time.perf_counter() - began
            totals[1] += 1

    embedder.embed_documents = timed  # type: ignore[method-assign]
    return totals


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--chunks-per-file", type=int, default=10)
    parser.add_argument("--max-embed-chunks", type=int, default=WorkerOptions().max_embed_chunks)
    args = parser.parse_args()
    asyncio.run(main(args.chunks, args.chunks_per_file, args.max_embed_chunks))
