"""The embedders other tests use instead of the real model: deterministic, counted, honest about shape."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import numpy as np

from headwater.indexing.embeddings.testing import CountingEmbedder, HashingEmbedder


def test_hashing_embedder_gives_unit_rows_that_follow_shared_words() -> None:
    embedder = HashingEmbedder()
    texts = [
        "Hotel stays are reimbursed up to 180 euros per night",
        "the hotel limit per night is 180 euros",
        "Rotate production database credentials every 90 days",
        "",
    ]
    vectors = embedder.embed_documents(texts)
    assert vectors.shape == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, rtol=1e-6)
    assert not vectors[3].any()  # no words: a zero row
    similar, unrelated = float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2])
    assert similar > 0.5
    assert abs(unrelated) < 0.2
    np.testing.assert_array_equal(embedder.embed_query(texts[0]), vectors[0])
    assert embedder.model_name == "test-hashing-384"
    assert HashingEmbedder(64).embed_documents(["x"]).shape == (1, 64)


def test_hashing_embedder_is_the_same_in_every_process() -> None:
    # Python's own hash() is salted per process; the vectors must not be.
    code = (
        "import json\n"
        "from headwater.indexing.embeddings.testing import HashingEmbedder\n"
        "print(json.dumps(HashingEmbedder(16).embed_query('quarterly budget review').tolist()))"
    )
    printed = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    here = HashingEmbedder(16).embed_query("quarterly budget review")
    np.testing.assert_allclose(np.array(json.loads(printed)), here, rtol=1e-6)


def test_counting_embedder_counts_calls_texts_and_queries_from_several_threads() -> None:
    counter = CountingEmbedder()
    assert counter.dimensions == 384
    assert counter.model_name == "test-hashing-384"
    vectors = counter.embed_documents(["a b", "c d"])
    np.testing.assert_array_equal(vectors, HashingEmbedder().embed_documents(["a b", "c d"]))
    counter.embed_query("where is the roadmap")

    def embed_many() -> None:
        for i in range(50):
            counter.embed_documents([f"text {i}"])

    threads = [threading.Thread(target=embed_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter.calls == 201
    assert counter.texts_embedded == 202
    assert counter.texts[:2] == ["a b", "c d"]
    assert counter.queries == ["where is the roadmap"]
    counter.reset()
    assert (counter.calls, counter.texts_embedded, counter.queries) == (0, 0, [])
    wrapped = CountingEmbedder(HashingEmbedder(32))
    assert wrapped.embed_documents(["x"]).shape == (1, 32)
    assert wrapped.dimensions == 32
