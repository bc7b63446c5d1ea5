"""The worker process's composition root: sync routines wired to the `mikrotik-sync` queue.

`mikrosync worker` calls `run_worker`. Every subscriber job runs the same converge routine; the
job schedulers (sweeper, router health) are upserted on start, so no separate scheduler
process exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from mikrosync.jobs import names
from mikrosync.jobs.producer import JobQueue
from mikrosync.jobs.schedules import Schedule
from mikrosync.jobs.worker import Handler, JobInfo, SyncWorker
from mikrosync.routeros import PoolRegistry
from mikrosync.runtime import Runtime
from mikrosync.sync.converge import Attempt, converge_subscriber
from mikrosync.sync.deps import SyncDeps
from mikrosync.sync.health import check_all_routers
from mikrosync.sync.sweep import Hint, take_stale

log = logging.getLogger(__name__)


async def _push(queue: JobQueue, hints: list[Hint]) -> int:
    if hints:
        await queue.push_subscribers([(hint.job_name, hint.subscriber_id) for hint in hints])
    return len(hints)


def build_handlers(deps: SyncDeps, queue: JobQueue) -> Mapping[str, Handler]:
    async def converge(job: JobInfo) -> str:
        attempt = Attempt(job.name, job.id, job.attempt, job.is_last_attempt)
        outcome = await converge_subscriber(deps, int(job.data["subscriber_id"]), attempt)
        return outcome.value

    async def sweep(_job: JobInfo) -> int:
        return await _push(queue, await take_stale(deps))

    async def health(_job: JobInfo) -> dict[str, int]:
        results, hints = await check_all_routers(deps)
        pushed = await _push(queue, hints)
        online = sum(result.online for result in results)
        return {"routers": len(results), "online": online, "pushed": pushed}

    handlers: dict[str, Handler] = dict.fromkeys(names.SUBSCRIBER_JOBS, converge)
    handlers[names.SWEEP_PENDING] = sweep
    handlers[names.CHECK_ROUTER_HEALTH] = health
    return handlers


def schedules(runtime: Runtime) -> list[Schedule]:
    settings = runtime.settings
    return [
        Schedule(names.SWEEP_PENDING, every_ms=int(settings.sweep_interval_s * 1000)),
        Schedule(names.CHECK_ROUTER_HEALTH, every_ms=int(settings.health_interval_s * 1000)),
    ]


async def run_worker(runtime: Runtime, *, concurrency: int, stop: asyncio.Event) -> None:
    registry = PoolRegistry()
    deps = SyncDeps(
        sessionmaker=runtime.sessionmaker,
        vault=runtime.vault,
        registry=registry,
        settings=runtime.settings,
    )
    worker = SyncWorker(
        runtime.redis_url,
        build_handlers(deps, runtime.queue),
        concurrency=concurrency,
        prefix=runtime.settings.queue_prefix,
        schedules=schedules(runtime),
        attempts=runtime.settings.sync_attempts,
    )
    try:
        await worker.run(stop)
    finally:
        await registry.close()
