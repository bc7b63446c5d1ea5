"""The worker process's composition root: sync routines wired to the `mikrotik-sync` queue.

`mikrosync worker` calls `run_worker`. Every subscriber job runs the same converge routine; the
job schedulers (sweeper, router health) are upserted on start, so no separate scheduler
process exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from mikrosync.jobs import names
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.jobs.producer import JobQueue
from mikrosync.jobs.schedules import Schedule
from mikrosync.jobs.worker import Handler, JobInfo, SyncWorker
from mikrosync.logs import log_context
from mikrosync.messages.handlers import message_handlers
from mikrosync.messages.jobs import SCHEDULE_REMINDERS
from mikrosync.routeros import PoolRegistry
from mikrosync.runtime import Runtime
from mikrosync.sync.converge import Attempt, converge_subscriber
from mikrosync.sync.deps import SyncDeps
from mikrosync.sync.expiry import active_tenant_ids, expire_due
from mikrosync.sync.health import check_all_routers
from mikrosync.sync.packages import sync_package
from mikrosync.sync.reconcile import reconcile_job
from mikrosync.sync.routers import active_routers
from mikrosync.sync.sweep import Hint, take_stale

log = logging.getLogger(__name__)

# How often the worker re-asserts its job schedulers (idempotent upserts).
SCHEDULE_REFRESH_S = 10.0


async def _push(queue: JobQueue, hints: list[Hint]) -> int:
    if hints:
        await queue.push_subscribers([(hint.job_name, hint.subscriber_id) for hint in hints])
    return len(hints)


def build_handlers(deps: SyncDeps, queue: JobQueue) -> Mapping[str, Handler]:
    async def converge(job: JobInfo) -> str:
        subscriber_id = int(job.data["subscriber_id"])
        attempt = Attempt(job.name, job.id, job.attempt, job.is_last_attempt)
        with log_context(job_id=job.id, job=job.name, subscriber_id=subscriber_id):
            outcome = await converge_subscriber(deps, subscriber_id, attempt)
            log.info("%s attempt %d: %s", job.name, job.attempt, outcome.value)
        return outcome.value

    async def sweep(_job: JobInfo) -> int:
        return await _push(queue, await take_stale(deps))

    async def health(_job: JobInfo) -> dict[str, int]:
        results, hints = await check_all_routers(deps)
        pushed = await _push(queue, hints)
        online = sum(result.online for result in results)
        return {"routers": len(results), "online": online, "pushed": pushed}

    async def schedule_expiry(_job: JobInfo) -> int:
        tenants = await active_tenant_ids(deps)
        for tenant_id in tenants:
            await queue.push(
                names.PROCESS_EXPIRED,
                {"tenant_id": tenant_id},
                dedup_id=names.tenant_expiry_dedup_id(tenant_id),
            )
        return len(tenants)

    async def process_expired(job: JobInfo) -> int:
        return await _push(queue, await expire_due(deps, int(job.data["tenant_id"])))

    async def package(job: JobInfo) -> int:
        return len(await sync_package(deps, int(job.data["package_id"])))

    async def schedule_reconciles(_job: JobInfo) -> int:
        async with deps.sessionmaker() as session:
            router_ids = [router.id for router in await active_routers(session)]
        for router_id in router_ids:
            await queue.push(
                names.RECONCILE_ROUTER,
                {"router_id": router_id},
                dedup_id=names.reconcile_dedup_id(router_id),
                keep_last_if_active=False,
            )
        return len(router_ids)

    async def reconcile(job: JobInfo) -> dict[str, object]:
        router_id = int(job.data["router_id"])
        with log_context(job_id=job.id, job=job.name, router_id=router_id):
            outcome = await reconcile_job(deps, router_id)
            pushed = await _push(queue, list(outcome.fix_jobs))
            log.info("reconciled router %s: %s, %d fix job(s)", router_id, outcome.counts, pushed)
        return {"run_id": outcome.run_id, "status": str(outcome.status), "fixes": pushed}

    handlers: dict[str, Handler] = dict.fromkeys(names.SUBSCRIBER_JOBS, converge)
    handlers[names.SWEEP_PENDING] = sweep
    handlers[names.CHECK_ROUTER_HEALTH] = health
    handlers[names.SCHEDULE_EXPIRED] = schedule_expiry
    handlers[names.PROCESS_EXPIRED] = process_expired
    handlers[names.SYNC_PACKAGE] = package
    handlers[names.SCHEDULE_RECONCILES] = schedule_reconciles
    handlers[names.RECONCILE_ROUTER] = reconcile
    handlers.update(message_handlers(deps, queue))
    return handlers


def schedules(runtime: Runtime) -> list[Schedule]:
    settings = runtime.settings
    return [
        Schedule(names.SWEEP_PENDING, every_ms=int(settings.sweep_interval_s * 1000)),
        Schedule(names.CHECK_ROUTER_HEALTH, every_ms=int(settings.health_interval_s * 1000)),
        Schedule(names.SCHEDULE_EXPIRED, cron=settings.expiry_scan_cron),
        Schedule(names.SCHEDULE_RECONCILES, every_ms=int(settings.reconcile_interval_s * 1000)),
        Schedule(SCHEDULE_REMINDERS, every_ms=int(settings.reminder_scan_s * 1000)),
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


async def run_worker(runtime: Runtime, *, concurrency: int, stop: asyncio.Event) -> None:
    registry = PoolRegistry()
    deps = SyncDeps(
        sessionmaker=runtime.sessionmaker,
        vault=runtime.vault,
        registry=registry,
        settings=runtime.settings,
    )
    wanted = schedules(runtime)
    worker = SyncWorker(
        runtime.redis_url,
        build_handlers(deps, runtime.queue),
        concurrency=concurrency,
        prefix=runtime.settings.queue_prefix,
        schedules=wanted,
        attempts=runtime.settings.sync_attempts,
        lock_duration_ms=int(runtime.settings.job_lock_s * 1000),
        stalled_interval_ms=int(runtime.settings.stalled_check_s * 1000),
        shutdown_timeout_s=runtime.settings.shutdown_timeout_s,
    )
    keeper = asyncio.create_task(keep_schedules(runtime.queue, wanted, stop))
    try:
        await worker.run(stop)
    finally:
        stop.set()
        await keeper
        await registry.close()
