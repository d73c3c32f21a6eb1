"""Choosing a backend by URL: one lazy alias table per seam, so the embedded default never imports
the client library of a server backend."""

from __future__ import annotations

import importlib
from typing import Any
from urllib.parse import urlparse

from headwater.errors import ConfigurationError, MissingDependencyError

# module prefix of an optional package -> the extra that installs it
_EXTRAS = {"psycopg": "postgres", "confluent_kafka": "kafka", "aetcd": "etcd", "grpc": "etcd"}


def load_backend(seam: str, aliases: dict[str, str], url: str) -> Any:
    """The backend class for `url` among `aliases` (scheme -> "module:Class")."""
    scheme = urlparse(url).scheme
    target = aliases.get(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in sorted(aliases))
        raise ConfigurationError(
            f"unknown {seam} URL scheme {scheme or '(none)'!r} in {url!r}; use one of {known}"
        )
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if missing in _EXTRAS:
            raise MissingDependencyError(f"the {scheme}:// {seam}", _EXTRAS[missing]) from exc
        raise
    return getattr(module, class_name)
