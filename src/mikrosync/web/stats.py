"""Read-only counts and lookups the web UI needs beyond `subscribers/queries.py`: the
dashboard's numbers, and subscribers by id for the live badges.

Every function is tenant-scoped and only reads; writes go through the domain services.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.jobs.producer import JobQueue
from mikrosync.routers.models import Router
from mikrosync.subscribers.models import Subscriber, SyncStatus
from mikrosync.sync.reconcile_runs.models import ReconcileRun


@dataclass(frozen=True)
class QueueState:
    available: bool
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    paused: bool = False
    held: int = 0
    """Ready jobs the pause holds back (0 when not paused)."""

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

    drift: list[RouterDrift] = field(default_factory=list)
    waiting: dict[int, int] = field(default_factory=dict)
    """Per offline router: its subscribers whose change waits for it to answer."""
    expiring: dict[int, int] = field(default_factory=dict)
    """Subscribers not expired yet that expire within N days, per N of EXPIRING_DAYS."""

    @property
    def waiting_total(self) -> int:
        return sum(self.waiting.values())


@dataclass(frozen=True)
class RouterDrift:
    """What the newest reconciliation of a router left to do: all it found for a dry run
    (nothing was repaired), what it could not repair for a real one."""

    router: Router
    run: ReconcileRun
    counts: dict[str, int]


def outstanding(run: ReconcileRun) -> dict[str, int]:
    """Drift of `run` not repaired by it, per kind. Unmanaged objects are never ours to fix,
    so they are not drift to act on."""
    found = {k: int(v) for k, v in run.counts.items() if v and k != "unmanaged"}
    if run.dry_run:
        return found
    for action in run.actions:
        kind = action.get("kind") or _kind_of(run, action)
        result = str(action.get("result", ""))
        if kind in found and not result.startswith(("failed", "skipped")):
            found[kind] -= 1
    return {k: v for k, v in found.items() if v > 0}


def _kind_of(run: ReconcileRun, action: dict[str, Any]) -> str | None:
    """The drift kind of a stored action (actions are stored without it): the kind whose
    items hold the same menu and name."""
    for kind, items in run.items.items():
        for item in items:
            if item.get("menu") == action.get("menu") and item.get("name") == action.get("name"):
                return str(kind)
    return None


async def latest_drift(
    session: AsyncSession, *, tenant_id: int, routers: Sequence[Router]
) -> list[RouterDrift]:
    """Per router, the drift its newest finished reconciliation (dry run or not) left."""
    newest = (
        select(ReconcileRun.router_id, func.max(ReconcileRun.id))
        .where(
            ReconcileRun.tenant_id == tenant_id,
            ReconcileRun.status.in_(("succeeded", "partial")),
        )
        .group_by(ReconcileRun.router_id)
    )
    run_ids = [run_id for _router_id, run_id in (await session.execute(newest)).all()]
    if not run_ids:
        return []
    runs = {
        run.router_id: run
        for run in await session.scalars(select(ReconcileRun).where(ReconcileRun.id.in_(run_ids)))
    }
    result = []
    for router in routers:
        run = runs.get(router.id)
        if run is not None and (counts := outstanding(run)):
            result.append(RouterDrift(router, run, counts))
    return result


async def waiting_for_routers(
    session: AsyncSession, *, tenant_id: int, routers: Sequence[Router]
) -> dict[int, int]:
    """Per offline router of the tenant: subscribers pending or syncing on it."""
    offline = [router.id for router in routers if router.is_online is False]
    if not offline:
        return {}
    query = (
        select(Subscriber.router_id, func.count())
        .where(
            Subscriber.tenant_id == tenant_id,
            Subscriber.router_id.in_(offline),
            Subscriber.sync_status.in_((SyncStatus.PENDING, SyncStatus.SYNCING)),
        )
        .group_by(Subscriber.router_id)
    )
    return {int(router_id): int(count) for router_id, count in (await session.execute(query)).all()}


EXPIRING_DAYS = (1, 7, 30)


async def expiring_soon(session: AsyncSession, *, tenant_id: int) -> dict[int, int]:
    """How many of the tenant's subscribers expire within 1, 7 and 30 days (not expired yet,
    not being removed)."""
    moment = now()
    counts = {}
    for days in EXPIRING_DAYS:
        query = select(func.count()).where(
            Subscriber.tenant_id == tenant_id,
            Subscriber.pending_removal.is_(False),
            Subscriber.expires_at > moment,
            Subscriber.expires_at <= moment + timedelta(days=days),
        )
        counts[days] = int((await session.execute(query)).scalar_one())
    return counts


async def queue_state(queue: JobQueue) -> QueueState:
    """Job counts of the sync queue; Redis being down is a state to show, not an error."""
    try:
        status = await queue.status()
        return QueueState(
            available=True, counts=status.counts, paused=status.paused, held=status.held
        )
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
        drift=await latest_drift(session, tenant_id=tenant_id, routers=routers),
        waiting=await waiting_for_routers(session, tenant_id=tenant_id, routers=routers),
        expiring=await expiring_soon(session, tenant_id=tenant_id),
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


async def same_username_elsewhere(
    session: AsyncSession, *, tenant_id: int, subscriber: Subscriber
) -> list[str]:
    """The names of the tenant's other routers that have a subscriber of the same username
    (allowed, since usernames are unique per router, but worth a word)."""
    query = (
        select(Router.name)
        .join(Subscriber, Subscriber.router_id == Router.id)
        .where(
            Subscriber.tenant_id == tenant_id,
            Subscriber.username == subscriber.username,
            Subscriber.router_id != subscriber.router_id,
        )
        .order_by(Router.name)
    )
    return list((await session.scalars(query)).all())
