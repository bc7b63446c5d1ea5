"""Pushing jobs onto `mikrotik-sync`: what the API, the CLI and the schedulers' handlers use.

A push is a hint that carries ids only (never desired state, never a password): the worker reads
the database when the job runs. It happens after the database commit, so a failed push loses
nothing; it raises `QueueUnavailable` within `timeout_s` and the caller moves on (the sweeper
re-pushes pending rows).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any

import redis.exceptions
from bullmq import Queue

from mikrosync.db.redis import redis_connection
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.jobs.names import SUBSCRIBER_JOBS, SYNC_QUEUE, router_dedup_id
from mikrosync.jobs.options import DEFAULT_ATTEMPTS, job_options, subscriber_job_options
from mikrosync.jobs.schedules import Schedule

PUSH_TIMEOUT_S = 2.0
ROUTER_JOB_FROM = 4
"""From this many subscribers of one router in one push, one job carries them (see
`push_subscribers`); fewer keep a job each (a lone change's fast path)."""
ROUTER_JOB_IDS = 1000
"""Ids a router job lists (for BullMQ's tools and the timeline); its run drains the router's
owed rows whatever the list holds."""


def group_by_router(
    jobs: Sequence[tuple[str, int]], routers: Mapping[int, int]
) -> tuple[list[tuple[str, int]], list[tuple[str, int, list[int]]]]:
    """Split `jobs` into those that keep a job each and one (name, router, ids) per router
    with `ROUTER_JOB_FROM` or more of them. Subscriber jobs come out interleaved across
    routers, so the first jobs a worker takes are different routers'."""
    per_router: dict[int | None, list[tuple[str, int]]] = {}
    for name, subscriber_id in jobs:
        per_router.setdefault(routers.get(subscriber_id), []).append((name, subscriber_id))
    single: list[list[tuple[str, int]]] = []
    grouped: list[tuple[str, int, list[int]]] = []
    for router_id, items in per_router.items():
        if router_id is None or len(items) < ROUTER_JOB_FROM:
            single.append(items)
            continue
        name = Counter(name for name, _ in items).most_common(1)[0][0]
        grouped.append((name, router_id, [subscriber_id for _, subscriber_id in items]))
    interleaved = [job for layer in zip_longest(*single) for job in layer if job is not None]
    return interleaved, grouped


COUNT_STATES = ("waiting", "active", "delayed", "prioritized", "failed", "completed", "paused")
HELD_STATES = ("waiting", "prioritized", "paused")
"""States of jobs that a paused queue holds back (they would run now if it were not paused)."""


@dataclass(frozen=True)
class QueueStatus:
    counts: dict[str, int]
    paused: bool

    @property
    def held(self) -> int:
        """Jobs ready to run that the pause holds back (0 when not paused)."""
        return sum(self.counts.get(state, 0) for state in HELD_STATES) if self.paused else 0

    def as_dict(self) -> dict[str, object]:
        return {"counts": dict(self.counts), "paused": self.paused, "held": self.held}


class JobQueue:
    """The producer side of the sync queue; one per process, shared by all requests.

    The bullmq `Queue` (and its Redis client) is created on first use, inside the running event
    loop: redis-py's asyncio client binds to the loop it first runs on.
    """

    def __init__(
        self,
        redis_url: str,
        *,
        prefix: str = "bull",
        attempts: int = DEFAULT_ATTEMPTS,
        timeout_s: float = PUSH_TIMEOUT_S,
    ) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self.attempts = attempts
        self.timeout_s = timeout_s
        self._queue: Any = None

    async def push_subscriber(
        self, name: str, subscriber_id: int, *, priority: int | None = None
    ) -> str | None:
        """Push one subscriber job; returns the id of the job that will run it.

        Deduplicated per subscriber (see `options.subscriber_job_options`), so the id may be
        that of the job already waiting or running.
        """
        _check_subscriber_job(name)
        opts = subscriber_job_options(subscriber_id, attempts=self.attempts, priority=priority)
        job = await self._call("add", name, {"subscriber_id": subscriber_id}, opts)
        return _job_id(job)

    async def push_subscribers(
        self,
        jobs: Sequence[tuple[str, int]],
        *,
        routers: Mapping[int, int] | None = None,
        priority: int | None = None,
        chunk: int = 500,
    ) -> int:
        """Push many subscriber jobs in `chunk`-sized atomic batches; returns how many were sent.

        One MULTI per chunk keeps a big re-push (router back online, sweeper) from holding
        Redis for long. Deduplication applies per item, as in `push_subscriber`.

        `routers` (subscriber id -> router id): where `ROUTER_JOB_FROM` or more of the jobs are
        one router's, one job carries them all, under the seed name most of them have and with
        their ids in its data; the worker drains that router's owed rows in one run
        (`sync/batch.py`). Such jobs are deduplicated per router (one active, one waiting).
        """
        for name, _ in jobs:
            _check_subscriber_job(name)
        jobs, router_jobs = group_by_router(jobs, routers or {})
        if router_jobs:
            await self._call("addBulk", [self._router_job(*job) for job in router_jobs])
        for start in range(0, len(jobs), chunk):
            batch = [
                {
                    "name": name,
                    "data": {"subscriber_id": subscriber_id},
                    "opts": subscriber_job_options(
                        subscriber_id, attempts=self.attempts, priority=priority
                    ),
                }
                for name, subscriber_id in jobs[start : start + chunk]
            ]
            await self._call("addBulk", batch)
        return len(jobs)

    def _router_job(self, name: str, router_id: int, ids: Sequence[int]) -> dict[str, Any]:
        return {
            "name": name,
            "data": {"router_id": router_id, "subscriber_ids": list(ids[:ROUTER_JOB_IDS])},
            "opts": job_options(
                attempts=self.attempts,
                dedup_id=router_dedup_id(router_id),
                keep_last_if_active=True,
            ),
        }

    async def push(
        self,
        name: str,
        data: Mapping[str, int | str],
        *,
        job_id: str | None = None,
        delay_ms: int | None = None,
        dedup_id: str | None = None,
        keep_last_if_active: bool = True,
    ) -> str | None:
        """Push any job (reconcile, expiry, package, sweeper...); returns its id.

        `job_id`: bullmq ignores an add whose id exists, and never runs that id again once it
        has completed and is still kept, so use it only for one-shot jobs (e.g. an expiry at a
        given instant: `expire-<subscriber>-<epoch>`), never for a recurring key.
        `dedup_id`: at most one waiting (and, with `keep_last_if_active`, one more after the
        running) job per id; a delayed job holds its dedup id until it runs, so never give a
        delayed job a subscriber's dedup id (it would swallow that subscriber's pushes).
        """
        opts = job_options(
            attempts=self.attempts,
            delay_ms=delay_ms,
            job_id=job_id,
            dedup_id=dedup_id,
            keep_last_if_active=keep_last_if_active,
        )
        job = await self._call("add", name, dict(data), opts)
        return _job_id(job)

    async def release_stranded(self, dedup_ids: Iterable[str]) -> int:
        """Forget the deduplication of jobs that sit in no list; returns how many.

        A job can be stranded outside every list while its deduplication key still names it:
        Node BullMQ 5 (Bull Board) resumes a queue by renaming its `paused` list over `wait`,
        which drops the jobs this library added to `wait` during the pause. Every later push
        of that subscriber would be swallowed by the key, so the sweeper, which pushes only
        rows owed for a while, releases such keys first (docs/jobs.md, "Pausing").
        """
        released = 0
        for dedup_id in dict.fromkeys(dedup_ids):
            job_id = await self._call("getDeduplicationJobId", dedup_id)
            if job_id is None:
                continue
            job_id = job_id.decode() if isinstance(job_id, bytes) else str(job_id)
            if await self._call("getJobState", job_id) == "unknown":
                released += await self._forget_dedup(dedup_id, job_id)
        return released

    async def _forget_dedup(self, dedup_id: str, job_id: str) -> int:
        """Delete the key of `dedup_id` if it still names `job_id` (one atomic step)."""
        await self._call("getJobCounts")  # the queue and its client exist from here
        key = self._queue.toKey(f"de:{dedup_id}")
        try:
            async with asyncio.timeout(self.timeout_s):
                deleted = await self._queue.client.eval(_DELETE_IF_NAMES, 1, key, job_id)
        except (redis.exceptions.RedisError, OSError, TimeoutError) as err:
            raise QueueUnavailable(f"Redis is unavailable: {err!r}") from err
        return int(deleted)

    async def counts(self) -> dict[str, int]:
        """Jobs per state (waiting, active, delayed, prioritized, failed, completed, paused)."""
        counts = await self._call("getJobCounts", *COUNT_STATES)
        return {state: int(counts.get(state, 0)) for state in COUNT_STATES}

    async def is_paused(self) -> bool:
        """True while the queue is paused (by `pause`, `mikrosync queue pause`, Bull Board...):
        workers then take no new job, and waiting jobs stay where they are."""
        return bool(await self._call("isPaused"))

    async def status(self) -> QueueStatus:
        """Counts and paused state in one look (the API, the dashboard, /metrics, the CLI)."""
        counts = await self.counts()
        return QueueStatus(counts=counts, paused=await self.is_paused())

    async def pause(self) -> bool:
        """Pause the queue for every worker (running jobs finish); False if it already was."""
        if await self.is_paused():
            return False
        await self._call("pause")
        return True

    async def resume(self) -> bool:
        """Resume a paused queue; False if it was not paused."""
        if not await self.is_paused():
            return False
        await self._call("resume")
        return True

    async def failed_jobs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The most recently failed jobs, newest first, in snake_case for the API."""
        jobs = await self._call("getFailed", 0, limit - 1)
        return [
            {
                "id": job.id,
                "name": job.name,
                "data": job.data,
                "failed_reason": job.failedReason,
                "attempts_made": job.attemptsMade,
                "finished_on": job.finishedOn or None,
            }
            for job in jobs
        ]

    async def remove_job(self, job_id: str) -> None:
        """Remove one job (e.g. a failed one an operator cleared); absent is fine."""
        await self._call("remove", job_id)

    async def upsert_schedule(self, schedule: Schedule) -> None:
        """Create or replace a job scheduler (e.g. one per router) without restarting workers."""
        await self._call("upsertJobScheduler", *schedule.upsert_args())

    async def remove_schedule(self, key: str) -> None:
        """Remove the job scheduler `key` (a `Schedule.scheduler_id`); absent is fine."""
        await self._call("removeJobScheduler", key)

    async def schedulers(self) -> list[dict[str, Any]]:
        """The job schedulers registered in Redis (those the workers upserted)."""
        records = await self._call("getJobSchedulers")
        return [
            {
                "key": record["key"],
                "name": record.get("name"),
                "every_ms": record.get("every"),
                "cron": record.get("pattern"),
                "next": record.get("next"),
            }
            for record in records
        ]

    async def close(self) -> None:
        queue, self._queue = self._queue, None
        if queue is not None:
            await queue.close()

    async def _call(self, method: str, *args: Any) -> Any:
        """Call a bullmq `Queue` method within `timeout_s`; Redis failures -> QueueUnavailable."""
        if self._queue is None:
            self._queue = Queue(
                SYNC_QUEUE, {"connection": redis_connection(self.redis_url), "prefix": self.prefix}
            )
        try:
            async with asyncio.timeout(self.timeout_s):
                return await getattr(self._queue, method)(*args)
        except (redis.exceptions.RedisError, OSError, TimeoutError) as err:
            raise QueueUnavailable(f"Redis is unavailable: {err!r}") from err


_DELETE_IF_NAMES = """
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
"""


def _check_subscriber_job(name: str) -> None:
    if name not in SUBSCRIBER_JOBS:
        raise ValueError(f"{name!r} is not a subscriber job (one of {sorted(SUBSCRIBER_JOBS)})")


def _job_id(job: Any) -> str | None:
    return None if job.id is None else str(job.id)
