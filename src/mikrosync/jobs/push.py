"""The after-commit push: every writer's one way to hand its committed intent to the queue.

All of it is best effort. A failed push is logged, never raised: the rows are already durable
and `pending`, the sweeper pushes them again once their hint is stale (DESIGN §1.3), the
periodic expiry scan is the safety net of the delayed expiry jobs, and a package's profiles
follow with the next converge or reconciliation.

Callers: the use cases (`mikrosync.usecases`), the worker's handlers, and the demo.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence

from mikrosync.clock import now
from mikrosync.jobs import names
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.jobs.producer import JobQueue
from mikrosync.subscribers.intent import job_for, needs_sync
from mikrosync.subscribers.models import Subscriber
from mikrosync.sync.sweep import Hint

log = logging.getLogger(__name__)


async def push_intents(queue: JobQueue, subscribers: Iterable[Subscriber]) -> None:
    """After a commit: push the job of each subscriber with an outstanding change, and a
    delayed expiry job at each (tenant, expiry instant) still to come."""
    subscribers = list(subscribers)
    jobs = [(job_for(s).value, s.id) for s in subscribers if needs_sync(s)]
    try:
        if len(jobs) == 1:
            await queue.push_subscriber(*jobs[0])
        elif jobs:
            routers = {s.id: s.router_id for s in subscribers}
            await queue.push_subscribers(jobs, routers=routers)
        await _schedule_expiry(queue, subscribers)
    except QueueUnavailable as exc:
        log.warning("job push failed (%s); the sweeper will push %d job(s) later", exc, len(jobs))


async def _schedule_expiry(queue: JobQueue, subscribers: list[Subscriber]) -> None:
    moment = now().timestamp()
    instants = {
        (s.tenant_id, math.ceil(s.expires_at.timestamp()))
        for s in subscribers
        if s.expires_at is not None and not s.is_suspended and not s.pending_removal
    }
    for tenant_id, epoch in sorted(instants):
        delay_ms = max(0, int((epoch - moment) * 1000))
        if delay_ms:
            await queue.push(
                names.PROCESS_EXPIRED,
                {"tenant_id": tenant_id},
                job_id=names.expiry_job_id(tenant_id, epoch),
                delay_ms=delay_ms,
            )
        else:
            # Already due: run at once, merged with the tenant's other pending run.
            await queue.push(
                names.PROCESS_EXPIRED,
                {"tenant_id": tenant_id},
                dedup_id=names.tenant_expiry_dedup_id(tenant_id),
            )


async def push_package_sync(queue: JobQueue, package_id: int) -> None:
    """Push `syncPackage` after a package was created or changed."""
    try:
        await queue.push(
            names.SYNC_PACKAGE,
            {"package_id": package_id},
            dedup_id=names.package_dedup_id(package_id),
        )
    except QueueUnavailable as exc:
        log.warning(
            "syncPackage push failed (%s); profiles follow with the next converge "
            "or reconciliation",
            exc,
        )


async def push_hints(queue: JobQueue, hints: Sequence[Hint]) -> None:
    """Push the jobs of `hints` (subscriber ids with their job names, as the sync engine's
    health check and reconciliation return them)."""
    if not hints:
        return
    try:
        await queue.push_subscribers(
            [(h.job_name, h.subscriber_id) for h in hints],
            routers={h.subscriber_id: h.router_id for h in hints if h.router_id is not None},
        )
    except QueueUnavailable as exc:
        log.warning("job push failed (%s); the sweeper will push %d job(s)", exc, len(hints))
