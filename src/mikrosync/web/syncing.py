"""The sync engine's routines the UI runs inside a request, with a router pool of their own
(`standalone_deps`, closed when the request ends, so a web process keeps no router sessions):

- "test connection": the worker's own router health check; a router that came back gets its
  waiting subscribers pushed at once, as the worker's health check would do;
- "reconcile now": `reconcile_router`, dry run or not; its fixes are pushed as jobs.

Callers end their own database transaction first: a router may take seconds to answer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.routers.models import Router
from mikrosync.runtime import Runtime
from mikrosync.sync.health import HealthResult, check_router
from mikrosync.sync.reconcile import (
    ReconcileOutcome,
    reconcile_router,
    standalone_deps,
    subscribers_by_id,
)
from mikrosync.sync.sweep import Hint, take_router_pending

log = logging.getLogger(__name__)


async def push_hints(runtime: Runtime, hints: Sequence[Hint]) -> None:
    """Push the jobs of `hints`; best effort, like `Runtime.hint` (the sweeper re-pushes)."""
    if not hints:
        return
    try:
        await runtime.queue.push_subscribers(
            [(h.job_name, h.subscriber_id) for h in hints],
            routers={h.subscriber_id: h.router_id for h in hints if h.router_id is not None},
        )
    except QueueUnavailable as exc:
        log.warning("job push failed (%s); the sweeper will push %d job(s)", exc, len(hints))


async def probe_router(runtime: Runtime, router: Router) -> tuple[HealthResult, int]:
    """Check the router now (its online state is recorded). Returns the result and how many
    waiting subscribers were pushed because it came back."""
    async with standalone_deps(runtime.sessionmaker, runtime.vault, runtime.settings) as deps:
        result = await check_router(deps, router)
        hints = await take_router_pending(deps, router.id) if result.came_back else []
    await push_hints(runtime, hints)
    return result, len(hints)


async def reconcile_now(runtime: Runtime, router_id: int, *, dry_run: bool) -> ReconcileOutcome:
    """Reconcile one router (the caller checked it is the user's tenant's) and push the jobs
    of the subscribers it recorded as pending, as `POST /api/v1/routers/{id}/reconcile` does."""
    async with standalone_deps(runtime.sessionmaker, runtime.vault, runtime.settings) as deps:
        outcome = await reconcile_router(deps, router_id, dry_run=dry_run)
    if outcome.fix_subscriber_ids:
        async with runtime.sessionmaker() as session:
            await runtime.hint(await subscribers_by_id(session, outcome.fix_subscriber_ids))
    return outcome
