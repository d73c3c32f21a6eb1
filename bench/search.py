"""Search latency at scale: permission-filtered hybrid search over N synthetic chunks.

    .venv/bin/python bench/search.py                        # 1,000,000 chunks (builds ~10 min once)
    .venv/bin/python bench/search.py --chunks 100000        # a quicker run
    .venv/bin/python bench/search.py --index-dir /tmp/hw-search-1m   # reuse a built index

The corpus: N chunks of synthetic prose (10 chunks a record) drawn from a Zipf-distributed made-up
vocabulary, each with a random unit vector; record i is granted to group g(i mod 100). Two users:
`one` belongs to g0 (reads 1 % of the corpus), `half` to g0..g49 (50 %). Each query is two or three
vocabulary words; its vector comes from the real local model (all-MiniLM-L6-v2), so the latency
includes embedding the query, as users see it.

Prints p50 / p95 of end-to-end hybrid search (principals + BM25 + vectors + fusion + snippets) per
user, and the same search with the principals of a user who reads everything as the baseline measured
in the same run (ratio = filtered / unfiltered). Target: p95 <= 50 ms for both users.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from headwater.indexing.embeddings.registry import open_embedder
from headwater.indexing.index.registry import open_search_index
from headwater.indexing.types import IndexedChunk, IndexedRecord, Location
from headwater.search.service import SearchService
from headwater.store.registry import open_store

CHUNKS_PER_RECORD = 10
GROUPS = 100
TARGET_P95_MS = 50.0
SEED = 7


def vocabulary(rng: np.random.Generator, size: int = 20_000) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=int(rng.integers(4, 10)))) for _ in range(size)]


def build_index(index_dir: Path, total: int, dims: int) -> None:
    rng = np.random.default_rng(SEED)
    words = vocabulary(rng)
    ranks = np.arange(1, len(words) + 1)
    zipf = (1 / ranks) / (1 / ranks).sum()
    index = open_search_index(f"embedded://{index_dir}", dims)
    started, done = time.perf_counter(), 0
    records = total // CHUNKS_PER_RECORD
    batch: list[tuple[IndexedRecord, list[IndexedChunk]]] = []
    try:
        for r in range(records):
            picks = rng.choice(len(words), size=(CHUNKS_PER_RECORD, 60), p=zipf)
            vectors = rng.standard_normal((CHUNKS_PER_RECORD, dims)).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            record = IndexedRecord(
                record_key=f"r{r}",
                org_id="o1",
                connector_id="bench",
                record_type="FILE",
                record_name=f"document {r}",
                principals=frozenset({f"groups/g{r % GROUPS}"}),
                content_hash=str(r),
                updated_at=r,
            )
            chunks = [
                IndexedChunk(c, " ".join(words[i] for i in picks[c]), vectors[c], Location(page=c + 1))
                for c in range(CHUNKS_PER_RECORD)
            ]
            batch.append((record, chunks))
            if len(batch) == 1_000:
                index.replace_records(batch)
                done += len(batch) * CHUNKS_PER_RECORD
                batch = []
                rate = done / (time.perf_counter() - started)
                print(f"\r  built {done:,} chunks ({rate:,.0f} chunks/s)", end="", flush=True)
        if batch:
            index.replace_records(batch)
    finally:
        index.close()
    print(f"\n  build: {total:,} chunks in {time.perf_counter() - started:.0f} s")
    (index_dir / "bench-built").write_text(str(total))


def seed_users(store_url: str) -> None:
    store = open_store(store_url)
    with store.transaction() as tx:
        tx.upsert_nodes("organizations", [{"_key": "o1"}])
        tx.upsert_nodes(
            "users",
            [
                {"_key": "one", "email": "one@bench.test", "orgId": "o1"},
                {"_key": "half", "email": "half@bench.test", "orgId": "o1"},
                {"_key": "all", "email": "all@bench.test", "orgId": "o1"},
            ],
        )
        tx.upsert_nodes("groups", [{"_key": f"g{g}"} for g in range(GROUPS)])
        edges = [{"_from": "users/one", "_to": "groups/g0"}]
        edges += [{"_from": "users/half", "_to": f"groups/g{g}"} for g in range(GROUPS // 2)]
        edges += [{"_from": "users/all", "_to": f"groups/g{g}"} for g in range(GROUPS)]
        tx.upsert_edges("belongsTo", edges)
    store.close()


def measure(service: SearchService, user: str, queries: list[str]) -> list[float]:
    service.search(queries[0], user_key=user)  # warm the principal cache and the model
    times = []
    for query in queries:
        started = time.perf_counter()
        service.search(query, user_key=user, k=10)
        times.append((time.perf_counter() - started) * 1000)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def row(label: str, times: list[float], baseline: list[float]) -> None:
    ratio = p95(times) / p95(baseline)
    print(f"{label:<34} {statistics.median(times):8.1f} {p95(times):8.1f} {ratio:15.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--index-dir", type=Path, help="build here once and reuse on later runs")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    tmp = tempfile.TemporaryDirectory(prefix="hw-bench-search-")
    index_dir = args.index_dir or Path(tmp.name) / "index"
    index_dir.mkdir(parents=True, exist_ok=True)
    embedder = open_embedder("local://all-minilm-l6-v2")
    built = index_dir / "bench-built"
    if not built.exists() or built.read_text() != str(args.chunks):
        print(f"building an index of {args.chunks:,} chunks in {index_dir}")
        build_index(index_dir, args.chunks, embedder.dimensions)
    store_url = f"sqlite:///{Path(tmp.name) / 'store.db'}"
    seed_users(store_url)

    rng = np.random.default_rng(SEED)
    words = vocabulary(rng)[:2_000]  # frequent words: queries that match many chunks (the hard case)
    queries = [" ".join(rng.choice(words, size=int(rng.integers(2, 4)))) for _ in range(args.queries)]

    store = open_store(store_url)
    index = open_search_index(f"embedded://{index_dir}", embedder.dimensions)
    service = SearchService(store, index, embedder)
    try:
        embed_ms = []
        for q in queries[:50]:
            started = time.perf_counter()
            embedder.embed_query(q)
            embed_ms.append((time.perf_counter() - started) * 1000)
        baseline = measure(service, "all", queries)
        print(
            f"\nchunks: {index.count_chunks():,}   queries: {len(queries)}   query embedding p50 "
            f"{statistics.median(embed_ms):.1f} ms"
        )
        print(f"{'user':<34} {'p50 ms':>8} {'p95 ms':>8} {'p95 / baseline':>15}")
        row("all (reads 100 %, baseline)", baseline, baseline)
        ok = True
        for user, label in (("one", "one (reads 1 %)"), ("half", "half (reads 50 %)")):
            times = measure(service, user, queries)
            ok &= p95(times) <= TARGET_P95_MS
            row(label, times, baseline)
        print(f"target p95 <= {TARGET_P95_MS:.0f} ms for both users: {'met' if ok else 'NOT met'}")
    finally:
        index.close()
        store.close()
        tmp.cleanup()


if __name__ == "__main__":
    main()
