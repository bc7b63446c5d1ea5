"""Reconcile now: compare one router with the database, repair per the tenant's policy unless
it is a dry run, and hand the subscribers it recorded as pending to the converge.

One function for the three entry points: `POST /api/v1/routers/{id}/reconcile` and the
console's button push the fixes as jobs; `mikrosync reconcile` passes `fix` to converge them
in its own process (no worker needed). The run uses a router pool of its own, closed when it
ends, so a web process keeps no router connections. Callers end their own database
transaction first: a router may take seconds to answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from mikrosync.jobs.push import push_intents
from mikrosync.runtime import Runtime
from mikrosync.sync.context import SyncContext
from mikrosync.sync.observed import Progress
from mikrosync.sync.reconcile import ReconcileOutcome, reconcile_router, subscribers_by_id

Fix = Callable[[SyncContext, Sequence[int]], Awaitable[None]]


async def reconcile_now(
    runtime: Runtime,
    router_id: int,
    *,
    dry_run: bool,
    progress: Progress | None = None,
    fix: Fix | None = None,
) -> ReconcileOutcome:
    """Reconcile the router (the caller checked it is the user's tenant's); the fixes go to
    `fix` (with the run's router access) if given, else are pushed as jobs."""
    async with runtime.private_routers() as context:
        outcome = await reconcile_router(context, router_id, dry_run=dry_run, progress=progress)
        if fix is not None:
            await fix(context, outcome.fix_subscriber_ids)
    if fix is None and outcome.fix_subscriber_ids:
        async with runtime.sessionmaker() as session:
            await push_intents(
                runtime.queue, await subscribers_by_id(session, outcome.fix_subscriber_ids)
            )
    return outcome
