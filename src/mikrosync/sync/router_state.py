"""Router health as the sync engine records it: online/offline, last seen, last error."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.clock import now
from mikrosync.routers import outages
from mikrosync.routers.models import Router
from mikrosync.tenants.models import Tenant


async def mark_online(
    session: AsyncSession,
    router_id: int,
    *,
    identity: str | None = None,
    version: str | None = None,
) -> None:
    values: dict[str, object] = {"is_online": True, "last_seen_at": now(), "last_error": None}
    if identity is not None:
        values["identity"] = identity
    if version is not None:
        values["routeros_version"] = version
    await session.execute(update(Router).where(Router.id == router_id).values(**values))
    await outages.close_outage(session, router_id=router_id)


async def mark_offline(session: AsyncSession, router_id: int, error: str) -> None:
    await session.execute(
        update(Router).where(Router.id == router_id).values(is_online=False, last_error=error)
    )
    tenant_id = await session.scalar(select(Router.tenant_id).where(Router.id == router_id))
    if tenant_id is not None:
        await outages.open_outage(session, tenant_id=tenant_id, router_id=router_id, error=error)


async def active_routers(session: AsyncSession) -> Sequence[Router]:
    """Every router of an active tenant (health checks, periodic reconciliation)."""
    query = select(Router).join(Tenant, Tenant.id == Router.tenant_id).where(Tenant.is_active)
    return (await session.scalars(query.order_by(Router.id))).all()
