"""Failed sync jobs: see them (with their subscriber and whether a retry resolved them since)
and clear them, the resolved ones or all of the tenant's."""

from __future__ import annotations

from fastapi import Request, Response

from mikrosync.jobs.errors import QueueUnavailable
from mikrosync.web.audit import audited
from mikrosync.web.deps import DbDep, Operator, Reader, RuntimeDep
from mikrosync.web.failed_jobs import tenant_failed_jobs
from mikrosync.web.forms import Form
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import web_router

router = web_router("/jobs")


@router.get("")
async def failed_jobs(request: Request, db: DbDep, runtime: RuntimeDep, user: Reader) -> Response:
    try:
        jobs = await tenant_failed_jobs(db, runtime.queue, tenant_id=user.tenant_id)
        error = None
    except QueueUnavailable as exc:
        jobs, error = [], str(exc)
    context = {"jobs": jobs, "queue_error": error, "section": "dashboard"}
    return render(request, "jobs/failed.html", context)


@router.post("/clear")
async def clear_failed(
    request: Request, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    """Remove the tenant's resolved failed jobs (`which=resolved`) or all of them."""
    form = await Form.read(request)
    everything = form.text("which") == "all"
    try:
        jobs = await tenant_failed_jobs(db, runtime.queue, tenant_id=user.tenant_id)
        cleared = [job for job in jobs if everything or job.resolved]
        for job in cleared:
            await runtime.queue.remove_job(job.id)
    except QueueUnavailable as exc:
        return redirect(request, "/jobs", flash=f"Nothing cleared: {exc}", kind="error")
    await audited(
        request,
        db,
        user,
        "jobs.clear",
        target="all" if everything else "resolved",
        detail=f"{len(cleared)} failed job(s)",
    )
    return redirect(request, "/jobs", flash=f"{len(cleared)} failed job(s) cleared.")
