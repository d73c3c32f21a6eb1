"""Search latency at scale: permission-filtered hybrid search over N synthetic chunks.

    .venv/bin/python bench/search.py --chunks 1000000   # the issue's figure (first run builds, 3-5 min)
    .venv/bin/python bench/search.py --chunks 100000    # a quicker run
    .venv/bin/python bench/search.py --fresh            # rebuild the corpus instead of reusing it
    .venv/bin/python bench/search.py --real-recall 20000  # IVF recall on real sentence embeddings

The corpus is built once into `bench/results/search-<N>/` (git-ignored) and reused while its
marker file matches the chunk count and the corpus version; `--index-dir` puts it elsewhere.

The corpus: N chunks (10 a record) of synthetic prose drawn from a Zipf-distributed made-up
vocabulary of 20,000 words. Each record is about one of 1,000 topics (three words from the 2,000
most frequent); every chunk carries its topic's words, and its vector is the real model's embedding
of the topic phrase plus random noise (cosine ~0.75 to the topic, ~0.55 between chunks of a topic),
so vectors form neighbourhoods as real embeddings do, if tighter ones (`--real-recall` measures the
IVF index on real embeddings; uniformly random vectors have no neighbourhoods: no approximate index
finds their neighbours, and no real embedding model makes them). Record i is
granted to group g(i mod 100). Users: `one` belongs to g0 (reads 1 %), `half` to g0..g49 (50 %),
`all` to every group (the unfiltered baseline).

Queries: two or three words of a topic in random order: frequent words (the hard case for BM25,
they match a large part of the corpus), embedded by the real local model (all-MiniLM-L6-v2) inside
the timed search, as users see it.

Prints p50 / p95 of end-to-end hybrid search per user (principals, query embedding, BM25, vectors,
fusion, hits and snippets), the p50 of each stage, and the recall@10 of the vector half against an
exact scan of the same allowed set. Target (issue 6): p95 <= 50 ms for both filtered users.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from headwater.indexing.embeddings.base import Embedder
from headwater.indexing.embeddings.registry import open_embedder
from headwater.indexing.index.embedded import EmbeddedSearchIndex
from headwater.indexing.index.ivf import IvfVectors, list_count, probe_count
from headwater.indexing.index.registry import open_search_index
from headwater.indexing.index.vectors import exact_search
from headwater.indexing.types import IndexedChunk, IndexedRecord, Location
from headwater.search.service import SearchService
from headwater.store.registry import open_store

CORPUS_VERSION = "topics-v2"
CHUNKS_PER_RECORD = 10
WORDS_PER_CHUNK = 60
VOCABULARY = 20_000
FREQUENT = 2_000  # topic (and so query) words come from the most frequent words
TOPICS = 1_000
TOPIC_NOISE = 0.88  # norm of the noise added to a topic's unit vector: cosine 1/sqrt(1 + 0.88^2) ~ 0.75
GROUPS = 100
RECORDS_PER_WRITE = 1_000
TARGET_P95_MS = 50.0
SEED = 7
RESULTS = Path(__file__).resolve().parent / "results"


def vocabulary(rng: np.random.Generator) -> list[str]:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, size=int(rng.integers(4, 10)))) for _ in range(VOCABULARY)]


def topics(rng: np.random.Generator) -> list[list[str]]:
    words = vocabulary(rng)
    return [[words[i] for i in rng.choice(FREQUENT, size=3, replace=False)] for _ in range(TOPICS)]


def build_index(index_dir: Path, total: int, embedder: Embedder) -> None:
    rng = np.random.default_rng(SEED)
    topic_words = topics(rng)
    words = vocabulary(np.random.default_rng(SEED))
    zipf = 1 / np.arange(1, VOCABULARY + 1)
    zipf /= zipf.sum()
    centroids = np.asarray(embedder.embed_documents([" ".join(t) for t in topic_words]), dtype=np.float32)
    dims = centroids.shape[1]
    # the approximate-search structure is built once the corpus is complete (when it is reopened),
    # rather than trained on the first part and extended while the build competes for the cores
    index = open_search_index(f"embedded://{index_dir}?ann_min_vectors=0", dims)
    started, done = time.perf_counter(), 0
    records = total // CHUNKS_PER_RECORD
    try:
        for first in range(0, records, RECORDS_PER_WRITE):
            count = min(RECORDS_PER_WRITE, records - first)
            n = count * CHUNKS_PER_RECORD
            record_topics = rng.integers(TOPICS, size=count)
            chunk_topics = np.repeat(record_topics, CHUNKS_PER_RECORD)
            noise = rng.standard_normal((n, dims)).astype(np.float32)
            noise *= TOPIC_NOISE / np.linalg.norm(noise, axis=1, keepdims=True)
            vectors = centroids[chunk_topics] + noise
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            picks = rng.choice(VOCABULARY, size=(n, WORDS_PER_CHUNK), p=zipf)
            batch = []
            for i in range(count):
                r = first + i
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
                chunks = []
                for c in range(CHUNKS_PER_RECORD):
                    row = i * CHUNKS_PER_RECORD + c
                    text = [words[w] for w in picks[row]]
                    text[7:7] = topic_words[record_topics[i]]  # the topic, early in the chunk
                    chunks.append(IndexedChunk(c, " ".join(text), vectors[row], Location(page=c + 1)))
                batch.append((record, chunks))
            index.replace_records(batch)
            done += n
            rate = done / (time.perf_counter() - started)
            print(f"\r  built {done:,} chunks ({rate:,.0f} chunks/s)", end="", flush=True)
    finally:
        index.close()
    print(f"\n  build: {total:,} chunks in {time.perf_counter() - started:.0f} s")


def make_queries(count: int) -> list[str]:
    rng = np.random.default_rng(SEED + 1)
    topic_words = topics(np.random.default_rng(SEED))
    queries = []
    for _ in range(count):
        topic = topic_words[int(rng.integers(TOPICS))]
        queries.append(" ".join(rng.permutation(topic)[: int(rng.integers(2, 4))]))
    return queries


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


class Measured:
    def __init__(self, label: str) -> None:
        self.label = label
        self.total: list[float] = []
        self.stages: dict[str, list[float]] = {}

    def add(self, total_ms: float, stages: dict[str, float]) -> None:
        self.total.append(total_ms)
        for name, ms in stages.items():
            self.stages.setdefault(name, []).append(ms)

    @property
    def p50(self) -> float:
        return statistics.median(self.total)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.total, n=20)[18]


def measure(service: SearchService, user: str, label: str, queries: list[str]) -> Measured:
    for query in queries[:5]:  # warm the principal cache, the model and the page cache
        service.search(query, user_key=user)
    measured = Measured(label)
    for query in queries:
        started = time.perf_counter()
        results = service.search(query, user_key=user, k=10)
        measured.add((time.perf_counter() - started) * 1000, results.timings)
    return measured


def vector_recall(index: Any, embedder: Embedder, principals: set[str], queries: list[str]) -> float:
    """Mean recall@10 of the index's vector search against an exact scan of the same allowed set."""
    index = getattr(index, "embedded", index)
    if not isinstance(index, EmbeddedSearchIndex):
        return float("nan")
    found = 0
    for query in queries:
        vector = embedder.embed_query(query)
        approximate = {h.record_key + f"#{h.ordinal}" for h in index.vector_search(vector, principals, k=10)}
        exact = [h.record_key + f"#{h.ordinal}" for h in index.exact_vector_search(vector, principals, k=10)]
        found += len(approximate.intersection(exact))
    return found / (10 * len(queries))


