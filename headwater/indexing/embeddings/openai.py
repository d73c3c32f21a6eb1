"""Any OpenAI-compatible embeddings endpoint: OpenAI, Azure-style gateways, Ollama, vLLM, LiteLLM, ...

URL: `openai+https://host/v1?model=NAME` (`openai+http://` for a server on your network), optionally
`&dimensions=N` (the vector size, so it is known before the first request and checked on every
answer; add `&request_dimensions=true` to also ask the endpoint to shorten its vectors, which
OpenAI's text-embedding-3 models support), `&batch_size=N` (inputs per request), `&timeout=S`,
`&max_attempts=N`.

Requests are `POST {base}/embeddings` with `{"model", "input": [...]}`; answers carry
`data[i].embedding` and `data[i].index`, and rows are put back in input order by `index`. A 429 or
5xx answer, a timeout or a dropped connection is retried after the server's `Retry-After` (or a short
backoff), a bounded number of times; then `BackendUnavailableError` (transient: the indexing worker
retries the record later). Wrong URL, model or key raise `ConfigurationError` at once.

The API key is held as a `SecretStr` and only ever written into the Authorization header: it is not
in `repr`, logs or exception messages (a server that echoes it back gets it redacted).
"""

from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import numpy as np
from numpy.typing import NDArray
from pydantic import SecretStr

from headwater.clients.openai_compatible import error_message
from headwater.errors import BackendUnavailableError, ConfigurationError
from headwater.indexing.embeddings.base import Embedder

logger = logging.getLogger(__name__)

SCHEMES = ("openai+https", "openai+http")
DEFAULT_BATCH_SIZE = 128  # ~32k tokens of 256-token chunks: well inside OpenAI's 2048 inputs / 300k tokens
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_ATTEMPTS = 5
MAX_RETRY_WAIT_S = 60.0  # a longer Retry-After is cut to this; the worker's own retry takes over then
_PROBE_TEXT = "dimension probe"


