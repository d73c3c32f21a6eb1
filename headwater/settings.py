"""Settings: one data directory by default, each backend chosen by URL.

Every setting can come from the environment (`HEADWATER_DATA_DIR`, `HEADWATER_STORE_URL`, ...) or be
passed explicitly (the CLI's flags do that). With no settings at all, everything is embedded under
`./.headwater` (the data directory): the graph store, the event log and the config store share
one SQLite file there, and the encryption key lives beside it in a file created with mode 0600.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".headwater")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HEADWATER_", extra="ignore")

    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="Where embedded state lives.")
    store_url: str | None = Field(
        default=None, description="Graph store: sqlite:///path.db (default) or postgresql://..."
    )
    events_url: str | None = Field(
        default=None,
        description="Event log: unset = the store's own tables; kafka://host:port relays them to Kafka.",
    )
    config_url: str | None = Field(
        default=None, description="Config store: unset = a table in the store DB; etcd://host:port."
    )
    index_url: str | None = Field(
        default=None,
        description="Search index: unset = embedded (tantivy + faiss under <data_dir>/index); postgresql://...",
    )
    embeddings_url: str | None = Field(
        default=None,
        description="Embeddings: unset = local://all-minilm-l6-v2 (offline); openai+https://host/v1?model=NAME.",
    )
    embeddings_api_key: SecretStr | None = Field(
        default=None, description="API key for an OpenAI-compatible embeddings endpoint."
    )
    llm_url: str | None = Field(
        default=None,
        description="Answers: unset = extractive (cited passages); openai+https://host/v1?model=NAME for any "
        "OpenAI-compatible chat API (OpenAI, Azure OpenAI, Ollama, vLLM).",
    )
    llm_api_key: SecretStr | None = Field(default=None, description="API key for the chat endpoint.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Base64 of 32 bytes: the AES-256-GCM key for stored secrets. Unset = key file.",
    )
    secret_key_file: Path | None = Field(default=None, description="Default: <data_dir>/secret.key")
    api_host: str = Field(
        default="127.0.0.1",
        description="Where `headwater serve` listens for the API and web UI. 0.0.0.0 exposes it to the "
        "network: put it behind a TLS-terminating proxy then.",
    )
    api_port: int = Field(
        default=8000, ge=0, le=65535, description="The API and web UI port (0 = any free one)."
    )
    session_idle_minutes: int = Field(
        default=8 * 60, ge=1, description="A web session ends after this many minutes without a request."
    )
    session_max_hours: int = Field(
        default=7 * 24, ge=1, description="A web session ends this many hours after login, however active."
    )
    content_link_seconds: int = Field(
        default=300,
        ge=1,
        le=3600,
        description="How long a signed link to a record's content works (anyone holding it may fetch it).",
    )
    localfs_roots: Annotated[tuple[Path, ...], NoDecode] = Field(
        default=(),
        description="Absolute paths, separated by the OS path separator (':' on Linux), of the server "
        "folders that Local FS connectors added through the API or web UI may read: a folder outside "
        "every root is refused. Unset = none (only `headwater connectors add` on the server adds local "
        "folders). Headwater's data directory is refused everywhere.",
    )

    public_url: str | None = Field(
        default=None,
        description="The address browsers and vendors reach this server at, e.g. https://hw.example.com "
        "(behind a proxy, with any path prefix): the base of the OAuth redirect URI and of absolute "
        "links (content links). Unset = taken from each request.",
    )

    @field_validator("localfs_roots", mode="before")
    @classmethod
    def _split_localfs_roots(cls, value: Any) -> Any:
        items = value.split(os.pathsep) if isinstance(value, str) else value
        if isinstance(items, str | Path):
            items = [items]
        roots = [str(item).strip() for item in items or () if str(item).strip()]
        for root in roots:
            if not os.path.isabs(root):
                raise ValueError(
                    f"HEADWATER_LOCALFS_ROOTS takes absolute paths separated by {os.pathsep!r}, not {root!r}"
                )
        return tuple(Path(root) for root in roots)

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"HEADWATER_PUBLIC_URL must be an http(s) URL like https://hw.example.com, not {value!r}"
            )
        if parts.query or parts.fragment:
            raise ValueError("HEADWATER_PUBLIC_URL takes no ?query or #fragment: the base address only")
        return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"

    @property
    def resolved_store_url(self) -> str:
        return self.store_url or f"sqlite:///{(self.data_dir / 'headwater.db').resolve()}"

    @property
    def resolved_config_url(self) -> str:
        return self.config_url or self.resolved_store_url

    @property
    def resolved_index_url(self) -> str:
        return self.index_url or f"embedded://{(self.data_dir / 'index').resolve()}"

    @property
    def resolved_embeddings_url(self) -> str:
        return self.embeddings_url or "local://all-minilm-l6-v2"

    @property
    def resolved_secret_key_file(self) -> Path:
        return self.secret_key_file or self.data_dir / "secret.key"
