"""What the Graph client raises. Every error carries Graph's own envelope (code, message, request id),
never a token or a client secret.

    HeadwaterError
     └── GraphError                 any Graph answer we could not use (status, code, message)
          ├── AuthError             no token: wrong tenant, wrong client id or secret, no admin consent
          ├── AccessDeniedError     403: the app lacks an application permission (or its admin consent)
          ├── NotFoundError         404: the user, drive, item, folder ... does not exist (any more)
          ├── DeltaExpiredError     410 Gone / resyncRequired / syncStateNotFound: resync `scope` only
          ├── ThrottledError        429/503/504 still answered after the allowed attempts
          └── GraphConnectionError  the network failed (connect, read, timeout) after the allowed attempts
"""

from __future__ import annotations

from typing import Any

import httpx

from headwater.errors import HeadwaterError

MAX_MESSAGE_CHARS = 300

# Graph's codes that mean "your delta token is no good, enumerate again". Graph is inconsistent in
# case (drives: resyncRequired; Outlook/directory: SyncStateNotFound), so they are compared lowered.
RESYNC_CODES = frozenset(
    {
        "resyncrequired",
        "syncstatenotfound",
        "syncstateinvalid",
        "resyncchangesapplydifferences",
        "resyncchangesuploaddifferences",
        "resyncapplydifferences",
        "resyncuploaddifferences",
    }
)


class GraphError(HeadwaterError):
    """Microsoft Graph answered with an error (or not at all).

    Attributes:
        status: the HTTP status (0 when no answer came).
        code: Graph's `error.code` ("itemNotFound", "accessDenied", ...), "" when absent.
        inner_code: the innermost `innerError.code`, "" when absent.
        graph_message: Graph's `error.message`, shortened.
        request_id: Graph's `request-id`, for a support ticket.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        inner_code: str = "",
        graph_message: str = "",
        request_id: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.inner_code = inner_code
        self.graph_message = graph_message
        self.request_id = request_id


class AuthError(GraphError):
    """No usable token: the message names what to fix (tenant id, client id, secret, admin consent)."""


class AccessDeniedError(GraphError):
    """The token is valid but the app may not do this: an application permission or its consent is missing."""


class NotFoundError(GraphError):
    """The object does not exist, or no longer does."""


class DeltaExpiredError(GraphError):
    """The stored delta link is no longer accepted: enumerate `scope` again from scratch.

    Attributes:
        scope: the delta scope whose token expired ("drives/{id}", "users/{u}/mailFolders/{f}",
            "users", "groups"); other scopes keep their tokens.
        restart_link: Graph's `Location` header, a fresh link that restarts enumeration (may be None;
            starting the delta without a link is equivalent).
    """

    def __init__(self, message: str, *, scope: str | None, restart_link: str | None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.scope = scope
        self.restart_link = restart_link


class ThrottledError(GraphError):
    """Graph kept throttling: the sync should pause and resume after `retry_after` seconds, not fail.

    Attributes:
        retry_after: seconds Graph asked to wait last (None when it did not say).
        attempts: how many times the request was sent.
    """

    def __init__(self, message: str, *, retry_after: float | None, attempts: int, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.retry_after = retry_after
        self.attempts = attempts


class GraphConnectionError(GraphError):
    """Graph could not be reached (connection, read or timeout failures) after the allowed attempts."""


def envelope(response: httpx.Response) -> tuple[str, str, str, str]:
    """(code, innermost inner code, message, request id) of Graph's error envelope; "" where absent.

    Graph answers `{"error": {"code", "message", "innerError": {"code", "request-id", "innerError": ...}}}`;
    anything else (HTML from a proxy, empty bodies) yields the reason phrase as the message."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", "", (response.text[:MAX_MESSAGE_CHARS] or response.reason_phrase), ""
    code = str(error.get("code") or "")
    message = str(error.get("message") or "")[:MAX_MESSAGE_CHARS]
    inner_code, request_id = "", ""
    inner = error.get("innerError") or error.get("innererror")
    while isinstance(inner, dict):
        inner_code = str(inner.get("code") or inner_code)
        request_id = str(inner.get("request-id") or request_id)
        inner = inner.get("innerError") or inner.get("innererror")
    request_id = request_id or response.headers.get("request-id", "")
    return code, inner_code, message, request_id


def error_from_response(response: httpx.Response, *, scope: str | None = None) -> GraphError:
    """The exception for a Graph error answer. The response body must have been read."""
    code, inner_code, graph_message, request_id = envelope(response)
    fields: dict[str, Any] = {
        "status": response.status_code,
        "code": code,
        "inner_code": inner_code,
        "graph_message": graph_message,
        "request_id": request_id,
    }
    what = f"{response.request.method} {response.request.url.copy_with(query=None)}"
    said = f"Graph answered {response.status_code} {code or response.reason_phrase}: {graph_message}"
    if response.status_code == 410 or {code.lower(), inner_code.lower()} & RESYNC_CODES:
        return DeltaExpiredError(
            f"the delta token of {scope or 'this scope'} has expired; enumerate it again ({said})",
            scope=scope,
            restart_link=response.headers.get("location"),
            **fields,
        )
    if response.status_code == 401:
        return AuthError(
            f"{what}: the access token was refused ({said}); check the tenant id of the app registration",
            **fields,
        )
    if response.status_code == 403:
        return AccessDeniedError(
            f"{what}: the app may not do this ({said}). Grant the app registration the application "
            "permissions Headwater lists (User.Read.All, GroupMember.Read.All, Files.Read.All, "
            "Sites.Read.All, Mail.Read) and have an administrator grant admin consent",
            **fields,
        )
    if response.status_code == 404:
        return NotFoundError(f"{what}: not found ({said})", **fields)
    return GraphError(f"{what}: {said}", **fields)
