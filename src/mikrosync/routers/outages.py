"""Router outages: when a router stopped answering and when it came back.

The router row only holds its state now (online, last seen, last error), so a router that
drops for 12 s every minute looked healthy whenever nobody was watching. Every change of
state the sync engine notices (health check, a job that could not connect, a reconciliation)
opens or closes an outage here: the console shows "offline since", the history and flaps.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.routers.models import RouterOutage

__all__ = ["RouterOutage", "close_outage", "flaps_since", "open_outage", "open_since"]


async def open_outage(session: AsyncSession, *, tenant_id: int, router_id: int, error: str) -> None:
    """Record that the router stopped answering, unless an outage is already open."""
    query = select(RouterOutage.id).where(
        RouterOutage.router_id == router_id, RouterOutage.ended_at.is_(None)
    )
    if (await session.scalars(query.limit(1))).first() is None:
        session.add(
            RouterOutage(tenant_id=tenant_id, router_id=router_id, started_at=now(), error=error)
        )


async def close_outage(session: AsyncSession, *, router_id: int) -> None:
    await session.execute(
        update(RouterOutage)
        .where(RouterOutage.router_id == router_id, RouterOutage.ended_at.is_(None))
        .values(ended_at=now())
    )


async def recent_outages(
    session: AsyncSession, *, tenant_id: int, router_id: int, limit: int = 20
) -> Sequence[RouterOutage]:
    query = (
        select(RouterOutage)
        .where(RouterOutage.tenant_id == tenant_id, RouterOutage.router_id == router_id)
        .order_by(RouterOutage.started_at.desc(), RouterOutage.id.desc())
        .limit(limit)
    )
    return (await session.scalars(query)).all()


async def flaps_since(
    session: AsyncSession, *, tenant_id: int, since: timedelta = timedelta(hours=24)
) -> dict[int, int]:
    """Per router of the tenant: outages that started in the last `since`."""
    query = (
        select(RouterOutage.router_id, func.count())
        .where(RouterOutage.tenant_id == tenant_id, RouterOutage.started_at >= now() - since)
        .group_by(RouterOutage.router_id)
    )
    return {int(r): int(n) for r, n in (await session.execute(query)).all()}


async def open_since(session: AsyncSession, *, tenant_id: int) -> dict[int, datetime]:
    """Per router of the tenant that is down now: since when."""
    query = select(RouterOutage.router_id, RouterOutage.started_at).where(
        RouterOutage.tenant_id == tenant_id, RouterOutage.ended_at.is_(None)
    )
    return {int(r): started for r, started in (await session.execute(query)).all()}
