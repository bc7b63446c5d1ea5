"""The sync engine's routines the UI may run in a request: "test connection" (the worker's own
router health check) and the push of what a router that came back is owed.

Builds `SyncDeps` the way `worker.py` does, with a router pool that lives for one request only,
so a web process never keeps router sessions open.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.routeros import PoolRegistry
from mikrosync.routers.models import Router
from mikrosync.runtime import Runtime
from mikrosync.sync.deps import SyncDeps
from mikrosync.sync.health import HealthResult, check_router
from mikrosync.sync.sweep import take_router_pending

log = logging.getLogger(__name__)


@asynccontextmanager
async def sync_deps(runtime: Runtime) -> AsyncIterator[SyncDeps]:
    registry = PoolRegistry()
    try:
        yield SyncDeps(
            sessionmaker=runtime.sessionmaker,
            vault=runtime.vault,
            registry=registry,
            settings=runtime.settings,
        )
    finally:
        await registry.close()


async def probe_router(runtime: Runtime, router: Router) -> tuple[HealthResult, int]:
    """Check the router now (its online state is recorded); if it just came back, push its
    waiting subscribers at once, as the worker's health check would. Returns the result and
    how many subscribers were pushed."""
    async with sync_deps(runtime) as deps:
        result = await check_router(deps, router)
        if not result.came_back:
            return result, 0
        hints = await take_router_pending(deps, router.id)
    try:
        if hints:
            await runtime.queue.push_subscribers([(h.job_name, h.subscriber_id) for h in hints])
    except QueueUnavailable as exc:
        log.warning("push after test connection failed (%s); the sweeper will push", exc)
    return result, len(hints)
