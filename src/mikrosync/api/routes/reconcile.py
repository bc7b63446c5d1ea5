"""Reconciliation of one router: run it now, and read the stored runs.

The run happens inside the request (a full read of the router; seconds for big routers), with
a router pool of its own. The subscribers it records as pending are pushed to the queue after
the run, like every other intent; the worker converges them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mikrosync.api.deps import Admin, Reader, RuntimeDep, SessionDep
from mikrosync.api.responses import OBJECTS
from mikrosync.http.fields import Id, Page
from mikrosync.routers.service import get_router
from mikrosync.sync.reconcile_runs.queries import get_run, list_runs
from mikrosync.sync.reconcile_runs.schemas import (
    ReconcileRunPage,
    ReconcileRunRead,
    ReconcileRunSummary,
)
from mikrosync.usecases.reconcile import reconcile_now

router = APIRouter(prefix="/routers/{router_id:int}", tags=["reconciliation"], responses=OBJECTS)


@router.post("/reconcile", operation_id="reconcileRouter")
async def reconcile(
    router_id: Id,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Admin,
    dry_run: bool = False,
) -> ReconcileRunRead:
    """Compare the router with the database and repair drift per the tenant's policy
    (`dry_run=true`: report only). Returns the stored run, with 200 whatever its outcome: a
    router that could not be read gives a run with `status: failed` and the router's words
    in `error` (the request itself succeeded; the router's state is its answer)."""
    await get_router(session, tenant_id=principal.tenant_id, router_id=router_id)
    await session.rollback()  # end this read: the run takes a while and uses sessions of its own
    outcome = await reconcile_now(runtime, router_id, dry_run=dry_run)
    return await read_run(router_id, outcome.run_id, session, principal)


@router.get("/reconcile-runs", operation_id="listReconcileRuns")
async def list_reconcile_runs(
    router_id: Id,
    session: SessionDep,
    principal: Reader,
    page: Annotated[Page, Query()] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReconcileRunPage:
    """The router's reconciliation runs, newest first (summaries; items via the run)."""
    await get_router(session, tenant_id=principal.tenant_id, router_id=router_id)
    runs, total = await list_runs(
        session, tenant_id=principal.tenant_id, router_id=router_id, page=page, per_page=per_page
    )
    return ReconcileRunPage(
        items=[ReconcileRunSummary.model_validate(run) for run in runs],
        total=total,
        page=page,
        per_page=per_page,
    )


@router.get("/reconcile-runs/{run_id:int}", operation_id="getReconcileRun")
async def read_run(
    router_id: Id, run_id: Id, session: SessionDep, principal: Reader
) -> ReconcileRunRead:
    """One run with its drift items and actions."""
    run = await get_run(session, tenant_id=principal.tenant_id, router_id=router_id, run_id=run_id)
    return ReconcileRunRead.model_validate(run)
