"""Routers: list and detail (health, last error, subscribers by sync state, reconciliation
runs), create and edit forms, "test connection", "reconcile now" (with a dry run) and the drift
report of a run, by kind.

The API password is write-only here as in the API: the edit form never shows it, and an empty
field keeps the stored one.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from mikrosync.errors import Conflict
from mikrosync.http.fields import Id
from mikrosync.routers import outages, service
from mikrosync.routers.models import Router
from mikrosync.routers.schemas import RouterCreate, RouterUpdate
from mikrosync.sync.reconcile_runs.queries import get_run, list_runs
from mikrosync.usecases import routers
from mikrosync.usecases.reconcile import reconcile_now
from mikrosync.usecases.routers import probe_router
from mikrosync.web import stats
from mikrosync.web.audit import audited
from mikrosync.web.deps import Admin, DbDep, Operator, Reader, RuntimeDep, WebUser
from mikrosync.web.forms import Form, reloaded
from mikrosync.web.htmx import pick
from mikrosync.web.responses import redirect, render
from mikrosync.web.router_words import router_words
from mikrosync.web.routing import web_router

router = web_router("/routers")

_TEXT_FIELDS = ("name", "host", "port", "username", "password", "tls_fingerprint")
_FLAGS = ("use_tls", "tls_insecure")
RECENT_RUNS = 10


@router.get("")
async def list_routers(request: Request, db: DbDep, user: Reader) -> Response:
    context = {
        "routers": await service.list_routers(db, tenant_id=user.tenant_id),
        "counts": await stats.router_subscriber_counts(db, tenant_id=user.tenant_id),
        "down_since": await outages.open_since(db, tenant_id=user.tenant_id),
        "flaps": await outages.flaps_since(db, tenant_id=user.tenant_id),
        "section": "routers",
    }
    return render(request, pick(request, "routers/list.html", "routers/_table.html"), context)


def _render_form(
    request: Request, form: Form, found: Router | None = None, status_code: int = 200
) -> Response:
    context = {"form": form, "r": found, "section": "routers"}
    return render(request, "routers/form.html", context, status_code=status_code)


def _payload(form: Form, *, editing: bool) -> dict[str, Any]:
    data = form.payload(_TEXT_FIELDS, clearable=("tls_fingerprint",) if editing else ())
    data |= {flag: form.checked(flag) for flag in _FLAGS}
    return data


@router.get("/new")
async def new_router(request: Request, _: Admin) -> Response:
    return _render_form(request, Form(values={"port": "8728"}))


@router.post("/new")
async def create_router(request: Request, db: DbDep, runtime: RuntimeDep, user: Admin) -> Response:
    form = await Form.read(request)
    created = await form.submit(
        RouterCreate,
        _payload(form, editing=False),
        lambda data: service.create_router(
            db, tenant_id=user.tenant_id, data=data, vault=runtime.vault
        ),
    )
    if created is None:
        form.values.pop("password", None)
        return _render_form(request, form, status_code=422)
    await audited(request, db, user, "router.create", target=created.name)
    return redirect(
        request,
        f"/routers/{created.id}",
        flash=f"Router {created.name} added; press Test connection to check it now.",
    )


@router.get("/{router_id}")
async def router_detail(request: Request, router_id: Id, db: DbDep, user: Reader) -> Response:
    found = await service.get_router(db, tenant_id=user.tenant_id, router_id=router_id)
    counts = await stats.router_subscriber_counts(db, tenant_id=user.tenant_id)
    context = {
        "r": found,
        "counts": counts.get(found.id, {}),
        "runs": (
            await list_runs(
                db, tenant_id=user.tenant_id, router_id=found.id, page=1, per_page=RECENT_RUNS
            )
        )[0],
        "outages": await outages.recent_outages(db, tenant_id=user.tenant_id, router_id=found.id),
        "down_since": (await outages.open_since(db, tenant_id=user.tenant_id)).get(found.id),
        "flaps": (await outages.flaps_since(db, tenant_id=user.tenant_id)).get(found.id, 0),
        "section": "routers",
    }
    return render(request, pick(request, "routers/detail.html", "routers/_status.html"), context)


def _edit_values(found: Router) -> dict[str, str]:
    values = {name: str(getattr(found, name) or "") for name in _TEXT_FIELDS if name != "password"}
    values |= {flag: "on" for flag in _FLAGS if getattr(found, flag)}
    return values


@router.get("/{router_id}/edit")
async def edit_router_form(request: Request, router_id: Id, db: DbDep, user: Admin) -> Response:
    found = await service.get_router(db, tenant_id=user.tenant_id, router_id=router_id)
    return _render_form(request, Form(values=_edit_values(found)), found)


@router.post("/{router_id}/edit")
async def edit_router(
    request: Request, router_id: Id, db: DbDep, runtime: RuntimeDep, user: Admin
) -> Response:
    found = await service.get_router(db, tenant_id=user.tenant_id, router_id=router_id)
    form = await Form.read(request)
    updated = await form.submit(
        RouterUpdate,
        _payload(form, editing=True),
        lambda data: service.update_router(
            db, tenant_id=user.tenant_id, router_id=router_id, data=data, vault=runtime.vault
        ),
    )
    if updated is None:
        form.values.pop("password", None)
        return _render_form(request, form, await reloaded(db, found), status_code=422)
    await audited(request, db, user, "router.edit", target=updated.name)
    return redirect(request, f"/routers/{router_id}", flash="Router saved.")


async def _detached(db: DbDep, user: WebUser, router_id: int) -> Router:
    """The tenant's router, loaded and detached, and the request's transaction ended: what
    follows talks to the router, which may take seconds, holding no transaction meanwhile."""
    found = await service.get_router(db, tenant_id=user.tenant_id, router_id=router_id)
    db.expunge(found)
    await db.rollback()
    return found


@router.post("/{router_id}/test")
async def test_router(
    request: Request, router_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    found = await _detached(db, user, router_id)
    result, pushed = await probe_router(runtime, found)
    url = f"/routers/{router_id}"
    outcome = "online" if result.online else f"offline: {router_words(result.error)}"
    await audited(request, db, user, "router.test", target=found.name, detail=outcome)
    if not result.online:
        return redirect(
            request,
            url,
            flash=f"{found.name} did not answer: {router_words(result.error)}",
            kind="error",
        )
    message = f"{found.name} answered."
    if pushed:
        message += f" It was offline: {pushed} waiting subscriber(s) pushed to it."
    return redirect(request, url, flash=message)


@router.post("/{router_id}/reconcile")
async def reconcile_router(
    request: Request, router_id: Id, db: DbDep, runtime: RuntimeDep, user: Admin
) -> Response:
    """Compare the router with the database now: a dry run only reports, a real run repairs
    per the tenant's policy. Admins, as in the API."""
    form = await Form.read(request)
    found = await _detached(db, user, router_id)
    dry_run = form.checked("dry_run")
    outcome = await reconcile_now(runtime, found.id, dry_run=dry_run)
    drift = sum(outcome.counts.values())
    what = "Dry run" if dry_run else "Reconciliation"
    await audited(
        request,
        db,
        user,
        "router.dry_run" if dry_run else "router.reconcile",
        target=found.name,
        detail=outcome.error or f"{drift} difference(s)",
    )
    if outcome.error:
        message, kind = f"{what} of {found.name}: {outcome.error}", "error"
    else:
        message, kind = f"{what} of {found.name} done: {drift} difference(s) found.", "info"
        if outcome.fix_jobs:
            message += f" {len(outcome.fix_jobs)} subscriber(s) are being fixed."
    return redirect(
        request, f"/routers/{router_id}/runs/{outcome.run_id}", flash=message, kind=kind
    )


