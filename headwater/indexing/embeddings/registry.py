"""Opening the configured embedder by URL.

Each backend module is imported only when its scheme is chosen, so an instance that embeds through an
OpenAI-compatible endpoint never imports torch or sentence-transformers (seconds of start-up and
hundreds of MB it does not need).
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

from pydantic import SecretStr

from headwater.errors import ConfigurationError
from headwater.indexing.embeddings.base import Embedder

if TYPE_CHECKING:
    import httpx

    from headwater.settings import Settings

DEFAULT_URL = "local://all-minilm-l6-v2"
SCHEMES = ("local", "openai+https", "openai+http")


def open_embedder(
    settings_or_url: Settings | str | None = None,
    api_key: SecretStr | str | None = None,
    *,
    client: httpx.Client | None = None,
) -> Embedder:
    """The embedder for `Settings` (its embeddings URL and API key) or for a URL.

    `local://all-minilm-l6-v2[?precision=auto|bf16|fp32&batch_size=N&threads=N]` (the default) or
    `openai+https://host/v1?model=NAME[&dimensions=N...]`. `api_key` overrides the settings' key;
    `client` is an httpx.Client for the OpenAI-compatible backend (tests inject one). The local model
    is not loaded here but on first use.
    """
    if settings_or_url is None or isinstance(settings_or_url, str):
        url = settings_or_url or DEFAULT_URL
    else:
        url = settings_or_url.resolved_embeddings_url
        if api_key is None:
            api_key = settings_or_url.embeddings_api_key
    scheme = urlparse(url).scheme
    if scheme == "local":
        from headwater.indexing.embeddings.local import LocalEmbedder

        return LocalEmbedder.from_url(url)
    if scheme in ("openai+https", "openai+http"):
        from headwater.indexing.embeddings.openai import OpenAIEmbedder

        return OpenAIEmbedder.from_url(url, api_key, client=client)
    known = ", ".join(f"{s}://" for s in SCHEMES)
    hint = f" (did you mean openai+{scheme}://?)" if scheme in ("http", "https") else ""
    raise ConfigurationError(
        f"unknown embeddings URL scheme {scheme or '(none)'!r} in HEADWATER_EMBEDDINGS_URL{hint}; use one "
        f"of {known} (e.g. {DEFAULT_URL} or openai+https://api.openai.com/v1?model=text-embedding-3-small)"
    )
