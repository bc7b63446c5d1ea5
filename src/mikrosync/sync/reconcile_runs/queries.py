"""Reading the stored reconciliation runs of a router (the API and the console)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mikrosync.errors import NotFound
from mikrosync.sync.reconcile_runs.models import ReconcileRun


async def list_runs(
    session: AsyncSession, *, tenant_id: int, router_id: int, page: int, per_page: int
) -> tuple[Sequence[ReconcileRun], int]:
    """One page of a router's runs, newest first, and how many there are."""
    scope = (ReconcileRun.tenant_id == tenant_id, ReconcileRun.router_id == router_id)
    total = (await session.execute(select(func.count()).where(*scope))).scalar_one()
    query = (
        select(ReconcileRun)
        .where(*scope)
        .order_by(ReconcileRun.started_at.desc(), ReconcileRun.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return (await session.scalars(query)).all(), total


async def get_run(
    session: AsyncSession, *, tenant_id: int, router_id: int, run_id: int
) -> ReconcileRun:
    run = await session.get(ReconcileRun, run_id)
    if run is None or run.tenant_id != tenant_id or run.router_id != router_id:
        raise NotFound("reconciliation run not found")
    return run
