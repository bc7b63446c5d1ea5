"""Charts: sync latency, changes per hour, owed suspensions and routers online over the last
day, drawn by the vendored uPlot (static/vendor/uplot, no CDN) from JSON in the page."""

from __future__ import annotations

from fastapi import Request, Response

from mikrosync.web import stats
from mikrosync.web.charts import HOURS, chart_data
from mikrosync.web.deps import DbDep, Reader
from mikrosync.web.responses import render
from mikrosync.web.routing import web_router

router = web_router()


@router.get("/charts")
async def charts(request: Request, db: DbDep, user: Reader) -> Response:
    owed = await stats.owed_suspensions(db, tenant_id=user.tenant_id)
    data = await chart_data(db, tenant_id=user.tenant_id, owed_now=owed)
    context = {"data": data, "hours": HOURS, "section": "charts"}
    return render(request, "charts.html", context)
