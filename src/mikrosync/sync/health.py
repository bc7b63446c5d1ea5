"""Router health checks: identity and version, online/offline, and who is owed a push.

When a router answers again after being offline, every one of its pending subscribers is
handed back to be pushed at once, suspensions first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from mikrosync.routeros import RouterOSError
from mikrosync.routers.models import Router
from mikrosync.sync import router_state
from mikrosync.sync.context import SyncContext
from mikrosync.sync.sweep import Hint, take_router_pending

# Routers checked at once; each check is two short commands.
HEALTH_PARALLELISM = 16


@dataclass(frozen=True)
class HealthResult:
    router_id: int
    online: bool
    came_back: bool
    error: str | None = None


async def check_router(deps: SyncContext, router: Router) -> HealthResult:
    was_online = router.is_online
    try:
        client = deps.client(router)
        identity = await client.identity()
        resource = await client.resource()
    except RouterOSError as exc:
        deps.mark_down(router.id)
        async with deps.sessionmaker() as session:
            await router_state.mark_offline(session, router.id, exc.message)
            await session.commit()
        return HealthResult(router.id, online=False, came_back=False, error=exc.message)
    deps.mark_up(router.id)
    async with deps.sessionmaker() as session:
        await router_state.mark_online(
            session, router.id, identity=identity, version=resource.version
        )
        await session.commit()
    return HealthResult(router.id, online=True, came_back=was_online is not True)


async def check_all_routers(deps: SyncContext) -> tuple[list[HealthResult], list[Hint]]:
    """Check every active tenant's routers; return the results and the hints owed to
    routers that came back."""
    async with deps.sessionmaker() as session:
        routers = await router_state.active_routers(session)
    limit = asyncio.Semaphore(HEALTH_PARALLELISM)

    async def check(router: Router) -> HealthResult:
        async with limit:
            return await check_router(deps, router)

    results = await asyncio.gather(*(check(router) for router in routers))
    hints: list[Hint] = []
    for result in results:
        if result.came_back:
            hints.extend(await take_router_pending(deps, result.router_id))
    return list(results), hints
