"""The job queue as an operator sees it: depth by state and the tenant's latest failures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from mikrosync.api.deps import Reader, RuntimeDep, SessionDep
from mikrosync.api.responses import AUTHENTICATED
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.subscribers.models import Subscriber

router = APIRouter(prefix="/queue", tags=["queue"], responses=AUTHENTICATED)


@router.get("", operation_id="getQueueStatus")
async def queue_status(
    runtime: RuntimeDep, session: SessionDep, principal: Reader
) -> dict[str, Any]:
    """Jobs per state on `mikrotik-sync` (shared by all tenants), and the caller's tenant's
    most recent failed jobs."""
    try:
        counts = await runtime.queue.counts()
        failed = await runtime.queue.failed_jobs(limit=100)
    except QueueUnavailable as exc:
        return {"available": False, "error": str(exc), "counts": {}, "failed": []}
    ids = {job["data"].get("subscriber_id") for job in failed} - {None}
    own = set(
        (
            await session.scalars(
                select(Subscriber.id).where(
                    Subscriber.tenant_id == principal.tenant_id, Subscriber.id.in_(ids)
                )
            )
        ).all()
    )
    mine = [job for job in failed if job["data"].get("subscriber_id") in own]
    return {"available": True, "error": None, "counts": counts, "failed": mine}
