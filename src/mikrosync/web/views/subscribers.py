"""Subscribers: the list (filters, live badges, bulk actions), the detail page (live sync state
and timeline), create and edit forms, and the sync actions.

Every write calls the same service function as the REST API (`subscribers/service.py`) and then
pushes the job hint with `runtime.hint`, exactly as `api/routes/subscribers.py` does.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from pydantic import ValidationError

from mikrosync.errors import Conflict, NotFound
from mikrosync.packages import service as packages
from mikrosync.payments import service as payments
from mikrosync.request_schema import MAX_ID, Id
from mikrosync.routers import service as routers
from mikrosync.runtime import Runtime
from mikrosync.subscribers import queries, service
from mikrosync.subscribers.models import Subscriber
from mikrosync.subscribers.schemas import (
    SubscriberCreate,
    SubscriberFilters,
    SubscriberUpdate,
)
from mikrosync.web import stats
from mikrosync.web.deps import DbDep, Operator, Reader, RuntimeDep, WebUser
from mikrosync.web.forms import Form, reloaded
from mikrosync.web.htmx import pick
from mikrosync.web.responses import redirect, render
from mikrosync.web.routing import local_path, web_router
from mikrosync.web.templating import zone

router = web_router("/subscribers")

TIMELINE_LENGTH = 50
MAX_BADGES = 500
_CONTACT = ("full_name", "phone", "email", "address")
_ADDRESSES = ("remote_address", "static_ip")
_CREATE_FIELDS = ("router_id", "package_id", "service", "username", "password")
_STATUSES = (
    ("pending", "Pending"),
    ("syncing", "Syncing…"),
    ("synced", "Synced"),
    ("error", "Error"),
)


async def _lookups(db: DbDep, user: WebUser) -> dict[str, Any]:
    """The tenant's routers and packages by id (for names and offline markers) and as the
    options of selects."""
    found_routers = await routers.list_routers(db, tenant_id=user.scope)
    found_packages = await packages.list_packages(db, tenant_id=user.scope)
    return {
        "routers": {r.id: r for r in found_routers},
        "packages": {p.id: p for p in found_packages},
        "router_options": [(r.id, r.name) for r in found_routers],
        "package_options": [
            (p.id, f"{p.name} ({p.service}, {p.rate_limit})") for p in found_packages
        ],
    }


def _filters(request: Request) -> tuple[SubscriberFilters, str | None]:
    raw = {
        key: value
        for key, value in request.query_params.items()
        if value != "" and key in SubscriberFilters.model_fields
    }
    try:
        return SubscriberFilters.model_validate(raw), None
    except ValidationError:
        return SubscriberFilters(), "Some filters were not understood; showing everything."


@router.get("")
async def list_subscribers(request: Request, db: DbDep, user: Reader) -> Response:
    filters, problem = _filters(request)
    items, total = await queries.list_subscribers(db, tenant_id=user.scope, filters=filters)
    kept = filters.model_dump(exclude={"page", "per_page"}, exclude_none=True)
    shown = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in kept.items()}
    context = {
        "items": items,
        "total": total,
        "filters": filters,
        "shown": Form(values=shown),
        "status_options": _STATUSES,
        "yes_no": (("true", "yes"), ("false", "no")),
        "pages": max(1, math.ceil(total / filters.per_page)),
        "query": urlencode(shown),
        "back": local_path(str(request.url)),
        "problem": problem,
        "section": "subscribers",
    }
    context |= await _lookups(db, user)
    return render(
        request, pick(request, "subscribers/list.html", "subscribers/_table.html"), context
    )


@router.get("/badges")
async def badges(
    request: Request,
    db: DbDep,
    user: Reader,
    ids: Annotated[list[int] | None, Query()] = None,
) -> Response:
    """The live sync badges of the list's rows, as out-of-band swaps (polled every 2 s)."""
    wanted = (ids or [])[:MAX_BADGES]
    found = await stats.subscribers_by_id(db, tenant_id=user.scope, ids=wanted)
    context = {"ids": wanted, "found": found} | await _lookups(db, user)
    return render(request, "subscribers/_badges.html", context)


