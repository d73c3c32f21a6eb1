"""Password hashing (argon2id) and the rules a new password must meet.

Only the argon2 hash is stored (in the user's `credentials` document, never on the user node that
search and the CLI read). A hash made with older parameters is replaced by one with the current
parameters at the next successful login (`needs_rehash`).
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .errors import InvalidArgumentError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 copes with any length; this only bounds the work one request can ask for

# argon2-cffi's defaults follow RFC 9106's second recommended option (64 MiB, t=3, p=4).
_hasher = PasswordHasher()

# Verifying against this when the email is unknown makes that answer take as long as a wrong
# password, so response times do not tell which emails have accounts.
_DUMMY_HASH = _hasher.hash("headwater-no-such-user-password")


def check_password_rules(password: str) -> None:
    """InvalidArgumentError naming the rule a new password breaks."""
    if len(password) < MIN_LENGTH:
        raise InvalidArgumentError(
            f"the password is too short: use at least {MIN_LENGTH} characters (a few words make a good one)"
        )
    if len(password) > MAX_LENGTH:
        raise InvalidArgumentError(f"the password is too long: use at most {MAX_LENGTH} characters")
    if not password.strip():
        raise InvalidArgumentError("the password is only spaces: use letters, digits or words")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def rehash(password: str) -> str:
    """A fresh hash with the current parameters, for a password that has just been verified (no
    rules checked: the user chose it under the rules of its time)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether `password` matches `stored_hash` (False for no hash, a damaged hash, or a mismatch)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with other parameters than the current ones."""
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
