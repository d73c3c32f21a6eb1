"""Errors a connector raises to tell the sync engine what happened at the source.

    raise SourceThrottledError(retry_after_s=30)   # 429 / 503 with Retry-After: pause, then resume
    raise SourceAuthError("the refresh token was revoked")   # the user must reconnect

The engine turns them into the instance state users see: THROTTLED until a time (the sync pauses
and resumes from its committed sync points), NEEDS_REAUTH. Any other exception ends the run as
FAILED with a reason. Reasons are shown to users and stored, so they pass through `redact`: an
exception message that quotes a request (`Authorization: Bearer ...`, `?access_token=...`) must not
leak the credential.
"""

from __future__ import annotations

import re

from headwater.errors import HeadwaterError


class SyncError(HeadwaterError):
    """Base of the errors a connector raises to steer the sync engine."""


class SourceThrottledError(SyncError):
    """The source asked us to slow down: retry after `retry_after_s` seconds (its Retry-After)."""

    def __init__(self, retry_after_s: float, message: str | None = None) -> None:
        self.retry_after_s = max(0.0, float(retry_after_s))
        super().__init__(
            message or f"the source is throttling requests; retry after {self.retry_after_s:g} s"
        )


class SourceAuthError(SyncError):
    """The source rejected the credentials (revoked, expired beyond refresh): the user must reconnect."""


# what a secret looks like in an error message: auth headers, key=value pairs, JSON fields
_SECRET_PATTERNS = (
    re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(
        r"(?i)\b((?:access|refresh|id)?_?token|api[_-]?key|apikey|password|passwd|secret|client_secret"
        r"|signature)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&,;\"']+)"
    ),
    re.compile(r"(?i)(\"(?:[a-z_]*token|[a-z_]*secret|password|api_?key)\"\s*:\s*)\"[^\"]*\""),
)
MAX_REASON_LENGTH = 500


def redact(text: str) -> str:
    """`text` with obvious credentials replaced by `***`, cut to a readable length."""
    out = _SECRET_PATTERNS[0].sub(lambda m: f"{m.group(1)} ***", text)
    out = _SECRET_PATTERNS[1].sub(lambda m: f"{m.group(1)}{m.group(2)}***", out)
    out = _SECRET_PATTERNS[2].sub(lambda m: f'{m.group(1)}"***"', out)
    if len(out) > MAX_REASON_LENGTH:
        out = out[: MAX_REASON_LENGTH - 3] + "..."
    return out


def describe(exc: BaseException) -> str:
    """A user-facing, redacted reason for an exception: `Type: message`."""
    message = str(exc).strip()
    name = type(exc).__name__
    return redact(f"{name}: {message}" if message else name)


def find_cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """`exc` or the first exception of type `kind` in its cause / context chain (connectors often
    wrap what their client raised)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
