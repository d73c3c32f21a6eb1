"""A record's indexing status in the graph store, and the bookkeeping of retries.

Transitions (fields of the record's `records` document; every other field is left as it is):

    QUEUED (the processor, with the record's event) -> IN_PROGRESS (`start`)
      -> COMPLETED | EMPTY | FILE_TYPE_NOT_SUPPORTED | AUTO_INDEX_OFF | FAILED (`finish`)
      -> QUEUED again, while a transient failure waits for its retry (`retry_later`)

`indexingAttempts` counts attempts that STARTED, so a record whose processing kills the worker
(a crash, an OOM kill) cannot loop forever: when its event comes back and the count has reached
`RetryPolicy.max_attempts`, it is dead-lettered at once, FAILED "gave up after N attempts: ...".
`indexingLastError` keeps the last transient error for that message. Both go when the record
reaches a terminal status. `processingStartedAt` with the sweeper's lease timeout says when an
IN_PROGRESS record was abandoned (see `sweeper.py`).

A terminal status is written only if the record still has the content that was indexed (same
version, revision and checksum): when the processor queued newer content meanwhile, the record stays
QUEUED for that content's own event.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from headwater.connectors.core.errors import SourceThrottledError, describe, find_cause
from headwater.errors import HeadwaterError
from headwater.indexing.content import ContentUnavailable
from headwater.models.constants import ProgressStatus
from headwater.models.timeutil import now_ms
from headwater.store.base import GraphStore, Transaction

RECORDS = "records"
STATUS = "indexingStatus"
REASON = "reason"
STARTED_AT = "processingStartedAt"
ATTEMPTS = "indexingAttempts"
LAST_ERROR = "indexingLastError"
QUEUED_AT = "indexingQueuedAt"
TERMINAL = frozenset(
    {
        ProgressStatus.COMPLETED,
        ProgressStatus.FAILED,
        ProgressStatus.FILE_TYPE_NOT_SUPPORTED,
        ProgressStatus.EMPTY,
        ProgressStatus.AUTO_INDEX_OFF,
        ProgressStatus.ENABLE_MULTIMODAL_MODELS,
    }
)
CRASHED = "the worker stopped while indexing it"
MAX_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently transient failures are retried: exponential backoff from
    `base_delay_s`, capped at `max_delay_s`, of which a `jitter` share is random (so records that
    failed together do not all come back at the same instant)."""

    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0
    jitter: float = 0.5

    def delay_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        """The wait before attempt `attempt + 1`; at least the source's Retry-After when it sent one."""
        backoff: float = min(self.max_delay_s, self.base_delay_s * 2.0 ** max(0, attempt - 1))
        backoff *= 1 - self.jitter * random.random()
        return max(backoff, retry_after_s or 0.0)


def gave_up_reason(attempts: int, error: str) -> str:
    return _cut(f"gave up after {attempts} attempts: {error}")


class TransientFailure(HeadwaterError):
    """A step failed in a way that may pass (the network, the source's throttling or credentials,
    an unavailable index or embedding service): the record is retried after a backoff. Which
    failures are transient is decided where they happen (see `pipeline.py`): the same exception
    type can be a flaky download or a deterministic parser bug."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s

    @classmethod
    def from_exception(cls, exc: BaseException, step: str) -> TransientFailure:
        return cls(reason_of(exc, step), retry_after_of(exc))


def retry_after_of(exc: BaseException) -> float | None:
    """The source's Retry-After, when the failure carries one."""
    throttled = find_cause(exc, SourceThrottledError)
    if isinstance(throttled, SourceThrottledError):
        return throttled.retry_after_s
    unavailable = find_cause(exc, ContentUnavailable)
    return unavailable.retry_after_s if isinstance(unavailable, ContentUnavailable) else None


def reason_of(exc: BaseException, step: str | None = None) -> str:
    """What users see: the step and the error in words, credentials redacted."""
    return _cut(f"{step}: {describe(exc)}" if step else describe(exc))


def content_identity(doc: dict[str, Any]) -> tuple[Any, ...]:
    """What says "this is the same content": it changes whenever the processor queues new content."""
    return (doc.get("version"), doc.get("externalRevisionId"), doc.get("md5Checksum"))


@dataclass(frozen=True, slots=True)
class Started:
    """An attempt that began: which one it is, and the content it is for."""

    key: str
    attempt: int
    identity: tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Terminal:
    """A terminal status to write for the content `identity` (None: whatever the record has now)."""

    key: str
    status: ProgressStatus
    reason: str | None = None
    identity: tuple[Any, ...] | None = None


@dataclass(slots=True)
class StartResult:
    started: dict[str, Started] = field(default_factory=dict)
    # dead-lettered instead: every allowed attempt had already started (key -> reason written)
    dead: dict[str, str] = field(default_factory=dict)
    # indexing is switched off for them (the processor's filters): left as they are
    off: set[str] = field(default_factory=set)


