"""The worker process: the job handlers run by a `SyncWorker` on `mikrotik-sync`.

`mikrosync worker` (and the demo) call `run_worker`. The job schedulers (sweeper, router
health, expiry scan, reconciliation) are upserted on start and re-asserted now and then, so no
separate scheduler process exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from mikrosync.jobs import names
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.jobs.handlers import build_handlers
from mikrosync.jobs.producer import JobQueue
from mikrosync.jobs.schedules import Schedule
from mikrosync.jobs.worker import SyncWorker
from mikrosync.settings import Settings
from mikrosync.sync.context import SyncContext

log = logging.getLogger(__name__)

# How often the worker re-asserts its job schedulers (idempotent upserts).
SCHEDULE_REFRESH_S = 10.0


def schedules(settings: Settings) -> list[Schedule]:
    return [
        Schedule(names.SWEEP_PENDING, every_ms=int(settings.sweep_interval_s * 1000)),
        Schedule(names.CHECK_ROUTER_HEALTH, every_ms=int(settings.health_interval_s * 1000)),
        Schedule(names.SCHEDULE_EXPIRED, cron=settings.expiry_scan_cron),
        Schedule(names.SCHEDULE_RECONCILES, every_ms=int(settings.reconcile_interval_s * 1000)),
    ]


async def keep_schedules(queue: JobQueue, wanted: list[Schedule], stop: asyncio.Event) -> None:
    """Re-upsert the job schedulers now and then: a Redis that restarted empty (or was flushed)
    would otherwise lose the sweeper, and with it the guarantee that pending rows get pushed."""
    while not stop.is_set():
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=SCHEDULE_REFRESH_S)
        if stop.is_set():
            return
        try:
            for schedule in wanted:
                await queue.upsert_schedule(schedule)
        except QueueUnavailable as exc:
            log.warning("cannot refresh job schedulers: %s", exc)


async def run_worker(
    context: SyncContext, queue: JobQueue, *, concurrency: int, stop: asyncio.Event
) -> None:
    """Run the worker until `stop` is set. `context` reaches the database and the routers (the
    caller owns it and closes its router pools); `queue` is the process's producer."""
    settings = context.settings
    wanted = schedules(settings)
    worker = SyncWorker(
        queue.redis_url,
        build_handlers(context, queue),
        concurrency=concurrency,
        prefix=settings.queue_prefix,
        schedules=wanted,
        attempts=settings.sync_attempts,
        lock_duration_ms=int(settings.job_lock_s * 1000),
        stalled_interval_ms=int(settings.stalled_check_s * 1000),
        shutdown_timeout_s=settings.shutdown_timeout_s,
    )
    keeper = asyncio.create_task(keep_schedules(queue, wanted, stop))
    try:
        await worker.run(stop)
    finally:
        stop.set()
        await keeper
