"""The dashboard: sync states, routers, the queue, owed suspensions and drift, polled live."""

from __future__ import annotations

from fastapi import Request, Response

from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.routers import service as routers
from mikrosync.web import stats
from mikrosync.web.deps import DbDep, Reader, RuntimeDep
from mikrosync.web.failed_jobs import tenant_failed_jobs
from mikrosync.web.htmx import pick
from mikrosync.web.responses import render
from mikrosync.web.routing import web_router

router = web_router()


@router.get("/")
async def dashboard(request: Request, db: DbDep, runtime: RuntimeDep, user: Reader) -> Response:
    found = await stats.dashboard(
        db,
        tenant_id=user.tenant_id,
        queue=runtime.queue,
        routers=await routers.list_routers(db, tenant_id=user.tenant_id),
    )
    try:
        failed = await tenant_failed_jobs(db, runtime.queue, tenant_id=user.tenant_id)
    except QueueUnavailable:
        failed = []
    # Only failures that still matter: a job whose subscriber a retry has since synced is not.
    failed_open = sum(1 for job in failed if not job.resolved)
    return render(
        request,
        pick(request, "dashboard.html", "dashboard/_stats.html"),
        {"board": found, "failed_open": failed_open, "section": "dashboard"},
    )
