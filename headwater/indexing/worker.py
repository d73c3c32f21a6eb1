"""The indexing worker: consumes record events and keeps the search index in step with the graph.

    stop = asyncio.Event()
    await serve(settings, stop)          # `headwater worker --role indexing`, or a task in `headwater serve`

It reads, in consumer group `records_consumer_group`, `record-events` (`newRecord`, `updateRecord`,
`reindexRecord`: index the content; `deleteRecord`, `bulkDeleteRecords`: remove it) and
`entity-events` (`updatePermissions`, `updateMetadata`: refresh principals / name, never re-embed).
Events about one node merge into one unit of work (`intake.py`); units flow through three stages
(`stages.py`) that run at the same time, so the embedding model is never idle while records are
fetched, parsed or written:

    prepare (fetch, parse, chunk; `prepare_concurrency` records at once, CPU work in threads)
      -> embed (chunks of several records in one model call, up to `max_embed_chunks`)
      -> write (index changes of many records in one index commit, then their statuses)

Failures (`status.py`): a permanent one is a terminal status at once; a transient one is retried
with backoff and jitter, then FAILED "gave up after N attempts: <last error>". An event's offset is
committed only after its record's terminal status is written, so a worker that dies is replaced
without loss; the sweeper (`sweeper.py`) re-queues whatever strands anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from headwater.events.base import ENTITY_EVENTS, RECORD_EVENTS, RECORDS_CONSUMER_GROUP, EventLog
from headwater.indexing import status
from headwater.indexing.embeddings.base import Embedder
from headwater.indexing.index.base import SearchIndex
from headwater.indexing.intake import Consumers, EventLedger, WorkQueue, work_for
from headwater.indexing.parsing.base import ParseLimits
from headwater.indexing.pipeline import ChunkFn, ParseFn, RecordPipeline, pipeline_fingerprint
from headwater.indexing.sources import ContentFetcher
from headwater.indexing.stages import StagesMixin
from headwater.indexing.status import RetryPolicy, Started, reason_of
from headwater.indexing.sweeper import StrandedRecordSweeper
from headwater.indexing.writer import IndexWriter, Job
from headwater.settings import Settings
from headwater.store.base import GraphStore

log = logging.getLogger("headwater.indexing")


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    max_in_flight: int = 128  # units of work between intake and the index at once
    prepare_concurrency: int = 8  # records fetched / parsed at once
    max_embed_chunks: int = 256  # chunks per embedding call (one record with more is embedded alone)
    max_write_jobs: int = 256  # units per index commit
    max_open_events: int = 5000  # events read and not committed before intake pauses
    idle_poll_s: float = 0.5  # how long intake waits after a poll that found nothing
    heartbeat_s: float = 2.0  # a paused intake still polls this often, keeping its partitions
    shutdown_grace_s: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    parse_limits: ParseLimits = field(default_factory=ParseLimits)
    chunk_max_tokens: int = 256


class IndexingWorker(StagesMixin):
    """One member of the indexing consumer group. Build it with the store, the event log, the index,
    the embedder and a `ContentFetcher`; `serve(stop)` runs it until `stop` is set."""

    def __init__(
        self,
        store: GraphStore,
        event_log: EventLog,
        index: SearchIndex,
        embedder: Embedder,
        fetcher: ContentFetcher,
        *,
        options: WorkerOptions | None = None,
        sweeper: StrandedRecordSweeper | None = None,
        sweep_interval_s: float = 300.0,
        parse: ParseFn | None = None,
        chunk: ChunkFn | None = None,
        member: str | None = None,
    ) -> None:
        self.store = store
        self.event_log = event_log
        self.index = index
        self.embedder = embedder
        self.options = opts = options or WorkerOptions()
        self.sweeper = sweeper
        self.sweep_interval_s = sweep_interval_s
        self.member = member
        fingerprint = pipeline_fingerprint(embedder.model_name, embedder.dimensions, opts.chunk_max_tokens)
        self.pipeline = RecordPipeline(
            fetcher,
            fingerprint=fingerprint,
            parse_limits=opts.parse_limits,
            chunk_max_tokens=opts.chunk_max_tokens,
            parse=parse,
            chunk=chunk,
        )
        self.writer = IndexWriter(store, index)
        self.ledger = EventLedger()
        self.queue = WorkQueue()
        self._consumers: Consumers | None = None
        self._stopping = asyncio.Event()
        self._started: dict[str, Started] = {}  # attempts in flight, by node
        self._embed_queue: asyncio.Queue[Job] = asyncio.Queue()
        self._write_queue: asyncio.Queue[Job] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._prepare_slots = asyncio.Semaphore(opts.prepare_concurrency)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._quiet_polls = 0  # consecutive poll rounds that found nothing
        self._swept = False  # the sweeper ran once

    # ---- running -------------------------------------------------------------------------------

    async def serve(self, stop: asyncio.Event) -> None:
        """Consume and index until `stop` is set; then finish what is in flight (up to
        `shutdown_grace_s`), hand the rest back (their events come again) and leave the group."""
        topics = (RECORD_EVENTS, ENTITY_EVENTS)
        self._consumers = Consumers(self.event_log, RECORDS_CONSUMER_GROUP, topics, self.member)
        self._stopping.clear()
        self._intake_task = self._spawn(self._intake())
        self._dispatch_task = self._spawn(self._dispatch())
        stages = [self._intake_task, self._dispatch_task, self._spawn(self._embed_stage())]
        stages.append(self._spawn(self._write_stage()))
        if self.sweeper is not None:
            stages.append(self._spawn(self._sweep()))
        try:
            waiter = self._spawn(stop.wait())
            await asyncio.wait([waiter, *stages], return_when=asyncio.FIRST_COMPLETED)
            for task in stages:  # a stage that died is a bug: surface it
                failure = task.exception() if task.done() and not task.cancelled() else None
                if failure is not None:
                    raise failure
        finally:
            await self._shut_down()

    async def run_until_idle(self, timeout_s: float = 60.0) -> None:
        """Serve until every event has been handled and committed and a poll finds nothing new (for
        tests, the benchmark and one-shot runs). TimeoutError after `timeout_s`."""
        stop = asyncio.Event()
        serving = asyncio.create_task(self.serve(stop))
        deadline = time.monotonic() + timeout_s
        try:
            while not serving.done():
                settled = self.queue.idle and self.ledger.open_count == 0 and self._quiet_polls >= 2
                if settled and (self.sweeper is None or self._swept):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the indexing worker was not idle after {timeout_s:g} s")
                await asyncio.sleep(0.02)
        finally:
            stop.set()
            await serving

    # ---- stages --------------------------------------------------------------------------------

    async def _intake(self) -> None:
        """Poll both topics; when nothing came, wait `idle_poll_s` before looking again (each poll of
        the store's event log is a write transaction: polling in a tight loop would compete with the
        status writes for the store and with the model for the CPU)."""
        consumers = self._consumers
        assert consumers is not None
        last_poll = dict.fromkeys(consumers.topics, 0.0)
        while not self._stopping.is_set():
            found = 0
            for topic in consumers.topics:
                room = self.options.max_open_events - self.ledger.open_count
                if room <= 0 and time.monotonic() - last_poll[topic] < self.options.heartbeat_s:
                    continue  # paused: too much read and not committed yet
                last_poll[topic] = time.monotonic()
                try:
                    events = await consumers.poll(topic, max(room, 1))
                except Exception as exc:  # the event log is unreachable: look again after a pause
                    log.warning("polling %s failed: %s", topic, reason_of(exc))
                    events = []
                found += len(events)
                for event in events:
                    ticket = self.ledger.add(event)
                    target = work_for(event)
                    if target is None:
                        ticket.done = True  # not ours (other entity events)
                    else:
                        self.queue.admit(*target, ticket)
            self._quiet_polls = 0 if found else self._quiet_polls + 1
            if found:
                self._wake.set()
            await self._commit()
            if not found or self.ledger.open_count >= self.options.max_open_events:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.options.idle_poll_s)

    async def _dispatch(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            room = self.options.max_in_flight - self.queue.running
            works = self.queue.take(room) if room > 0 else []
            if works:
                await self._start(works)
                continue
            # nothing to start: wait for news (a unit finished or arrived), or for a retry's time
            retry_in = self.queue.next_ready_in() if room > 0 else None
            timeout = 1.0 if retry_in is None else min(max(retry_in, 0.01), 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _sweep(self) -> None:
        assert self.sweeper is not None
        while not self._stopping.is_set():
            try:
                if (await asyncio.to_thread(self.sweeper.sweep)).requeued:
                    self._quiet_polls = 0  # their events are new work
            except Exception as exc:
                log.warning("sweeper failed: %s", reason_of(exc))
            self._swept = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.sweep_interval_s)

    # ---- the event log -------------------------------------------------------------------------

    async def _commit(self) -> None:
        done = self.ledger.committable()
        if done and self._consumers is not None:
            try:
                await self._consumers.commit(done)
            except Exception as exc:  # committed later, or delivered again: both are safe
                log.warning("committing offsets failed: %s", reason_of(exc))

    # ---- shutting down -------------------------------------------------------------------------

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _shut_down(self) -> None:
        self._stopping.set()  # intake and dispatch end after their current step
        self._wake.set()
        await asyncio.wait([self._intake_task, self._dispatch_task], timeout=self.options.shutdown_grace_s)
        deadline = time.monotonic() + self.options.shutdown_grace_s
        while self.queue.running and time.monotonic() < deadline and not self._stage_failed():
            await asyncio.sleep(0.05)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        unfinished = list(self._started.values())
        self._started.clear()
        self.queue.abandon()
        if unfinished:
            await self._store_quietly(lambda tx: status.release(tx, unfinished))
        await self._commit()
        if self._consumers is not None:
            try:
                await self._consumers.close()
            except Exception as exc:
                log.warning("leaving the consumer group failed: %s", reason_of(exc))
            self._consumers = None

    def _stage_failed(self) -> bool:
        return any(t.done() and not t.cancelled() and t.exception() is not None for t in self._tasks)


async def serve(settings: Settings, stop: asyncio.Event) -> None:
    """The entry `headwater serve` and `headwater worker --role indexing` call
    (`headwater.services.workers`): `runner.run_indexing_worker` with everything from `settings`."""
    from headwater.indexing.runner import run_indexing_worker

    await run_indexing_worker(settings, stop)
