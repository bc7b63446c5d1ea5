"""Expiry: suspend every subscriber whose `expires_at` has passed (reason `expired`).

Two triggers share `expire_due`: the seed's periodic scan (`scheduleExpiredClientDisconnects`
pushes one `processExpiredClientsForTenant` per active tenant, every minute by default) and a
delayed job at each expiry instant, so service is cut within seconds. Both re-read
`expires_at` at run time, so a renewal makes an earlier job harmless.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select

from mikrosync.clock import now
from mikrosync.subscribers.intent import record_intent
from mikrosync.subscribers.locking import locked
from mikrosync.subscribers.models import Operation, Subscriber, SuspendReason
from mikrosync.sync.context import SyncContext
from mikrosync.sync.sweep import Hint
from mikrosync.tenants.models import Tenant

EXPIRY_BATCH = 500


async def active_tenant_ids(deps: SyncContext) -> list[int]:
    async with deps.sessionmaker() as session:
        query = select(Tenant.id).where(Tenant.is_active).order_by(Tenant.id)
        return list((await session.scalars(query)).all())


async def expire_due(deps: SyncContext, tenant_id: int, *, batch: int = EXPIRY_BATCH) -> list[Hint]:
    """Suspend the tenant's expired subscribers, one transaction per batch; return the
    disconnect hints interleaved across routers, so one slow router does not hold up the rest."""
    expired: list[Subscriber] = []
    while True:
        async with deps.sessionmaker() as session:
            query = (
                select(Subscriber)
                .where(
                    Subscriber.tenant_id == tenant_id,
                    Subscriber.is_suspended.is_(False),
                    Subscriber.pending_removal.is_(False),
                    Subscriber.expires_at <= now(),
                )
                .order_by(Subscriber.expires_at, Subscriber.id)
                .limit(batch)
            )
            # A row an API request holds is skipped: it is suspended by the next scan or by
            # its own per-instant job, from the row as that request leaves it.
            rows = await locked(session, query, skip_locked=True)
            for subscriber in rows:
                assert subscriber.expires_at is not None
                subscriber.is_suspended = True
                subscriber.suspend_reason = SuspendReason.EXPIRED
                record_intent(
                    session,
                    subscriber,
                    Operation.DISCONNECT_USER,
                    actor="expiry",
                    message=f"expired at {subscriber.expires_at:%Y-%m-%d %H:%M:%S} UTC",
                )
            await session.commit()
        expired.extend(rows)
        if len(rows) < batch:
            return interleave_by_router(expired)


def interleave_by_router(subscribers: Sequence[Subscriber]) -> list[Hint]:
    """Round-robin over routers: the queue is FIFO, so this spreads the work across them."""
    by_router: dict[int, list[Subscriber]] = defaultdict(list)
    for subscriber in subscribers:
        by_router[subscriber.router_id].append(subscriber)
    queues = list(by_router.values())
    hints: list[Hint] = []
    for index in range(max((len(q) for q in queues), default=0)):
        hints.extend(
            Hint(q[index].id, Operation.DISCONNECT_USER, q[index].router_id)
            for q in queues
            if index < len(q)
        )
    return hints