class OpenAIEmbedder(Embedder):
    """Embeds through `POST {base_url}/embeddings`. Thread-safe (httpx.Client is)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: SecretStr | str | None = None,
        *,
        dimensions: int | None = None,
        request_dimensions: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
        timeout: float = DEFAULT_TIMEOUT_S,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if batch_size < 1 or max_attempts < 1 or timeout <= 0:
            raise ConfigurationError("embeddings batch_size, max_attempts and timeout must be positive")
        if request_dimensions and dimensions is None:
            raise ConfigurationError("request_dimensions=true needs dimensions=N in the embeddings URL")
        self.base_url = base_url.rstrip("/")
        self.model_name = model
        self.batch_size = batch_size
        self.max_attempts = max_attempts
        self.request_dimensions = request_dimensions
        secret = api_key if isinstance(api_key, SecretStr | None) else SecretStr(api_key)
        self._api_key = secret if secret is not None and secret.get_secret_value() else None
        self._dimensions = dimensions
        self._owns_client = client is None
        self._client = client or httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)))
        self._sleep = sleep
        self._probe_lock = threading.Lock()

    @classmethod
    def from_url(
        cls,
        url: str,
        api_key: SecretStr | str | None = None,
        *,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> OpenAIEmbedder:
        parsed = urlparse(url)
        if parsed.scheme not in SCHEMES:
            raise ConfigurationError(
                f"embeddings URL must start with openai+https:// or openai+http:// "
                f"(got {parsed.scheme or 'none'}://)"
            )
        if parsed.username or parsed.password:
            raise ConfigurationError(
                "do not put credentials in the embeddings URL; set HEADWATER_EMBEDDINGS_API_KEY instead"
            )
        if not parsed.hostname:
            raise ConfigurationError(
                "embeddings URL has no host, e.g. openai+https://api.openai.com/v1?model=text-embedding-3-small"
            )
        params = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        known = {"model", "dimensions", "request_dimensions", "batch_size", "timeout", "max_attempts"}
        unknown = set(params) - known
        if unknown:
            raise ConfigurationError(
                f"unknown parameter(s) {sorted(unknown)} in the embeddings URL; use {sorted(known)}"
            )
        model = params.get("model", "")
        if not model:
            raise ConfigurationError(
                "embeddings URL needs ?model=NAME, e.g. openai+https://api.openai.com/v1"
                "?model=text-embedding-3-small or openai+http://127.0.0.1:11434/v1?model=nomic-embed-text"
            )
        try:
            dimensions = int(params["dimensions"]) if "dimensions" in params else None
            batch_size = int(params.get("batch_size", DEFAULT_BATCH_SIZE))
            timeout = float(params.get("timeout", DEFAULT_TIMEOUT_S))
            max_attempts = int(params.get("max_attempts", DEFAULT_MAX_ATTEMPTS))
        except ValueError as exc:
            raise ConfigurationError(
                "dimensions, batch_size, max_attempts (whole numbers) and timeout (seconds) in the "
                "embeddings URL must be numbers"
            ) from exc
        if dimensions is not None and dimensions < 1:
            raise ConfigurationError("dimensions in the embeddings URL must be at least 1")
        scheme = parsed.scheme.removeprefix("openai+")
        return cls(
            f"{scheme}://{parsed.netloc}{parsed.path}",
            model,
            api_key,
            dimensions=dimensions,
            request_dimensions=params.get("request_dimensions", "").lower() in ("1", "true", "yes"),
            batch_size=batch_size,
            timeout=timeout,
            max_attempts=max_attempts,
            client=client,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"OpenAIEmbedder({self.base_url!r}, model={self.model_name!r})"

    @property
    def dimensions(self) -> int:
        """From the URL, or else from the first answer (one small request if nothing was embedded yet)."""
        if self._dimensions is None:
            with self._probe_lock:
                if self._dimensions is None:
                    self._embed_batch([_PROBE_TEXT])
        assert self._dimensions is not None
        return self._dimensions

    @dimensions.setter
    def dimensions(self, value: int) -> None:
        self._dimensions = value

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        parts = [
            self._embed_batch(texts[i : i + self.batch_size]) for i in range(0, len(texts), self.batch_size)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def embed_query(self, text: str) -> NDArray[np.float32]:
        vector: NDArray[np.float32] = self.embed_documents([text])[0]
        return vector

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    # ---- one request -------------------------------------------------------------------------

    def _embed_batch(self, texts: Sequence[str]) -> NDArray[np.float32]:
        # OpenAI rejects an empty string in `input`; an empty text has nothing to embed anyway, so it
        # gets a zero vector (it matches nothing) without being sent.
        sent = [i for i, text in enumerate(texts) if text.strip()]
        rows = self._post([texts[i] for i in sent]) if sent else None
        size = rows.shape[1] if rows is not None else self.dimensions
        if len(sent) == len(texts) and rows is not None:
            return rows
        out = np.zeros((len(texts), size), dtype=np.float32)
        if rows is not None:
            out[sent] = rows
        return out

    def _post(self, texts: list[str]) -> NDArray[np.float32]:
        body: dict[str, Any] = {"model": self.model_name, "input": texts}
        if self.request_dimensions:
            body["dimensions"] = self._dimensions
        key = self._api_key
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key is not None else {}
        url = f"{self.base_url}/embeddings"
        last_problem = ""
        unreachable = False
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._client.post(url, json=body, headers=headers)
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections
                last_problem = f"{type(exc).__name__}: {self._redact(str(exc))}"
                unreachable = isinstance(exc, httpx.ConnectError)
                wait = _backoff(attempt)
            else:
                if response.status_code == 200:
                    return self._vectors(response, len(texts))
                if response.status_code != 429 and response.status_code < 500:
                    raise self._request_error(response)
                last_problem = f"HTTP {response.status_code} {self._redact(error_message(response))}"
                unreachable = False
                wait = _retry_after(response.headers.get("retry-after"), attempt)
            if attempt == self.max_attempts:
                break
            logger.warning(
                "embeddings endpoint %s: %s; retry %d of %d in %.1f s",
                self.base_url,
                last_problem,
                attempt,
                self.max_attempts - 1,
                wait,
            )
            self._sleep(wait)
        advice = (
            "check the host and port in HEADWATER_EMBEDDINGS_URL and that the server is running"
            if unreachable
            else "it is overloaded or down"
        )
        raise BackendUnavailableError(
            f"the embeddings endpoint {self.base_url} failed {self.max_attempts} times in a row "
            f"(last: {last_problem}); {advice}; the records will be retried later"
        )

    def _vectors(self, response: httpx.Response, expected: int) -> NDArray[np.float32]:
        try:
            data = response.json()["data"]
            by_index = {int(item["index"]): item["embedding"] for item in data}
            ordered = [by_index[i] for i in range(expected)]
            vectors = np.asarray(ordered, dtype=np.float32)
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendUnavailableError(
                f"the embeddings endpoint {self.base_url} sent an answer that is not an OpenAI embeddings "
                f"response (expected data[i].embedding and data[i].index for {expected} inputs)"
            ) from exc
        if len(data) != expected or vectors.ndim != 2:
            raise BackendUnavailableError(
                f"the embeddings endpoint {self.base_url} answered {len(data)} vectors for {expected} inputs"
            )
        if self._dimensions is None:
            self._dimensions = int(vectors.shape[1])
        elif vectors.shape[1] != self._dimensions:
            raise ConfigurationError(
                f"model {self.model_name!r} at {self.base_url} returns {vectors.shape[1]}-dimension vectors, "
                f"but {self._dimensions} are expected; fix dimensions= in the embeddings URL (a changed "
                "model needs a re-index)"
            )
        # OpenAI's vectors are unit length already; other servers' often are not.
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        np.divide(vectors, norms, out=vectors, where=norms > 0)
        return vectors

    def _request_error(self, response: httpx.Response) -> ConfigurationError:
        status = response.status_code
        detail = self._redact(error_message(response))
        if status in (401, 403):
            hint = "set HEADWATER_EMBEDDINGS_API_KEY to a valid key for this endpoint"
            if self._api_key is None:
                hint = "no API key is configured: set HEADWATER_EMBEDDINGS_API_KEY"
            return ConfigurationError(
                f"the embeddings endpoint {self.base_url} refused the key ({status}): {hint}"
            )
        if status == 404:
            return ConfigurationError(
                f"{self.base_url}/embeddings was not found (404: {detail}); check the URL's path (it should "
                "end where the API is mounted, usually /v1) and the model name "
                f"{self.model_name!r}"
            )
        return ConfigurationError(
            f"the embeddings endpoint {self.base_url} rejected the request ({status}: {detail}); check "
            f"the model name {self.model_name!r} and dimensions"
        )

    def _redact(self, text: str) -> str:
        if self._api_key is None:
            return text
        return text.replace(self._api_key.get_secret_value(), "***")


def _backoff(attempt: int) -> float:
    return float(min(MAX_RETRY_WAIT_S, 0.5 * 2 ** (attempt - 1)))


def _retry_after(value: str | None, attempt: int) -> float:
    """Seconds to wait: Retry-After as seconds or an HTTP date, else exponential backoff; capped."""
    if value:
        try:
            return min(MAX_RETRY_WAIT_S, max(0.0, float(value)))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return _backoff(attempt)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return min(MAX_RETRY_WAIT_S, max(0.0, (when - datetime.now(UTC)).total_seconds()))
    return _backoff(attempt)
