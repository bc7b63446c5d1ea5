"""Read-only counts and lookups the web UI needs beyond `subscribers/queries.py`: the
dashboard's numbers, and subscribers by id for the live badges.

Every function is tenant-scoped and only reads; writes go through the domain services.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.jobs.producer import JobQueue
from mikrosync.routers.models import Router
from mikrosync.subscribers.models import Subscriber, SyncStatus


@dataclass(frozen=True)
class QueueState:
    available: bool
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def depth(self) -> int:
        """Jobs due now or running. Delayed jobs (retries in backoff, expiries to come, the
        schedulers' next runs) are shown apart: they are not a backlog."""
        states = ("waiting", "active", "prioritized")
        return sum(self.counts.get(state, 0) for state in states)


@dataclass(frozen=True)
class Dashboard:
    by_status: dict[str, int]
    total: int
    owed_suspensions: int
    routers: Sequence[Router]
    queue: QueueState

    @property
    def routers_online(self) -> int:
        return sum(1 for router in self.routers if router.is_online is True)

    @property
    def routers_offline(self) -> int:
        return sum(1 for router in self.routers if router.is_online is False)

    @property
    def drift(self) -> list[tuple[Router, dict[str, Any]]]:
        """Routers whose last reconciliation found drift, with its counts per kind."""
        return [
            (router, counts)
            for router in self.routers
            if (counts := {k: v for k, v in router.last_drift_counts.items() if v})
        ]


async def queue_state(queue: JobQueue) -> QueueState:
    """Job counts of the sync queue; Redis being down is a state to show, not an error."""
    try:
        return QueueState(available=True, counts=await queue.counts())
    except QueueUnavailable as exc:
        return QueueState(available=False, error=str(exc))


async def subscribers_by_status(session: AsyncSession, *, tenant_id: int) -> dict[str, int]:
    query = (
        select(Subscriber.sync_status, func.count())
        .where(Subscriber.tenant_id == tenant_id)
        .group_by(Subscriber.sync_status)
    )
    counts = {status.value: 0 for status in SyncStatus}
    for status, count in (await session.execute(query)).all():
        counts[status] = count
    return counts


async def owed_suspensions(session: AsyncSession, *, tenant_id: int) -> int:
    """Subscribers suspended in the database whose suspension the router does not hold yet."""
    query = select(func.count()).where(
        Subscriber.tenant_id == tenant_id,
        Subscriber.is_suspended.is_(True),
        Subscriber.synced_version < Subscriber.desired_version,
    )
    return (await session.execute(query)).scalar_one()


async def dashboard(
    session: AsyncSession, *, tenant_id: int, queue: JobQueue, routers: Sequence[Router]
) -> Dashboard:
    by_status = await subscribers_by_status(session, tenant_id=tenant_id)
    return Dashboard(
        by_status=by_status,
        total=sum(by_status.values()),
        owed_suspensions=await owed_suspensions(session, tenant_id=tenant_id),
        routers=routers,
        queue=await queue_state(queue),
    )


async def subscribers_by_id(
    session: AsyncSession, *, tenant_id: int, ids: Collection[int]
) -> dict[int, Subscriber]:
    """The tenant's subscribers among `ids` (others', and removed ones, are simply absent)."""
    if not ids:
        return {}
    query = select(Subscriber).where(Subscriber.tenant_id == tenant_id, Subscriber.id.in_(ids))
    return {s.id: s for s in (await session.scalars(query)).all()}


async def router_subscriber_counts(
    session: AsyncSession, *, tenant_id: int
) -> dict[int, dict[str, int]]:
    """Per router of the tenant: its subscribers' count per sync status."""
    query = (
        select(Subscriber.router_id, Subscriber.sync_status, func.count())
        .where(Subscriber.tenant_id == tenant_id)
        .group_by(Subscriber.router_id, Subscriber.sync_status)
    )
    counts: dict[int, dict[str, int]] = {}
    for router_id, status, count in (await session.execute(query)).all():
        counts.setdefault(router_id, {})[status] = count
    return counts