async def _render_form(
    request: Request,
    db: DbDep,
    user: WebUser,
    form: Form,
    subscriber: Subscriber | None = None,
    status_code: int = 200,
) -> Response:
    # What was typed comes back, except the password: never sent to a page (as for routers).
    form.values.pop("password", None)
    context = await _lookups(db, user) | {
        "form": form,
        "s": subscriber,
        "section": "subscribers",
    }
    return render(request, "subscribers/form.html", context, status_code=status_code)


@router.get("/new")
async def new_subscriber(request: Request, db: DbDep, user: Operator) -> Response:
    form = Form(values={"service": "pppoe", "router_id": request.query_params.get("router_id", "")})
    return await _render_form(request, db, user, form)


@router.post("/new")
async def create_subscriber(
    request: Request, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    form = await Form.read(request)
    data = form.payload(_CREATE_FIELDS + _ADDRESSES + _CONTACT)
    data["expires_at"] = form.local_datetime("expires_at", zone(user.timezone))
    created = await form.submit(
        SubscriberCreate,
        data,
        lambda built: service.create_subscriber(
            db, tenant_id=user.scope, data=built, vault=runtime.vault, actor=user.email
        ),
    )
    if created is None:
        return await _render_form(request, db, user, form, status_code=422)
    await runtime.hint([created])
    return redirect(
        request,
        f"/subscribers/{created.id}",
        flash=f"Subscriber {created.username} created; it stays Pending until the router has it.",
    )


@router.post("/bulk")
async def bulk_action(request: Request, db: DbDep, runtime: RuntimeDep, user: Operator) -> Response:
    """Suspend or connect the selected subscribers, one service call (and transaction) each."""
    data = await request.form()
    action = data.get("action")
    act = {"suspend": service.suspend_subscriber, "connect": service.connect_subscriber}.get(
        str(action)
    )
    if act is None:
        raise NotFound(f"no bulk action {action!r}")
    done: list[Subscriber] = []
    refused: list[str] = []
    for value in data.getlist("ids"):
        try:
            done.append(await _run(act, db, user, int(str(value))))
        except (NotFound, Conflict, ValueError) as exc:
            refused.append(f"#{value}: {exc}")
    await runtime.hint(done)
    message = f"{len(done)} subscriber(s): {action} recorded."
    if refused:
        message += " Refused: " + "; ".join(refused)
    back = local_path(str(data.get("back") or "/subscribers"))
    return redirect(request, back, flash=message, kind="error" if refused else "info")


@router.post("/retry")
async def retry_failed(
    request: Request, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    """Re-queue every subscriber in `error`, on one router or all of them."""
    form = await Form.read(request)
    router_id = form.text("router_id")
    where = ""
    if router_id is not None:
        if not router_id.isdigit() or int(router_id) > MAX_ID:
            raise NotFound("router not found")
        found = await routers.get_router(db, tenant_id=user.scope, router_id=int(router_id))
        where = f" on router {found.name}"
    retried = await service.retry_matching(
        db,
        tenant_id=user.scope,
        actor=user.email,
        router_id=int(router_id) if router_id else None,
    )
    await runtime.hint(retried)
    back = local_path(form.values.get("back") or "/subscribers")
    return redirect(request, back, flash=f"{len(retried)} failed subscriber(s) retried{where}.")


@router.get("/{subscriber_id}")
async def subscriber_detail(
    request: Request, subscriber_id: Id, db: DbDep, user: Reader
) -> Response:
    subscriber = await queries.get_subscriber(db, tenant_id=user.scope, subscriber_id=subscriber_id)
    events = await queries.list_events(
        db, tenant_id=user.scope, subscriber_id=subscriber_id, limit=TIMELINE_LENGTH
    )
    lookups = await _lookups(db, user)
    context = lookups | {
        "s": subscriber,
        "events": events,
        "router": lookups["routers"][subscriber.router_id],
        "section": "subscribers",
    }
    return render(
        request, pick(request, "subscribers/detail.html", "subscribers/_live.html"), context
    )


def _edit_values(subscriber: Subscriber, tz_name: str) -> dict[str, str]:
    values = {name: getattr(subscriber, name) or "" for name in _ADDRESSES + _CONTACT}
    if subscriber.expires_at is not None:
        values["expires_at"] = subscriber.expires_at.astimezone(zone(tz_name)).strftime(
            "%Y-%m-%dT%H:%M"
        )
    return values


def _updater(
    db: DbDep, runtime: Runtime, user: WebUser, subscriber_id: int
) -> Callable[[SubscriberUpdate], Awaitable[Subscriber]]:
    """The PATCH of the API: contact fields quietly, router fields and package as intent."""

    async def update(data: SubscriberUpdate) -> Subscriber:
        return await service.update_subscriber(
            db,
            tenant_id=user.scope,
            subscriber_id=subscriber_id,
            data=data,
            vault=runtime.vault,
            actor=user.email,
        )

    return update


@router.get("/{subscriber_id}/edit")
async def edit_subscriber_form(
    request: Request, subscriber_id: Id, db: DbDep, user: Operator
) -> Response:
    subscriber = await queries.get_subscriber(db, tenant_id=user.scope, subscriber_id=subscriber_id)
    form = Form(values=_edit_values(subscriber, user.timezone))
    return await _render_form(request, db, user, form, subscriber)


@router.post("/{subscriber_id}/edit")
async def edit_subscriber(
    request: Request, subscriber_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    subscriber = await queries.get_subscriber(db, tenant_id=user.scope, subscriber_id=subscriber_id)
    form = await Form.read(request)
    data = form.payload(("password", *_ADDRESSES, *_CONTACT), clearable=_ADDRESSES + _CONTACT)
    expires_at = form.local_datetime("expires_at", zone(user.timezone))
    if expires_at is not None:
        data["expires_at"] = expires_at
    updated = await form.submit(SubscriberUpdate, data, _updater(db, runtime, user, subscriber_id))
    if updated is None:
        subscriber = await reloaded(db, subscriber)
        return await _render_form(request, db, user, form, subscriber, status_code=422)
    await runtime.hint([updated])
    return redirect(request, f"/subscribers/{subscriber_id}", flash="Changes saved.")


@router.post("/{subscriber_id}/package")
async def change_package(
    request: Request, subscriber_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
) -> Response:
    form = await Form.read(request)
    url = f"/subscribers/{subscriber_id}"
    updated = await form.submit(
        SubscriberUpdate,
        {"package_id": form.text("package_id")},
        _updater(db, runtime, user, subscriber_id),
    )
    if updated is None:
        message = "; ".join(form.errors.values())
        return redirect(request, url, flash=f"Package not changed: {message}", kind="error")
    await runtime.hint([updated])
    return redirect(
        request, url, flash="Package change recorded; it applies once the router has it."
    )


Action = Callable[..., Awaitable[Subscriber]]


async def _run(action: Action, db: DbDep, user: WebUser, subscriber_id: int) -> Subscriber:
    return await action(db, tenant_id=user.scope, subscriber_id=subscriber_id, actor=user.email)


def _add_action(name: str, action: Action, done: str, after: str = "/subscribers/{id}") -> None:
    async def endpoint(
        request: Request, subscriber_id: Id, db: DbDep, runtime: RuntimeDep, user: Operator
    ) -> Response:
        try:
            result = await _run(action, db, user, subscriber_id)
        except Conflict as exc:
            return redirect(request, f"/subscribers/{subscriber_id}", flash=str(exc), kind="error")
        await runtime.hint([result])
        target = after.format(id=subscriber_id)
        return redirect(request, target, flash=done.format(name=result.username))

    endpoint.__name__ = f"{name}_subscriber"
    router.add_api_route(f"/{{subscriber_id}}/{name}", endpoint, methods=["POST"])


_add_action("suspend", service.suspend_subscriber, "Suspension of {name} recorded.")
_add_action("connect", service.connect_subscriber, "Reconnection of {name} recorded.")
_add_action("renew", payments.free_renewal, "{name} renewed.")
_add_action("retry", service.retry_subscriber, "Retrying {name}.")
_add_action(
    "delete",
    service.delete_subscriber,
    "{name} is being removed from its router.",
    after="/subscribers",
)
