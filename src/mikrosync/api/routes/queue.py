"""The job queue as an operator sees it: depth by state, whether it is paused, and the tenant's
latest failures."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from mikrosync.api.deps import Reader, RuntimeDep, SessionDep
from mikrosync.api.responses import AUTHENTICATED
from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.routers.models import Router
from mikrosync.subscribers.models import Subscriber

router = APIRouter(prefix="/queue", tags=["queue"], responses=AUTHENTICATED)


def _id(data: object, key: str) -> int | None:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@router.get("", operation_id="getQueueStatus")
async def queue_status(
    runtime: RuntimeDep, session: SessionDep, principal: Reader
) -> dict[str, Any]:
    """Jobs per state on `mikrotik-sync` (shared by all tenants), whether the queue is paused
    (`paused`; `held`: ready jobs the pause holds back), and the caller's tenant's most recent
    failed jobs.

    The queue is shared, so a failed job is shown only once its ids are checked to be this
    tenant's: its `subscriber_id` (a subscriber job), else its `router_id` (a router's mass
    change, a reconciliation), else its `tenant_id`. Ids are never reused (migration 0018a), so
    a deleted subscriber's job never shows under another subscriber.
    """
    try:
        status = await runtime.queue.status()
        failed = await runtime.queue.failed_jobs(limit=100)
    except QueueUnavailable as exc:
        return {
            "available": False,
            "error": str(exc),
            "counts": {},
            "paused": None,
            "held": None,
            "failed": [],
        }
    tenant_id = principal.tenant_id
    subscriber_ids = {_id(job["data"], "subscriber_id") for job in failed} - {None}
    router_ids = {_id(job["data"], "router_id") for job in failed} - {None}
    own_subscribers = set(
        (
            await session.scalars(
                select(Subscriber.id).where(
                    Subscriber.tenant_id == tenant_id, Subscriber.id.in_(subscriber_ids)
                )
            )
        ).all()
    )
    own_routers = set(
        (
            await session.scalars(
                select(Router.id).where(Router.tenant_id == tenant_id, Router.id.in_(router_ids))
            )
        ).all()
    )

    def mine(job: dict[str, Any]) -> bool:
        data = job["data"]
        if (subscriber_id := _id(data, "subscriber_id")) is not None:
            return subscriber_id in own_subscribers
        if (router_id := _id(data, "router_id")) is not None:
            return router_id in own_routers
        return tenant_id is not None and _id(data, "tenant_id") == tenant_id

    return {
        "available": True,
        "error": None,
        **status.as_dict(),
        "failed": [job for job in failed if mine(job)],
    }
