"""Search index benchmark: bulk insert, then permission-filtered keyword and vector search latency.

Synthetic corpus: `--chunks` chunks (default 100,000) in records of 10 chunks, 384-dim random unit
vectors, ~60 words of Zipf-distributed text from a 20,000-word vocabulary. Record i is readable by
`groups/g{i % 100}` and, for even i, by `groups/half`; so a user in `groups/g7` may read 1 % of the
chunks, a user in 10 of the g groups 10 %, a user in `groups/half` 50 %. Queries: 300 vector
queries (random unit vectors) and 300 keyword queries of 2-4 Zipf-sampled words per user, k=50.
Latencies are the index call alone (no query embedding: add ~5 ms for MiniLM).

    python bench/search_index.py                                  # embedded, exact vector search
    python bench/search_index.py --hnsw                           # embedded, HNSW graph forced on
    python bench/search_index.py --backend postgres --chunks 20000 # private PostgreSQL + pgvector
    python bench/search_index.py --per-record 50                  # also: one commit per record

Target for issue 6 (1,000,000 chunks): p95 <= 50 ms including query embedding.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from headwater.indexing.index.base import SearchIndex  # noqa: E402
from headwater.indexing.index.registry import open_search_index  # noqa: E402
from headwater.indexing.types import IndexedChunk, IndexedRecord, Location  # noqa: E402

DIMENSIONS = 384
CHUNKS_PER_RECORD = 10
VOCABULARY = 20_000
USERS = {
    "1%": frozenset({"users/one", "groups/g7"}),
    "10%": frozenset({"users/ten", *(f"groups/g{i}" for i in range(10, 20))}),
    "50%": frozenset({"users/half", "groups/half"}),
}


class Corpus:
    def __init__(self, seed: int = 1) -> None:
        self.rng = np.random.default_rng(seed)
        ranks = np.arange(1, VOCABULARY + 1, dtype=np.float64)
        self.word_cdf = np.cumsum((1 / ranks) / (1 / ranks).sum())
        self.words = np.array([f"w{i}" for i in range(VOCABULARY)])

    def vectors(self, n: int) -> np.ndarray:
        v = self.rng.standard_normal((n, DIMENSIONS)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        return v

    def text(self, words: int) -> str:
        # inverse-CDF sampling: rng.choice(p=...) rebuilds the CDF on every call
        picks = np.searchsorted(self.word_cdf, self.rng.random(words))
        return " ".join(self.words[np.minimum(picks, VOCABULARY - 1)])

    def record(self, i: int) -> tuple[IndexedRecord, list[IndexedChunk]]:
        principals = {f"groups/g{i % 100}"} | ({"groups/half"} if i % 2 == 0 else set())
        record = IndexedRecord(
            record_key=f"rec-{i:07d}",
            org_id="org",
            connector_id=f"conn-{i % 3}",
            record_type="FILE",
            record_name=f"document {i}",
            principals=frozenset(principals),
            content_hash=f"h{i}",
            record_group_id=f"drive-{i % 20}",
            updated_at=1_700_000_000_000 + i,
        )
        vectors = self.vectors(CHUNKS_PER_RECORD)
        chunks = [
            IndexedChunk(ordinal=j, text=self.text(60), vector=vectors[j], location=Location(page=j + 1))
            for j in range(CHUNKS_PER_RECORD)
        ]
        return record, chunks


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"p50 {statistics.median(ordered):6.2f} ms  p95 {p95:6.2f} ms"


def timed(call: Callable[[Any], Any], inputs: list[Any]) -> list[float]:
    """Milliseconds of call(x) for each x, after one warm-up call."""
    call(inputs[0])
    out = []
    for value in inputs:
        start = time.perf_counter()
        call(value)
        out.append((time.perf_counter() - start) * 1000)
    return out


def insert(index: SearchIndex, corpus: Corpus, records: int, batch: int) -> None:
    elapsed = 0.0
    for first in range(0, records, batch):
        items = [corpus.record(i) for i in range(first, min(records, first + batch))]  # not timed
        start = time.perf_counter()
        index.replace_records(items)
        elapsed += time.perf_counter() - start
    chunks = records * CHUNKS_PER_RECORD
    rate = chunks / elapsed
    print(f"bulk insert: {chunks:,} chunks in {elapsed:.1f} s = {rate:,.0f} chunks/s ({batch} records/batch)")


def per_record(index: SearchIndex, corpus: Corpus, first: int, count: int) -> None:
    items = [corpus.record(i) for i in range(first, first + count)]
    start = time.perf_counter()
    for record, chunks in items:
        index.replace_record(record, chunks)
    elapsed = time.perf_counter() - start
    rate = count * CHUNKS_PER_RECORD / elapsed
    print(f"one commit per record: {count} records in {elapsed:.2f} s = {rate:,.0f} chunks/s")


def searches(index: SearchIndex, corpus: Corpus, repeat: int) -> None:
    queries = list(corpus.vectors(repeat))
    texts = [corpus.text(int(corpus.rng.integers(2, 5))) for _ in range(repeat)]
    for name, principals in USERS.items():
        vector_ms = timed(lambda q, p=principals: index.vector_search(q, p, 50), queries)
        keyword_ms = timed(lambda t, p=principals: index.keyword_search(t, p, 50), texts)
        print(f"user {name:>4}: vector {percentiles(vector_ms)} | keyword {percentiles(keyword_ms)}")


def recall(index: SearchIndex, corpus: Corpus, exact: SearchIndex, repeat: int = 50) -> None:
    queries = corpus.vectors(repeat)
    for name, principals in USERS.items():
        found = 0
        for q in queries:
            approx = {(h.record_key, h.ordinal) for h in index.vector_search(q, principals, 10)}
            truth = {(h.record_key, h.ordinal) for h in exact.vector_search(q, principals, 10)}
            found += len(approx & truth)
        print(f"user {name:>4}: HNSW recall@10 vs exact {found / (10 * repeat):.3f}")


@contextmanager
def embedded_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="hw-bench-index-") as tmp:
        yield f"embedded://{tmp}/index"


@contextmanager
def postgres_url() -> Iterator[str]:
    from tests.indexing.index.pgvector_server import start_pgvector_server

    server = start_pgvector_server()
    try:
        yield f"{server.url}&schema=bench"
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["embedded", "postgres"], default="embedded")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=500, help="records per replace_records call")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument(
        "--hnsw", action="store_true", help="embedded: build the HNSW graph and use it for >1 %%"
    )
    parser.add_argument("--per-record", type=int, default=0, help="also time N records with one commit each")
    args = parser.parse_args()
    corpus = Corpus()
    records = args.chunks // CHUNKS_PER_RECORD
    with embedded_url() if args.backend == "embedded" else postgres_url() as url:
        index = open_search_index(url, DIMENSIONS)
        try:
            insert(index, corpus, records, args.batch)
            if args.per_record:
                per_record(index, corpus, records, args.per_record)
            searches(index, corpus, args.repeat)
        finally:
            index.close()
        if args.hnsw:
            # two objects on one directory (the shared registry would refuse different options):
            # the IVF one for large allowed sets, the other scanning exactly, for recall
            from headwater.indexing.index.embedded import EmbeddedSearchIndex
            from headwater.indexing.index.registry import embedded_location

            directory, _ = embedded_location(url)
            start = time.perf_counter()
            graph_index = EmbeddedSearchIndex(
                directory, DIMENSIONS, ann_min_vectors=1, exact_max_allowed=records * CHUNKS_PER_RECORD // 50
            )
            exact = EmbeddedSearchIndex(directory, DIMENSIONS, ann_min_vectors=None)
            try:
                graph_index.wait_for_ann(timeout_s=3600)
                print(f"IVF index built over {args.chunks:,} vectors in {time.perf_counter() - start:.1f} s")
                print("with the graph for allowed sets > 2 %:")
                searches(graph_index, corpus, args.repeat)
                recall(graph_index, corpus, exact)
            finally:
                graph_index.close()
                exact.close()


if __name__ == "__main__":
    main()
