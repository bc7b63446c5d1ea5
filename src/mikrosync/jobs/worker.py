"""The consumer side of `mikrotik-sync`: a bullmq Worker running injected handlers.

The handlers (the converge routine, the sweeper, ...) live in `mikrosync.sync` and are passed
in by the CLI, so this package knows nothing of the database or the routers. What it adds around
bullmq:

- error translation: `PermanentError` -> `UnrecoverableError` (failed at once, with the router's
  words as the failed reason); anything else -> retried with the capped backoff;
- `JobInfo`, a typed snake_case view of the bullmq job (attempt numbers included);
- job schedulers upserted on start (idempotent, so every worker can do it);
- bullmq's delay accuracy fix and a bounded graceful shutdown;
- connection names that Node BullMQ's tools (`getWorkers`, Bull Board) recognise.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio
import redis.exceptions
from bullmq import UnrecoverableError, Worker

from mikrosync.db.redis import redis_connection
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.jobs.names import SYNC_QUEUE
from mikrosync.jobs.options import DEFAULT_ATTEMPTS, KEEP_COMPLETED, KEEP_FAILED, capped_backoff
from mikrosync.jobs.schedules import Schedule
from mikrosync.sync.errors import PermanentError

log = logging.getLogger(__name__)

# After a lost Redis connection, bullmq waits this long before polling again (its default is
# 15 s, which would leave the queue idle for 15 s after every Redis restart).
RECONNECT_DELAY_MS = 2000


def bullmq_client_name(prefix: str, queue: str, worker_name: str) -> str:
    """The Redis connection name (`CLIENT SETNAME`) of a worker, as Node BullMQ spells it:
    `<prefix>:<base64(queue name)>:w:<worker name>`.

    Node's `Queue.getWorkers()` (and so Bull Board's workers view) lists the `CLIENT LIST`
    entries whose name starts with `<prefix>:<base64(queue name)>:w:` (bullmq
    src/classes/redis-queue-backend.ts `clientName`, queue-getters.ts `getWorkers`). The Python
    port names its connections `<prefix>:<queue name>:w:<name>`, which Node's tools never
    match, so a running Python worker looked like none at all.
    """
    encoded = base64.b64encode(queue.encode()).decode("ascii")
    return f"{prefix}:{encoded}:w:{worker_name}"


@dataclass(frozen=True)
class JobInfo:
    """What a handler learns about the job it runs."""

    id: str
    name: str
    data: Mapping[str, Any]
    attempt: int
    """1-based number of this run; runs after a stall do not count (bullmq's attemptsMade)."""
    max_attempts: int

    @property
    def is_last_attempt(self) -> bool:
        """True if a failure of this run is final (the handler should record `error`)."""
        return self.attempt >= self.max_attempts


Handler = Callable[[JobInfo], Awaitable[object]]
"""Runs one job; its result (JSON-serialisable, or None) is kept as the job's return value."""


class SyncWorker:
    """One worker process's consumer of `mikrotik-sync` (run several processes to scale out).

    Stalled jobs: a job whose worker dies (SIGKILL, OOM, power) keeps its lock until
    `lock_duration_ms` passes, and the next stalled check (every `stalled_interval_ms`, by any
    worker) moves it back to waiting. Recovery thus takes at most their sum, 30 s by default.
    The lock is renewed every `lock_duration_ms / 4`, so only an event loop blocked for half
    the lock duration could lose it; all our I/O is async.
    """

    def __init__(
        self,
        redis_url: str,
        handlers: Mapping[str, Handler],
        *,
        concurrency: int = 8,
        prefix: str = "bull",
        schedules: Sequence[Schedule] = (),
        attempts: int = DEFAULT_ATTEMPTS,
        backoff_base_ms: int = 1000,
        backoff_cap_ms: int = 60_000,
        lock_duration_ms: int = 20_000,
        stalled_interval_ms: int = 10_000,
        max_stalled_count: int = 2,
        shutdown_timeout_s: float = 30.0,
    ) -> None:
        self.redis_url = redis_url
        self.handlers = dict(handlers)
        self.concurrency = concurrency
        self.prefix = prefix
        self.schedules = tuple(schedules)
        self.attempts = attempts
        self.backoff_base_ms = backoff_base_ms
        self.backoff_cap_ms = backoff_cap_ms
        self.lock_duration_ms = lock_duration_ms
        self.stalled_interval_ms = stalled_interval_ms
        self.max_stalled_count = max_stalled_count
        self.shutdown_timeout_s = shutdown_timeout_s

    async def run(self, stop: asyncio.Event) -> None:
        """Process jobs until `stop` is set, then shut down gracefully.

        Raises `QueueUnavailable` if Redis cannot be reached at start, and RuntimeError if
        bullmq's loop dies on its own (let the process manager restart the worker).
        """
        connection = redis_connection(self.redis_url, retries=3)
        options = self._worker_options(connection)
        worker = Worker(SYNC_QUEUE, self._process, options)
        # Before `run` sets it on the connections: the name Node BullMQ's tools look for.
        worker.clientName = bullmq_client_name(self.prefix, SYNC_QUEUE, options["name"])
        _log_events(worker)
        try:
            try:
                await self._prepare(worker)
            except BaseException:
                await worker.close(force=True)
                raise
            loop = asyncio.ensure_future(worker.run())
            stopping = asyncio.ensure_future(stop.wait())
            try:
                await asyncio.wait({loop, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                await self._close(worker, loop)
        finally:
            # bullmq closes the client too, but its loop can still open a connection when it
            # is stopped right after starting; closing our own client last catches that one.
            await connection.aclose()
        if not stop.is_set():
            raise RuntimeError("the bullmq worker loop ended on its own")

    async def _prepare(self, worker: Any) -> None:
        try:
            # The delay fix: until the blocking connection knows the server's version, bullmq
            # rounds its BZPOPMIN timeout up to whole seconds, so delayed jobs and retries
            # start up to 1 s late.
            await worker.blockingRedisConnection.getRedisVersion()
            await worker.redisConnection.getRedisVersion()
            for schedule in self.schedules:
                await worker.jobScheduler.upsertJobScheduler(*schedule.upsert_args())
        except (redis.exceptions.RedisError, OSError) as err:
            raise QueueUnavailable(f"Redis is unavailable: {err!r}") from err

    async def _close(self, worker: Any, loop: asyncio.Future[Any]) -> None:
        """Let running jobs finish for up to `shutdown_timeout_s`, then cancel them.

        A cancelled job keeps its lock until it expires, then the stalled check requeues it.
        """
        closing = asyncio.ensure_future(worker.close())
        deadline = time.monotonic() + self.shutdown_timeout_s
        while not closing.done() and time.monotonic() < deadline:
            await asyncio.wait({closing}, timeout=0.05)
            # bullmq 3.4 cancels the idle BZPOPMIN wait once, at close; a fetch that was just
            # starting then blocks for its whole drain delay (5 s), and close waits for it.
            # Cancelling such a wait is what close meant to do: once `closing` is set the
            # fetch takes the cancellation as "no job" (before that it would fail the fetch
            # and leave its connection unreleased).
            waiting = worker.waiting
            if worker.closing and waiting is not None and not waiting.done():
                waiting.cancel()
        if not closing.done():
            log.warning("jobs still running after %ss; cancelling them", self.shutdown_timeout_s)
            await worker.close(force=True)
        # Both end quietly or with the cancellation of the forced jobs; nothing to report.
        await asyncio.gather(closing, loop, return_exceptions=True)

    async def _process(self, job: Any, _token: str) -> object:
        handler = self.handlers.get(job.name)
        if handler is None:
            raise UnrecoverableError(f"unknown job {job.name!r}")
        job_attempts = int(job.opts.get("attempts") or 1)
        info = JobInfo(
            id=str(job.id),
            name=job.name,
            data=job.data or {},
            attempt=job.attemptsMade + 1,
            max_attempts=max(1, min(self.attempts, job_attempts)),
        )
        try:
            return await handler(info)
        except PermanentError as err:
            raise UnrecoverableError(err.message) from err
        except Exception as err:
            if info.is_last_attempt and info.attempt < job_attempts:
                # Our limit is lower than the one the job was added with: end it now.
                raise UnrecoverableError(str(err)) from err
            raise

    def _worker_options(self, connection: redis.asyncio.Redis) -> dict[str, Any]:
        return {
            "connection": connection,
            "prefix": self.prefix,
            "name": f"{socket.gethostname()}:{os.getpid()}",
            "autorun": False,
            "concurrency": self.concurrency,
            "lockDuration": self.lock_duration_ms,
            "stalledInterval": self.stalled_interval_ms,
            "maxStalledCount": self.max_stalled_count,
            "runRetryDelay": RECONNECT_DELAY_MS,
            "removeOnComplete": KEEP_COMPLETED,
            "removeOnFail": KEEP_FAILED,
            "settings": {
                "backoffStrategy": capped_backoff(self.backoff_base_ms, self.backoff_cap_ms)
            },
        }


def _log_events(worker: Any) -> None:
    def failed(job: Any, err: BaseException) -> None:
        log.warning("job %s %s (run %s) failed: %s", job.name, job.id, job.attemptsMade, err)

    def stalled(job_id: str, *_: Any) -> None:
        log.warning("job %s stalled (its worker died); requeued", job_id)

    def error(err: BaseException, *_: Any) -> None:
        log.error("bullmq worker error: %r", err)

    worker.on("failed", failed)
    worker.on("stalled", stalled)
    worker.on("error", error)
