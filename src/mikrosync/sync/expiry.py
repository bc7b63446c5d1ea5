"""Expiry: suspend every subscriber whose `expires_at` has passed (reason `expired`).

Two triggers share `expire_due`: the seed's periodic scan (`scheduleExpiredClientDisconnects`
pushes one `processExpiredClientsForTenant` per active tenant, every minute by default) and a
delayed job at each expiry instant, so service is cut within seconds. Both re-read
`expires_at` at run time, so a renewal makes an earlier job harmless.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence

from sqlalchemy import select

from mikrosync.clock import now
from mikrosync.subscribers.intent import IntentRow, record_intents
from mikrosync.subscribers.locking import locked_rows
from mikrosync.subscribers.models import Operation, Subscriber, SuspendReason
from mikrosync.sync.context import SyncContext
from mikrosync.sync.sweep import Hint
from mikrosync.tenants.models import Tenant

EXPIRY_BATCH = 500


async def active_tenant_ids(deps: SyncContext) -> list[int]:
    async with deps.sessionmaker() as session:
        query = select(Tenant.id).where(Tenant.is_active).order_by(Tenant.id)
        return list((await session.scalars(query)).all())


async def expire_due(
    deps: SyncContext, tenant_id: int, *, batch: int = EXPIRY_BATCH
) -> AsyncIterator[list[Hint]]:
    """Suspend the tenant's expired subscribers, one transaction per batch, and yield each
    batch's disconnect hints once it is committed, interleaved across routers.

    The caller pushes each batch before the next is marked, so at month end the routers start
    on the first batch while the rest are still being marked (the marking is set-based).
    """
    while True:
        async with deps.sessionmaker() as session:
            query = (
                select(
                    Subscriber.id,
                    Subscriber.router_id,
                    Subscriber.desired_version,
                    Subscriber.expires_at,
                )
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
            rows = await locked_rows(session, query, skip_locked=True)
            await record_intents(
                session,
                [
                    IntentRow(
                        row.id,
                        tenant_id,
                        row.desired_version,
                        f"expired at {row.expires_at:%Y-%m-%d %H:%M:%S} UTC",
                    )
                    for row in rows
                ],
                Operation.DISCONNECT_USER,
                actor="expiry",
                values={"is_suspended": True, "suspend_reason": SuspendReason.EXPIRED},
            )
            await session.commit()
        if rows:
            yield interleave_by_router([(row.id, row.router_id) for row in rows])
        if len(rows) < batch:
            return


def interleave_by_router(placed: Sequence[tuple[int, int]]) -> list[Hint]:
    """Round-robin over routers: the queue is FIFO, so this spreads the work across them.
    `placed` holds (subscriber id, router id) pairs."""
    by_router: dict[int, list[int]] = defaultdict(list)
    for subscriber_id, router_id in placed:
        by_router[router_id].append(subscriber_id)
    queues = list(by_router.items())
    hints: list[Hint] = []
    for index in range(max((len(ids) for _, ids in queues), default=0)):
        hints.extend(
            Hint(ids[index], Operation.DISCONNECT_USER, router_id)
            for router_id, ids in queues
            if index < len(ids)
        )
    return hints
