"""PostgreSQL URLs as Headwater writes them: `postgresql://user@host:5432/db?schema=NAME`.

`schema` is Headwater's parameter, not libpq's: it is removed before connecting and becomes the
search_path. Shared by every PostgreSQL backend (store, config); imports no driver.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from headwater.errors import ConfigurationError


def parse_postgres_url(url: str) -> tuple[str, str, str]:
    """(libpq URL without `schema`, schema name, the URL as safe to show: no password)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigurationError(f"not a PostgreSQL URL: {shown_url(url)!r}; write postgresql://host:5432/db")
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [v for k, v in query if k == "schema"]
    schema = schemas[-1] if schemas else "public"
    if not schema:
        raise ConfigurationError(
            f"empty schema parameter in {shown_url(url)!r}; write ?schema=NAME or leave it out"
        )
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment))
    return conninfo, schema, shown_url(url)


def shown_url(url: str) -> str:
    """host:port/db of a URL, never its user's password."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = parts.port or 5432
    except ValueError:
        return "(unparseable PostgreSQL URL)"
    return f"{host}:{port}{parts.path or '/'}"
