"""Router health checks: a cheap probe of every router, online/offline, and who is owed a push.

The probe is one short command (`/system/identity/print`) on the pooled connection, so a
router that is up costs one round trip per check; `/system/resource/print` (the version) is
read only when the router comes back or its version is unknown. The probe must answer within
`MIKROSYNC_ROUTER_CONNECT_TIMEOUT_S`: a router that silently drops packets for 12 s is offline
for that long, not a slow answer 12 s later. Checks run every `MIKROSYNC_HEALTH_INTERVAL_S`
(5 s by default) so a short outage is seen (issue 17, item 9); a router seen up again is
recorded with one UPDATE for all of them, and only a change of state (offline, back) writes
an outage row.

When a router answers again after being offline, every one of its pending subscribers is
handed back to be pushed at once, suspensions first.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from sqlalchemy import update

from mikrosync.clock import now
from mikrosync.routeros import RouterOSError
from mikrosync.routers.models import Router
from mikrosync.sync import router_state
from mikrosync.sync.context import SyncContext
from mikrosync.sync.sweep import Hint, take_router_pending

# Routers checked at once; each check is one short command.
HEALTH_PARALLELISM = 16


@dataclass(frozen=True)
class HealthResult:
    router_id: int
    online: bool
    came_back: bool
    error: str | None = None


@dataclass(frozen=True)
class _Probe:
    identity: str | None = None
    version: str | None = None
    error: str | None = None


async def _probe(deps: SyncContext, router: Router, *, full: bool) -> _Probe:
    """One round trip to the router (two when `full`), within the connect timeout."""
    deadline = deps.settings.router_connect_timeout_s
    try:
        async with asyncio.timeout(deadline):
            client = deps.client(router)
            identity = await client.identity()
            version = (await client.resource()).version if full else None
    except RouterOSError as exc:
        return _Probe(error=exc.message)
    except TimeoutError:
        # The lease's connection is left mid-command, so the pool closes it (never reused).
        return _Probe(error=f"no answer within {deadline:g} s")
    return _Probe(identity=identity, version=version)


async def check_router(
    deps: SyncContext, router: Router, *, seen: list[int] | None = None
) -> HealthResult:
    """Probe `router` and record what was found. With `seen`, a router that was online and
    still is (nothing to record but "last seen") is appended to it instead of written, for
    `check_all_routers` to record all of them in one statement."""
    was_online = router.is_online
    steady = was_online is True and router.routeros_version is not None
    probe = await _probe(deps, router, full=not steady)
    if probe.error is not None:
        deps.mark_down(router.id)
        async with deps.sessionmaker() as session:
            await router_state.mark_offline(session, router.id, probe.error)
            await session.commit()
        return HealthResult(router.id, online=False, came_back=False, error=probe.error)
    deps.mark_up(router.id)
    if seen is not None and steady and probe.identity == router.identity:
        seen.append(router.id)
    else:
        async with deps.sessionmaker() as session:
            await router_state.mark_online(
                session, router.id, identity=probe.identity, version=probe.version
            )
            await session.commit()
    return HealthResult(router.id, online=True, came_back=was_online is not True)


async def _record_seen(deps: SyncContext, seen: list[int]) -> set[int]:
    """ "Last seen now" for routers that stayed online, in one statement; a router that a job
    marked offline meanwhile is recorded as back, with its outage closed (returned: it came
    back)."""
    if not seen:
        return set()
    async with deps.sessionmaker() as session:
        touched = await session.scalars(
            update(Router)
            .where(Router.id.in_(seen), Router.is_online.is_(True))
            .values(last_seen_at=now(), last_error=None)
            .returning(Router.id)
        )
        missed = set(seen) - set(touched.all())
        for router_id in sorted(missed):
            await router_state.mark_online(session, router_id)
        await session.commit()
    return missed


async def check_all_routers(deps: SyncContext) -> tuple[list[HealthResult], list[Hint]]:
    """Check every active tenant's routers; return the results and the hints owed to
    routers that came back."""
    async with deps.sessionmaker() as session:
        routers = await router_state.active_routers(session)
    limit = asyncio.Semaphore(HEALTH_PARALLELISM)

    seen: list[int] = []

    async def check(router: Router) -> HealthResult:
        async with limit:
            return await check_router(deps, router, seen=seen)

    results = await asyncio.gather(*(check(router) for router in routers))
    back = await _record_seen(deps, seen)
    results = [replace(r, came_back=True) if r.router_id in back else r for r in results]
    hints: list[Hint] = []
    for result in results:
        if result.came_back:
            hints.extend(await take_router_pending(deps, result.router_id))
    return list(results), hints
