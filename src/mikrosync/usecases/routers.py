"""Router use cases that reach past the router row: deleting one (refused while it has
subscribers) and "test connection" (a router that came back gets its waiting subscribers
pushed at once, as the worker's health check would do)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import Conflict
from mikrosync.jobs.push import push_hints
from mikrosync.routers.models import Router
from mikrosync.routers.service import get_router
from mikrosync.runtime import Runtime
from mikrosync.subscribers.queries import count_on_router
from mikrosync.sync.health import HealthResult, check_router
from mikrosync.sync.sweep import take_router_pending


async def delete_router(session: AsyncSession, *, tenant_id: int, router_id: int) -> None:
    router = await get_router(session, tenant_id=tenant_id, router_id=router_id)
    subscribers = await count_on_router(session, router.id)
    if subscribers:
        raise Conflict(
            f"router {router.name!r} still has {subscribers} subscriber(s); delete or move "
            "them first"
        )
    await session.delete(router)
    await session.commit()


async def probe_router(runtime: Runtime, router: Router) -> tuple[HealthResult, int]:
    """Check the router now (its online state is recorded), with a router pool of this call's
    own. Returns the result and how many waiting subscribers were pushed because it came back.
    The caller ends its own database transaction first: a router may take seconds to answer."""
    async with runtime.private_routers() as context:
        result = await check_router(context, router)
        hints = await take_router_pending(context, router.id) if result.came_back else []
    await push_hints(runtime.queue, hints)
    return result, len(hints)