def start(tx: Transaction, keys: Sequence[str], policy: RetryPolicy) -> StartResult:
    """Mark records IN_PROGRESS and count the attempt. Records that no longer exist are in no part
    of the result."""
    now = now_ms()
    docs = tx.get_nodes(RECORDS, list(dict.fromkeys(keys)))
    result = StartResult()
    writes = []
    for key, doc in docs.items():
        if doc.get(STATUS) == ProgressStatus.AUTO_INDEX_OFF.value:
            result.off.add(key)
            continue
        attempts = int(doc.get(ATTEMPTS) or 0)
        if attempts >= policy.max_attempts:
            result.dead[key] = gave_up_reason(attempts, str(doc.get(LAST_ERROR) or CRASHED))
            writes.append(_terminal_doc(doc, ProgressStatus.FAILED, result.dead[key]))
            continue
        result.started[key] = Started(key, attempts + 1, content_identity(doc))
        updated = {**doc, STATUS: ProgressStatus.IN_PROGRESS.value, STARTED_AT: now, ATTEMPTS: attempts + 1}
        updated.pop(QUEUED_AT, None)
        writes.append(updated)
    if writes:
        tx.upsert_nodes(RECORDS, writes)
    return result


def release(tx: Transaction, started: Iterable[Started]) -> None:
    """Attempts a stopping worker did not finish go back to QUEUED uncounted (their events come
    again): a graceful shutdown is not a failure."""
    wanted = {s.key: s for s in started}
    writes = []
    for key, doc in tx.get_nodes(RECORDS, list(wanted)).items():
        if (
            doc.get(STATUS) == ProgressStatus.IN_PROGRESS.value
            and content_identity(doc) == wanted[key].identity
        ):
            attempts = max(0, int(doc.get(ATTEMPTS) or 0) - 1)
            writes.append(
                {**doc, STATUS: ProgressStatus.QUEUED.value, ATTEMPTS: attempts, QUEUED_AT: now_ms()}
            )
    if writes:
        tx.upsert_nodes(RECORDS, writes)


def finish(tx: Transaction, results: Iterable[Terminal]) -> list[str]:
    """Write terminal statuses; returns the keys written (a record gone, or holding newer content
    than the result is for, is left alone)."""
    wanted = {r.key: r for r in results}
    docs = tx.get_nodes(RECORDS, list(wanted))
    writes = []
    for key, doc in docs.items():
        result = wanted[key]
        if result.identity is not None and content_identity(doc) != result.identity:
            continue
        writes.append(_terminal_doc(doc, result.status, result.reason))
    if writes:
        tx.upsert_nodes(RECORDS, writes)
    return [str(d["_key"]) for d in writes]


def retry_later(tx: Transaction, key: str, attempt: int, error: str, policy: RetryPolicy) -> None:
    """Back to QUEUED after a transient failure of attempt `attempt`, saying so in `reason`."""
    doc = tx.get_node(RECORDS, key)
    if doc is None:
        return
    reason = _cut(f"attempt {attempt} of {policy.max_attempts} failed, will retry: {error}")
    tx.upsert_nodes(
        RECORDS,
        [
            {
                **doc,
                STATUS: ProgressStatus.QUEUED.value,
                REASON: reason,
                LAST_ERROR: error,
                QUEUED_AT: now_ms(),
            }
        ],
    )


def requeue(tx: Transaction, key: str, reason: str) -> dict[str, Any] | None:
    """Back to QUEUED (the sweeper, for a stranded record); returns the updated document."""
    doc = tx.get_node(RECORDS, key)
    if doc is None:
        return None
    updated = {**doc, STATUS: ProgressStatus.QUEUED.value, REASON: _cut(reason), QUEUED_AT: now_ms()}
    tx.upsert_nodes(RECORDS, [updated])
    return updated


def _terminal_doc(doc: dict[str, Any], status: ProgressStatus, reason: str | None) -> dict[str, Any]:
    updated = {**doc, STATUS: status.value, REASON: _cut(reason) if reason else None}
    for name in (ATTEMPTS, LAST_ERROR, QUEUED_AT):
        updated.pop(name, None)
    return updated


def _cut(text: str) -> str:
    return text if len(text) <= MAX_REASON_CHARS else text[: MAX_REASON_CHARS - 3] + "..."


# ---- what the CLI and the API show -----------------------------------------------------------------


def indexing_failures(store: GraphStore, *, connector_id: str | None = None) -> list[dict[str, Any]]:
    """The records indexing gave up on or could not read (FAILED), with their reasons, newest
    change first. (A scan of the records: the store has no index on document fields yet.)"""
    with store.read() as tx:
        docs = tx.find_nodes(RECORDS, connector_id=connector_id)
    failed = [d for d in docs if d.get(STATUS) == ProgressStatus.FAILED.value]
    failed.sort(key=lambda d: (-(d.get(STARTED_AT) or 0), str(d["_key"])))
    return [
        {
            "recordId": d["_key"],
            "recordName": d.get("recordName"),
            "connectorId": d.get("connectorId"),
            "reason": d.get(REASON),
            "lastAttemptAt": d.get(STARTED_AT),
        }
        for d in failed
    ]


def indexing_status_counts(store: GraphStore, *, connector_id: str | None = None) -> dict[str, int]:
    """indexing status -> number of records (placeholders aside)."""
    with store.read() as tx:
        docs = tx.find_nodes(RECORDS, connector_id=connector_id)
    counts: dict[str, int] = {}
    for d in docs:
        if not d.get("isPlaceholder"):
            status = str(d.get(STATUS) or ProgressStatus.NOT_STARTED.value)
            counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))