def real_sentences(limit: int) -> list[str]:
    """English sentences from the docstrings of Python's standard library and the documentation
    files installed in the virtualenv (the same on every machine with this Python and venv)."""
    sources = [Path(sysconfig.get_paths()["stdlib"]), Path(np.__file__).resolve().parents[1]]
    texts: list[str] = []
    for root in sources:
        for path in sorted(root.rglob("*")):
            if path.suffix in (".md", ".rst", ".txt") and path.is_file():
                texts.append(path.read_text(encoding="utf-8", errors="ignore"))
            elif path.suffix == ".py" and root == sources[0] and path.is_file():
                code = path.read_text(encoding="utf-8", errors="ignore")
                texts += re.findall(r'"""(.*?)"""', code, flags=re.DOTALL)
    found: dict[str, None] = {}
    for raw in texts:
        text = " ".join(raw.split())
        for sentence in re.split(r"(?<=[.!?]) ", text):
            words = sentence.split()
            if 8 <= len(words) <= 40 and sum(c.isalpha() for c in sentence) > 0.7 * len(sentence):
                found[sentence] = None
    sentences = list(found)
    np.random.default_rng(SEED).shuffle(sentences)
    return sentences[:limit]


def real_recall(embedder: Embedder, count: int) -> None:
    """Recall@10 of the IVF index against an exact scan on real MiniLM embeddings of `count` sentences
    (the synthetic corpus clusters by construction; real embeddings are harder for any ANN index)."""
    cache = RESULTS / f"real-sentences-{count}.npy"
    if cache.exists():
        vectors = np.load(cache)
    else:
        sentences = real_sentences(count + 100)
        print(f"embedding {len(sentences):,} sentences from installed documentation (cached in {cache})")
        vectors = np.asarray(embedder.embed_documents(sentences), dtype=np.float32)
        RESULTS.mkdir(exist_ok=True)
        np.save(cache, vectors)
    stored, queries = np.ascontiguousarray(vectors[:-100]), vectors[-100:]
    ivf = IvfVectors(RESULTS / "real-sentences.ivf", stored.shape[1], lambda n: stored[:n])
    ivf.start(len(stored))
    ivf.wait_covered(len(stored), 600)
    rng = np.random.default_rng(SEED)
    lists = list_count(len(stored))
    for share in (0.5, 0.1):
        allowed = rng.random(len(stored)) < share
        found = 0
        for query in queries:
            approximate = ivf.search(stored, query, allowed, 10)
            exact = set(exact_search(stored, query, allowed, 10)[0].tolist())
            found += 10 if approximate is None else len(exact.intersection(approximate[0].tolist()))
        probes = probe_count(lists, share)
        print(
            f"real embeddings: {len(stored):,} vectors, {lists} lists, {probes} probed, reader of"
            f" {share:.0%}: recall@10 {found / (10 * len(queries)):.3f}"
        )
    ivf.close(save=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--index-dir", type=Path, help="where the corpus is built and reused")
    parser.add_argument("--fresh", action="store_true", help="rebuild the corpus even if one is there")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the corpus and stop")
    parser.add_argument(
        "--real-recall",
        type=int,
        metavar="N",
        help="instead: IVF recall on real embeddings of N sentences from installed documentation",
    )
    parser.add_argument(
        "--sequential", action="store_true", help="embed the query before BM25 instead of beside it"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    if args.real_recall:
        real_recall(open_embedder("local://all-minilm-l6-v2"), args.real_recall)
        return
    index_dir = args.index_dir or RESULTS / f"search-{args.chunks}"
    marker = index_dir / "bench-built"
    wanted = f"{args.chunks} {CORPUS_VERSION}"
    embedder = open_embedder("local://all-minilm-l6-v2")
    if args.fresh or not marker.exists() or marker.read_text() != wanted:
        if index_dir.exists() and any(index_dir.iterdir()):
            if not (index_dir / "metadata.sqlite3").exists():
                raise SystemExit(
                    f"{index_dir} holds something else than a bench corpus: name an empty directory"
                )
            shutil.rmtree(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        print(f"building a corpus of {args.chunks:,} chunks in {index_dir}")
        build_index(index_dir, args.chunks, embedder)
        marker.write_text(wanted)
    else:
        print(f"reusing the corpus in {index_dir} (--fresh rebuilds it)")

    index = open_search_index(f"embedded://{index_dir}", embedder.dimensions)
    try:
        embedded = getattr(index, "embedded", None)
        if isinstance(embedded, EmbeddedSearchIndex):
            started = time.perf_counter()
            embedded.wait_for_ann(timeout_s=3600)
            print(f"  approximate vector index ready after {time.perf_counter() - started:.0f} s")
        if args.build_only:
            return
        run(index, embedder, args.queries, overlap=not args.sequential)
    finally:
        index.close()


def run(index: Any, embedder: Embedder, query_count: int, *, overlap: bool) -> None:
    queries = make_queries(query_count)
    with tempfile.TemporaryDirectory(prefix="hw-bench-search-") as tmp:
        store_url = f"sqlite:///{Path(tmp) / 'store.db'}"
        seed_users(store_url)
        store = open_store(store_url)
        service = SearchService(store, index, embedder, overlap_embedding=overlap)
        try:
            embed_ms = []
            for q in queries[:100]:
                started = time.perf_counter()
                embedder.embed_query(q)
                embed_ms.append((time.perf_counter() - started) * 1000)
            load = os.getloadavg()
            rows = [measure(service, "all", "all (reads 100 %, baseline)", queries)]
            for user, label in (("one", "one (reads 1 %)"), ("half", "half (reads 50 %)")):
                rows.append(measure(service, user, label, queries))
            load_after = os.getloadavg()
        finally:
            service.close()
            store.close()
    recall_one = vector_recall(index, embedder, {"groups/g0"}, queries[:100])
    recall_half = vector_recall(index, embedder, {f"groups/g{g}" for g in range(GROUPS // 2)}, queries[:100])

    embed_p95 = statistics.quantiles(embed_ms, n=20)[18]
    print(
        f"\nchunks: {index.count_chunks():,}   queries: {len(queries)}   load average {load[0]:.1f}"
        f" -> {load_after[0]:.1f}   query embedding alone p50 {statistics.median(embed_ms):.1f}"
        f" / p95 {embed_p95:.1f} ms"
    )
    stage_names = list(rows[0].stages)
    header = f"{'user':<30} {'p50 ms':>7} {'p95 ms':>7} {'p95/base':>8}   stage p50 ms: " + " ".join(
        f"{name:>9}" for name in stage_names
    )
    print(header)
    baseline = rows[0].p95
    for measured in rows:
        stages = " ".join(f"{statistics.median(measured.stages[name]):9.1f}" for name in stage_names)
        print(
            f"{measured.label:<30} {measured.p50:7.1f} {measured.p95:7.1f} {measured.p95 / baseline:8.2f}"
            f"                 {stages}"
        )
    print(f"vector recall@10 vs exact scan: reads 1 % {recall_one:.3f}, reads 50 % {recall_half:.3f}")
    ok = all(m.p95 <= TARGET_P95_MS for m in rows[1:])
    print(f"target p95 <= {TARGET_P95_MS:.0f} ms for both filtered users: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