@router.get("/{router_id}/runs/{run_id}")
async def reconcile_run(
    request: Request, router_id: Id, run_id: Id, db: DbDep, user: Reader
) -> Response:
    """One run's drift report, by kind, with the actions taken."""
    found = await service.get_router(db, tenant_id=user.tenant_id, router_id=router_id)
    run = await get_run(db, tenant_id=user.tenant_id, router_id=router_id, run_id=run_id)
    ids = {
        item["subscriber_id"]
        for items in run.items.values()
        for item in items
        if isinstance(item.get("subscriber_id"), int)
    }
    found_subscribers = await stats.subscribers_by_id(db, tenant_id=user.tenant_id, ids=ids)
    names = {i: s.username for i, s in found_subscribers.items()}
    context = {"r": found, "run": run, "names": names, "section": "routers"}
    return render(request, "routers/run.html", context)


@router.post("/{router_id}/delete")
async def delete_router(request: Request, router_id: Id, db: DbDep, user: Admin) -> Response:
    found = await service.get_router(db, tenant_id=user.tenant_id, router_id=router_id)
    name = found.name
    try:
        await routers.delete_router(db, tenant_id=user.tenant_id, router_id=router_id)
    except Conflict as exc:
        return redirect(request, f"/routers/{router_id}", flash=str(exc), kind="error")
    await audited(request, db, user, "router.delete", target=name)
    return redirect(request, "/routers", flash="Router deleted.")
