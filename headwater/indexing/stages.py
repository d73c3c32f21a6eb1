"""The worker's three stages and what happens to a unit of work after them. A mixin of
`IndexingWorker` (see `worker.py` for how the stages run together).

    prepare: mark IN_PROGRESS (counting the attempt), load the record, fetch, parse, chunk (`pipeline`)
    embed:   chunks of the prepared records that are ready, up to `max_embed_chunks`, in one model call
    write:   every unit that is ready, in one index commit, then their statuses (`writer`)

A unit that fails transiently is retried after the policy's backoff (its events stay uncommitted
meanwhile); after the last allowed attempt it is dead-lettered (`_give_up`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from headwater.indexing import status
from headwater.indexing.embeddings.base import Embedder
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.intake import Need, Work, WorkQueue
from headwater.indexing.pipeline import Action, Plan, RecordPipeline
from headwater.indexing.status import Started, TransientFailure, reason_of
from headwater.indexing.writer import IndexWriter, Job
from headwater.models.constants import ProgressStatus
from headwater.store.base import GraphStore

if TYPE_CHECKING:  # pragma: no cover
    from headwater.indexing.worker import WorkerOptions

log = logging.getLogger("headwater.indexing")


class StagesMixin:
    """Prepare, embed, write, and the outcomes of each unit of work."""

    store: GraphStore
    index: SearchIndex
    embedder: Embedder
    options: WorkerOptions
    pipeline: RecordPipeline
    writer: IndexWriter
    queue: WorkQueue
    _started: dict[str, Started]  # attempts in flight, by node
    _embed_queue: asyncio.Queue[Job]
    _write_queue: asyncio.Queue[Job]
    _wake: asyncio.Event
    _prepare_slots: asyncio.Semaphore

    if TYPE_CHECKING:

        def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]: ...

        async def _commit(self) -> None: ...

    async def _start(self, works: list[Work]) -> None:
        content = [w for w in works if w.kind == "records" and w.need is Need.CONTENT]
        for work in works:
            if work not in content:
                await self._write_queue.put(Job(work))
        if not content:
            return
        try:
            begun = await asyncio.to_thread(self._begin, [w.key for w in content])
        except Exception as exc:  # the store is unavailable: try these again later
            for work in content:
                await self._failed(Job(work), reason_of(exc, "marking it in progress"))
            return
        for work in content:
            key = work.key
            if key in begun.started:
                self._started[work.node] = started = begun.started[key]
                self._spawn(self._prepare(Job(work, started=started)))
            elif key in begun.dead:
                self._finished(Job(work))  # dead-lettered by `begin`: nothing more to do
            else:  # gone, or switched off by the processor's filters: its chunks go, no status
                await self._write_queue.put(Job(work, Plan(key, Action.REMOVE)))

    def _begin(self, keys: list[str]) -> status.StartResult:
        with self.store.transaction() as tx:
            return status.start(tx, keys, self.options.retry)

    async def _prepare(self, job: Job) -> None:
        async with self._prepare_slots:
            try:
                record, indexed = await asyncio.to_thread(self._load, job.work.key)
                job.plan = await self.pipeline.plan(job.work.key, record, indexed)
            except TransientFailure as failure:
                await self._failed(job, failure.reason, failure.retry_after_s)
                return
            except Exception as exc:  # a bug or an unforeseen error: bounded by the attempts
                log.exception("record %s: preparing failed", job.work.key)
                await self._failed(job, reason_of(exc, "preparing"))
                return
        queue = self._embed_queue if job.plan.action is Action.EMBED else self._write_queue
        await queue.put(job)

    def _load(self, key: str) -> tuple[Any, Any]:
        with self.store.read() as tx:
            record = tx.get_record(key)
        return record, self.index.get_record(key)

    async def _embed_stage(self) -> None:
        carried: Job | None = None
        while True:
            batch = [carried or await self._embed_queue.get()]
            carried, size = None, _chunk_count(batch[0])
            while not self._embed_queue.empty():  # whatever is ready joins the call, up to the limit
                job = self._embed_queue.get_nowait()
                if size + _chunk_count(job) > self.options.max_embed_chunks:
                    carried = job  # it opens the next call
                    break
                batch.append(job)
                size += _chunk_count(job)
            texts = [chunk.text for job in batch for chunk in _plan(job).chunks]
            try:
                vectors = await asyncio.to_thread(self.embedder.embed_documents, texts)
            except Exception as exc:
                for job in batch:
                    await self._failed(job, reason_of(exc, "embedding"))
                continue
            offset = 0
            for job in batch:
                count = _chunk_count(job)
                job.vectors = vectors[offset : offset + count]
                offset += count
                await self._write_queue.put(job)

    async def _write_stage(self) -> None:
        while True:
            batch = [await self._write_queue.get()]
            while len(batch) < self.options.max_write_jobs and not self._write_queue.empty():
                batch.append(self._write_queue.get_nowait())
            try:
                await asyncio.to_thread(self.writer.write, batch)
            except Exception as exc:
                log.warning("writing %d unit(s) to the index failed: %s", len(batch), reason_of(exc))
                for job in batch:
                    await self._failed(job, reason_of(exc, "writing the index"))
                continue
            for job in batch:
                if job.problem is not None:
                    await self._failed(job, job.problem)
                else:
                    self._finished(job)
            await self._commit()

    # ---- outcomes ------------------------------------------------------------------------------

    def _finished(self, job: Job) -> None:
        self._started.pop(job.work.node, None)
        self.queue.finish(job.work)
        self._wake.set()

    async def _failed(self, job: Job, reason: str, retry_after_s: float | None = None) -> None:
        """A transient failure: retry after a backoff, or give up after the last allowed attempt."""
        work, policy = job.work, self.options.retry
        started = self._started.pop(work.node, None) or job.started
        attempt = started.attempt if started is not None else work.failures + 1
        work.failures = attempt
        if attempt >= policy.max_attempts:
            await self._give_up(job, attempt, reason)
            self.queue.finish(work)
        else:
            log.info("%s: attempt %d failed, retrying: %s", work.node, attempt, reason)
            if started is not None:
                await self._store_quietly(
                    lambda tx: status.retry_later(tx, work.key, attempt, reason, policy)
                )
            self.queue.retry(work, policy.delay_s(attempt, retry_after_s))
        self._wake.set()

    async def _give_up(self, job: Job, attempts: int, error: str) -> None:
        """Dead-letter: FAILED with the last error. A record keeps the chunks of its previous
        version (they were right for it), but never stale principals: they are refreshed, or the
        record leaves the index (`IndexWriter.secure`; a permission change may be what this unit
        carried). A removal that gave up is left to the sweeper's orphan pass."""
        work = job.work
        reason = status.gave_up_reason(attempts, error)
        log.error("%s: %s", work.node, reason)
        if work.need is Need.DELETE:
            return
        removed = await asyncio.to_thread(self.writer.secure, [work.node])
        failed = ({work.key} if work.kind == "records" else set()) | removed
        if failed:
            terminals = [status.Terminal(key, ProgressStatus.FAILED, reason) for key in sorted(failed)]
            await self._store_quietly(lambda tx: status.finish(tx, terminals))

    async def _store_quietly(self, write: Callable[[Any], object]) -> None:
        """A status write whose failure must not stop the worker (the store may be what failed)."""

        def run() -> None:
            with self.store.transaction() as tx:
                write(tx)

        try:
            await asyncio.to_thread(run)
        except Exception as exc:
            log.warning("status write failed: %s", reason_of(exc))


def _plan(job: Job) -> Plan:
    assert job.plan is not None
    return job.plan


def _chunk_count(job: Job) -> int:
    return len(_plan(job).chunks)
