"""The sweeper: the pending rows ARE the outbox (DESIGN §1.3).

Every few seconds it finds subscribers whose `desired_version` is ahead of `synced_version`
and whose job hint is stale (never pushed, or pushed longer ago than `sweep_stale_after_s`),
and hands them back to be pushed again: disconnects first (owed suspensions are lost revenue),
then oldest first, in bounded batches. So a crash between commit and push, a Redis that lost
every job, or a dead worker delays a change but never loses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_, select, update

from mikrosync.clock import now
from mikrosync.routers.models import Router
from mikrosync.subscribers.intent import job_for
from mikrosync.subscribers.models import Subscriber, SyncStatus
from mikrosync.sync.context import SyncContext

SWEEP_BATCH = 1000


@dataclass(frozen=True)
class Hint:
    """A subscriber to push again, with the job name that describes why."""

    subscriber_id: int
    job_name: str
    router_id: int | None = None


async def take_stale(deps: SyncContext, *, limit: int = SWEEP_BATCH) -> list[Hint]:
    """Claim up to `limit` stale pending rows (stamping their hint time) and return them."""
    cutoff = now() - timedelta(seconds=deps.settings.sweep_stale_after_s)
    query = (
        select(Subscriber)
        .join(Router, Router.id == Subscriber.router_id)
        .where(
            Subscriber.desired_version > Subscriber.synced_version,
            Subscriber.sync_status.in_([SyncStatus.PENDING, SyncStatus.SYNCING]),
            or_(Subscriber.last_enqueued_at.is_(None), Subscriber.last_enqueued_at < cutoff),
            # A row a live converge holds is that run's; a dead worker's lease runs out.
            or_(Subscriber.sync_claimed_until.is_(None), Subscriber.sync_claimed_until < now()),
            # An offline router's rows are pushed by the health check when it comes back.
            or_(Router.is_online.is_(None), Router.is_online.is_(True)),
        )
        .order_by(
            Subscriber.pending_removal.desc(),
            Subscriber.is_suspended.desc(),
            Subscriber.last_enqueued_at.asc().nulls_first(),
            Subscriber.id,
        )
        .limit(limit)
    )
    return await _stamp(deps, query)


async def take_router_pending(deps: SyncContext, router_id: int) -> list[Hint]:
    """Every unsynced row of a router (it just came back), suspensions first."""
    query = (
        select(Subscriber)
        .where(
            Subscriber.router_id == router_id,
            Subscriber.desired_version > Subscriber.synced_version,
            Subscriber.sync_status.in_([SyncStatus.PENDING, SyncStatus.SYNCING]),
        )
        .order_by(Subscriber.is_suspended.desc(), Subscriber.id)
    )
    return await _stamp(deps, query)


async def _stamp(deps: SyncContext, query: object) -> list[Hint]:
    async with deps.sessionmaker() as session:
        rows = (await session.scalars(query)).all()  # type: ignore[call-overload]
        hints = [Hint(row.id, job_for(row), row.router_id) for row in rows]
        if hints:
            await session.execute(
                update(Subscriber)
                .where(Subscriber.id.in_([hint.subscriber_id for hint in hints]))
                .values(last_enqueued_at=now())
            )
            await session.commit()
        return hints
