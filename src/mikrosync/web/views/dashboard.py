"""The dashboard: sync states, routers, the queue, owed suspensions and drift, polled live."""

from __future__ import annotations

from fastapi import Request, Response

from mikrosync.routers import service as routers
from mikrosync.web import stats
from mikrosync.web.deps import DbDep, Reader, RuntimeDep
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
    return render(
        request,
        pick(request, "dashboard.html", "dashboard/_stats.html"),
        {"board": found, "section": "dashboard"},
    )
