"""Errors the service layer raises on purpose; each message is one line that says what to do."""

from __future__ import annotations

from headwater.errors import HeadwaterError, NotFoundError


class NotInitialisedError(HeadwaterError):
    """There is no Headwater instance where the settings point (no store file, no organisation)."""


class ConfigValueError(HeadwaterError, ValueError):
    """A connector config value is wrong; the message names the field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class MissingFieldsError(HeadwaterError, ValueError):
    """Required connector fields have no value (and nothing may be asked interactively)."""

    def __init__(self, connector: str, fields: list[str]) -> None:
        names = ", ".join(fields)
        super().__init__(
            f"{connector} needs a value for {names} — pass "
            + " ".join(f"--set {f.split(' ')[0]}=..." for f in fields)
        )
        self.fields = fields


class InstanceNotFoundError(NotFoundError):
    """No connector instance has the name (or id) the caller gave."""


class DuplicateNameError(HeadwaterError):
    """A connector instance with this name exists already."""


class ConnectorNotReadyError(HeadwaterError):
    """The connector could not start with its config (init or the connection test failed)."""


class NotBuiltYetError(HeadwaterError):
    """The caller asked for a part of Headwater that does not exist yet; names the issue."""


class NotADataDirError(HeadwaterError):
    """`reset` was pointed at a directory that does not look like a Headwater data directory."""


class InvalidArgumentError(HeadwaterError, ValueError):
    """An argument is out of range or malformed; the message names it."""


class AuthenticationError(HeadwaterError):
    """The request carries no valid credentials (no session, an expired one, an unknown token)."""


class ForbiddenError(HeadwaterError):
    """The caller is known but may not do this (a member asking for an admin action, a missing CSRF
    token); the message says what would be allowed."""


class ConflictError(HeadwaterError):
    """The request clashes with what exists (an email already taken, the last admin demoted)."""


class TooManyAttemptsError(HeadwaterError):
    """Too many failed attempts in a short time; `retry_after_s` says when to try again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
