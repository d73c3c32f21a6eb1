"""The OpenAI-compatible embedder against a real HTTP server on 127.0.0.1 (tests/indexing/embeddings/
fake_server.py): batching, ordering, retries, bounded attempts, errors that name the fix, no key leaks."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import numpy as np
import pytest

from headwater.errors import BackendUnavailableError, ConfigurationError
from headwater.indexing.embeddings.openai import OpenAIEmbedder
from headwater.indexing.embeddings.registry import open_embedder
from headwater.settings import Settings
from tests.fakes.server import serve_app
from tests.indexing.embeddings.fake_server import MODEL, FakeEmbeddingsState, create_app, fake_vector


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, FakeEmbeddingsState]]:
    state = FakeEmbeddingsState()
    with serve_app(create_app(state)) as base:
        yield base, state


Fake = tuple[str, FakeEmbeddingsState]


@pytest.fixture
def fake(server: Fake) -> Fake:
    server[1].reset()
    return server


class Embedders:
    """Makes embedders against the fake server and closes them (their HTTP clients) after the test."""

    def __init__(self, fake: Fake) -> None:
        self.base, self.state = fake
        self.made: list[OpenAIEmbedder] = []

    def __call__(
        self, query: str = "", sleeps: list[float] | None = None, *, path: str = "/v1", key: str | None = None
    ) -> OpenAIEmbedder:
        embedder = OpenAIEmbedder.from_url(
            f"openai+{self.base}{path}?model={MODEL}&batch_size=16{query}",
            self.state.api_key if key is None else key,
            sleep=(sleeps.append if sleeps is not None else lambda _: None),
        )
        self.made.append(embedder)
        return embedder


@pytest.fixture
def embedder_for(fake: Fake) -> Iterator[Embedders]:
    embedders = Embedders(fake)
    yield embedders
    for embedder in embedders.made:
        embedder.close()


def unit(vector: list[float]) -> np.ndarray:
    array = np.asarray(vector, dtype=np.float32)
    return array / np.linalg.norm(array)


def test_batches_requests_and_puts_rows_back_in_input_order(fake: Fake, embedder_for: Embedders) -> None:
    _, state = fake
    texts = [f"chunk number {i} about the expense policy" for i in range(40)]
    embedder = embedder_for()
    vectors = embedder.embed_documents(texts)
    assert [len(r["input"]) for r in state.requests] == [16, 16, 8]
    assert [r["model"] for r in state.requests] == [MODEL] * 3
    assert vectors.shape == (40, 8)
    assert vectors.dtype == np.float32
    # the server lists data in reverse; rows must follow `index`, and are normalised
    np.testing.assert_allclose(vectors, np.stack([unit(fake_vector(t)) for t in texts]), rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(embedder.embed_query(texts[3]), vectors[3])
    assert embedder.dimensions == 8
    assert len(state.requests) == 4  # dimensions known from the answers: no probe request


def test_dimensions_from_a_probe_or_from_the_url(fake: Fake, embedder_for: Embedders) -> None:
    _, state = fake
    assert embedder_for().dimensions == 8
    assert len(state.requests) == 1  # one small probe request
    assert embedder_for("&dimensions=8").dimensions == 8
    assert len(state.requests) == 1  # declared: no request
    wrong = embedder_for("&dimensions=12")
    with pytest.raises(ConfigurationError, match=r"returns 8-dimension vectors, but 12 are expected"):
        wrong.embed_documents(["hello"])
    shortened = embedder_for("&dimensions=4&request_dimensions=true")
    assert shortened.embed_documents(["hello"]).shape == (1, 4)
    assert state.requests[-1]["dimensions"] == 4


def test_empty_texts_get_zero_rows_without_being_sent(fake: Fake, embedder_for: Embedders) -> None:
    _, state = fake
    vectors = embedder_for().embed_documents(["alpha", "", "  ", "beta"])
    assert state.requests[0]["input"] == ["alpha", "beta"]
    assert np.linalg.norm(vectors, axis=1).round(6).tolist() == [1.0, 0.0, 0.0, 1.0]
    np.testing.assert_allclose(vectors[3], unit(fake_vector("beta")), rtol=1e-6)


def test_retries_after_429_honouring_retry_after(fake: Fake, embedder_for: Embedders) -> None:
    _, state = fake
    state.throttle_next, state.retry_after = 2, "3"
    sleeps: list[float] = []
    vectors = embedder_for(sleeps=sleeps).embed_documents(["one", "two"])
    assert sleeps == [3.0, 3.0]
    assert len(state.requests) == 3
    np.testing.assert_allclose(vectors[1], unit(fake_vector("two")), rtol=1e-6)


def test_retry_after_as_an_http_date(fake: Fake, embedder_for: Embedders) -> None:
    _, state = fake
    state.throttle_next = 1
    state.retry_after = format_datetime(datetime.now(UTC) + timedelta(seconds=5), usegmt=True)
    sleeps: list[float] = []
    embedder_for(sleeps=sleeps).embed_documents(["one"])
    assert len(sleeps) == 1
    assert 3.0 < sleeps[0] <= 5.0


def test_bounded_attempts_then_a_clear_transient_error(fake: Fake, embedder_for: Embedders) -> None:
    _, state = fake
    state.fail_next = 10
    sleeps: list[float] = []
    with pytest.raises(BackendUnavailableError) as raised:
        embedder_for("&max_attempts=3", sleeps).embed_documents(["one"])
    assert len(state.requests) == 3
    assert sleeps == [0.5, 1.0]  # exponential backoff without Retry-After
    assert "failed 3 times in a row (last: HTTP 500 The server had an error" in str(raised.value)
    assert "overloaded or down" in str(raised.value)


def test_the_api_key_never_appears_in_errors_logs_or_repr(
    fake: Fake, embedder_for: Embedders, caplog: pytest.LogCaptureFixture
) -> None:
    _, state = fake
    state.echo_key_in_errors = True  # the server puts the key into its error messages
    state.fail_next = 10
    embedder = embedder_for("&max_attempts=2")
    with caplog.at_level(logging.DEBUG), pytest.raises(BackendUnavailableError) as raised:
        embedder.embed_documents(["one"])
    assert "processing your request for key ***" in str(raised.value)
    assert state.api_key not in str(raised.value)
    assert "retry 1 of 1" in caplog.text
    assert state.api_key not in caplog.text
    assert state.api_key not in repr(embedder)
    assert state.api_key not in str(vars(embedder))

    wrong_key = "sk-wrong-key-that-must-stay-secret-42"
    with pytest.raises(ConfigurationError, match="refused the key") as refused:
        embedder_for(key=wrong_key).embed_documents(["one"])
    assert wrong_key not in str(refused.value)
    assert "set HEADWATER_EMBEDDINGS_API_KEY to a valid key" in str(refused.value)
    with pytest.raises(ConfigurationError, match="no API key is configured"):
        embedder_for(key="").embed_documents(["one"])


def test_wrong_model_or_path_says_what_to_check(fake: Fake, embedder_for: Embedders) -> None:
    base, state = fake
    other = OpenAIEmbedder.from_url(f"openai+{base}/v1?model=no-such-model", state.api_key)
    with pytest.raises(ConfigurationError, match="no-such-model"):
        other.embed_documents(["one"])
    other.close()
    with pytest.raises(ConfigurationError, match=r"/api/embeddings was not found .*path"):
        embedder_for(path="/api").embed_documents(["one"])


def test_unreachable_servers_are_retried_then_reported() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps: list[float] = []
    embedder = OpenAIEmbedder.from_url(
        f"openai+http://127.0.0.1:{port}/v1?model=m&max_attempts=2&timeout=2", sleep=sleeps.append
    )
    with pytest.raises(BackendUnavailableError, match="check the host and port") as raised:
        embedder.embed_documents(["one"])
    embedder.close()
    assert sleeps == [0.5]
    assert "ConnectError" in str(raised.value)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://api.openai.com/v1?model=m", "did you mean openai\\+https://"),
        ("openai+https://api.openai.com/v1", "needs \\?model=NAME"),
        ("openai+https://sk-secret@api.openai.com/v1?model=m", "HEADWATER_EMBEDDINGS_API_KEY"),
        ("openai+https:///v1?model=m", "has no host"),
        ("openai+https://api.openai.com/v1?model=m&dimensions=big", "must be numbers"),
        ("openai+https://api.openai.com/v1?model=m&dimension=8", "unknown parameter"),
        ("openai+https://api.openai.com/v1?model=m&request_dimensions=true", "needs dimensions=N"),
        ("ftp://host/v1", "unknown embeddings URL scheme 'ftp'"),
        ("local://bert-large", "the only local model is local://all-minilm-l6-v2"),
        ("local://all-minilm-l6-v2?precision=fp16", "auto, bf16 or fp32"),
    ],
)
def test_bad_urls_are_rejected_with_the_fix(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as raised:
        open_embedder(url)
    assert "sk-secret" not in str(raised.value)


def test_open_embedder_from_settings_uses_the_key_and_an_injected_client(fake: Fake) -> None:
    base, state = fake
    settings = Settings(embeddings_url=f"openai+{base}/v1?model={MODEL}", embeddings_api_key=state.api_key)
    with httpx.Client() as client:
        embedder = open_embedder(settings, client=client)
        assert isinstance(embedder, OpenAIEmbedder)
        assert embedder.model_name == MODEL
        assert embedder.embed_documents(["hello"]).shape == (1, 8)
        embedder.close()
        assert not client.is_closed  # the caller's client stays the caller's


def test_choosing_openai_never_imports_torch() -> None:
    code = (
        "import sys\n"
        "from headwater.indexing.embeddings.registry import open_embedder\n"
        "e = open_embedder('openai+http://127.0.0.1:9/v1?model=m&dimensions=4')\n"
        "assert e.dimensions == 4\n"
        "heavy = [m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, timeout=60)
